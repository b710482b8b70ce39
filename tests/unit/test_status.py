"""What /rapport status shows, assembled in the core: drifting, waiting, position, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.compose import build_services
from rapport.nudges import Picture
from rapport.settings import Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.model import MessageFacts, time_snowflake

G, ANA, SAM, LEE, KIM = 1, 10, 20, 30, 40
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def picture_of_ana(
    *, mute_sam: bool = False, hidden: bool = False, quiet_since: int = 35
) -> Picture:
    """Ana and Sam talked every five days until `quiet_since` days ago (a month); Lee replied to
    Ana yesterday; Ana welcomed Kim this week."""
    services = build_services(Settings(), MemoryStore(), lambda: NOW)
    ledger, members = services.ledger, services.members
    await members.ensure(G)
    for day in range(quiet_since + 45, quiet_since - 5, -5):
        at = NOW - timedelta(days=day)
        post = time_snowflake(at) + ANA
        ledger.record_message(MessageFacts(G, 7, post, ANA, at))
        answer_at = at + timedelta(hours=1)
        answer = MessageFacts(
            G, 7, time_snowflake(answer_at) + SAM, SAM, answer_at,
            reply_to_id=ANA, reply_to_message_id=post,
        )  # fmt: skip
        ledger.record_message(answer)
        back = MessageFacts(G, 7, answer.message_id + 1, ANA, answer_at, reply_to_id=SAM)
        ledger.record_message(back)
    yesterday = NOW - timedelta(days=1)
    ledger.record_message(
        MessageFacts(G, 7, time_snowflake(yesterday) + LEE, LEE, yesterday, reply_to_id=ANA)
    )
    welcome = yesterday + timedelta(minutes=1)
    ledger.record_message(
        # In another channel: a message in channel 7 right after Lee's would answer it.
        MessageFacts(G, 8, time_snowflake(welcome) + ANA, ANA, welcome, reply_to_id=KIM)
    )
    if mute_sam:
        await members.mute(G, ANA, SAM)
    if hidden:
        await members.configure(G, ANA, on_leaderboard=False)
    return await services.status.picture(G, ANA, NOW)


async def test_the_picture_shows_drift_what_waits_and_the_strongest_ties() -> None:
    """A friend gone quiet is drifting, an unanswered reply waits, the friend is the closest tie."""
    picture = await picture_of_ana()
    assert [p.other_id for p in picture.drifting] == [SAM]
    assert [p.from_member_id for p in picture.pending] == [LEE]
    assert picture.strongest[0].other_id == SAM
    assert picture.outcomes == {"digests": 0, "sent": 0, "acted_on": 0}


async def test_status_counts_drifting_as_the_digests_do() -> None:
    """Every five days, then 20 days of silence: past three usual gaps (15 days, floored at
    drift_min), so the digests call it drifting, and so must /rapport status."""
    assert [p.other_id for p in (await picture_of_ana(quiet_since=20)).drifting] == [SAM]
    assert (await picture_of_ana(quiet_since=12)).drifting == []


async def test_a_muted_person_is_not_shown_as_drifting() -> None:
    """ "Not about Sam" holds in the status as in digests."""
    assert (await picture_of_ana(mute_sam=True)).drifting == []


@pytest.mark.parametrize(("hidden", "shown"), [(False, True), (True, False)])
async def test_a_member_hidden_from_the_board_has_no_position(hidden: bool, shown: bool) -> None:
    """The leaderboard line is there only for members who show on the board."""
    picture = await picture_of_ana(hidden=hidden)
    assert picture.on_leaderboard is shown
    assert (picture.position is not None) is shown
