"""The scale-out store: several bot processes share one PostgreSQL database (asyncpg).

Same write-behind contract as the TinyDB store: put()/delete() serialise at once (orjson, so a
value JSON can't hold fails there) and stage in memory; flush() writes the whole batch in one
transaction: COPY into a temporary table, then one DELETE and one INSERT ... ON CONFLICT. The
rows are built CHUNK at a time with a yield to the event loop in between, so a flush of a
million documents never holds the loop for long; the waiting on the server is plain async I/O.

Layout (schema ``rapport`` by default, created by the SQL files in ``migrations/``):

- ``documents(guild_id, table_name, key, doc json, rec bytea)``, primary key in that order:
  load(table, guild) is one index range scan, guild_ids() a skip scan over the leading column.
  json, not jsonb: documents are read and written whole, and jsonb's conversion tripled the
  load time. A record document (``{"r": base64}``, rapport/store/base.py) is kept as its bytes
  in ``rec`` (``doc`` NULL), so stream_records fetches a table's records as a few hundred rows
  the server concatenates, instead of a row, a JSON text and a base64 decode per record.
- ``claims(key, owner, until)``: one atomic INSERT ... ON CONFLICT DO UPDATE ... WHERE decides
  a claim, committed before claim() returns, so two processes never both get it.
- ``schema_version(version, name, applied_at)``: migrations ``NNN_name.sql`` run at open(), each
  once, in one transaction under an advisory lock, so processes starting together don't race.
  A database migrated by a newer Rapport is refused rather than written to.

Over 400 lines because open, migrations, load, flush and claims share one pool and one transaction
discipline; the staging it shares with TinyDB is in _staging.py.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import gc
import hashlib
import logging
import re
import struct
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from rapport.errors import StoreError
from rapport.store._staging import Batch, check_names, packable, staged_form
from rapport.store.base import Doc, FlushStats, Records, Store, split_records

log = logging.getLogger(__name__)

# A connection, or one borrowed from the pool (asyncpg types the two apart).
_Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

CHUNK = 5000  # rows built or decoded between two yields to the event loop
COPY_ROWS = 1000  # COPY rows built between two yields (a record's is checked and hex-encoded)
FETCH_ROWS = 50_000  # rows per cursor fetch when loading
STREAM_ROWS = 1000  # rows decoded at a time by stream(), the caller's work on them between
COPY_QUEUE = 64  # COPY data messages (~64 KiB each) read ahead of the caller
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEAD = struct.Struct(">hi")  # a binary COPY row: field count, then the field's length
FREEZE_ROWS = 10_000  # a load this big is exempted from garbage collection (_gc_deferred)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# COPY's text format treats these as escapes or separators; orjson never emits raw control
# characters, so in documents only the backslash needs doubling.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True, slots=True)
class Migration:
    """One versioned SQL file."""

    version: int
    name: str
    sql: str


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The SQL migrations in version order; numbered 1, 2, 3 ... without gaps."""
    found = []
    for file in directory.iterdir():
        match = _MIGRATION_FILE.match(file.name)
        if match:
            found.append(Migration(int(match[1]), match[2], file.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations in {directory} are not numbered 001, 002, ... without gaps")
    return found


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock id for migrating one schema."""
    digest = hashlib.sha256(f"rapport.migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresStore(Store):
    """Documents and claims in PostgreSQL, shared by every process of a sharded bot."""

    def __init__(self, dsn: str, *, schema: str = "rapport", pool_size: int = 4) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema names are lowercase letters, digits and _: {schema!r}")
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._docs = f'"{schema}".documents'
        self._claims = f'"{schema}".claims'
        self._pool: asyncpg.Pool | None = None
        self._staged = Batch()
        self._inflight: Batch | None = None
        self._flush_lock = asyncio.Lock()
        self._readers = 0  # reads in progress: they may overlay a batch that is being written
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.dsn)!r}, schema={self.schema!r})"

    # --- lifecycle

    async def open(self) -> None:
        """Connect, then apply pending migrations (or refuse a database newer than this code)."""
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=self.pool_size, command_timeout=None
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact(self.dsn)}: {exc}. Check [storage] dsn "
                "(or RAPPORT_DATABASE_URL) and that the server is running."
            ) from exc
        try:
            async with self._pool.acquire() as conn:
                await self._migrate(conn)
        except BaseException:
            await self._pool.close()
            self._pool = None
            raise

    async def _migrate(self, conn: _Conn) -> None:
        known = migrations()
        latest = known[-1].version if known else 0
        q = f'"{self.schema}"'
        async with conn.transaction():
            # Held until commit: a second process starting now waits here, then finds it done.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(self.schema))
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {q}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {q}.schema_version (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = await conn.fetchval(
                f"SELECT coalesce(max(version), 0) FROM {q}.schema_version"
            )
            if current > latest:
                raise StoreError(
                    f"PostgreSQL schema {self.schema!r} at {redact(self.dsn)} was written by a "
                    f"newer Rapport (schema version {current}; this one knows {latest}): upgrade "
                    "Rapport. Nothing was changed."
                )
            pending = [m for m in known if m.version > current]
            if not pending:
                return
            await conn.execute(f"SET LOCAL search_path TO {q}")
            for m in pending:
                log.info("migrating PostgreSQL schema %s to version %d (%s)", q, m.version, m.name)
                await conn.execute(m.sql)
                await conn.execute(
                    f"INSERT INTO {q}.schema_version (version, name) VALUES ($1, $2)",
                    m.version,
                    m.name,
                )

    async def schema_version(self) -> int:
        """The highest migration applied to this store's schema."""
        version: int = await self._pool_or_raise().fetchval(
            f'SELECT max(version) FROM "{self.schema}".schema_version'
        )
        return version

    async def close(self) -> None:
        """Flush what is staged, close the connections."""
        if self._closed:
            return
        try:
            if self._pool is not None:
                await self.flush()
        finally:
            self._closed = True
            if self._pool is not None:
                await self._pool.close()
                self._pool = None

    def terminate(self) -> None:
        """Drop every connection at once, flushing nothing: what a killed process leaves."""
        self._closed = True
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def _pool_or_raise(self) -> asyncpg.Pool:
        if self._pool is None:
            state = "closed" if self._closed else "not open"
            raise StoreError(f"{self!r} is {state}")
        return self._pool

    # --- reading

    def _overlays(self) -> list[Batch]:
        return [b for b in (self._inflight, self._staged) if b is not None]

    @staticmethod
    def _in_order(*groups: list[Batch]) -> list[Batch]:
        """Batches oldest first, each once (the same batch can be seen staged, then in flight)."""
        seen: list[Batch] = []
        for batch in (b for group in groups for b in group):
            if not any(batch is s for s in seen):
                seen.append(batch)
        return seen

    async def guild_ids(self) -> set[int]:
        """Guilds with a stored document, with staged writes and drops applied."""
        self._readers += 1
        try:
            return await self._guild_ids()
        finally:
            self._readers -= 1

    async def _guild_ids(self) -> set[int]:
        before = self._overlays()
        rows = await self._pool_or_raise().fetch(
            f"""WITH RECURSIVE g AS (
                    (SELECT guild_id FROM {self._docs} ORDER BY guild_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT d.guild_id FROM {self._docs} d
                            WHERE d.guild_id > g.guild_id ORDER BY d.guild_id LIMIT 1)
                    FROM g WHERE g.guild_id IS NOT NULL)
                SELECT guild_id FROM g WHERE guild_id IS NOT NULL"""
        )
        guilds = {r[0] for r in rows}
        # Whatever the query saw, replaying every batch not surely committed before it is exact.
        for batch in self._in_order(before, self._overlays()):
            guilds = batch.guilds_after(guilds)
        return guilds

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Every document of one guild in one table, staged changes applied; one indexed query."""
        self._readers += 1
        try:
            return await self._load(table, guild_id)
        finally:
            self._readers -= 1

    async def _load(self, table: str, guild_id: int) -> dict[str, Doc]:
        before = self._overlays()
        docs: dict[str, Doc] = {}
        with _gc_deferred() as size:
            # A cursor, FETCH_ROWS at a time: never a million raw rows and their documents at once.
            async with self._pool_or_raise().acquire() as conn, conn.transaction(readonly=True):
                cursor = await conn.cursor(
                    f"SELECT key, doc, rec FROM {self._docs} "
                    "WHERE guild_id = $1 AND table_name = $2",
                    guild_id,
                    table,
                )
                while rows := await cursor.fetch(FETCH_ROWS):
                    await _decode_into(docs, rows)
            size.append(len(docs))
        for batch in self._in_order(before, self._overlays()):
            docs = batch.overlay((table, guild_id), docs)
        return docs

    async def stream(self, table: str, guild_id: int) -> AsyncIterator[list[tuple[str, Doc]]]:
        """One guild's documents in one table a chunk at a time, as of the call (staged ones
        included). The next rows are fetched while the caller works on the current chunk."""
        self._readers += 1
        try:
            pair = (table, guild_id)
            over: dict[str, bytes | None] = {}
            dropped = False
            for batch in self._in_order(self._overlays()):
                if guild_id in batch.drops:
                    over, dropped = {}, True
                over.update(batch.docs.get(pair, {}))
            if not dropped:
                async for chunk in self._stream_rows(table, guild_id, over):
                    yield chunk
            docs = [(k, orjson.loads(v)) for k, v in over.items() if v is not None]
            if docs:
                yield docs
        finally:
            self._readers -= 1

    async def _stream_rows(
        self, table: str, guild_id: int, skip: dict[str, Any]
    ) -> AsyncIterator[list[tuple[str, Doc]]]:
        async with self._pool_or_raise().acquire() as conn, conn.transaction(readonly=True):
            cursor = await conn.cursor(
                f"SELECT key, doc, rec FROM {self._docs} WHERE guild_id = $1 AND table_name = $2",
                guild_id,
                table,
            )
            fetch = asyncio.ensure_future(cursor.fetch(CHUNK))
            try:
                while rows := await fetch:
                    fetch = asyncio.ensure_future(cursor.fetch(CHUNK))
                    # Decoded and handed out STREAM_ROWS at a time: a page decoded whole and
                    # the caller's first batch of it were one ~40 ms step of a big load.
                    for at in range(0, len(rows), STREAM_ROWS):
                        part = rows[at : at + STREAM_ROWS]
                        values = _values(part, 1)
                        keys = [r[0] for r in part]
                        if skip:
                            yield [
                                (k, v) for k, v in zip(keys, values, strict=True) if k not in skip
                            ]
                        else:
                            yield list(zip(keys, values, strict=True))
                    del rows
            finally:
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                        await fetch

    async def stream_records(
        self, table: str, guild_id: int
    ) -> AsyncIterator[list[tuple[str, Doc]] | Records]:
        """``stream``, with records concatenated by the server PACK_RECS to a row, by width."""
        self._readers += 1
        try:
            pair = (table, guild_id)
            over: dict[str, bytes | None] = {}
            dropped = False
            for batch in self._in_order(self._overlays()):
                if guild_id in batch.drops:
                    over, dropped = {}, True
                over.update(batch.docs.get(pair, {}))
            if not dropped:
                async for item in self._stream_records(table, guild_id, over):
                    yield item
            staged = [(k, orjson.loads(v)) for k, v in over.items() if v is not None]
            others, packed = split_records(staged)
            for records in packed:
                yield records
            if others:
                yield others
        finally:
            self._readers -= 1

    async def _stream_records(
        self, table: str, guild_id: int, skip: dict[str, Any]
    ) -> AsyncIterator[list[tuple[str, Doc]] | Records]:
        """Stored records, then stored documents, as of one snapshot (a key may move between
        the two columns). Records come by binary COPY, cut into Records as the bytes arrive
        (no row object per record); documents a cursor page at a time, the next page fetched
        while the caller works on the current one."""
        async with (
            self._pool_or_raise().acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            arriving: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=COPY_QUEUE)

            async def keep(data: bytes) -> None:
                await arriving.put(bytes(data))  # asyncpg may hand out a buffer it reuses

            async def copy() -> None:
                try:
                    await conn.copy_from_query(
                        f"SELECT rec FROM {self._docs} WHERE guild_id = $1 AND table_name = $2 "
                        "AND rec IS NOT NULL AND key NOT IN (SELECT unnest($3::text[]))",
                        guild_id,
                        table,
                        sorted(skip),
                        output=keep,
                        format="binary",
                    )
                finally:
                    await arriving.put(None)

            task = asyncio.ensure_future(copy())
            try:
                cutter = _CopyCutter()
                while (data := await arriving.get()) is not None:
                    for records in cutter.feed(data):
                        yield records
                await task  # its error, if it failed
                cutter.done()
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                        await task
            cursor = await conn.cursor(
                f"SELECT key, doc FROM {self._docs} "
                "WHERE guild_id = $1 AND table_name = $2 AND doc IS NOT NULL",
                guild_id,
                table,
            )
            fetch = asyncio.ensure_future(cursor.fetch(CHUNK))
            try:
                while rows := await fetch:
                    fetch = asyncio.ensure_future(cursor.fetch(CHUNK))
                    values = orjson.loads("[" + ",".join([r[1] for r in rows]) + "]")
                    docs = [
                        (r[0], v) for r, v in zip(rows, values, strict=True) if r[0] not in skip
                    ]
                    del rows
                    others, packed = split_records(docs)
                    for records in packed:
                        yield records
                    if others:
                        yield others
            finally:
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                        await fetch

    async def documents(
        self, chunk: int = 50_000
    ) -> AsyncIterator[list[tuple[str, int, str, Doc]]]:
        """Every flushed document as (table, guild, key, doc), in chunks, in key order.

        Reads one consistent snapshot (a repeatable-read transaction), for migration and checks.
        """
        async with (
            self._pool_or_raise().acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = conn.cursor(
                f"SELECT table_name, guild_id, key, doc, rec FROM {self._docs} "
                "ORDER BY guild_id, table_name, key",
                prefetch=chunk,
            )
            rows: list[Any] = []
            async for row in cursor:
                rows.append(row)
                if len(rows) >= chunk:
                    yield await _decode_full(rows)
                    rows = []
            if rows:
                yield await _decode_full(rows)

    async def claims(self) -> list[tuple[str, str, datetime]]:
        """Every claim as (key, owner, until), expired ones included."""
        rows = await self._pool_or_raise().fetch(
            f"SELECT key, owner, until FROM {self._claims} ORDER BY key"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    # --- writing

    def put(self, table: str, guild_id: int, key: str, doc: Mapping[str, Any]) -> None:
        """Stage a whole-document write; a value JSON can't hold raises TypeError here
        (or goes to `reject`, when set)."""
        data = staged_form(self.reject, table, guild_id, key, doc)
        if data is not None:
            self._stage(table, guild_id, key, data)

    def delete(self, table: str, guild_id: int, key: str) -> None:
        """Stage the removal of one document."""
        check_names(table, key)
        self._stage(table, guild_id, key, None)

    def _stage(self, table: str, guild_id: int, key: str, data: bytes | None) -> None:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        if not isinstance(guild_id, int):
            raise TypeError(f"guild ids are ints, not {type(guild_id).__name__}")
        self._staged.docs.setdefault((table, guild_id), {})[key] = data

    async def delete_guild(self, guild_id: int) -> None:
        """Stage dropping every document of a guild (claims stay)."""
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        staged = self._staged.docs
        for pair in [p for p in staged if p[1] == guild_id]:
            del staged[pair]
        self._staged.drops.add(guild_id)

    async def flush(self) -> FlushStats:
        """Write the staged batch in one transaction; on failure it stays staged for the next."""
        async with self._flush_lock:
            if not self._staged:
                return FlushStats(0, 0.0)
            pool = self._pool_or_raise()
            batch, self._staged = self._staged, Batch()
            self._inflight = batch
            started = time.perf_counter()
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await self._write(conn, batch)
            except BaseException:
                batch.merge_newer(self._staged)
                self._staged = batch
                raise
            finally:
                self._inflight = None
            stats = FlushStats(batch.count(), time.perf_counter() - started)
        if not self._readers:  # a read in progress may still overlay this batch
            await _dispose(batch)
        return stats

    async def _write(self, conn: _Conn, batch: Batch) -> None:
        if batch.drops:
            await conn.execute(
                f"DELETE FROM {self._docs} WHERE guild_id = ANY($1::bigint[])", sorted(batch.drops)
            )
        if not batch.docs:
            return
        await conn.execute(
            "CREATE TEMPORARY TABLE rapport_flush (guild_id bigint, table_name text, key text, "
            "doc json, rec bytea) ON COMMIT DROP"
        )
        counts = [0, 0]  # rows, deletes
        await conn.copy_to_table(
            "rapport_flush", source=_copy_rows(batch, counts), format="text", schema_name="pg_temp"
        )
        if counts[0] > 10_000:
            await conn.execute("ANALYZE rapport_flush")  # a plan for a million rows, not for ten
        if counts[1]:
            await conn.execute(
                f"DELETE FROM {self._docs} d USING rapport_flush f WHERE f.doc IS NULL "
                "AND f.rec IS NULL AND d.guild_id = f.guild_id AND d.table_name = f.table_name AND d.key = f.key"
            )
        if counts[1] < counts[0]:
            # In key order, so two processes writing overlapping rows lock them in the same
            # order and never deadlock.
            await conn.execute(
                f"INSERT INTO {self._docs} (guild_id, table_name, key, doc, rec) "
                "SELECT guild_id, table_name, key, doc, rec FROM rapport_flush "
                "WHERE doc IS NOT NULL OR rec IS NOT NULL ORDER BY guild_id, table_name, key "
                "ON CONFLICT (guild_id, table_name, key) "
                "DO UPDATE SET doc = EXCLUDED.doc, rec = EXCLUDED.rec"
            )

    # --- claims

    async def prune_claims(self, now: datetime) -> int:
        """Drop claims expired at ``now``."""
        status = await self._pool_or_raise().execute(
            f"DELETE FROM {self._claims} WHERE until <= $1", now
        )
        return int(status.split()[-1])

    async def drop_claims(self, prefix: str) -> int:
        """Drop the claims whose key starts with ``prefix``, whoever holds them."""
        status = await self._pool_or_raise().execute(
            f"DELETE FROM {self._claims} WHERE left(key, length($1)) = $1", prefix
        )
        return int(status.split()[-1])

    async def claim(self, key: str, owner: str, until: datetime, now: datetime) -> bool:
        """Take the claim unless another owner holds it past ``now``; committed before True."""
        if until.tzinfo is None or now.tzinfo is None:
            raise ValueError("claim() needs aware datetimes")
        got = await self._pool_or_raise().fetchval(
            f"""INSERT INTO {self._claims} AS c (key, owner, until) VALUES ($1, $2, $3)
                ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
                WHERE c.owner = EXCLUDED.owner OR c.until <= $4
                RETURNING true""",
            key,
            owner,
            until,
            now,
        )
        return bool(got)

    async def release(self, key: str, owner: str) -> None:
        """Drop the claim if ``owner`` holds it."""
        await self._pool_or_raise().execute(
            f"DELETE FROM {self._claims} WHERE key = $1 AND owner = $2", key, owner
        )

    async def count_documents(self) -> int:
        """How many documents are flushed (for progress bars)."""
        count: int = await self._pool_or_raise().fetchval(f"SELECT count(*) FROM {self._docs}")
        return count

    async def import_claims(self, claims: Iterable[tuple[str, str, float]]) -> None:
        """Write claims (key, owner, until epoch seconds) as they are, in one pipelined batch."""
        rows = [(k, o, datetime.fromtimestamp(u, UTC)) for k, o, u in claims]
        await self._pool_or_raise().executemany(
            f"INSERT INTO {self._claims} (key, owner, until) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until",
            rows,
        )

    async def is_empty(self) -> bool:
        """True when the schema holds no document and no claim (migration's target check)."""
        pool = self._pool_or_raise()
        docs = await pool.fetchval(f"SELECT EXISTS (SELECT 1 FROM {self._docs})")
        claims = await pool.fetchval(f"SELECT EXISTS (SELECT 1 FROM {self._claims})")
        return not (docs or claims or self._staged)

    async def clear(self) -> None:
        """Remove every document and claim now (migration --force); staged changes are dropped."""
        self._staged = Batch()
        async with self._pool_or_raise().acquire() as conn, conn.transaction():
            await conn.execute(f"TRUNCATE {self._docs}, {self._claims}")


@contextlib.contextmanager
def _gc_deferred() -> Iterator[list[int]]:
    """No collection while a load builds its documents; after a big one, none scans them.

    A million new dicts and lists trigger full collections over the whole heap, each a loop
    stall of hundreds of ms (measured: 98 ms at 200,000 documents, 12 ms without). Documents
    are acyclic JSON that reference counting frees, so after a load of FREEZE_ROWS or more
    (the caller appends the row count) they move to the permanent generation (gc.freeze)
    rather than being scanned when collection resumes. Small loads just resume collection.
    """
    if not _gc_holds:
        _gc_was_enabled[:] = [gc.isenabled()]
        gc.disable()
    _gc_holds.append(1)  # loads overlap (one per guild at start): the last one resumes
    size: list[int] = []
    try:
        yield size
    finally:
        _gc_holds.pop()
        if size and size[0] >= FREEZE_ROWS:
            gc.freeze()
        if not _gc_holds and _gc_was_enabled[0]:
            gc.enable()


_gc_holds: list[int] = []
_gc_was_enabled: list[bool] = [True]


async def _copy_rows(batch: Batch, counts: list[int]) -> AsyncIterator[bytes]:
    """The batch as COPY text rows, COPY_ROWS per piece, yielding to the loop in between."""
    rows: list[bytes] = []
    for (table, guild), docs in batch.docs.items():
        head = f"{guild}\t{table.translate(_COPY_ESCAPES)}\t".encode()
        for key, data in docs.items():
            start = head + key.translate(_COPY_ESCAPES).encode()
            if data is None:
                counts[1] += 1
                rows.append(start + b"\t\\N\t\\N\n")
            elif (rec := packable(data)) is not None:  # bytea's hex form, its \ escaped
                rows.append(start + b"\t\\N\t\\\\x" + rec.hex().encode() + b"\n")
            else:
                doc = data.replace(b"\\", b"\\\\")
                rows.append(start + b"\t" + doc + b"\t\\N\n")
            if len(rows) >= COPY_ROWS:
                counts[0] += len(rows)
                yield b"".join(rows)
                rows = []
                await asyncio.sleep(0)
    if rows:
        counts[0] += len(rows)
        yield b"".join(rows)


async def _decode_into(docs: dict[str, Doc], rows: list[Any]) -> None:
    """Add (key, json text) rows to ``docs``, CHUNK per orjson call, yielding in between.

    Consumes ``rows`` from the end as it goes: freeing many records at once is a stall too.
    """
    big = len(rows) > CHUNK
    while rows:
        chunk = rows[-CHUNK:]
        del rows[-CHUNK:]
        values = _values(chunk, 1)
        docs.update(zip([r[0] for r in chunk], values, strict=True))
        del chunk
        if big:
            await asyncio.sleep(0)


async def _dispose(batch: Batch) -> None:
    """Free a written batch a chunk at a time: dropping a million documents at once stalls."""
    for docs in batch.docs.values():
        while len(docs) > CHUNK:
            for _ in range(CHUNK):
                docs.popitem()
            await asyncio.sleep(0)
    batch.docs.clear()


async def _decode_full(rows: Iterable[Any]) -> list[tuple[str, int, str, Doc]]:
    rows = list(rows)
    out: list[tuple[str, int, str, Doc]] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        values = _values(chunk, 3)
        out += [(r[0], r[1], r[2], v) for r, v in zip(chunk, values, strict=True)]
        await asyncio.sleep(0)
    return out


def _values(rows: list[Any], at: int) -> list[Doc]:
    """The documents of rows whose column ``at`` is the JSON text (NULL for a record, whose bytes
    are in column ``at + 1``), in one orjson call."""
    texts = [
        r[at]
        if r[at] is not None
        else '{"r":"' + binascii.b2a_base64(r[at + 1], newline=False).decode() + '"}'
        for r in rows
    ]
    values: list[Doc] = orjson.loads("[" + ",".join(texts) + "]")
    return values


class _CopyCutter:
    """Cuts a binary COPY stream of one bytea column into Records, whatever its chunking.

    Rows of one width are cut by struct in C (field count and length checked for the whole
    run at once); a row of another width ends the run and starts the next.
    """

    def __init__(self) -> None:
        self.buf = b""
        self.started = False
        self.ended = False

    def feed(self, data: bytes) -> Iterator[Records]:
        buf = self.buf + data if self.buf else data
        pos = 0
        if not self.started:
            if len(buf) < 19:
                self.buf = buf
                return
            if buf[:11] != _COPY_SIGNATURE:
                raise StoreError("PostgreSQL sent a COPY stream this store can't read")
            pos = 19 + int.from_bytes(buf[15:19], "big")  # flags, then the header extension
            self.started = True
        while pos + 2 <= len(buf):
            if buf[pos : pos + 2] == b"\xff\xff":  # the trailer: a field count of -1
                self.ended = True
                pos += 2
                break
            if pos + 6 > len(buf):
                break
            count, width = _COPY_HEAD.unpack_from(buf, pos)
            if count != 1 or width <= 0:
                raise StoreError("PostgreSQL sent a COPY row this store can't read")
            row = struct.Struct(f">hi{width}s")
            n = (len(buf) - pos) // row.size
            if not n:
                break
            rows = list(row.iter_unpack(memoryview(buf)[pos : pos + n * row.size]))
            if set(map(itemgetter(0, 1), rows)) != {(1, width)}:  # another width within the run
                rows = rows[: next(i for i, r in enumerate(rows) if r[:2] != (1, width))]
            pos += len(rows) * row.size
            yield Records(width, b"".join(map(itemgetter(2), rows)))
        self.buf = buf[pos:]

    def done(self) -> None:
        if not self.ended or self.buf:
            raise StoreError("PostgreSQL's COPY stream ended early")
