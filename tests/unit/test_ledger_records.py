"""The ledger's compact records keep their promises at their edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.store.memory import MemoryStore
from rapport.tracking import _pairs
from rapport.tracking._records import PENDING, Recent, pending_add, pending_items
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts, time_snowflake

G = 5
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _reply(author: int, target: int, at: datetime, n: int, *, live: bool = True) -> MessageFacts:
    return MessageFacts(
        guild_id=G,
        channel_id=1,
        message_id=time_snowflake(at) + n,
        author_id=author,
        at=at,
        reply_to_id=target,
    )


def test_the_recent_window_is_bounded_and_forgets_the_oldest() -> None:
    """The recent window holds at most its limit and drops the oldest half at once."""
    recent: Recent[int, int] = Recent(10)
    for n in range(100):
        recent[n] = n
    assert len(recent) <= 10
    assert recent.get(99) == 99
    assert recent.get(0) is None


def test_pending_items_stay_in_time_order_when_history_comes_late() -> None:
    """An older item read later is placed by time, and the bound drops the oldest."""
    buf = bytearray()
    for n, t in enumerate([100, 300, 200, 50]):
        pending_add(buf, 10 + n, 0, 1000 + n, 7, t, False, limit=3)
    assert [it[4] for it in pending_items(buf)] == [100, 200, 300]
    assert len(buf) == 3 * PENDING.size


def test_a_second_link_from_the_same_message_only_warms_its_item() -> None:
    """One message is one item per person; a thanks in it makes that item warm."""
    buf = bytearray()
    assert pending_add(buf, 10, 0, 1000, 7, 100, False, limit=50) is True
    assert pending_add(buf, 10, 4, 1000, 7, 100, True, limit=50) is False
    assert pending_add(buf, 11, 0, 1000, 7, 100, False, limit=50) is True
    assert [(it[0], it[5]) for it in pending_items(buf)] == [(10, 1), (11, 0)]


def test_counts_saturate_instead_of_overflowing() -> None:
    """A 16-bit counter stops at its maximum rather than failing to pack."""
    rec = bytearray(_pairs.RECORD.size)
    for _ in range(3):
        _pairs.bump_into(rec, 0, 0, 2, 1_790_000_000, 1, 1, 0.25, 1e6, 3)
    v = list(_pairs.RECORD.unpack(rec))
    v[_pairs.COUNTS + 2] = 0xFFFF
    rec = bytearray(_pairs.RECORD.pack(*v))
    _pairs.bump_into(rec, 0, 0, 2, 1_790_000_000, 1, 1, 0.25, 1e6, 3)
    assert _pairs.RECORD.unpack(rec)[_pairs.COUNTS + 2] == 0xFFFF


@pytest.mark.parametrize(("key", "is_week"), [("2026-W48", True), ("2026-11", False)])
def test_period_numbers_and_keys_round_trip(key: str, is_week: bool) -> None:
    """The week and month numbering of the masks maps back to the same keys."""
    week, number = _pairs.period_number(key)
    assert week is is_week
    assert _pairs.period_key(is_week, number) == key


def test_many_pairs_stay_consistent_through_drops_and_reload() -> None:
    """Pairs kept in per-member sorted arrays survive inserts, forgets and counting."""
    ledger = Ledger(MemoryStore())
    members = [10**17 + 97 * k for k in range(30)]
    n = 0
    for i, a in enumerate(members):
        for b in members[i + 1 : i + 8]:
            n += 1
            ledger.record_message(_reply(b, a, T0 + timedelta(minutes=n), n))
    assert ledger.pair_count(G) == sum(min(7, 29 - i) for i in range(30))
    assert sum(len(ledger.pairs_of(G, m)) for m in members) == 2 * ledger.pair_count(G)
    before = ledger.pair_count(G)
    gone = len(ledger.pairs_of(G, members[10]))
    ledger.forget_member(G, members[10])
    assert ledger.pair_count(G) == before - gone
    assert all(v.other_id != members[10] for m in members for v in ledger.pairs_of(G, m))


def test_replaying_an_unmarked_message_counts_its_activity_once() -> None:
    """History replayed before its page was marked still counts the message once."""
    ledger = Ledger(MemoryStore())
    m = _reply(1, 2, T0, 1)
    ledger.record_message(m, live=False)
    ledger.record_message(m, live=False)
    assert ledger.activity(G, 1).channels[1].messages == 1
    assert ledger.pairs_of(G, 1)[0].counts_out[Kind.REPLY] == 1


def test_record_dedupes_an_interaction_seen_twice() -> None:
    """The same interaction from the same message is recorded once."""
    ledger = Ledger(MemoryStore())
    it = Interaction(G, 1, 2, 1, Kind.MENTION, 99, T0)
    assert ledger.record(it) is True
    assert ledger.record(it) is False
    assert ledger.record(Interaction(G, 1, None, 1, Kind.SHARE, 98, T0)) is True
    assert ledger.interactions_total(G) == 2


def test_a_member_who_rejoins_is_a_newcomer_again() -> None:
    """Leaving and coming back starts a fresh newcomer record and clears the left flag."""
    ledger = Ledger(MemoryStore())
    ledger.member_joined(G, 3, T0)
    ledger.member_left(G, 3)
    ledger.record(Interaction(G, 3, None, 1, Kind.JOIN, 0, T0 + timedelta(days=2)))
    (nc,) = ledger.newcomers(G, since=T0)
    assert nc.joined_at == T0 + timedelta(days=2)
    assert ledger.activity(G, 3).left is False
