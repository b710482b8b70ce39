"""The services the bot is built with; bot.py composes them, cogs receive only what they need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rapport.clock import Clock
from rapport.leaderboard.service import LeaderboardService
from rapport.nudges.service import NudgeService
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.runtime.cluster import ClickRelay
from rapport.runtime.flush import FlushLoop
from rapport.runtime.scheduler import JobScheduler
from rapport.settings.config import Settings
from rapport.store.base import Store
from rapport.tracking.backfill import BackfillService
from rapport.tracking.ledger import Ledger

GuildLoader = Callable[[int], Awaitable[object]]


@dataclass
class Services:
    """Everything the cogs call into, built once in bot.py."""

    settings: Settings
    store: Store
    flusher: FlushLoop
    scheduler: JobScheduler
    clock: Clock
    guilds: GuildService
    members: MemberService
    ledger: Ledger
    leaderboard: LeaderboardService
    backfill: BackfillService
    nudges: NudgeService
    guild_loaders: list[GuildLoader] = field(default_factory=list)
    # Digest clicks for guilds another process of the cluster owns (None: not sharded).
    relay: ClickRelay | None = None

    async def open_guild(self, guild_id: int) -> None:
        """Load one guild's state into every service (idempotent; called when a guild appears)."""
        await self.members.ensure(guild_id)
        await self.ledger.load_guild(guild_id)
        await self.backfill.ensure(guild_id)
        for load in self.guild_loaders:
            await load(guild_id)
