"""The drifting rule's cheap read: silent pairs, filtered before any view is built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from rapport.nudges.rules import MIN_CONTACT_DAYS, drifting
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts, PairView, time_snowflake

G, CH = 900, 50
ANA, BOB, CAT, DAN, EVE, FAY = 1001, 1002, 1003, 1004, 1005, 1006
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=90)
_seq = count(1)


def day(n: float) -> datetime:
    """T0 plus n days."""
    return T0 + timedelta(days=n)


def reply(ledger: Ledger, author: int, to: int, at: datetime) -> None:
    """Record a reply from author to `to`."""
    mid = time_snowflake(at) + next(_seq)
    ledger.record_message(MessageFacts(G, CH, mid, author, at, reply_to_id=to))


@pytest.fixture
def ledger() -> Ledger:
    """Ana's relationships: long silent, recent, one-way, reactions only, a short burst."""
    led = Ledger(MemoryStore())
    for d in (0, 5, 10, 15):  # Bob: four contact days both ways, silent since day 15
        reply(led, ANA, BOB, day(d))
        reply(led, BOB, ANA, day(d) + timedelta(hours=1))
    for d in (60, 70, 85):  # Cat: talked last week
        reply(led, CAT, ANA, day(d))
        reply(led, ANA, CAT, day(d) + timedelta(hours=1))
    for d in (1, 2, 3, 4):  # Dan: only Ana ever wrote, long ago
        reply(led, ANA, DAN, day(d))
    mid = time_snowflake(day(2)) + next(_seq)  # Eve: a reaction, never contact
    led.record(Interaction(G, EVE, ANA, CH, Kind.REACTION, mid, day(2)))
    reply(led, FAY, ANA, day(20))  # Fay: one day both ways, long ago
    reply(led, ANA, FAY, day(20) + timedelta(hours=2))
    return led


def expected(
    ledger: Ledger, since: datetime, min_days: int, both_ways: bool, now: datetime | None
) -> list[PairView]:
    """What silent_pairs promises, computed the slow way from pairs_of."""
    cadence = {p.other_id for p in ledger.pairs_of(G, ANA) if p.cadence_override is not None}
    return [
        p
        for p in ledger.pairs_of(G, ANA, now=now)
        if p.last_contact is not None
        and p.contact_days >= min_days
        and (not both_ways or (p.last_out is not None and p.last_in is not None))
        and (p.last_contact <= since or p.other_id in cadence)
    ]


@pytest.mark.parametrize("since_day", [0, 15, 16, 20, 21, 60, 85, 86, 200])
@pytest.mark.parametrize(("min_days", "both_ways"), [(0, False), (3, False), (3, True), (1, True)])
@pytest.mark.parametrize("now", [None, NOW])
def test_silent_pairs_are_the_member_pairs_silent_since_a_time(
    ledger: Ledger, since_day: int, min_days: int, both_ways: bool, now: datetime | None
) -> None:
    """Silent pairs are exactly the member's pairs whose last contact is not after the time."""
    since = day(since_day) + timedelta(hours=1)
    got = ledger.silent_pairs(
        G, ANA, since, now=now, min_contact_days=min_days, both_ways=both_ways
    )
    assert got == expected(ledger, since, min_days, both_ways, now)


def test_a_pair_silent_exactly_since_the_time_is_included(ledger: Ledger) -> None:
    """The boundary counts as silent: last contact at the very time passes."""
    since = day(15) + timedelta(hours=1)  # Bob's last reply
    assert [p.other_id for p in ledger.silent_pairs(G, ANA, since, min_contact_days=4)] == [BOB]
    assert ledger.silent_pairs(G, ANA, since - timedelta(seconds=1), min_contact_days=4) == []


def test_a_keep_in_touch_cadence_is_listed_whatever_the_silence(ledger: Ledger) -> None:
    """A pair with the member's own cadence is listed even when it talked recently."""
    ledger.set_cadence(G, ANA, CAT, timedelta(days=3))
    got = ledger.silent_pairs(G, ANA, day(30), min_contact_days=3, both_ways=True)
    assert {p.other_id for p in got} == {BOB, CAT}
    assert next(p for p in got if p.other_id == CAT).cadence_override == timedelta(days=3)


def test_reactions_alone_are_never_silent_contact(ledger: Ledger) -> None:
    """A pair that only ever reacted has had no contact, so it is never listed."""
    assert EVE not in {p.other_id for p in ledger.silent_pairs(G, ANA, NOW)}
    assert EVE in {p.other_id for p in ledger.pairs_of(G, ANA)}


def test_unknown_members_and_guilds_have_no_silent_pairs(ledger: Ledger) -> None:
    """Nobody known, nothing listed."""
    assert ledger.silent_pairs(G, 4242, NOW) == []
    assert ledger.silent_pairs(G + 1, ANA, NOW) == []


@pytest.mark.parametrize("days_later", [20, 30, 36, 37, 50, 90, 120])
@pytest.mark.parametrize("cadence_days", [None, 2, 40])
def test_drifting_finds_the_same_nudges_over_silent_pairs(
    ledger: Ledger, days_later: int, cadence_days: int | None
) -> None:
    """The drifting rule over silent pairs finds what it finds over all pairs."""
    now = day(days_later)
    drift_after = timedelta(days=21)
    if cadence_days is not None:
        ledger.set_cadence(G, ANA, CAT, timedelta(days=cadence_days))
        ledger.set_cadence(G, ANA, BOB, timedelta(days=cadence_days))
    every = drifting(ledger.pairs_of(G, ANA, now=now), now, drift_after, lambda _: True)
    silent = ledger.silent_pairs(
        G,
        ANA,
        now - drift_after,
        now=now,
        min_contact_days=MIN_CONTACT_DAYS,
        both_ways=True,
    )
    assert drifting(silent, now, drift_after, lambda _: True) == every


def test_a_long_silent_pair_with_history_drifts_over_silent_pairs(ledger: Ledger) -> None:
    """Bob, silent for 75 days after four contact days both ways, is the one who drifted."""
    drift_after = timedelta(days=21)
    silent = ledger.silent_pairs(
        G, ANA, NOW - drift_after, now=NOW, min_contact_days=MIN_CONTACT_DAYS, both_ways=True
    )
    found = drifting(silent, NOW, drift_after, lambda _: True)
    assert [n.about_id for n in found] == [BOB]
