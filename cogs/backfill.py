"""Resume a backfill that a restart interrupted (the command itself is /rapport-admin backfill)."""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands

from cogs._backfill import Backfiller, backfill_guild
from cogs._bot import RapportBot

log = logging.getLogger(__name__)


class Backfill(commands.Cog):
    """Picks up unfinished backfills once the bot is connected."""

    def __init__(self, bot: RapportBot, backfiller: Backfiller) -> None:
        self.bot = bot
        self.backfiller = backfiller
        self._tasks: set[asyncio.Task[object]] = set()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Resume every interrupted backfill of the guilds this process owns."""
        s = self.backfiller
        for job in s.backfill.unfinished():
            guild = self.bot.get_guild(job.guild_id)
            if guild is None:
                continue
            log.info("resuming the %d-day backfill of %s", job.days, guild.name)
            task = asyncio.create_task(
                backfill_guild(
                    guild, s.backfill, s.ledger, s.members, s.guilds, starters=s.starters
                ),
                name=f"rapport: backfill {guild.id}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a resumed backfill failed", exc_info=task.exception())

    async def cog_unload(self) -> None:
        """Stop resumed backfills on shutdown (they resume again next start)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def setup(bot: RapportBot) -> None:
    """Load the backfill resumer with what reading history needs."""
    s = bot.services
    backfiller = Backfiller(s.backfill, s.ledger, s.members, s.guilds, s.flusher.flush, s.threads)
    await bot.add_cog(Backfill(bot, backfiller))
