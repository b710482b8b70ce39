"""The one Store interface the core uses; every backend passes the same contract tests.

The store is write-behind: services keep their working state in memory and `put`/`delete`
stage changes, which reach disk (or the database) on the next `flush`. Documents are plain
JSON values holding ids, kinds, counts and times (epoch seconds) — never message text.
Every document belongs to one guild, so one guild's data never mixes with another's.
"""

from __future__ import annotations

import asyncio
import binascii
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from rapport.errors import StoreError

T = TypeVar("T")
K = TypeVar("K")

Doc = dict[str, Any]

SCHEMA_VERSION = 3
"""The layout version this code writes; older stores are migrated, newer ones refused."""


@dataclass(frozen=True, slots=True)
class Records:
    """Record documents (``{"r": base64}``) of one width, their bytes concatenated.

    What ``Store.stream_records`` hands out instead of one document per record: a caller slices
    ``data`` into ``width``-byte records (struct.iter_unpack) without a dict or a base64 string
    per record. Each record's document key is not carried: the record holds what names it.
    """

    width: int
    data: bytes


def record_bytes(doc: Any) -> bytes | None:
    """The record a record document holds (exactly ``{"r": canonical base64}``), else None."""
    if type(doc) is not dict or len(doc) != 1:
        return None
    text = doc.get("r")
    if type(text) is not str or not text:
        return None
    try:
        raw = binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        return None
    if binascii.b2a_base64(raw, newline=False) != text.encode():
        return None  # not canonical: stored as given, so load() hands back exactly what was put
    return raw


def record_doc(raw: bytes) -> Doc:
    """The record document of a record: ``{"r": base64}``."""
    return {"r": binascii.b2a_base64(raw, newline=False).decode()}


def split_records(docs: list[tuple[str, Doc]]) -> tuple[list[tuple[str, Doc]], list[Records]]:
    """Documents that are not record documents, and the records of those that are, by width."""
    others: list[tuple[str, Doc]] = []
    by_width: dict[int, list[bytes]] = {}
    for key, doc in docs:
        raw = record_bytes(doc)
        if raw is None:
            others.append((key, doc))
        else:
            by_width.setdefault(len(raw), []).append(raw)
    return others, [Records(w, b"".join(recs)) for w, recs in by_width.items()]


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


DECODE_BATCH = 1000  # documents decoded between two yields to the event loop (5,000 member
# settings were a 50-100 ms step of a PostgreSQL load, whose chunks are 5,000 documents)


async def decode_stream(
    store: Store,
    table: str,
    guild_id: int,
    decode: Callable[[str, Doc], T],
    key: Callable[[str], K],
) -> dict[K, T]:
    """``decode_each`` over ``store.stream``, DECODE_BATCH documents at a time with a yield to
    the event loop in between (decoding 100,000 member documents in one go stalled it ~0.5 s),
    keyed by ``key(document key)`` as it goes (re-keying 100,000 at the end was a 30 ms step)."""
    out: dict[K, T] = {}
    async for chunk in store.stream(table, guild_id):
        for start in range(0, len(chunk), DECODE_BATCH):
            done = decode_each(table, guild_id, dict(chunk[start : start + DECODE_BATCH]), decode)
            out.update(zip(map(key, done), done.values(), strict=True))
            await asyncio.sleep(0)
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

    async def stream_records(
        self, table: str, guild_id: int
    ) -> AsyncIterator[list[tuple[str, Doc]] | Records]:
        """The documents ``stream`` hands out, record documents packed into ``Records``.

        A record document is exactly ``{"r": <canonical base64>}``: a fixed-width binary record
        (the ledger's pairs). Backends may keep such documents packed, so that a table of a
        million of them loads as a few hundred buffers; ``load``/``stream`` still hand each one
        out as the document that was put. Other documents come as (key, document) lists.
        """
        async for chunk in self.stream(table, guild_id):
            others, packed = split_records(chunk)
            for records in packed:
                yield records
            if others:
                yield others

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

    async def purge(self) -> None:
        """Leave no copy of a record deleted and flushed before this call in the store's files.

        Nothing to do where a deleted record is gone from every read: PostgreSQL (a deleted
        row waits for VACUUM in the database's own files, which no reader of the data sees) and
        memory. The TinyDB-format store compacts away its .bak and journals.
        """
        return

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
    async def drop_claims(self, prefix: str) -> int:
        """Drop every claim whose key starts with ``prefix``, whoever holds it; durable before
        it returns. Returns how many went.

        For a forget: the claims name a member nobody may plan anything for any more, so no
        owner needs them to keep a second send out (a send already under way goes on).
        """

    @abstractmethod
    async def prune_claims(self, now: datetime) -> int:
        """Drop claims expired at `now` (their services keep their own record of what was done).

        Without it every digest ever sent would leave a claim behind. Returns how many went.
        """

    @abstractmethod
    async def close(self) -> None:
        """Flush what is staged and release files or connections."""
