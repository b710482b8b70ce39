"""What members actually receive: digests read line by line against what really happened.

For each seed, the demo's community generator (sandbox/community.py) writes 3 weeks of history
and 8 more weeks that are played on a moving clock, plus one newcomer a week who posts a
greeting in a talk channel (their join and first message arrive together, message first).
Tracking goes straight into the core (a Ledger and MemberService over a MemoryStore; message
text read with rapport.tracking.signals as the tracking cog reads it); the real rules, planner
and send protocol run hourly through a fake Sender. Members who enrolled act on some lines
(reply, react, share, welcome, or press Done) a few hours after the digest; others ignore them.

Each line is then judged against the bench's own log of what happened:

- stale_lines: an unanswered, thanks or welcome line whose item is older than stale_after (7d)
- repeated_lines: the same situation (member, kind, person, message / last contact / last
  share) sent again within 14 days; a thank-you line naming several answerers says each answer
- both_sides_drifting: a drifting line to one side of a pair within 7 days of the other side
  getting one about the same silence
- false_unanswered: an unanswered or thanks line about a message the member had engaged
  with (reply or mention of its author, a reaction to it, or a message in its channel within
  6 h), or about a message that closed the exchange (a thank-you, "got it", ...)
- untrue_share_lines: "haven't shared for a while" to a member who never shared, or who
  shared within share_after
- back_to_back_days: two digests to one member on consecutive days

    .venv/bin/python bench/quality.py [--seeds 1,2,3,4,5] [--weeks 8] [--show [N]]

--show prints every line as it is sent; --show N prints N digests sampled over all seeds
(the same N the same sample), each as its member reads it, to read them line by line.

Last line: {"bench": "quality", "seeds", "weeks", "members", "digests", "lines",
"dms_per_member_week_mean", "dms_per_member_week_max", "stale_lines", "repeated_lines",
"both_sides_drifting", "false_unanswered", "untrue_share_lines", "back_to_back_days",
"welcome_lines", "acted_on_rate", "welcome_under_1h"}; "members" counts enrolled members over all
seeds; welcome_under_1h: welcome lines sent within an hour of the newcomer's first post.

Over 400 lines because the simulation and its judges share one log of what happened; it is a
measurement, never part of the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import logging
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapport.compose import build_services
from rapport.nudges import rules
from rapport.nudges.dm_queue import SendResult
from rapport.nudges.rules import Digest
from rapport.nudges.service import NudgeService
from rapport.people.members import MemberService
from rapport.settings.config import NudgeSettings, Settings
from rapport.store.memory import MemoryStore
from rapport.tracking import signals
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts, time_snowflake
from sandbox.community import CHANNELS, GREETINGS, NAMES, TALK_CHANNELS, generate

GUILD = 900_000_000_000_000_001
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday; the simulation's first moment
HISTORY_WEEKS = 3
SCAN_EVERY = timedelta(hours=1)
ACT_RATE = 0.4
DONE_RATE = 0.1
STALE_AFTER = timedelta(days=7)
ANSWER_WINDOW = timedelta(hours=6)
REPEAT_WINDOW = timedelta(days=14)
CLOSING = re.compile(
    r"\b(thanks|thank you|thx|ty|merci|got it|that fixed it|you'?re welcome|np|no problem)\b",
    re.IGNORECASE,
)
NEGATED = re.compile(r"\bno,?\s+(thanks|thank you)\b", re.IGNORECASE)


@dataclass
class Msg:
    """One message as the bench logged it."""

    id: int
    author: int
    channel: int  # the text channel (a thread's parent)
    where: int  # the message channel: the thread when in one
    at: datetime
    text: str
    reply_to: int | None = None  # message id
    mentions: frozenset[int] = frozenset()


@dataclass
class Line:
    """One digest line as sent."""

    member: int
    kind: str
    about: int | None
    at: datetime  # the nudge's situation time
    sent: datetime
    text: str
    message: int | None  # the message a line points at (unanswered, thanks)
    covers: tuple[int, ...] = ()  # every answer a thank-you line names (several answerers)


@dataclass
class World:
    """One seed's simulated server."""

    seed: int
    rng: random.Random
    ids: dict[str, int]
    names: dict[int, str]
    enrolled: list[int]
    channels: dict[str, int]
    nudges: NudgeService
    ledger: Ledger
    members: MemberService
    messages: dict[int, Msg] = field(default_factory=dict)
    reactions: list[tuple[int, int, str, datetime]] = field(default_factory=list)
    shares: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    lines: list[Line] = field(default_factory=list)
    digests: list[tuple[int, datetime]] = field(default_factory=list)
    queue: list[tuple[datetime, int, Any]] = field(default_factory=list)
    serial: int = 0
    now: datetime = START

    def schedule(self, at: datetime, action: Any) -> None:
        """Run an action (a callable taking the world) at a moment of the simulation."""
        self.serial += 1
        heapq.heappush(self.queue, (at, self.serial, action))

    def new_id(self, at: datetime) -> int:
        """A snowflake for `at`, unique in this world."""
        self.serial += 1
        return time_snowflake(at) + self.serial % (1 << 22)

    # --- what members do, fed to the core as the tracking cog would --------------------------

    def say(
        self,
        author: int,
        channel: str,
        text: str,
        at: datetime,
        *,
        reply_to: int | None = None,
        mentions: frozenset[int] = frozenset(),
        thread: int | None = None,
        starter: int | None = None,
        joined_at: datetime | None = None,
    ) -> int:
        mid = self.new_id(at)
        chan = self.channels[channel]
        where = thread or chan
        self.messages[mid] = Msg(mid, author, chan, where, at, text, reply_to, mentions)
        ref = self.messages.get(reply_to) if reply_to else None
        link = signals.has_link(text)
        if link:
            self.shares[author].append(at)
        values: dict[str, Any] = {}
        if joined_at is not None and "author_joined_at" in MessageFacts._fields:
            values["author_joined_at"] = joined_at
        if "closes" in MessageFacts._fields and hasattr(signals, "closes_exchange"):
            values["closes"] = signals.closes_exchange(text)
        facts = MessageFacts(
            GUILD,
            chan,
            mid,
            author,
            at,
            thread,
            starter,
            ref.author if ref else None,
            reply_to if ref else None,
            mentions - {author},
            link,
            False,
            signals.says_thanks(text),
            **values,
        )
        self.ledger.record_message(facts)
        return mid

    def react(self, actor: int, message: int, emoji: str, at: datetime) -> None:
        msg = self.messages[message]
        self.reactions.append((actor, message, emoji, at))
        if msg.author == actor:
            return
        thanks = signals.is_thanks_emoji(emoji)
        for kind in (Kind.REACTION, Kind.THANKS) if thanks else (Kind.REACTION,):
            # As the tracking cog does: the reaction's time is its message's.
            self.ledger.record(
                Interaction(GUILD, actor, msg.author, msg.where, kind, message, msg.at)
            )

    def join(self, member: int, at: datetime) -> None:
        self.ledger.member_joined(GUILD, member, at)


def build(seed: int, weeks: int) -> tuple[World, list[tuple[datetime, Any]]]:
    """The services, the members and every scheduled event of one seed."""
    rng = random.Random(seed * 7919)
    community = generate(seed, weeks=HISTORY_WEEKS + weeks)
    end = START + timedelta(weeks=weeks)
    store = MemoryStore()
    cfg = replace(NudgeSettings(), dms_per_second=10_000.0)
    settings = replace(Settings(), nudges=cfg)
    clock = [START]
    services = build_services(settings, store, lambda: clock[0])
    members, ledger, nudges = services.members, services.ledger, services.nudges
    ids = {p.name: 1_000 + i for i, p in enumerate(community.people)}
    channels = {name: 500 + i for i, name in enumerate(CHANNELS)}
    enrolled = [ids[p.name] for p in community.people if p.enrolls]
    world = World(
        seed,
        rng,
        ids,
        {v: k for k, v in ids.items()},
        enrolled,
        channels,
        nudges,
        ledger,
        members,
    )
    world.clock = clock  # type: ignore[attr-defined]
    # The generator's events, as (time, action); references by event index.
    made: dict[int, tuple[int, int | None]] = {}  # event index -> (message id, thread id)
    timeline: list[tuple[datetime, Any]] = []
    for index, ev in enumerate(community.events):
        at = end - timedelta(days=ev.days_ago)

        def act(w: World, ev: Any = ev, index: int = index, at: datetime = at) -> None:
            actor = w.ids[ev.actor]
            if ev.kind == "join":
                w.join(actor, at)
            elif ev.kind == "thread":
                mid = w.say(actor, ev.channel, ev.text, at)
                made[index] = (mid, mid)
            elif ev.kind == "react":
                target = made.get(ev.target) if ev.target is not None else None
                if target:
                    w.react(actor, target[0], ev.emoji, at)
            else:
                parent = made.get(ev.reply_to) if ev.reply_to is not None else None
                thread = parent[1] if parent else None
                starter = w.messages[parent[0]].author if thread and parent else None
                mid = w.say(
                    actor,
                    ev.channel or "general",
                    ev.text,
                    at,
                    reply_to=None if thread or parent is None else parent[0],
                    mentions=frozenset(w.ids[n] for n in ev.mentions),
                    thread=thread,
                    starter=starter,
                )
                made[index] = (mid, None)

        timeline.append((at, act))
    # One newcomer a week (names the community does not use), greeting in a talk channel;
    # the join and the first message arrive together, the message first.
    spare = [n for n in NAMES if n not in ids] + [f"New{i}" for i in range(weeks)]
    for week in range(weeks):
        name = spare[week]
        nid = ids[name] = 9_000 + seed * 100 + week
        world.names[nid] = name
        joined = START + timedelta(weeks=week, days=rng.uniform(0.5, 5.5))
        channel = rng.choice(TALK_CHANNELS)
        greeting = rng.choice(GREETINGS)

        def arrive(
            w: World,
            nid: int = nid,
            joined: datetime = joined,
            ch: str = channel,
            text: str = greeting,
        ) -> None:
            w.say(nid, ch, text, joined + timedelta(seconds=1), joined_at=joined)
            w.join(nid, joined)

        timeline.append((joined, arrive))
    return world, timeline


async def run_seed(
    seed: int,
    weeks: int,
    *,
    show: bool = False,
    digests: list[tuple[int, str, list[str]]] | None = None,
) -> dict[str, Any]:
    """Simulate one seed; returns its figures (each digest's lines go to `digests`)."""
    world, timeline = build(seed, weeks)
    clock = world.clock  # type: ignore[attr-defined]
    for at, act in sorted(timeline, key=lambda x: x[0]):
        if at < START:
            act(world)
        else:
            world.schedule(at, act)
    nudges, members = world.nudges, world.members
    await members.ensure(GUILD)
    await nudges.ensure(GUILD)
    for m in world.enrolled:
        await members.enroll(GUILD, m)

    async def sender(digest: Digest) -> SendResult:
        now = clock[0]
        world.digests.append((digest.member_id, now))
        said: list[str] = []
        for n in digest.items:
            text = rules.describe(n, name_of, now, channel_of)
            said.append(text)
            message = (
                int(n.url.rsplit("/", 1)[1])
                if n.url and n.kind in (rules.UNANSWERED, rules.THANKS)
                else None
            )
            covers = tuple(int(k.rsplit(":", 1)[1]) for k in getattr(n, "people_keys", ()))
            world.lines.append(
                Line(digest.member_id, n.kind, n.about_id, n.at, now, text, message, covers)
            )
        if digests is not None:
            head = f"{now:%a %m-%d %H:%M} to {name_of(digest.member_id)}"
            digests.append((seed, head, said))
        respond(world, digest, now)
        return SendResult.SENT

    channel_names = {v: k for k, v in world.channels.items()}

    def name_of(member: int) -> str:
        return world.names.get(member, str(member))

    def channel_of(channel: int) -> str:
        # A thread is named by its first message's channel, as "#help (thread)".
        if channel in channel_names:
            return f"#{channel_names[channel]}"
        starter = world.messages.get(channel)
        return (
            f"#{channel_names.get(starter.channel, '?')} (thread)" if starter else f"<#{channel}>"
        )

    nudges.attach(sender)
    end = START + timedelta(weeks=weeks)
    now = START
    while now < end:
        while world.queue and world.queue[0][0] <= now:
            at, _, act = heapq.heappop(world.queue)
            clock[0] = at
            act(world)
        clock[0] = now
        await nudges.plan_due(now)
        await nudges.queue.join()
        now += SCAN_EVERY
    await nudges.detach()
    if show:
        for line in world.lines:
            print(f"  {line.sent:%m-%d %H:%M} to {world.names[line.member]}: {line.text}")
    stats = nudges.guild_stats(GUILD)
    figures = judge(world, weeks)
    figures["acted_on_rate"] = stats["acted_on_rate"]
    figures["acted_on"] = stats["acted_on"]
    figures["nudges_sent"] = stats["nudges_sent"]
    return figures


def respond(world: World, digest: Digest, now: datetime) -> None:
    """Some lines are acted on a few hours later; the rest are ignored."""
    rng = world.rng
    member = digest.member_id
    if rng.random() < DONE_RATE:
        world.schedule(
            now + timedelta(hours=1),
            lambda w: asyncio.ensure_future(w.nudges.done(GUILD, member, digest.digest_id)),
        )
    for n in digest.items:
        if rng.random() >= ACT_RATE:
            continue
        at = now + timedelta(hours=rng.uniform(0.5, 5))
        other = n.about_id
        if n.kind in (rules.UNANSWERED, rules.THANKS) and n.url and other is not None:
            message = int(n.url.rsplit("/", 1)[1])

            def answer(
                w: World,
                message: int = message,
                kind: str = n.kind,
                at: datetime = at,
                roll: float = rng.random(),
            ) -> None:
                msg = w.messages.get(message)
                if msg is None:
                    return
                if roll < 0.3:
                    w.react(member, message, "👍", at)
                    return
                text = "thanks, that helps!" if kind == rules.THANKS else "good point, will do"
                name = next(k for k, v in w.channels.items() if v == msg.channel)
                thread = msg.where if msg.where != msg.channel else None
                starter = w.messages[thread].author if thread and thread in w.messages else None
                w.say(member, name, text, at, reply_to=message, thread=thread, starter=starter)

            world.schedule(at, answer)
        elif n.kind == rules.DRIFTING and other is not None:
            world.schedule(
                at,
                lambda w, o=other, at=at: w.say(
                    member,
                    "general",
                    "hey, long time — how's it going?",
                    at,
                    mentions=frozenset({o}),
                ),
            )
        elif n.kind == rules.SHARE:
            world.schedule(
                at,
                lambda w, at=at: w.say(
                    member, "resources", "this is worth a read https://example.org/found", at
                ),
            )
        elif n.kind == rules.WELCOME and other is not None:
            first = [m for m in world.messages.values() if m.author == other]
            if first:
                target = first[0]
                name = next(k for k, v in world.channels.items() if v == target.channel)
                world.schedule(
                    at,
                    lambda w, t=target.id, name=name, at=at: w.say(
                        member, name, "welcome aboard!", at, reply_to=t
                    ),
                )


def engaged(world: World, member: int, msg: Msg, until: datetime) -> bool:
    """Whether the member engaged with a message by the issue's rule before `until`."""
    for m in world.messages.values():
        if m.author != member or not (msg.at < m.at <= until):
            continue
        ref = world.messages.get(m.reply_to) if m.reply_to is not None else None
        if ref is not None and ref.author == msg.author:
            return True
        if msg.author in m.mentions:
            return True
        if m.where == msg.where and m.at - msg.at <= ANSWER_WINDOW:
            return True
    return any(
        actor == member and message == msg.id and at <= until
        for actor, message, _, at in world.reactions
    )


def closes(text: str) -> bool:
    """The bench's own reading: a message that closes an exchange owes no answer."""
    return bool(CLOSING.search(text)) and not NEGATED.search(text)


def judge(world: World, weeks: int) -> dict[str, Any]:
    """The figures of one seed from its lines and the log."""
    c: Counter[str] = Counter()
    last_seen: dict[tuple, datetime] = {}
    drift_sent: dict[tuple[int, int, datetime], datetime] = {}
    for line in sorted(world.lines, key=lambda x: x.sent):
        c["lines"] += 1
        if line.kind == rules.WELCOME:
            c["welcome_lines"] += 1
            # line.at is the newcomer's first post (here a second after their join).
            if line.sent - line.at < timedelta(hours=1):
                c["welcome_under_1h"] += 1
        item = line.kind in (rules.UNANSWERED, rules.THANKS, rules.WELCOME)
        if item and line.sent - line.at > STALE_AFTER:
            c["stale_lines"] += 1
        anchor: Any
        if line.kind in (rules.UNANSWERED, rules.THANKS):
            anchor = line.message
        elif line.kind == rules.SHARE:
            before = [t for t in world.shares.get(line.member, []) if t <= line.sent]
            anchor = max(before) if before else None
        elif line.kind == rules.DRIFTING:
            anchor = line.at
        else:
            anchor = None
        kind = rules.THANKS if line.kind == rules.UNANSWERED else line.kind
        # A thank-you line naming several answerers says each of their answers.
        said = [(line.about, anchor)] + [
            (world.messages[m].author, m) for m in line.covers if m in world.messages
        ]
        situations = {(line.member, kind, about, a) for about, a in said}
        if any(
            (prev := last_seen.get(s)) is not None and line.sent - prev < REPEAT_WINDOW
            for s in situations
        ):
            c["repeated_lines"] += 1
        for situation in situations:
            last_seen[situation] = line.sent
        if line.kind == rules.DRIFTING and line.about is not None:
            other = drift_sent.get((line.about, line.member, line.at))
            if other is not None and line.sent - other < timedelta(days=7):
                c["both_sides_drifting"] += 1
            drift_sent[(line.member, line.about, line.at)] = line.sent
        if line.kind in (rules.UNANSWERED, rules.THANKS) and line.message is not None:
            msg = world.messages.get(line.message)
            if msg is not None and (
                closes(msg.text) or engaged(world, line.member, msg, line.sent)
            ):
                c["false_unanswered"] += 1
        if line.kind == rules.SHARE:
            shared = [t for t in world.shares.get(line.member, []) if t <= line.sent]
            claims_while = "for a while" in line.text
            recent = shared and line.sent - max(shared) < timedelta(days=14)
            if (claims_while and not shared) or recent:
                c["untrue_share_lines"] += 1
    per_member: dict[int, list[datetime]] = defaultdict(list)
    for member, at in world.digests:
        per_member[member].append(at)
    week_counts: list[int] = []
    for member in world.enrolled:
        times = sorted(per_member.get(member, []))
        for a, b in itertools.pairwise(times):
            if (b.date() - a.date()).days <= 1:
                c["back_to_back_days"] += 1
        per_week = Counter((t - START) // timedelta(weeks=1) for t in times)
        week_counts += [per_week.get(w, 0) for w in range(weeks)]
    n = max(len(world.enrolled), 1)
    return {
        "members": len(world.enrolled),
        "digests": len(world.digests),
        "lines": c["lines"],
        "lines_per_digest": round(c["lines"] / max(len(world.digests), 1), 2),
        "dms_per_member_week_mean": round(len(world.digests) / n / weeks, 2),
        "dms_per_member_week_max": max(week_counts, default=0),
        **{
            k: c[k]
            for k in (
                "stale_lines",
                "repeated_lines",
                "both_sides_drifting",
                "false_unanswered",
                "untrue_share_lines",
                "back_to_back_days",
                "welcome_lines",
                "welcome_under_1h",
            )
        },
    }


ERRORS = (
    "stale_lines",
    "repeated_lines",
    "both_sides_drifting",
    "false_unanswered",
    "untrue_share_lines",
    "back_to_back_days",
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument(
        "--show",
        nargs="?",
        type=int,
        const=-1,
        default=None,
        metavar="N",
        help="print every line sent, or (with N) N sampled digests",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    seeds = [int(s) for s in args.seeds.split(",")]
    totals: Counter[str] = Counter()
    week_max = 0
    sample: list[tuple[int, str, list[str]]] = []
    for seed in seeds:
        f = await run_seed(seed, args.weeks, show=args.show == -1, digests=sample)
        print(
            f"seed {seed}: {f['members']} members, {f['digests']} digests, {f['lines']} lines "
            f"({f['lines_per_digest']}/digest), DMs/member/week mean "
            f"{f['dms_per_member_week_mean']} max {f['dms_per_member_week_max']}; "
            + ", ".join(f"{k} {f[k]}" for k in ERRORS)
            + f"; welcome_lines {f['welcome_lines']}, acted_on_rate {f['acted_on_rate']}"
        )
        for k in (
            "members",
            "digests",
            "lines",
            "acted_on",
            "nudges_sent",
            "welcome_lines",
            "welcome_under_1h",
        ):
            totals[k] += f[k]
        for k in ERRORS:
            totals[k] += f[k]
        week_max = max(week_max, f["dms_per_member_week_max"])
    if args.show is not None and args.show >= 0:
        for seed, head, lines in random.Random(0).sample(sample, min(args.show, len(sample))):
            print(f"seed {seed}, {head}:" + "".join(f"\n  • {line}" for line in lines))
    members = max(totals["members"], 1)
    result = {
        "bench": "quality",
        "seeds": len(seeds),
        "weeks": args.weeks,
        "members": totals["members"],
        "digests": totals["digests"],
        "lines": totals["lines"],
        "dms_per_member_week_mean": round(totals["digests"] / members / args.weeks, 2),
        "dms_per_member_week_max": week_max,
        **{k: totals[k] for k in ERRORS},
        "welcome_lines": totals["welcome_lines"],
        "acted_on_rate": round(totals["acted_on"] / max(totals["nudges_sent"], 1), 3),
        "welcome_under_1h": totals["welcome_under_1h"],
    }
    print(
        f"overall: {result['digests']} digests, {result['lines']} lines "
        f"({round(result['lines'] / max(result['digests'], 1), 2)}/digest), DMs/member/week "
        f"mean {result['dms_per_member_week_mean']} max {week_max}; "
        + ", ".join(f"{k} {result[k]}" for k in ERRORS)
        + f"; welcome_lines {result['welcome_lines']} ({result['welcome_under_1h']} under an "
        f"hour after the newcomer's first post), acted_on_rate {result['acted_on_rate']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
