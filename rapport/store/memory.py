"""A Store that keeps everything in memory: for unit tests and benchmarks, never for running."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rapport.store.base import Doc, FlushStats, Store


class MemoryStore(Store):
    """Same contract as the durable stores, minus durability; `flushed` counts flushes."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, int], dict[str, Doc]] = {}
        self._staged: dict[tuple[str, int, str], Doc | None] = {}
        self._claims: dict[str, tuple[str, datetime]] = {}
        self.flushed = 0

    async def open(self) -> None:
        """Nothing to open."""

    async def guild_ids(self) -> set[int]:
        """Guilds with documents, staged ones included."""
        ids = {g for (_, g), docs in self._data.items() if docs}
        ids.update(g for (_, g, _), doc in self._staged.items() if doc is not None)
        return ids

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Copies of one guild's documents in one table, staged changes applied."""
        docs = {k: dict(v) for k, v in self._data.get((table, guild_id), {}).items()}
        for (t, g, key), doc in self._staged.items():
            if t == table and g == guild_id:
                if doc is None:
                    docs.pop(key, None)
                else:
                    docs[key] = dict(doc)
        return docs

    def put(self, table: str, guild_id: int, key: str, doc: Mapping[str, Any]) -> None:
        """Stage a write."""
        self._staged[(table, guild_id, key)] = dict(doc)

    def delete(self, table: str, guild_id: int, key: str) -> None:
        """Stage a removal."""
        self._staged[(table, guild_id, key)] = None

    async def delete_guild(self, guild_id: int) -> None:
        """Stage the removal of every document of a guild."""
        for (table, g), docs in self._data.items():
            if g == guild_id:
                for key in docs:
                    self.delete(table, g, key)
        for table, g, key in list(self._staged):
            if g == guild_id:
                self.delete(table, g, key)

    async def flush(self) -> FlushStats:
        """Apply staged changes."""
        start = time.perf_counter()
        staged, self._staged = self._staged, {}
        for (table, guild_id, key), doc in staged.items():
            docs = self._data.setdefault((table, guild_id), {})
            if doc is None:
                docs.pop(key, None)
            else:
                docs[key] = doc
        self.flushed += 1
        return FlushStats(len(staged), time.perf_counter() - start)

    async def claim(self, key: str, owner: str, until: datetime, now: datetime) -> bool:
        """Take a claim unless another owner holds a live one."""
        held = self._claims.get(key)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._claims[key] = (owner, until)
        return True

    async def release(self, key: str, owner: str) -> None:
        """Give a claim back if we hold it."""
        if self._claims.get(key, ("",))[0] == owner:
            del self._claims[key]

    async def prune_claims(self, now: datetime) -> int:
        """Drop expired claims."""
        expired = [k for k, (_, until) in self._claims.items() if until <= now]
        for key in expired:
            del self._claims[key]
        return len(expired)

    async def close(self) -> None:
        """Apply what is staged."""
        await self.flush()
