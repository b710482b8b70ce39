"""A queued digest is checked again when its turn comes: what was settled meanwhile is not sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rapport.nudges.dm_queue import SendResult
from rapport.tracking.model import MessageFacts, time_snowflake
from tests.unit.test_nudges_service import ANA, BOB, CAT, START, G, World

DAN, EVE = 40, 50


@pytest.fixture
async def world() -> World:
    w = await World().open()
    yield w
    await w.close()


async def queued(world: World, *kinds: str) -> None:
    """Plan Ana's digest while the paced queue has not reached her yet."""
    await world.members.enroll(G, ANA)
    await world.members.configure(G, ANA, kinds=list(kinds))
    await world.nudges.detach()
    assert await world.nudges.plan_due(world.now) == 1


async def sent_when_its_turn_comes(world: World) -> list[list[tuple[str, int | None]]]:
    world.nudges.attach(world.send)
    await world.nudges.queue.join()
    return [[(i.kind, i.about_id) for i in d.items] for d in world.to(ANA)]


def say(world: World, author: int, at: datetime, channel: int = 7, **facts: object) -> int:
    mid = time_snowflake(at) + author
    world.ledger.record_message(MessageFacts(G, channel, mid, author, at, **facts))
    return mid


async def test_a_reply_answered_while_the_digest_waits_is_not_sent(world: World) -> None:
    """Ana answers Bob after the scan planned 'Bob replied to you': only Cat's line goes out."""
    world.reply(BOB, ANA, START - timedelta(days=2))
    world.reply(CAT, ANA, START - timedelta(days=2))
    await queued(world, "unanswered")
    say(world, ANA, world.now, channel=8, reply_to_id=BOB, reply_to_message_id=1)
    assert await sent_when_its_turn_comes(world) == [[("unanswered", CAT)]]


async def test_a_digest_left_with_nothing_is_not_sent(world: World) -> None:
    """Every line settled while the digest waited: no DM at all, and nothing recorded as sent."""
    world.reply(BOB, ANA, START - timedelta(days=2))
    await queued(world, "unanswered")
    say(world, ANA, world.now, channel=8, reply_to_id=BOB, reply_to_message_id=1)
    assert await sent_when_its_turn_comes(world) == []
    assert world.nudges.queue.results[SendResult.SKIPPED] == 1


async def test_a_newcomer_welcomed_while_the_digest_waits_is_not_sent(world: World) -> None:
    """Someone greets the newcomer after the scan planned 'say hi?': Ana is not asked to."""
    say(world, ANA, START - timedelta(days=1))  # Ana is active where the newcomer posts
    joined = START - timedelta(hours=6)
    world.ledger.member_joined(G, DAN, joined)
    hello = say(world, DAN, joined + timedelta(minutes=1))
    await queued(world, "welcome")
    say(world, CAT, world.now, reply_to_id=DAN, reply_to_message_id=hello)
    assert await sent_when_its_turn_comes(world) == []


async def test_an_unwelcomed_newcomer_is_still_sent(world: World) -> None:
    """The check drops only what was settled: a newcomer nobody greeted still gets Ana's line."""
    say(world, ANA, START - timedelta(days=1))
    joined = START - timedelta(hours=6)
    world.ledger.member_joined(G, DAN, joined)
    say(world, DAN, joined + timedelta(minutes=1))
    await queued(world, "welcome")
    assert await sent_when_its_turn_comes(world) == [[("welcome", DAN)]]


def drifted(world: World) -> None:
    """Ana and Eve talked both ways on five days, then went quiet for four weeks."""
    for day in range(5):
        at = START - timedelta(days=60 - 2 * day)
        say(world, ANA, at, reply_to_id=EVE, reply_to_message_id=1)
        say(world, EVE, at + timedelta(hours=1), reply_to_id=ANA, reply_to_message_id=1)
    say(world, EVE, START - timedelta(days=28), reply_to_id=ANA, reply_to_message_id=1)


async def test_a_pair_that_talked_while_the_digest_waits_is_not_told_it_drifted(
    world: World,
) -> None:
    """Eve writes to Ana after the scan planned 'you haven't talked with Eve': the line is dropped."""
    drifted(world)
    await queued(world, "drifting")
    say(world, EVE, world.now, reply_to_id=ANA, reply_to_message_id=1)
    assert await sent_when_its_turn_comes(world) == []


async def test_a_kind_switched_off_while_the_digest_waits_is_not_sent(world: World) -> None:
    """Ana turns drifting lines off after the scan planned one: it does not go out."""
    drifted(world)
    await queued(world, "drifting")
    await world.members.configure(G, ANA, kinds=["unanswered"])
    assert await sent_when_its_turn_comes(world) == []


async def test_a_share_line_left_alone_is_not_sent(world: World) -> None:
    """When the digest's lines about people were settled, a share line alone is not a DM."""
    world.reply(BOB, ANA, START - timedelta(days=2))
    say(world, ANA, START - timedelta(days=20), channel=8, has_link=True)
    say(world, ANA, START - timedelta(days=1), channel=8)  # active, nothing shared for 20 days
    await queued(world, "unanswered", "share")
    say(world, ANA, world.now, channel=9, reply_to_id=BOB, reply_to_message_id=1)
    assert await sent_when_its_turn_comes(world) == []


async def test_a_thank_you_line_names_only_the_answers_still_unacknowledged(world: World) -> None:
    """Bob and Cat answered Ana's post; she answers Bob while the digest waits: it names Cat."""
    post_at = START - timedelta(days=2)
    post = say(world, ANA, post_at)
    for author, hours in ((BOB, 30), (CAT, 25)):
        say(
            world, author, START - timedelta(hours=hours), reply_to_id=ANA, reply_to_message_id=post
        )
    await queued(world, "thanks")
    say(world, ANA, world.now, channel=8, reply_to_id=BOB, reply_to_message_id=1)
    world.nudges.attach(world.send)
    await world.nudges.queue.join()
    (digest,) = world.to(ANA)
    assert [(i.kind, i.about_id, i.people) for i in digest.items] == [("thanks", CAT, (CAT,))]


async def test_a_thank_you_line_whose_latest_answer_was_acknowledged_names_the_others(
    world: World,
) -> None:
    """Bob and Cat answered Ana's post; she answers Cat (the latest) while the digest waits:
    the line still thanks Bob, with Bob's answer's link and moment (not dropped whole)."""
    post_at = START - timedelta(days=2)
    post = say(world, ANA, post_at)
    answers: dict[int, int] = {}
    for author, hours in ((BOB, 30), (CAT, 25)):
        answers[author] = say(
            world, author, START - timedelta(hours=hours), reply_to_id=ANA, reply_to_message_id=post
        )
    await queued(world, "thanks")
    say(world, ANA, world.now, channel=8, reply_to_id=CAT, reply_to_message_id=1)
    world.nudges.attach(world.send)
    await world.nudges.queue.join()
    (digest,) = world.to(ANA)
    (line,) = digest.items
    assert (line.kind, line.about_id, line.people) == ("thanks", BOB, (BOB,))
    assert line.situation == f"t:{BOB}:{answers[BOB]}"
    assert line.at == START - timedelta(hours=30)
    assert str(line.url).endswith(f"/{answers[BOB]}")


@pytest.mark.parametrize("gone", ["left", "muted"])
async def test_a_reminder_about_someone_gone_or_muted_is_not_planned_again_and_again(
    world: World, gone: str
) -> None:
    """The send-time check drops a reminder about someone who left or whom Ana muted: the
    reminder itself goes, or every scan would queue it again only to drop it again."""
    bob_msg = world.reply(BOB, ANA, START - timedelta(minutes=5))
    await world.nudges.remind(G, ANA, 7, bob_msg, BOB, START - timedelta(minutes=5), "1h")
    if gone == "left":
        world.ledger.member_left(G, BOB)
    else:
        await world.members.mute(G, ANA, BOB)
    world.now += timedelta(hours=2)
    assert await world.nudges.plan_due(world.now) == 0
    assert world.nudges.states.state(G, ANA).reminders == []
