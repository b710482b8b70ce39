"""NudgeService: scans over a real ledger, the send protocol, outcomes, back-off and the queue."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rapport.nudges.dm_queue import DmQueue, SendResult
from rapport.nudges.rules import Digest
from rapport.nudges.service import NudgeService
from rapport.nudges.state import reminder_due
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.runtime.flush import FlushLoop
from rapport.settings.config import NudgeSettings, Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts, time_snowflake

G, ANA, BOB, CAT = 1, 10, 20, 30
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class World:
    """The core's services around one MemoryStore, with a clock the test moves."""

    def __init__(self, store: MemoryStore | None = None, **nudges: object) -> None:
        self.now = START
        self.store = store or MemoryStore()
        nudges.setdefault("dms_per_second", 1000.0)
        cfg = replace(NudgeSettings(), digest_hour=None, quiet_hours=None, **nudges)
        self.settings = replace(Settings(), nudges=cfg)
        self.flusher = FlushLoop(self.store, 3600)
        guilds = GuildService(self.store, self.settings)
        self.members = MemberService(self.store, self.settings, guilds, lambda: self.now)
        self.ledger = Ledger(self.store)
        self.nudges = NudgeService(
            self.store, self.settings, self.members, self.ledger, self.flusher, lambda: self.now
        )
        for s in (self.ledger, self.members, guilds, self.nudges):
            self.flusher.add_stager(s.stage)
        self.sent: list[Digest] = []
        self.answer = SendResult.SENT

    async def open(self) -> World:
        await self.members.ensure(G)
        await self.ledger.load_guild(G)
        await self.nudges.ensure(G)
        self.nudges.attach(self.send)
        return self

    async def send(self, digest: Digest) -> SendResult:
        if self.answer is SendResult.SENT:
            self.sent.append(digest)
        return self.answer

    def reply(self, author: int, to: int, at: datetime, *, thanks: bool = False) -> int:
        mid = time_snowflake(at) + author
        self.ledger.record_message(
            MessageFacts(
                G, 7, mid, author, at, reply_to_id=to, reply_to_message_id=1, thanks=thanks
            )
        )
        return mid

    def to(self, member: int) -> list[Digest]:
        return [d for d in self.sent if d.member_id == member]

    async def close(self) -> None:
        await self.nudges.detach()


@pytest.fixture
async def world() -> World:
    w = await World().open()
    yield w
    await w.close()


async def test_an_unanswered_reply_reaches_the_member_once(world: World) -> None:
    """A reply left unanswered past a day is sent in one digest, and never again."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    await world.nudges.scan()
    (digest,) = world.to(ANA)
    assert [(i.kind, i.about_id) for i in digest.items] == [("unanswered", BOB)]
    world.now += timedelta(days=1)
    await world.nudges.scan()
    assert len(world.to(ANA)) == 1


async def test_members_not_enrolled_get_nothing_and_preview_still_shows(world: World) -> None:
    """Only enrolled members get DMs; preview shows what joining would bring."""
    world.reply(BOB, ANA, START - timedelta(days=2))
    await world.nudges.scan()
    assert world.sent == []
    preview = world.nudges.preview(G, ANA, world.now)
    assert preview is not None
    assert preview.items[0].about_id == BOB


async def test_a_crash_between_send_and_record_never_resends() -> None:
    """The marker is durable before the DM; after a crash it resolves as sent, not resent."""
    first = await World().open()
    await first.members.enroll(G, ANA)
    first.reply(BOB, ANA, START - timedelta(days=2))
    await first.flusher.flush()
    hang, sending = asyncio.Event(), asyncio.Event()

    async def send_then_die(digest: Digest) -> SendResult:
        first.sent.append(digest)
        sending.set()
        await hang.wait()  # the process dies before the answer is recorded
        return SendResult.SENT

    first.nudges.attach(send_then_die)
    scan = asyncio.create_task(first.nudges.scan())
    await sending.wait()
    durable = copy.deepcopy(first.store._data)  # what a kill -9 leaves: flushed data only
    scan.cancel()
    await first.close()

    crashed = MemoryStore()
    crashed._data = durable
    second = await World(crashed).open()
    await second.nudges.scan()
    assert second.sent == []
    assert second.nudges.member_outcomes(G, ANA) == {"digests": 1, "sent": 1, "acted_on": 0}
    await second.close()


async def test_overlapping_scans_send_one_digest(world: World) -> None:
    """Two scans running at once queue and send the member's digest once."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    await asyncio.gather(world.nudges.plan_due(world.now), world.nudges.plan_due(world.now))
    await world.nudges.queue.join()
    assert len(world.to(ANA)) == 1


async def test_closed_dms_are_recorded_and_not_retried(world: World) -> None:
    """A 50007 marks the member's DMs closed, counts in stats, and stops further tries."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    world.answer = SendResult.CLOSED
    await world.nudges.scan()
    assert world.members.preferences(G, ANA).dms_closed
    assert world.nudges.guild_stats(G)["dms_closed"] == 1
    world.answer = SendResult.SENT
    world.now += timedelta(days=1)
    await world.nudges.scan()
    assert world.sent == []
    await world.members.enroll(G, ANA)  # a command reopens them
    await world.nudges.scan()
    assert len(world.to(ANA)) == 1


async def test_a_snooze_pressed_while_the_digest_waits_holds_it(world: World) -> None:
    """A member who snoozes after the scan planned their digest, before it went out, gets nothing."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    await world.nudges.detach()  # the paced queue has not reached the member yet
    assert await world.nudges.plan_due(world.now) == 1
    await world.members.snooze(G, ANA, timedelta(days=7))
    world.nudges.attach(world.send)
    await world.nudges.queue.join()
    assert world.sent == []
    assert world.nudges.queue.results[SendResult.SKIPPED] == 1


async def test_the_rules_never_look_at_a_muted_person(world: World) -> None:
    """What the rules find for a member leaves out everyone they muted, before any ranking."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    world.reply(CAT, ANA, START - timedelta(days=2))
    await world.members.mute(G, ANA, BOB)
    prefs = world.members.preferences(G, ANA)
    found = world.nudges.candidates(G, prefs, world.now, [])
    assert {n.about_id for n in found} == {CAT}


async def test_a_mute_picked_while_the_digest_waits_drops_only_that_line(world: World) -> None:
    """Muting someone after the scan planned the digest removes their line; the rest still goes."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    world.reply(CAT, ANA, START - timedelta(days=2))
    await world.nudges.detach()  # the paced queue has not reached the member yet
    assert await world.nudges.plan_due(world.now) == 1
    await world.members.mute(G, ANA, BOB)
    world.nudges.attach(world.send)
    await world.nudges.queue.join()
    (digest,) = world.to(ANA)
    assert [i.about_id for i in digest.items] == [CAT]


async def test_an_answerer_named_in_a_thank_you_line_is_not_named_again(world: World) -> None:
    """Bob and Cat answered Ana's post: one line names both; Ana reacts to Cat's only, and no later
    digest tells her again, on his own, that Bob answered it (nor names Bob beside Dan's answer)."""
    await world.members.enroll(G, ANA)
    post_at = START - timedelta(days=2)
    post = time_snowflake(post_at) + ANA
    world.ledger.record_message(MessageFacts(G, 7, post, ANA, post_at))

    def answer(author: int, at: datetime, to: int = ANA, message: int = post) -> int:
        mid = time_snowflake(at) + author
        world.ledger.record_message(
            MessageFacts(G, 7, mid, author, at, reply_to_id=to, reply_to_message_id=message)
        )
        return mid

    answer(BOB, START - timedelta(hours=30))
    cat = answer(CAT, START - timedelta(hours=25))
    await world.members.configure(G, ANA, kinds=["thanks", "unanswered"])
    await world.nudges.scan()
    (first,) = world.to(ANA)
    assert [(i.kind, i.people) for i in first.items] == [("thanks", (BOB, CAT))]
    # Ana reacts to Cat's answer (the line's link), not to Bob's.
    world.ledger.record(
        Interaction(G, ANA, CAT, 7, Kind.REACTION, cat, START - timedelta(hours=25))
    )
    world.now += timedelta(days=2, hours=2)
    await world.nudges.scan()
    assert world.to(ANA) == [first]
    answer(40, world.now - timedelta(days=1))  # Dan answers the post too
    world.now += timedelta(days=2)
    await world.nudges.scan()
    (_, later) = world.to(ANA)
    assert [(i.about_id, i.people) for i in later.items] == [(40, ())]


async def test_acting_on_a_nudge_counts_and_reaches_the_stats(world: World) -> None:
    """Replying to the person within 7 days counts the nudge as acted on."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    await world.nudges.scan()
    world.now += timedelta(hours=5)
    world.reply(ANA, BOB, world.now)
    await world.nudges.scan()
    assert world.nudges.member_outcomes(G, ANA) == {"digests": 1, "sent": 1, "acted_on": 1}
    stats = world.nudges.guild_stats(G)
    assert stats["digests_sent"] == 1
    assert stats["acted_on_rate"] == 1.0


async def test_three_ignored_digests_then_ask_then_back_off(world: World) -> None:
    """After 3 ignored digests the 4th asks, and nothing more goes out until answered."""
    await world.members.enroll(G, ANA)
    await world.members.configure(G, ANA, max_dms_per_week=14)
    for day in range(4):
        world.reply(100 + day, ANA, world.now - timedelta(days=1, hours=1))
        await world.nudges.scan()
        world.now += timedelta(days=2)  # min_gap
    asks = [d.ask_feedback for d in world.to(ANA)]
    assert asks == [False, False, False, True]
    await world.nudges.feedback(G, ANA, "fewer")
    assert world.members.preferences(G, ANA).max_dms_per_week == 7
    world.reply(200, ANA, world.now - timedelta(days=1, hours=1))
    await world.nudges.scan()
    assert len(world.to(ANA)) == 5
    assert not world.to(ANA)[-1].ask_feedback


async def test_the_done_button_counts_the_digest_as_acted_on(world: World) -> None:
    """Done marks the digest's items acted on, which also resets the back-off streak."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    await world.nudges.scan()
    (digest,) = world.to(ANA)
    assert await world.nudges.done(G, ANA, digest.digest_id)
    assert not await world.nudges.done(G, BOB, digest.digest_id)  # not Bob's digest
    assert world.nudges.member_outcomes(G, ANA)["acted_on"] == 1


async def test_forget_member_drops_every_nudge_about_them(world: World) -> None:
    """After /rapport forget nobody is nudged about the member, and their state is gone."""
    await world.members.enroll(G, ANA)
    world.reply(BOB, ANA, START - timedelta(days=2))
    await world.nudges.scan()
    world.nudges.forget_member(G, BOB)
    st = world.nudges.states.by_guild[G][ANA]
    assert not any(v[1] == BOB for v in st.sent.values())
    assert all(it[2] != BOB for d in st.digests for it in d["items"])


async def test_a_reminder_arrives_only_if_still_unanswered(world: World) -> None:
    """Remind me to reply sends a DM when due, unless the member has answered meanwhile."""
    bob_msg = world.reply(BOB, ANA, START - timedelta(minutes=5))
    cat_msg = world.reply(CAT, ANA, START - timedelta(minutes=5))
    await world.nudges.remind(G, ANA, 7, bob_msg, BOB, START - timedelta(minutes=5), "1h")
    await world.nudges.remind(G, ANA, 7, cat_msg, CAT, START - timedelta(minutes=5), "1h")
    await world.nudges.scan()
    assert world.sent == []
    world.reply(ANA, CAT, world.now + timedelta(minutes=10))
    world.now += timedelta(hours=1, minutes=1)
    await world.nudges.scan()
    await world.nudges.scan()
    assert [(d.items[0].kind, d.items[0].about_id) for d in world.to(ANA)] == [("reminder", BOB)]


@pytest.mark.parametrize(
    ("choice", "due"),
    [
        ("1h", datetime(2026, 11, 26, 13, 0, tzinfo=UTC)),
        ("week", datetime(2026, 12, 3, 12, 0, tzinfo=UTC)),
        ("tomorrow", datetime(2026, 11, 27, 8, 0, tzinfo=UTC)),  # 09:00 in Paris
    ],
)
def test_reminder_times(choice: str, due: datetime) -> None:
    """Reminder choices map to times; tomorrow is 9:00 in the member's zone."""
    from zoneinfo import ZoneInfo

    assert reminder_due(choice, START, ZoneInfo("Europe/Paris")) == due


class FakeTime:
    """A monotonic clock that only moves when the queue sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.t += seconds
        await asyncio.sleep(0)


async def test_the_queue_paces_dms_and_pauses_on_40003() -> None:
    """DMs leave one per interval; a 40003 pauses the queue and retries the same DM."""
    clock = FakeTime()
    answers = [SendResult.SENT, SendResult.TOO_FAST, SendResult.SENT, SendResult.SENT]
    log: list[tuple[str, float]] = []

    async def deliver(item: str) -> SendResult:
        log.append((item, clock.t))
        return answers.pop(0)

    q: DmQueue[str] = DmQueue(
        2.0, deliver, key=lambda i: i, backoff=60, sleep=clock.sleep, monotonic=clock.monotonic
    )
    q.start()
    assert q.put("a")
    assert q.put("b")
    assert q.put("c")
    assert not q.put("b")  # one waiting DM per recipient
    await q.join()
    await q.stop()
    assert [i for i, _ in log] == ["a", "b", "b", "c"]
    assert clock.sleeps == [0.5, 60, 0.5]


async def test_a_scan_queues_no_more_than_the_queue_can_send_and_the_next_carries_on(
    world: World,
) -> None:
    """With room for one DM per scan, the next scan starts after the member served last."""
    for member in (ANA, BOB, CAT):
        await world.members.enroll(G, member)
        world.reply(99, member, START - timedelta(days=2))
    world.nudges.budget = 1
    served = []
    for _ in range(3):
        await world.nudges.scan()
        served.append(world.sent[-1].member_id)
    assert sorted(served) == [ANA, BOB, CAT]
