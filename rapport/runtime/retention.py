"""The retention job: what is older than `[tracking] retain` is dropped, on `[schedule] retention`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from rapport.clock import Clock
from rapport.people import GuildService, KudosService
from rapport.runtime.flush import FlushLoop
from rapport.store.base import Store
from rapport.tracking import LedgerRetention

log = logging.getLogger(__name__)


class RemovedGuilds:
    """Deletes the data of servers the bot was removed from, [storage] removed_guild_retention
    after the removal, unless the bot came back."""

    def __init__(
        self,
        guilds: GuildService,
        forget: Sequence[Callable[[int], object]],
        store: Store,
        keep: timedelta,
    ) -> None:
        self.guilds = guilds
        self.forget = forget
        self.store = store
        self.keep = keep

    async def delete_due(self, now: datetime) -> int:
        """Delete every removed server's data whose time is up; returns how many servers."""
        due = self.guilds.removed_before(now - self.keep)
        for guild_id in due:
            for forget in self.forget:
                forget(guild_id)
            self.guilds.forget_guild(guild_id)
            await self.store.delete_guild(guild_id)
            log.info("deleted the data of guild %s (the bot was removed from it)", guild_id)
        return len(due)


class Retention:
    """Prunes the ledger and persists the result (a privacy promise, not only housekeeping)."""

    def __init__(
        self, ledger: LedgerRetention, flusher: FlushLoop, retain: timedelta, clock: Clock
    ) -> None:
        self.ledger = ledger
        self.flusher = flusher
        self.retain = retain
        self.clock = clock
        self.removed_guilds: RemovedGuilds | None = None
        self.kudos: KudosService | None = None

    async def apply_retention(self) -> int:
        """Drop expired records now and flush; returns how many went."""
        now = self.clock()
        removed = self.ledger.prune(now, self.retain)
        if self.kudos is not None:
            removed += self.kudos.prune(now, self.retain)
        removed += await self.flusher.store.prune_claims(now)
        if self.removed_guilds is not None:
            removed += await self.removed_guilds.delete_due(now)
        await self.flusher.flush()
        log.info("retention: %d records older than %s removed", removed, self.retain)
        return removed
