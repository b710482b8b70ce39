"""The one Store interface the core uses; every backend passes the same contract tests.

The store is write-behind: services keep their working state in memory and `put`/`delete`
stage changes, which reach disk (or the database) on the next `flush`. Documents are plain
JSON values holding ids, kinds, counts and times (epoch seconds) — never message text.
Every document belongs to one guild, so one guild's data never mixes with another's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from rapport.errors import StoreError

T = TypeVar("T")

Doc = dict[str, Any]

SCHEMA_VERSION = 2
"""The layout version this code writes; older stores are migrated, newer ones refused."""


@dataclass(frozen=True, slots=True)
class FlushStats:
    """What one flush wrote: how many records and how long it took."""

    records: int
    seconds: float


DECODE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)
"""What reading a stored document of the wrong shape raises."""


class BadDocument(StoreError):
    """A stored document is valid JSON but not what Rapport wrote: named, so it can be fixed."""

    def __init__(self, table: str, guild_id: int, key: str, why: BaseException) -> None:
        self.table, self.guild_id, self.key = table, guild_id, key
        super().__init__(
            f"table {table}, guild {guild_id}, document {key}: can't be read "
            f"({type(why).__name__}: {why}). Restore it from a backup or delete that document; "
            "nothing was written."
        )


def decode_each(
    table: str, guild_id: int, docs: Mapping[str, Doc], decode: Callable[[str, Doc], T]
) -> dict[str, T]:
    """`decode(key, doc)` for every document, a failure raised as BadDocument naming it."""
    out: dict[str, T] = {}
    for key, doc in docs.items():
        try:
            out[key] = decode(key, doc)
        except DECODE_ERRORS as exc:
            raise BadDocument(table, guild_id, key, exc) from None
    return out


Reject = Callable[[str, int, str, Exception], None]
"""Told (table, guild id, key, why) about a document put() could not stage."""


class Store(ABC):
    """Durable, per-guild documents in named tables, written in batches."""

    reject: Reject | None = None
    """When set (the flush loop sets it), put() hands a document it cannot store here and
    skips it, so one bad document never blocks every other write; unset, put() raises."""

    @abstractmethod
    async def open(self) -> None:
        """Open (creating if missing), check the schema version, migrate older layouts.

        Raises StoreError naming the file and its backup when the store can't be read,
        and never overwrites a store it could not read.
        """

    @abstractmethod
    async def guild_ids(self) -> set[int]:
        """The guilds that have any stored document."""

    @abstractmethod
    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Every document of one guild in one table, keyed by document key (staged ones included)."""

    async def stream(self, table: str, guild_id: int) -> AsyncIterator[list[tuple[str, Doc]]]:
        """The documents ``load`` returns, a chunk at a time (each key once, in no set order).

        Backends that can decode or fetch a big table piecemeal override this, so a caller that
        builds its own state from the documents never holds all of them at once.
        """
        docs = await self.load(table, guild_id)
        yield list(docs.items())

    @abstractmethod
    def put(self, table: str, guild_id: int, key: str, doc: Mapping[str, Any]) -> None:
        """Stage a whole-document write; it is durable after the next flush."""

    @abstractmethod
    def delete(self, table: str, guild_id: int, key: str) -> None:
        """Stage the removal of one document; removing a missing one is not an error."""

    @abstractmethod
    async def delete_guild(self, guild_id: int) -> None:
        """Remove every document of a guild (staged like any write)."""

    @abstractmethod
    async def flush(self) -> FlushStats:
        """Persist every staged change; when it returns they survive a kill -9."""

    @abstractmethod
    async def claim(self, key: str, owner: str, until: datetime, now: datetime) -> bool:
        """Take a named claim (e.g. "send digest X") unless another live owner holds it.

        Durable before it returns True. A claim held by the same owner is renewed; an expired
        one can be taken over. This is how two processes never send the same DM.
        """

    @abstractmethod
    async def release(self, key: str, owner: str) -> None:
        """Give a claim back early (a no-op if someone else holds it)."""

    @abstractmethod
    async def prune_claims(self, now: datetime) -> int:
        """Drop claims expired at `now` (their services keep their own record of what was done).

        Without it every digest ever sent would leave a claim behind. Returns how many went.
        """

    @abstractmethod
    async def close(self) -> None:
        """Flush what is staged and release files or connections."""
