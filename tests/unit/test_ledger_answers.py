"""How each side of a pair answers the other: asks, answers and how long they took."""

from __future__ import annotations

from binascii import a2b_base64, b2a_base64
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from rapport.store.base import record_doc
from rapport.store.memory import MemoryStore
from rapport.tracking import _pairs
from rapport.tracking import _state as _guild
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Answers, MessageFacts, PairView, time_snowflake

G, CH, CH2 = 900, 50, 51
ANA, BOB = 1001, 1002
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_seq = count(1)


def say(ledger: Ledger, author: int, at: datetime, channel: int = CH, **kw: object) -> int:
    """Record one live message; returns its id."""
    mid = time_snowflake(at) + next(_seq)
    ledger.record_message(MessageFacts(G, channel, mid, author, at, **kw))  # type: ignore[arg-type]
    return mid


def pair(ledger: Ledger, member: int = ANA, other: int = BOB) -> PairView:
    found = ledger.pair(G, member, other)
    assert found is not None
    return found


def test_a_reply_answered_two_hours_later_counts_in_the_one_to_four_hour_bucket() -> None:
    """Bob's reply asks Ana for an answer; her reply 2 h later answers it, on her side only."""
    ledger = Ledger(MemoryStore())
    say(ledger, ANA, T0, mentions=frozenset({BOB}))
    say(ledger, BOB, T0 + timedelta(minutes=5), reply_to_id=ANA)
    say(ledger, ANA, T0 + timedelta(hours=2, minutes=5), reply_to_id=BOB)
    ana = pair(ledger)
    # Bob's reply asked Ana; Ana's mention and last reply asked Bob, who answered the first
    # within 15 minutes (the second still waits).
    assert ana.answers_out == Answers(1, (0, 0, 1, 0, 0, 0, 0))
    assert ana.answers_in == Answers(2, (1, 0, 0, 0, 0, 0, 0))
    assert pair(ledger, BOB, ANA).answers_out == ana.answers_in


def test_an_answer_in_the_flow_of_the_channel_counts_and_silence_does_not() -> None:
    """A message in the same channel within the answer window answers; one elsewhere doesn't."""
    ledger = Ledger(MemoryStore())
    say(ledger, BOB, T0, mentions=frozenset({ANA}))
    say(ledger, ANA, T0 + timedelta(minutes=30), channel=CH2)  # elsewhere: no answer
    assert pair(ledger).answers_out == Answers(1, (0,) * 7)
    say(ledger, ANA, T0 + timedelta(minutes=40))  # in the flow, no reply feature
    assert pair(ledger).answers_out == Answers(1, (0, 1, 0, 0, 0, 0, 0))


async def test_an_answer_in_the_flow_is_kept_through_a_flush_and_a_reload() -> None:
    """Clearing an item in the flow of the channel (another still waiting elsewhere) and its
    answer count reach the store: a reloaded ledger has only the other item, and the answer."""
    ledger = Ledger(MemoryStore())
    say(ledger, BOB, T0, channel=CH2, mentions=frozenset({ANA}))
    say(ledger, BOB, T0 + timedelta(minutes=1), mentions=frozenset({ANA}))
    ledger.stage()
    await ledger.store.flush()
    say(ledger, ANA, T0 + timedelta(minutes=40))  # answers the mention in CH only
    ledger.stage()
    await ledger.store.flush()
    again = Ledger(ledger.store)
    await again.load_guild(G)
    now = T0 + timedelta(hours=1)
    assert [it.channel_id for it in again.pending_for(G, ANA, now)] == [CH2]
    assert again.pending_for(G, ANA, now) == ledger.pending_for(G, ANA, now)
    assert pair(again).answers_out == Answers(2, (0, 1, 0, 0, 0, 0, 0))


def test_a_deleted_message_takes_its_ask_back() -> None:
    """A mention deleted before any answer no longer counts as asked."""
    ledger = Ledger(MemoryStore())
    say(ledger, BOB, T0, mentions=frozenset({ANA}))
    gone = say(ledger, BOB, T0 + timedelta(hours=1), mentions=frozenset({ANA}))
    assert pair(ledger).answers_out.asked == 2
    ledger.withdraw_message(G, gone)
    assert pair(ledger).answers_out.asked == 1


def test_history_read_later_counts_no_asks_or_answers() -> None:
    """Backfilled messages can't say when they were answered, so they count for neither side."""
    ledger = Ledger(MemoryStore())
    page = [
        MessageFacts(G, CH, time_snowflake(T0) + 1, BOB, T0, mentions=frozenset({ANA})),
        MessageFacts(G, CH, time_snowflake(T0) + 2, ANA, T0 + timedelta(hours=1), reply_to_id=BOB),
    ]
    ledger.record_history(G, CH, page, page[0].message_id, page[-1].message_id)
    view = pair(ledger)
    assert sum(view.counts_in.values()) == 1  # the history itself was recorded
    assert view.answers_out == Answers()
    assert view.answers_in == Answers()


def test_full_counts_halve_and_keep_the_rate() -> None:
    """Past 255 asks a side's counts halve together, so the answer rate stays what it was."""
    ledger = Ledger(MemoryStore())
    at = T0
    for i in range(400):
        at += timedelta(hours=1)
        # Every other mention is in a channel Ana never writes in: never answered.
        say(ledger, BOB, at, channel=CH if i % 2 else CH2, mentions=frozenset({ANA}))
        if i % 2:
            say(ledger, ANA, at + timedelta(minutes=1))
    a = pair(ledger).answers_out
    assert a.asked < 256
    assert a.by_time[0] == a.answered
    assert a.answered / a.asked == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(
    ("by_time", "typical"),
    [
        ((0,) * 7, None),
        ((1, 0, 0, 0, 0, 0, 0), 0),
        ((1, 1, 1, 0, 0, 0, 0), 1),
        ((2, 0, 0, 0, 0, 0, 2), 0),
        ((0, 0, 0, 0, 0, 1, 3), 6),
    ],
)
def test_the_typical_answer_time_is_the_middle_answers_bucket(
    by_time: tuple[int, ...], typical: int | None
) -> None:
    """The typical answer time is the bucket of the middle answer (the lower one when even)."""
    assert Answers(sum(by_time), by_time).typical() == typical


async def test_a_record_stored_before_the_answer_counts_loads_with_none() -> None:
    """A pair stored in the 157-byte layout loads with its history and no answer counts."""
    store = MemoryStore()
    ledger = Ledger(store)
    say(ledger, BOB, T0, mentions=frozenset({ANA}))
    say(ledger, ANA, T0 + timedelta(minutes=3), reply_to_id=BOB)
    ledger.stage()
    await store.flush()
    for key, doc in (await store.load("pairs", G)).items():
        a, b, record = _guild.STORED.unpack(a2b_base64(doc["r"]))
        old = record[: _pairs.OLD_SIZE]  # the {"a", "b", "r"} form of that time
        store.put("pairs", G, key, {"a": a, "b": b, "r": b2a_base64(old, newline=False).decode()})
    await store.flush()
    again = Ledger(store)
    await again.load_guild(G)
    view = pair(again)
    assert view.answers_out == Answers()
    assert view.counts_in == pair(ledger).counts_in
    assert view.last_in == pair(ledger).last_in


async def test_a_pair_record_stored_packed_before_the_answer_counts_loads_with_none() -> None:
    """A pair record document of the 157-byte layout (ids + record) loads with no answer counts."""
    store = MemoryStore()
    ledger = Ledger(store)
    say(ledger, BOB, T0, mentions=frozenset({ANA}))
    say(ledger, ANA, T0 + timedelta(minutes=3), reply_to_id=BOB)
    ledger.stage()
    await store.flush()
    for key, doc in (await store.load("pairs", G)).items():
        a, b, record = _guild.STORED.unpack(a2b_base64(doc["r"]))
        old = _guild.STORED.pack(a, b, record)[: _guild.STORED.size - 16]
        assert len(old) == 16 + _pairs.OLD_SIZE
        store.put("pairs", G, key, record_doc(old))
    await store.flush()
    again = Ledger(store)
    await again.load_guild(G)
    view = pair(again)
    assert view.answers_out == Answers()
    assert view.counts_in == pair(ledger).counts_in
    assert view.last_in == pair(ledger).last_in
