"""A Store that keeps everything in memory: for unit tests and benchmarks, never for running."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from rapport.store._staging import staged_form
from rapport.store.base import Doc, FlushStats, Store


class MemoryStore(Store):
    """Same contract as the durable stores, minus durability; `flushed` counts flushes.

    Documents are serialised at put() as the durable stores do, so a caller's later change
    never leaks in and a value JSON can't hold fails (or is rejected) there, not at flush.
    """

    def __init__(self) -> None:
        self._data: dict[tuple[str, int], dict[str, Doc]] = {}
        self._staged: dict[tuple[str, int, str], bytes | None] = {}
        self._claims: dict[str, tuple[str, datetime]] = {}
        self.flushed = 0

    async def open(self) -> None:
        """Nothing to open."""

    async def guild_ids(self) -> set[int]:
        """Guilds with documents once what is staged is applied."""
        tables = {t for t, _ in self._data} | {t for t, _, _ in self._staged}
        guilds = {g for _, g in self._data} | {g for _, g, _ in self._staged}
        return {g for g in guilds if any(self._view(t, g) for t in tables)}

    def _view(self, table: str, guild_id: int) -> dict[str, Doc | bytes]:
        docs: dict[str, Doc | bytes] = dict(self._data.get((table, guild_id), {}))
        for (t, g, key), data in self._staged.items():
            if t == table and g == guild_id:
                if data is None:
                    docs.pop(key, None)
                else:
                    docs[key] = data
        return docs

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Copies of one guild's documents in one table, staged changes applied."""
        return {
            key: orjson.loads(doc if isinstance(doc, bytes) else orjson.dumps(doc))
            for key, doc in self._view(table, guild_id).items()
        }

    def put(self, table: str, guild_id: int, key: str, doc: Mapping[str, Any]) -> None:
        """Stage a write (serialised now; one that can't be stored goes to `reject` if set)."""
        data = staged_form(self.reject, table, guild_id, key, doc)
        if data is not None:
            self._staged[(table, guild_id, key)] = data

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
        for (table, guild_id, key), data in staged.items():
            docs = self._data.setdefault((table, guild_id), {})
            if data is None:
                docs.pop(key, None)
            else:
                docs[key] = orjson.loads(data)
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

    async def drop_claims(self, prefix: str) -> int:
        """Drop the claims whose key starts with ``prefix``."""
        gone = [k for k in self._claims if k.startswith(prefix)]
        for key in gone:
            del self._claims[key]
        return len(gone)

    async def prune_claims(self, now: datetime) -> int:
        """Drop expired claims."""
        expired = [k for k, (_, until) in self._claims.items() if until <= now]
        for key in expired:
            del self._claims[key]
        return len(expired)

    async def close(self) -> None:
        """Apply what is staged."""
        await self.flush()
