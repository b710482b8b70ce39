"""The admin digest's figures: baseline controls, rates with their sample floor, links, trend."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rapport.nudges import rules
from rapport.nudges.admin_digest import (
    MIN_SAMPLE,
    AdminDigest,
    AdminDigests,
    Rate,
    build,
    tally,
)
from rapport.people.guilds import GuildService
from rapport.tracking.model import MessageFacts, time_snowflake
from tests.unit.test_nudges_service import ANA, BOB, CAT, START, G, World

DAN, EVE = 40, 50


@pytest.fixture
async def world() -> World:
    w = await World().open()
    yield w
    await w.close()


def mention(w: World, author: int, target: int, at: datetime, channel: int = 7) -> int:
    """`author` mentions `target` (a message that waits for target's answer)."""
    mid = time_snowflake(at) + author
    w.ledger.record_message(MessageFacts(G, channel, mid, author, at, mentions=frozenset({target})))
    return mid


def unanswered_controls(w: World) -> list[list[object]]:
    return [c for c in w.nudges.baseline.controls(G) if c[1] == "unanswered"]


async def test_a_member_without_digests_in_the_same_situation_becomes_a_control(
    world: World,
) -> None:
    """An un-enrolled member left a mention unanswered is recorded once, as a control."""
    mention(world, BOB, CAT, START - timedelta(days=2))
    await world.members.enroll(G, ANA)
    mention(world, BOB, ANA, START - timedelta(days=2))
    await world.nudges.scan()
    controls = unanswered_controls(world)
    assert [(c[1], c[2], c[3]) for c in controls] == [("unanswered", CAT, BOB)]
    world.now += timedelta(days=1)
    await world.nudges.scan()
    assert len(unanswered_controls(world)) == 1  # the same situation is not counted twice


async def test_a_control_is_acted_on_when_the_contact_happens_within_a_week(world: World) -> None:
    """CAT answers BOB four days later: acted on. DAN never answers EVE: not, after 7 days."""
    mention(world, BOB, CAT, START - timedelta(days=2))
    mention(world, EVE, DAN, START - timedelta(days=2))
    await world.nudges.scan()
    world.now += timedelta(days=4)
    mention(world, CAT, BOB, world.now - timedelta(hours=1))
    await world.nudges.scan()
    outcomes = {c[2]: c[5] for c in unanswered_controls(world) if c[2] in (CAT, DAN)}
    assert outcomes == {CAT: True, DAN: None}
    world.now += timedelta(days=4)
    await world.nudges.scan()
    outcomes = {c[2]: c[5] for c in unanswered_controls(world) if c[2] in (CAT, DAN)}
    assert outcomes == {CAT: True, DAN: False}


async def test_nudged_and_baseline_rates_by_kind(world: World) -> None:
    """Sent counts every line; the rates count settled lines; Done presses are left out."""
    await world.members.enroll(G, ANA)
    await world.members.enroll(G, BOB)
    mention(world, CAT, ANA, START - timedelta(days=2))
    mention(world, CAT, BOB, START - timedelta(days=2))
    await world.nudges.scan()
    assert {d.member_id for d in world.sent} == {ANA, BOB}
    (bob_digest,) = world.to(BOB)
    await world.nudges.done(G, BOB, bob_digest.digest_id)
    world.now += timedelta(days=1)
    mention(world, ANA, CAT, world.now)
    world.now += timedelta(days=1)
    await world.nudges.scan()
    digest = build(world.nudges, G, world.now)
    (unanswered,) = [k for k in digest.kinds if k.kind == "unanswered"]
    assert unanswered.sent == 2
    assert unanswered.nudged == Rate(acted=1, settled=1)  # ANA's contact; BOB's Done left out
    assert unanswered.nudged.share is None  # one case is no rate


@pytest.mark.parametrize(
    ("acted", "settled", "share"),
    [(0, 0, None), (5, MIN_SAMPLE - 1, None), (5, MIN_SAMPLE, 5 / MIN_SAMPLE), (30, 40, 0.75)],
)
def test_a_share_needs_enough_settled_cases(acted: int, settled: int, share: float | None) -> None:
    """Below MIN_SAMPLE settled cases the digest says "too few", never a percentage."""
    assert Rate(acted, settled).share == share


def test_tally_leaves_out_open_and_old_cases() -> None:
    """Open cases (outcome unknown) and cases before the window count nowhere."""
    cases = [("drifting", True, 100), ("drifting", False, 100), ("drifting", None, 100)]
    cases += [("share", True, 10)]
    assert tally(cases, since=50) == {"drifting": Rate(1, 2)}


async def test_waiting_longest_links_the_oldest_unanswered_messages(world: World) -> None:
    """Oldest first, each message once, only those waiting past a day; answers never listed."""
    old = mention(world, BOB, ANA, START - timedelta(days=5))
    mid = time_snowflake(START - timedelta(days=4)) + CAT
    world.ledger.record_message(
        MessageFacts(G, 8, mid, CAT, START - timedelta(days=4), mentions=frozenset({ANA, DAN}))
    )
    # An answer to ANA's own post owes her a thank-you, not an answer: never listed.
    post_at = START - timedelta(days=7)
    post = time_snowflake(post_at) + ANA
    world.ledger.record_message(MessageFacts(G, 7, post, ANA, post_at))
    answer_at = START - timedelta(days=6)
    world.ledger.record_message(
        MessageFacts(
            G,
            7,
            time_snowflake(answer_at) + EVE,
            EVE,
            answer_at,
            reply_to_id=ANA,
            reply_to_message_id=post,
        )
    )
    mention(world, DAN, BOB, START - timedelta(hours=3))  # not a day old yet
    digest = build(world.nudges, G, START)
    assert [w.url for w in digest.waiting] == [
        f"https://discord.com/channels/{G}/7/{old}",
        f"https://discord.com/channels/{G}/8/{mid}",
    ]


async def test_newcomers_nobody_answered_are_listed_with_their_first_message(
    world: World,
) -> None:
    """A newcomer whose first message drew no answer is named; one who was answered is not."""
    for who in (DAN, EVE):
        world.ledger.member_joined(G, who, START - timedelta(days=2))
        mid = time_snowflake(START - timedelta(days=2)) + who
        world.ledger.record_message(MessageFacts(G, 7, mid, who, START - timedelta(days=2)))
    world.ledger.record_message(
        MessageFacts(
            G,
            7,
            time_snowflake(START - timedelta(days=1)) + ANA,
            ANA,
            START - timedelta(days=1),
            reply_to_id=EVE,
            reply_to_message_id=time_snowflake(START - timedelta(days=2)) + EVE,
        )
    )
    digest = build(world.nudges, G, START)
    assert [n.member_id for n in digest.newcomers] == [DAN]
    assert digest.newcomers[0].url.endswith(f"/7/{time_snowflake(START - timedelta(days=2)) + DAN}")


async def test_the_trend_covers_eight_complete_weeks_answered_within_48h(world: World) -> None:
    """Each of the 8 weeks before this one: mentions received and answered within 48 h."""
    three_weeks_ago = START - timedelta(weeks=3)
    mention(world, BOB, ANA, three_weeks_ago)
    mention(world, CAT, ANA, three_weeks_ago + timedelta(minutes=1))
    mention(world, ANA, BOB, three_weeks_ago + timedelta(hours=2))
    digest = build(world.nudges, G, START)
    assert len(digest.trend) == 8
    this_monday = digest.trend[-1].monday + timedelta(days=7)  # the last week is complete
    assert this_monday <= START.date() < this_monday + timedelta(days=7)
    busy = [w for w in digest.trend if w.inbound]
    # ANA's message answers both (in the flow of the channel); BOB never answered ANA's.
    assert [(w.inbound, w.answered) for w in busy] == [(3, 2)]
    assert busy[0].share is None  # three messages make no rate


async def test_a_quiet_server_has_nothing_to_say(world: World) -> None:
    """No newcomer, no waiting message, no history, no nudge, no closed DMs: empty."""
    assert build(world.nudges, G, START).empty


class FakePoster:
    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.sent: list[AdminDigest] = []

    def guild_ids(self) -> list[int]:
        return [G]

    def has_readers(self, guild_id: int) -> bool:
        return True

    async def send(self, digest: AdminDigest) -> bool:
        self.sent.append(digest)
        return self.answer


async def test_the_admin_digest_goes_out_once_a_week(world: World) -> None:
    """Twice in one week sends once; the next week sends again; an empty one never goes."""
    guilds = GuildService(world.store, world.settings)
    digests = AdminDigests(world.nudges, guilds, lambda: world.now)
    poster = FakePoster()
    digests.attach(poster)
    assert await digests.send_due() == 0  # nothing to say yet
    mention(world, BOB, ANA, START - timedelta(days=3))
    assert await digests.send_due() == 1
    world.now += timedelta(hours=1)
    assert await digests.send_due() == 0
    world.now += timedelta(days=7)
    mention(world, BOB, CAT, world.now - timedelta(days=2))
    assert await digests.send_due() == 1
    assert [d.week for d in poster.sent] == ["2026-W48", "2026-W49"]


async def test_a_digest_that_reached_nobody_is_tried_again(world: World) -> None:
    """When the send surely failed, the claim is given back and a later run sends it."""
    guilds = GuildService(world.store, world.settings)
    digests = AdminDigests(world.nudges, guilds, lambda: world.now)
    poster = FakePoster(answer=False)
    digests.attach(poster)
    mention(world, BOB, ANA, START - timedelta(days=3))
    assert await digests.send_due() == 0
    poster.answer = True
    assert await digests.send_due() == 1
    assert len(poster.sent) == 2


def test_reported_kinds_are_the_nudge_kinds() -> None:
    """Every kind a digest can carry (reminders aside) has its line in the admin digest."""
    from rapport.nudges.admin_digest import KINDS

    assert set(KINDS) == set(rules.RANK) - {rules.REMINDER}


def test_the_daily_sample_rotates_through_members_who_get_no_digests() -> None:
    """Up to SAMPLE eligible members a day, the next day's picking up where it stopped."""
    from rapport.nudges._baseline import SAMPLE, Baseline
    from rapport.store.memory import MemoryStore

    b = Baseline(MemoryStore())
    pool = list(range(3 * SAMPLE))
    odd = b.sample(G, pool, lambda m: m % 2 == 1, START)
    assert odd == list(range(1, 2 * SAMPLE, 2))
    assert not b.due(G, START)
    tomorrow = START + timedelta(days=1)
    assert b.due(G, tomorrow)
    assert b.sample(G, pool, lambda m: m % 2 == 1, tomorrow)[0] == 2 * SAMPLE + 1


async def test_forget_drops_an_admins_choice_of_the_digest_by_dm(world: World) -> None:
    """An admin who asks to be forgotten no longer gets the admin digest; other admins still do."""
    from rapport.people.privacy import Privacy

    guilds = world.members.guilds
    await guilds.update(G, admin_digest_dms=frozenset({ANA, BOB}))
    await Privacy(world.ledger, world.members, lambda: world.now, world.nudges).forget(G, ANA)
    assert guilds.get(G).admin_digest_dms == frozenset({BOB})
