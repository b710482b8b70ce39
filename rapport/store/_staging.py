"""What both durable stores stage between flushes: serialised documents and dropped guilds."""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from rapport.ids import MAX_ID
from rapport.store.base import Doc, Reject

Pair = tuple[str, int]
Staged = dict[Pair, dict[str, bytes | None]]  # serialised documents; None stages a delete


def packable(data: bytes) -> bytes | None:
    """The record of a serialised record document (``{"r":"<canonical base64>"}``), else None."""
    if data[:6] != b'{"r":"' or data[-2:] != b'"}' or len(data) < 9:
        return None
    text = data[6:-2]
    if len(text) % 4 == 0 and not text.endswith(b"="):
        # No padding, so no spare bits: any valid base64 is canonical, and the strict decode
        # checks validity: no re-encode and compare per record (a quarter of building a COPY row).
        try:
            return binascii.a2b_base64(text, strict_mode=True) or None
        except (binascii.Error, ValueError):
            return None
    if b'"' in text or b"\\" in text:
        return None  # another field, or an escape
    try:
        raw = binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        return None
    return raw if raw and binascii.b2a_base64(raw, newline=False) == text else None


def check_names(table: str, key: str) -> None:
    """Tables starting with "_" are the stores' own; keys are strings."""
    if not table or table.startswith("_"):
        raise ValueError(f"table names starting with '_' are the store's own: {table!r}")
    if not isinstance(key, str):
        raise TypeError(f"document keys are strings, not {type(key).__name__}")


def encode(table: str, key: str, doc: Mapping[str, Any]) -> bytes:
    """A document serialised at put() time, so a value JSON can't hold fails there (TypeError)."""
    check_names(table, key)
    if "_g" in doc or "_k" in doc:
        raise ValueError("document fields _g and _k are reserved by the store")
    data = orjson.dumps(doc if isinstance(doc, dict) else dict(doc))
    # orjson's result keeps its ~4 KiB buffer: without this exact-size copy a million staged
    # documents take 4 GiB instead of 250 MiB (measured), and fresh pages are slow to fault.
    return bytes(memoryview(data))


def staged_form(
    reject: Reject | None, table: str, guild_id: int, key: str, doc: Mapping[str, Any]
) -> bytes | None:
    """``encode`` for put(): a document no backend can hold goes to ``reject`` (None returned)
    instead of raising, when a reject hook is set."""
    try:
        if type(guild_id) is int and not 0 <= guild_id <= MAX_ID:
            raise ValueError(f"guild id {guild_id} is outside Discord's range")
        data = encode(table, key, doc)
        # PostgreSQL's jsonb refuses NUL in text: refused here, for every backend alike.
        if b"\\u0000" in data or "\x00" in key:
            raise ValueError("NUL characters can't be stored")
    except (TypeError, ValueError) as exc:
        if reject is None:
            raise
        reject(table, guild_id, key, exc)
        return None
    return data


@dataclass
class Batch:
    """Staged changes: whole guilds dropped first, then documents (last write wins)."""

    docs: Staged = field(default_factory=dict)
    drops: set[int] = field(default_factory=set)
    # Tables a guild drop never removes from a batch (a store's own bookkeeping).
    kept_tables: ClassVar[frozenset[str]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.docs or self.drops)

    def count(self) -> int:
        """Documents and guild drops staged."""
        return len(self.drops) + sum(len(d) for d in self.docs.values())

    def overlay(self, pair: Pair, base: dict[str, Doc]) -> dict[str, Doc]:
        """``base`` as this batch leaves it."""
        if pair[1] in self.drops:
            base = {}
        for key, data in self.docs.get(pair, {}).items():
            if data is None:
                base.pop(key, None)
            else:
                base[key] = orjson.loads(data)
        return base

    def guilds_after(self, guilds: set[int]) -> set[int]:
        """``guilds`` as this batch leaves them (a guild emptied key by key stays until flushed)."""
        guilds = guilds - self.drops
        for (_, guild), docs in self.docs.items():
            if guild not in guilds and any(d is not None for d in docs.values()):
                guilds.add(guild)
        return guilds

    def merge_newer(self, newer: Batch) -> None:
        """Put back a batch whose flush failed, under the changes staged since."""
        dropped = [p for p in self.docs if p[1] in newer.drops and p[0] not in self.kept_tables]
        for pair in dropped:
            del self.docs[pair]
        for pair, docs in newer.docs.items():
            self.docs.setdefault(pair, {}).update(docs)
        self.drops |= newer.drops
