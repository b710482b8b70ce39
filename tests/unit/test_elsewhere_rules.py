"""'We talked elsewhere': a talk off Discord resets a pair's drifting clock, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rapport.errors import UserFacingError
from rapport.nudges import rules as n
from tests.unit.test_members import ANA, BOB, G, services
from tests.unit.test_members import NOW as MEMBERS_NOW
from tests.unit.test_nudges_rules import DRIFT, NOW, everyone, pair

DRIFT_MIN = timedelta(days=7)


@pytest.mark.parametrize(("talked_days_ago", "due"), [(3, False), (14, False), (16, True)])
def test_a_talk_elsewhere_restarts_the_drifting_clock(talked_days_ago: int, due: bool) -> None:
    """Silent on Discord for 30 days, but talked elsewhere lately: drifting again only once
    three usual gaps (15 days) have passed since that talk."""
    talked = NOW - timedelta(days=talked_days_ago)
    found = n.drifting(
        [pair(silent=timedelta(days=30))],
        NOW,
        DRIFT,
        everyone,
        DRIFT_MIN,
        elsewhere=lambda _: talked,
    )
    assert bool(found) is due


def test_a_line_after_a_talk_elsewhere_is_a_new_situation_counted_from_that_talk() -> None:
    """The line that comes back is not the one already sent: its situation and its 'in N
    weeks' start at the talk off Discord."""
    (before,) = n.drifting([pair(silent=timedelta(days=40))], NOW, DRIFT, everyone)
    talked = NOW - timedelta(days=21)
    (after,) = n.drifting(
        [pair(silent=timedelta(days=40))], NOW, DRIFT, everyone, elsewhere=lambda _: talked
    )
    assert before.situation != after.situation
    assert after.at == talked
    assert "in 3 weeks" in n.describe(after, lambda _: "Bob", NOW)


def test_an_older_talk_elsewhere_changes_nothing() -> None:
    """Discord contact later than the talk elsewhere stays the last contact."""
    long_ago = NOW - timedelta(days=90)
    plain = n.drifting([pair(silent=timedelta(days=30))], NOW, DRIFT, everyone)
    told = n.drifting(
        [pair(silent=timedelta(days=30))], NOW, DRIFT, everyone, elsewhere=lambda _: long_ago
    )
    assert plain == told


async def test_either_side_saying_so_resets_the_pair_for_both() -> None:
    """Bob telling Rapport he talked with Ana counts for Ana's side of the pair too, and a
    member can't record talking with themselves."""
    _, _, members = services()
    await members.ensure(G)
    assert members.elsewhere(G, ANA, BOB) is None
    await members.talked_elsewhere(G, BOB, ANA, MEMBERS_NOW)
    assert members.elsewhere(G, ANA, BOB) == MEMBERS_NOW
    assert members.elsewhere(G, BOB, ANA) == MEMBERS_NOW
    with pytest.raises(UserFacingError):
        await members.talked_elsewhere(G, ANA, ANA, MEMBERS_NOW)


async def test_the_record_survives_a_restart_and_goes_when_the_other_is_forgotten() -> None:
    """Stored with the member's choices (read back after a restart); forgetting Bob takes
    Ana's record about him away."""
    store, _, members = services()
    await members.ensure(G)
    await members.talked_elsewhere(G, ANA, BOB, MEMBERS_NOW)
    members.stage()
    _, _, again = services(store=store)
    await again.ensure(G)
    assert again.get(G, ANA).talked_elsewhere(BOB) == MEMBERS_NOW
    assert again.mentions(G, BOB)
    again.forget_about(G, BOB)
    assert again.elsewhere(G, ANA, BOB) is None
    assert not again.mentions(G, BOB)
