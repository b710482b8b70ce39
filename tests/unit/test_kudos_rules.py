"""Kudos in the core: who may thank whom, the daily cap, the credit, the boards, privacy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from rapport.errors import UserFacingError
from rapport.i18n import translator
from rapport.people.guilds import GuildService
from rapport.people.kudos import CapReached, KudosService, Target
from rapport.people.members import MemberService
from rapport.settings.config import KudosSettings, Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Kind, MessageFacts, time_snowflake

G = 900
CH = 50
ANA, BOB, CAT = 1001, 1002, 1003
T0 = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday of ISO week 2026-W45
_ids = count(1)


def world(max_per_day: int = 5) -> tuple[KudosService, Ledger, MemberService, MemoryStore]:
    store = MemoryStore()
    settings = replace(Settings(), kudos=KudosSettings(max_per_day=max_per_day))
    members = MemberService(store, settings, GuildService(store, settings), lambda: T0)
    ledger = Ledger(store)
    return KudosService(store, settings, members, ledger), ledger, members, store


def person(member_id: int, **kw: bool) -> Target:
    return Target(member_id, {ANA: "Ana", BOB: "Bob", CAT: "Cat"}[member_id], **kw)


async def thank(
    kudos: KudosService, giver: int, receiver: int, at: datetime, *, post: int = 0, **kw: bool
) -> None:
    """A thanks given and sent (publicly as `post`, or privately with 0)."""
    given = await kudos.give(G, giver, person(receiver), CH, at, kudos_id=next(_ids), **kw)
    kudos.posted(G, given, post)


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (person(ANA), "That's you"),
        (person(BOB, bot=True), "Bob is a bot"),
        (person(BOB, present=False), "Bob isn't in this server any more"),
    ],
)
async def test_yourself_a_bot_or_someone_gone_is_refused(target: Target, words: str) -> None:
    """Self-thanks, bots and people who left are refused with a reason; nothing is recorded."""
    kudos, _, _, _ = world()
    with pytest.raises(UserFacingError, match=words):
        await kudos.give(G, ANA, target, CH, T0, kudos_id=1)
    assert kudos.received(G, target.member_id, T0).total == 0
    await kudos.give(G, ANA, person(BOB), CH, T0, kudos_id=2)  # a proper one goes through


async def test_someone_the_ledger_saw_leave_is_refused() -> None:
    """A member the ledger marked as gone can't be thanked even when Discord's answer lags."""
    kudos, ledger, _, _ = world()
    ledger.member_left(G, BOB)
    with pytest.raises(UserFacingError, match="isn't in this server"):
        await kudos.give(G, ANA, person(BOB), CH, T0, kudos_id=1)


async def test_opted_out_members_neither_give_nor_receive() -> None:
    """A member who opted out of tracking is not credited, and can't give a recorded thanks."""
    kudos, _, members, _ = world()
    await members.opt_out(G, BOB)
    with pytest.raises(UserFacingError, match="not to keep track of them"):
        await kudos.give(G, ANA, person(BOB), CH, T0, kudos_id=1)
    with pytest.raises(UserFacingError, match="not to track you"):
        await kudos.give(G, BOB, person(ANA), CH, T0, kudos_id=2)


@pytest.mark.parametrize(
    ("later", "allowed"), [(timedelta(hours=23), False), (timedelta(hours=24, seconds=1), True)]
)
async def test_the_cap_counts_any_24_hours(later: timedelta, allowed: bool) -> None:
    """Past max_per_day thanks in 24 hours the next waits until the oldest is a day old."""
    kudos, _, _, _ = world(max_per_day=2)
    await thank(kudos, ANA, BOB, T0)
    await thank(kudos, ANA, CAT, T0 + timedelta(hours=1))
    with pytest.raises(CapReached) as refused:
        await kudos.give(G, ANA, person(CAT), CH, T0 + timedelta(hours=2), kudos_id=99)
    assert refused.value.wait == timedelta(hours=22)
    assert "in 22 hours" in refused.value.in_language(translator("en"))
    assert "in 22 Stunden" in refused.value.in_language(translator("de"))
    await thank(kudos, BOB, CAT, T0 + timedelta(hours=2))  # another giver has a cap of their own
    if allowed:
        await thank(kudos, ANA, CAT, T0 + later)
    else:
        with pytest.raises(CapReached):
            await thank(kudos, ANA, CAT, T0 + later)


async def test_zero_per_day_turns_kudos_off() -> None:
    """max_per_day = 0 refuses every thanks, saying kudos are off here."""
    kudos, _, _, _ = world(max_per_day=0)
    with pytest.raises(UserFacingError, match="turned off"):
        await kudos.give(G, ANA, person(BOB), CH, T0, kudos_id=1)


async def test_a_withdrawn_thanks_is_neither_counted_nor_capped() -> None:
    """When the post fails the thanks is withdrawn: no credit, and it does not use up the cap."""
    kudos, ledger, _, _ = world(max_per_day=1)
    given = await kudos.give(G, ANA, person(BOB), CH, T0, kudos_id=1)
    kudos.withdraw(G, given)
    assert kudos.received(G, BOB, T0).total == 0
    assert ledger.pair(G, BOB, ANA) is None
    await thank(kudos, ANA, BOB, T0)
    assert kudos.received(G, BOB, T0).total == 1


async def test_a_thanks_credits_the_pair_and_owes_nothing() -> None:
    """The pair counts a thanks either way; the giver's debt is answered, the receiver owes none."""
    kudos, ledger, _, _ = world()
    answer = MessageFacts(G, CH, time_snowflake(T0) + 5, BOB, T0, reply_to_id=ANA)
    ledger.record_message(answer)
    assert [p.from_member_id for p in ledger.pending_for(G, ANA, T0 + timedelta(hours=1))] == [BOB]
    await thank(kudos, ANA, BOB, T0 + timedelta(hours=2), post=time_snowflake(T0) + 9)
    later = T0 + timedelta(days=1)
    assert ledger.pending_for(G, ANA, later) == []
    assert ledger.pending_for(G, BOB, later) == []
    pair = ledger.pair(G, BOB, ANA)
    assert pair is not None
    assert pair.counts_in[Kind.THANKS] == 1
    assert pair.last_contact == T0 + timedelta(hours=2)
    assert pair.last_message_url is not None
    assert pair.last_message_url.endswith(str(time_snowflake(T0) + 9))
    # Kudos have a board of their own: the engagement board's thanks-given counter is untouched.
    assert ledger.period_stats(G, "2026-W45")[ANA].thanks == 0


async def test_a_private_thanks_keeps_the_pairs_last_message_link() -> None:
    """A private thanks has no message: the pair's "last exchange" link still opens a real one."""
    kudos, ledger, _, _ = world()
    talk = MessageFacts(G, CH, time_snowflake(T0) + 5, BOB, T0, reply_to_id=ANA)
    ledger.record_message(talk)
    await thank(kudos, ANA, BOB, T0 + timedelta(hours=1), private=True)
    pair = ledger.pair(G, ANA, BOB)
    assert pair is not None
    assert pair.last_contact == T0 + timedelta(hours=1)
    assert pair.last_message_url is not None
    assert pair.last_message_url.endswith(str(talk.message_id))


async def test_received_counts_the_week_and_names_the_latest_givers() -> None:
    """Status reads thanks of the last 7 days and in all, newest givers first, each once."""
    kudos, _, _, _ = world()
    await thank(kudos, CAT, BOB, T0 - timedelta(days=20))
    await thank(kudos, ANA, BOB, T0 - timedelta(days=2))
    await thank(kudos, CAT, BOB, T0 - timedelta(days=1), private=True)
    await thank(kudos, CAT, BOB, T0)
    got = kudos.received(G, BOB, T0 + timedelta(hours=1))
    assert (got.recent, got.total) == (3, 4)
    assert [(k.giver_id, k.private) for k in got.latest] == [(CAT, False), (ANA, False)]


async def test_most_thanked_ranks_the_periods_kudos() -> None:
    """The board counts a period's thanks (then distinct givers), leaving out who is hidden."""
    kudos, _, _, _ = world()
    await thank(kudos, ANA, BOB, T0)
    await thank(kudos, ANA, BOB, T0 + timedelta(hours=1))
    await thank(kudos, ANA, CAT, T0)
    await thank(kudos, BOB, CAT, T0)
    await thank(kudos, CAT, ANA, T0 + timedelta(days=7))  # the next week
    week = kudos.most_thanked(G, "2026-W45")
    # Two each: Cat from two people ranks before Bob from one.
    assert [(r.rank, r.member_id, r.thanks, r.givers) for r in week] == [
        (1, CAT, 2, 2),
        (2, BOB, 2, 1),
    ]
    assert [r.member_id for r in kudos.most_thanked(G, "2026-11")] == [CAT, BOB, ANA]
    assert [r.member_id for r in kudos.most_thanked(G, "all", excluded={CAT})] == [BOB, ANA]
    assert [r.member_id for r in kudos.most_thanked(G, "2026-W45", keep=lambda m: m != BOB)] == [
        CAT
    ]


async def test_forget_export_retention_and_the_store() -> None:
    """Kudos persist as ids and times; forget and retention delete them; export lists them."""
    kudos, ledger, members, store = world()
    await thank(kudos, ANA, BOB, T0 - timedelta(days=400))
    await thank(kudos, ANA, BOB, T0, post=77)
    await thank(kudos, BOB, CAT, T0, private=True)
    kudos.stage()
    again = KudosService(store, Settings(), members, ledger)
    await again.ensure(G)
    assert again.received(G, BOB, T0).total == 2
    export = again.export_member(G, BOB)
    assert [r["from"] for r in export["received"]] == [ANA, ANA]
    assert export["received"][1]["post_message_id"] == 77
    assert [(r["to"], r["private"]) for r in export["given"]] == [(CAT, True)]
    assert again.prune(T0, timedelta(days=365)) == 1
    assert again.forget_member(G, BOB) == 2
    assert again.received(G, CAT, T0).total == 0
    again.stage()
    assert (
        set((await store.load("kudos", G)).values()) == set() or await store.load("kudos", G) == {}
    )


@pytest.mark.parametrize(
    ("at", "period", "inside"),
    [
        (datetime(2026, 11, 8, 23, 59, tzinfo=UTC), "2026-W45", True),  # Sunday night
        (datetime(2026, 11, 9, 0, 0, tzinfo=UTC), "2026-W45", False),  # Monday: W46
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2026-12", True),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "2026-12", False),
        (datetime(2026, 12, 28, 12, 0, tzinfo=UTC), "2026-W53", True),  # ISO 2026 has 53 weeks
    ],
)
async def test_a_period_runs_from_utc_midnight_to_utc_midnight(
    at: datetime, period: str, inside: bool
) -> None:
    """Weeks and months are UTC dates, as the ledger's periods: an edge belongs to one side."""
    kudos, _, _, _ = world()
    await thank(kudos, ANA, BOB, at)
    assert bool(kudos.most_thanked(G, period)) is inside
