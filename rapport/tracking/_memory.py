"""What the ledger holds in memory: its guilds' state, their loading, and the recent windows.

One `HeldGuilds` object owns that state; the writer, the reads, the history and the retention
side of `rapport.tracking.ledger.Ledger` are each handed it (see ledger.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rapport.store.base import Store
from rapport.tracking._records import Recent
from rapport.tracking._state import Guild

log = logging.getLogger(__name__)


class HeldGuilds:
    """Every guild the ledger holds, how each is loaded, and the process-wide recent windows."""

    def __init__(self, store: Store, *, recent_limit: int = 10_000) -> None:
        self.store = store
        self.by_id: dict[int, Guild] = {}
        self.loaded: set[int] = set()
        self.loading: dict[int, list[Callable[[], object]]] = {}
        # Process-wide, bounded, not persisted (message ids are unique across guilds):
        # message -> links recorded from it (packed by the writer's link key); (guild,
        # message, actor) -> emojis on it; (guild, message) -> [author, channel, t, drawn]
        # of recent shares.
        self.recent: Recent[int, tuple[int, ...]] = Recent(recent_limit)
        self.reacts: Recent[tuple[int, int, int], int] = Recent(recent_limit)
        self.shares: Recent[tuple[int, int], list[int]] = Recent(recent_limit)

    async def load(self, guild_id: int) -> None:
        """Read one guild from the store; a no-op when it is already in memory.

        Call it when the guild appears, before its events flow. Writes that arrive while
        the store is being read are queued and applied once it is loaded.
        """
        if guild_id in self.by_id:
            if guild_id not in self.loaded:
                log.warning("guild %s had events before load_guild: stored data ignored", guild_id)
            return
        if guild_id in self.loading:
            return
        self.loading[guild_id] = []
        try:
            g = Guild(guild_id)
            await g.load(self.store)
        finally:
            queued = self.loading.pop(guild_id)
        self.by_id[guild_id] = g
        self.loaded.add(guild_id)
        for call in queued:
            call()

    def defer(self, guild_id: int, call: Callable[[], object]) -> bool:
        """Queue a write for a guild whose stored state is still being read."""
        queue = self.loading.get(guild_id)
        if queue is None:
            return False
        queue.append(call)
        return True

    def unload(self, guild_id: int) -> None:
        """Drop a guild from memory (the bot left it); stage() first to keep its changes."""
        self.by_id.pop(guild_id, None)

    def stage(self) -> int:
        """Put every changed record into the store; returns how many documents were staged."""
        store = self.store
        return sum(g.stage(store) for g in self.by_id.values())

    def get(self, guild_id: int) -> Guild | None:
        """The guild's state, if it is in memory."""
        return self.by_id.get(guild_id)

    def open(self, guild_id: int) -> Guild:
        """The guild's state; a guild never loaded is new to the store and starts empty."""
        g = self.by_id.get(guild_id)
        if g is None:
            g = self.by_id[guild_id] = Guild(guild_id)
        return g

    def ids(self) -> set[int]:
        """The guilds in memory."""
        return set(self.by_id)


__all__ = ["HeldGuilds"]
