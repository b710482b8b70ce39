"""The weekly admin digest: what an admin can act on, in aggregates and links, never text.

What it holds, per guild (docs/nudges.md, "The admin digest", has the definitions):

- newcomers of the last 7 days whose first messages nobody answered (who, and a link);
- the messages waiting longest for their answer (links and how long, nothing else);
- the share of replies and mentions answered within 48 h, for each of the last 8 complete
  weeks (the leaderboard's counters);
- nudges sent in the last 4 weeks by kind, the share acted on, and the baseline: how often the
  same contact happened for members in the same situation who got no digest
  (rapport/nudges/_baseline.py); a share is given only over MIN_SAMPLE settled cases;
- how many members' DMs are closed.

A section with nothing in it is left out, and a digest with nothing worth saying is not sent.
Sent on `[schedule] admin_digest` (default Monday 09:00), once per guild and ISO week: a
durable store claim is taken before sending, kept after (released only when nothing went out
for sure), so a restart or a second process never sends it twice. The cog implements the
`AdminPoster` port: where it goes (the channel chosen with /rapport-admin admin-digest, DMs to
the admins who opted in) and how it reads.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from rapport.clock import Clock, epoch
from rapport.nudges import rules
from rapport.nudges.service import NudgeService
from rapport.nudges.state import DONE
from rapport.people.guilds import GuildService
from rapport.tracking.ledger import period_keys
from rapport.tracking.model import jump_url

log = logging.getLogger(__name__)

JOB = "send_admin_digests"
WINDOW = timedelta(days=28)
"""Nudges (and baseline cases) of the last 4 weeks; each one's outcome is known 7 days on."""
MIN_SAMPLE = 20
"""Fewer settled cases than this and a share would mislead: the digest says so instead."""
TREND_WEEKS = 8
LONGEST = 5
"""How many of the messages waiting longest are linked."""
KINDS = (rules.UNANSWERED, rules.THANKS, rules.DRIFTING, rules.WELCOME, rules.SHARE)
_CLAIM_FOR = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class Rate:
    """`acted` of `settled` cases; no share below MIN_SAMPLE cases."""

    acted: int = 0
    settled: int = 0

    @property
    def share(self) -> float | None:
        """The share acted on, or None when the sample is too small to mean anything."""
        return self.acted / self.settled if self.settled >= MIN_SAMPLE else None


@dataclass(frozen=True, slots=True)
class KindFigures:
    """One nudge kind over the window: sent, acted on after a nudge, and without one."""

    kind: str
    sent: int
    nudged: Rate
    baseline: Rate


@dataclass(frozen=True, slots=True)
class WeekRate:
    """Replies and mentions received in one ISO week, and how many were answered within 48 h."""

    week: str
    monday: date
    inbound: int
    answered: int

    @property
    def share(self) -> float | None:
        """The share answered, or None in a week with too few to mean anything."""
        return self.answered / self.inbound if self.inbound >= MIN_SAMPLE else None


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message waiting for its answer: where, since when. No author, no text."""

    url: str
    channel_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A newcomer nobody answered: who, when they joined, a link to their first message."""

    member_id: int
    joined_at: datetime
    url: str


@dataclass(frozen=True, slots=True)
class AdminDigest:
    """One guild's weekly admin digest: aggregates and links only."""

    guild_id: int
    week: str
    created: datetime
    newcomers: tuple[Newcomer, ...]
    waiting: tuple[Waiting, ...]
    trend: tuple[WeekRate, ...]
    kinds: tuple[KindFigures, ...]
    dms_closed: int

    @property
    def empty(self) -> bool:
        """Nothing worth an admin's time this week."""
        return not (self.newcomers or self.waiting or self.trend or self.kinds or self.dms_closed)


def tally(items: Iterable[tuple[str, Any, int]], since: int) -> dict[str, Rate]:
    """(kind, outcome, at) cases since `since` -> the rate per kind (open cases left out)."""
    acted: dict[str, int] = {}
    settled: dict[str, int] = {}
    for kind, outcome, at in items:
        if at < since or outcome is None:
            continue
        settled[kind] = settled.get(kind, 0) + 1
        acted[kind] = acted.get(kind, 0) + (outcome is True)
    return {k: Rate(acted.get(k, 0), n) for k, n in settled.items()}


def week_monday(week: str) -> date:
    """The Monday of an ISO week key ("2026-W48")."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def build(nudges: NudgeService, guild_id: int, now: datetime) -> AdminDigest:
    """The guild's admin digest as of `now` (a read: nothing changes)."""
    ledger, members = nudges.ledger, nudges.members
    since = epoch(now - WINDOW)

    def here(member_id: int) -> bool:
        return members.is_tracked(guild_id, member_id) and not ledger.has_left(guild_id, member_id)

    newcomers = tuple(
        Newcomer(
            n.member_id,
            n.joined_at,
            jump_url(
                guild_id,
                n.first_messages[0].thread_id or n.first_messages[0].channel_id,
                n.first_messages[0].message_id,
            ),
        )
        # Admins see every newcomer still unanswered, however recent: the grace period is
        # about asking members to greet, not about what the server's admins should know.
        for n in rules.unanswered_newcomers(
            ledger.newcomers(guild_id, now - rules.NEWCOMER_WINDOW), now, grace=timedelta(0)
        )
        if here(n.member_id)
    )
    ripe = now - nudges.rules_for(guild_id).unanswered_after
    waiting = tuple(
        Waiting(p.jump_url, p.channel_id, p.at)
        for p in ledger.waiting_longest(guild_id, now, LONGEST)
        if p.at <= ripe
    )
    trend = []
    for i in range(TREND_WEEKS, 0, -1):
        week = period_keys(now - timedelta(weeks=i))[0]
        stats = ledger.period_stats(guild_id, week).values()
        trend.append(
            WeekRate(
                week,
                week_monday(week),
                sum(s.inbound for s in stats),
                sum(s.answered for s in stats),
            )
        )
    sent: dict[str, int] = {}
    cases: list[tuple[str, Any, int]] = []
    for st in nudges.states.by_guild.get(guild_id, {}).values():
        for d in st.digests:
            if d["at"] < since:
                continue
            for it in d["items"]:
                sent[it[1]] = sent.get(it[1], 0) + 1
                if DONE not in it[4:]:
                    cases.append((it[1], it[3], d["at"]))
    nudged = tally(cases, since)
    baseline = tally(((c[1], c[5], c[4]) for c in nudges.baseline.controls(guild_id)), since)
    kinds = tuple(
        KindFigures(k, sent[k], nudged.get(k, Rate()), baseline.get(k, Rate()))
        for k in KINDS
        if sent.get(k)
    )
    return AdminDigest(
        guild_id,
        period_keys(now)[0],
        now,
        newcomers,
        waiting,
        tuple(trend) if any(w.inbound for w in trend) else (),
        kinds,
        int(nudges.guild_stats(guild_id)["dms_closed"]),
    )


class AdminPoster(Protocol):
    """The Discord side: which guilds, whether anyone would receive it, and the send."""

    def guild_ids(self) -> list[int]:
        """The guilds this process can send in now."""
        ...

    def has_readers(self, guild_id: int) -> bool:
        """Whether the digest has somewhere to go (a channel, or an admin who opted in)."""
        ...

    async def send(self, digest: AdminDigest) -> bool:
        """Send it; False only when it certainly reached nobody."""
        ...


class AdminDigests:
    """Runs the once-a-week protocol for every guild the attached poster reaches."""

    def __init__(self, nudges: NudgeService, guilds: GuildService, clock: Clock) -> None:
        self.nudges = nudges
        self.guilds = guilds
        self.clock = clock
        self.owner = f"rapport-admin-{uuid.uuid4().hex[:12]}"
        self._poster: AdminPoster | None = None
        # A store claim is renewable by its own owner: this run remembers what it sent too.
        self._sent: set[tuple[int, str]] = set()

    def attach(self, poster: AdminPoster) -> None:
        """The cog's poster; scheduled digests go through it from now on."""
        self._poster = poster

    def detach(self) -> None:
        """Stop sending (the cog unloads)."""
        self._poster = None

    def preview(self, guild_id: int) -> AdminDigest:
        """What the digest would hold now (for /rapport-admin admin-digest)."""
        return build(self.nudges, guild_id, self.clock())

    async def send_due(self) -> int:
        """The job: each reachable guild's digest for this week, once; returns how many went."""
        poster = self._poster
        if poster is None:
            return 0
        now = self.clock()
        sent = 0
        for guild_id in poster.guild_ids():
            if self.guilds.removed(guild_id) or not self.nudges.owns(guild_id):
                continue
            try:
                sent += await self.send_guild(poster, guild_id, now)
            except Exception:
                log.exception("sending the admin digest failed in guild %s", guild_id)
        return sent

    async def send_guild(self, poster: AdminPoster, guild_id: int, now: datetime) -> bool:
        """Send one guild's digest for this week unless sent, empty, or nobody would read it."""
        if not poster.has_readers(guild_id):
            return False
        await self.nudges.ensure(guild_id)
        digest = build(self.nudges, guild_id, now)
        if digest.empty:
            log.info("no admin digest for %s in guild %s: nothing to say", digest.week, guild_id)
            return False
        if (guild_id, digest.week) in self._sent:
            return False
        store, key = self.nudges.store, f"admin-digest:{guild_id}:{digest.week}"
        if not await store.claim(key, self.owner, now + _CLAIM_FOR, now):
            return False
        self._sent.add((guild_id, digest.week))
        if not await poster.send(digest):
            # It reached nobody, for sure: a later run this week may try again.
            self._sent.discard((guild_id, digest.week))
            await store.release(key, self.owner)
            return False
        log.info("sent the %s admin digest in guild %s", digest.week, guild_id)
        return True
