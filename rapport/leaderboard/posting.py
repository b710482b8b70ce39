"""The scheduled leaderboard post: once per guild and period, through a `Poster` port.

The protocol (the decisions are in rapport/leaderboard/service.py's docstring):

1. For each guild the poster can reach, the due period (the last one that ended); skip it when
   it was posted.
2. The poster finds the configured channel and checks it can post there; otherwise the reason
   is recorded as the guild's problem (/rapport-admin stats shows it) and nothing is sent.
3. The board is built with the teams and the "still in the server" filter the poster knows;
   an empty board is not posted. The poster draws the card before the claim.
4. The store claim for (guild, period) is taken last, right before sending: only the send can
   leave the outcome unknown.
5. The answer: posted -> recorded and the card kept on disk; refused (certainly not posted) ->
   the claim is released so a later run retries; unknown (it may have gone out) -> the claim
   is kept, so the period is never posted twice.

The schedule is wired in rapport/compose.py: the post job on config.toml's schedule, and for
a crontab the hourly catch-up, which also runs once when the poster reports the bot ready (a
missed post goes out late, once, with the right period). A server with a schedule of its own
(/rapport-admin setup leaderboard_schedule) is left out of the config's job: a shared job
ticks every minute and posts each such guild once its own schedule has fired since the last
look. Nothing but the store's records says what was posted, so this stays right across
restarts, and each process of a cluster ticks only for the guilds its poster reaches. A server
that turned the board off is skipped. `cogs/leaderboard.py` implements the Poster.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from rapport.clock import Clock
from rapport.leaderboard.scoring import Board
from rapport.leaderboard.service import LeaderboardService, next_fire
from rapport.people.guilds import GuildPolicy, GuildService
from rapport.settings.config import Settings

log = logging.getLogger(__name__)

OWN_SCHEDULES_JOB = "post_own_schedule_leaderboards"
"""The minute tick that posts the boards of servers with a schedule of their own."""
OWN_SCHEDULES_TICK = "1m"


class PostOutcome(Enum):
    """What Discord's answer says about a post."""

    POSTED = "posted"
    REFUSED = "refused"  # certainly not posted (channel gone, permission, bad request)
    UNKNOWN = "unknown"  # no clear answer: it may have gone out


@dataclass(frozen=True, slots=True)
class PostResult:
    """A post's outcome; the message id when posted, Discord's reason otherwise."""

    outcome: PostOutcome
    message_id: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """The channel a guild's board goes to."""

    channel_id: int
    name: str


class Poster(Protocol):
    """The Discord side of the post: which guilds, where, who, and the send itself."""

    def guild_ids(self) -> list[int]:
        """The guilds this process can post in now."""
        ...

    def target(self, guild_id: int, spec: str | int) -> Target | str:
        """The channel a spec (id or name) names, or why the board can't be posted there."""
        ...

    def teams(self, guild_id: int, specs: Sequence[str | int]) -> dict[str, set[int]]:
        """Configured team roles as {team name: member ids}."""
        ...

    def keep(self, guild_id: int) -> Callable[[int], bool] | None:
        """Who may appear (members still in the server), or None when that is unknowable."""
        ...

    async def card(self, guild_id: int, board: Board) -> bytes:
        """The board's PNG card, as the post will carry it (and the data dir will keep it)."""
        ...

    async def send(self, guild_id: int, target: Target, board: Board, png: bytes) -> PostResult:
        """Post the board with its card; the outcome as Discord's answer tells it."""
        ...


class LeaderboardPosts:
    """Runs the post-once protocol for every guild the attached poster reaches."""

    def __init__(
        self,
        service: LeaderboardService,
        guilds: GuildService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.service = service
        self.guilds = guilds
        self.settings = settings
        self.clock = clock
        self._poster: Poster | None = None
        # One post at a time in this process: the store claim guards other processes,
        # and a claim is renewable by its own owner.
        self._posting = asyncio.Lock()
        # Posts whose outcome was unknown in this run. The claim keeps other processes and
        # later runs away, but its own owner may renew it, so this run must remember too.
        self._unsure: set[tuple[int, str]] = set()
        # Guilds with their own schedule: when to look next (reset when the policy changes).
        self._next: dict[int, tuple[GuildPolicy, datetime]] = {}

    def attach(self, poster: Poster) -> None:
        """The cog's poster; scheduled posts go through it from now on."""
        self._poster = poster

    def detach(self) -> None:
        """Stop posting (the cog unloads)."""
        self._poster = None

    @property
    def catches_up(self) -> bool:
        """Whether a missed post is caught up (crontab schedules only; an interval just runs)."""
        return self.settings.schedule.leaderboard.cron is not None

    async def catch_up(self) -> None:
        """The bot is ready: post what a crontab schedule missed while it was down."""
        await self.post_due(own_schedule=None if self.catches_up else True)

    async def post_own_schedules(self) -> None:
        """The minute tick: post the boards of guilds whose own schedule fired since the last look."""
        await self.post_due(own_schedule=True)

    async def post_due(self, *, own_schedule: bool | None = False) -> None:
        """The job: post each reachable guild's board for the period that just ended, once.

        `own_schedule`: False, the guilds on config.toml's schedule (the config's job); True,
        those with a schedule of their own whose schedule fired (the tick); None, all.
        """
        poster = self._poster
        if poster is None:
            return
        async with self._posting:
            now = self.clock()
            for guild_id in poster.guild_ids():
                if self.guilds.removed(guild_id):
                    continue  # the bot was removed from it: nothing more is posted
                policy = self.guilds.policy(guild_id)
                if not policy.leaderboard:
                    continue  # the server turned its board off
                if own_schedule is not None and policy.own_schedule != own_schedule:
                    continue
                if own_schedule and not self._fired(guild_id, policy, now):
                    continue
                try:
                    await self.post_guild(poster, guild_id, now)
                except Exception:
                    log.exception("posting the leaderboard failed in guild %s", guild_id)

    def _fired(self, guild_id: int, policy: GuildPolicy, now: datetime) -> bool:
        """Whether a guild's own schedule fired since the last look (the first look: yes,
        and the post-once records decide whether anything is due)."""
        seen = self._next.get(guild_id)
        if seen is not None and seen[0] is policy and now < seen[1]:
            return False
        following = next_fire(policy.leaderboard_schedule, now, policy.zone)
        self._next[guild_id] = (policy, following)
        return True

    def _problem(self, guild_id: int, text: str, now: datetime) -> None:
        # The hourly catch-up meets the same problem again: log it when it changes.
        if self.service.problem(guild_id) != text:
            log.warning("leaderboard not posted in guild %s: %s", guild_id, text)
        self.service.set_problem(guild_id, text, now)

    async def post_guild(self, poster: Poster, guild_id: int, now: datetime) -> PostResult | None:
        """Post one guild's due board once; None when nothing was sent (posted, problem, empty)."""
        service = self.service
        period = service.due_period(guild_id, now)
        if service.posted(guild_id, period) is not None or (guild_id, period) in self._unsure:
            return None
        policy = self.guilds.policy(guild_id)
        target = poster.target(guild_id, policy.leaderboard_channel)
        if isinstance(target, str):
            self._problem(guild_id, target, now)
            return None
        teams = poster.teams(guild_id, policy.teams)
        board = await service.built_board(guild_id, period, teams, keep=poster.keep(guild_id))
        if not board.standings:
            log.info("no leaderboard for %s in guild %s: nobody scored", period, guild_id)
            return None
        png = await poster.card(guild_id, board)
        # Claimed last, right before sending: only the send can leave the outcome unknown.
        if not await service.claim(guild_id, period, now):
            return None
        result = await poster.send(guild_id, target, board, png)
        if result.outcome is PostOutcome.UNKNOWN:
            # It may have gone out: keep the claim, so the period is never posted twice.
            self._unsure.add((guild_id, period))
            self._problem(
                guild_id,
                f"Discord failed while posting {period} (not retried): {result.reason}",
                now,
            )
        elif result.outcome is PostOutcome.REFUSED:
            await service.release(guild_id, period)
            self._problem(
                guild_id, f"Discord refused the post in #{target.name}: {result.reason}", now
            )
        else:
            service.mark_posted(guild_id, period, target.channel_id, result.message_id, now)
            log.info("posted the %s leaderboard in guild %s", period, guild_id)
        return result


__all__ = [
    "OWN_SCHEDULES_JOB",
    "OWN_SCHEDULES_TICK",
    "LeaderboardPosts",
    "PostOutcome",
    "PostResult",
    "Poster",
    "Target",
]
