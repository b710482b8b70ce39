"""Copy a whole store to another backend and prove the copy: `bot.py --migrate-store SRC DST`.

Every document of every table and guild, and every claim (so a digest already sent is not sent
again after the move), goes from SRC to DST in batches, with a progress bar. The target is then
closed, opened afresh and read back; each table's count and checksum must match the source's.
The checksum is order-independent (the sum modulo 2**256 of the sha256 of each record's
canonical JSON, keys sorted), so backends that list documents in different orders compare
equal, and no table has to be held sorted in memory.

A target that already holds documents or claims is refused unless ``force=True``, which clears
it first: the copy replaces the target, it never merges into it.

Locations: ``tinydb:data/rapport.json`` or ``postgres:postgresql://user@host/db``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.errors import StoreError
from rapport.store.base import Doc, Store
from rapport.store.postgres import PostgresStore, redact
from rapport.store.tinydb import TinyDBStore

Record = tuple[str, int, str, Doc]
Claim = tuple[str, str, float]  # key, owner, until (epoch seconds)
StoreOpener = Callable[[], Store]
"""Builds a new, not yet opened store over the same data each time it is called."""

CLAIMS_TABLE = "(claims)"  # how claims appear in the report; no real table can start with "("
BATCH = 50_000  # documents staged in the target between two flushes
_MOD = 2**256


@dataclass
class TableDigest:
    """How many records a table holds and their order-independent checksum."""

    count: int = 0
    total: int = 0

    def add(self, canonical: bytes) -> None:
        self.count += 1
        self.total = (self.total + int.from_bytes(hashlib.sha256(canonical).digest())) % _MOD

    @property
    def sha256(self) -> str:
        return f"{self.total:064x}"


@dataclass
class MigrationReport:
    """What was copied and verified, per table (claims under "(claims)")."""

    tables: dict[str, TableDigest] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def documents(self) -> int:
        return sum(d.count for t, d in self.tables.items() if t != CLAIMS_TABLE)

    @property
    def claims(self) -> int:
        return self.tables[CLAIMS_TABLE].count if CLAIMS_TABLE in self.tables else 0

    def add(self, record: Record) -> None:
        table, guild, key, doc = record
        canonical = orjson.dumps([guild, key, doc], option=orjson.OPT_SORT_KEYS)
        self.tables.setdefault(table, TableDigest()).add(canonical)

    def add_claim(self, claim: Claim) -> None:
        key, owner, until = claim
        # Milliseconds: a float epoch and a timestamptz agree there, not in the last bits.
        canonical = orjson.dumps([key, owner, round(until * 1000)])
        self.tables.setdefault(CLAIMS_TABLE, TableDigest()).add(canonical)


def location(text: str, *, schema: str = "rapport") -> StoreOpener:
    """``tinydb:PATH`` or ``postgres:DSN`` as a store opener; ValueError names the forms."""
    backend, sep, where = text.partition(":")
    if sep and where and backend == "tinydb":
        return lambda: TinyDBStore(Path(where))
    if sep and where and backend == "postgres":
        return lambda: PostgresStore(where, schema=schema)
    raise ValueError(
        f"{text!r} is not a store location: use tinydb:PATH (e.g. tinydb:data/rapport.json) "
        "or postgres:DSN (e.g. postgres:postgresql://rapport@127.0.0.1/rapport)"
    )


# --- reading any backend ------------------------------------------------------------------------


async def open_for_reading(opener: StoreOpener) -> Store:
    """Open a store to read all of it: its schema is checked, an older layout migrated.

    A TinyDB store keeps its documents undecoded until each (table, guild) is streamed, so
    reading a whole store holds its files' bytes and one chunk of documents, never all of them
    decoded. Close it after reading.
    """
    store = opener()
    await store.open()
    return store


async def export(
    store: Store, chunk: int = BATCH, on_total: Callable[[int], object] = lambda _: None
) -> AsyncIterator[tuple[list[Record], list[Claim]]]:
    """Every flushed document and claim of a store from open_for_reading, in chunks.

    ``on_total`` learns how many documents there are before the first chunk (for a progress
    bar; PostgreSQL only). TinyDB documents are decoded as they go, a chunk line at a time.
    """
    if isinstance(store, PostgresStore):
        on_total(await store.count_documents())
        async for chunk_rows in store.documents(chunk):
            yield chunk_rows, []
        yield [], await export_claims(store)
        return
    if not isinstance(store, TinyDBStore):
        raise TypeError(f"can't list the documents of a {type(store).__name__}")
    rows: list[Record] = []
    for table, guild in store.unloaded():
        async for docs in store.stream(table, guild):
            rows += [(table, guild, key, doc) for key, doc in docs]
            if len(rows) >= chunk:
                yield rows, []
                rows = []
    yield rows, store.claims()


async def export_claims(store: Store) -> list[Claim]:
    """Every claim of a store, expired ones included."""
    if isinstance(store, PostgresStore):
        return [(k, o, u.timestamp()) for k, o, u in await store.claims()]
    if not isinstance(store, TinyDBStore):
        raise TypeError(f"can't list the claims of a {type(store).__name__}")
    return store.claims()


async def _is_empty(store: Store) -> bool:
    if isinstance(store, PostgresStore):
        return await store.is_empty()
    return not await store.guild_ids() and not await export_claims(store)


async def _clear(store: Store) -> None:
    if isinstance(store, PostgresStore):
        await store.clear()
        return
    for guild in await store.guild_ids():
        await store.delete_guild(guild)
    for key, owner, _ in await export_claims(store):
        await store.release(key, owner)
    await store.flush()


async def digest(store: Store) -> MigrationReport:
    """Counts and checksums of everything a store holds (open, or from open_for_reading)."""
    report = MigrationReport()
    async for rows, claims in export(store):
        for record in rows:
            report.add(record)
        for claim in claims:
            report.add_claim(claim)
        await asyncio.sleep(0)
    return report


# --- the copy -----------------------------------------------------------------------------------


async def _import_claims(store: Store, claims: list[Claim]) -> None:
    if isinstance(store, PostgresStore):
        await store.import_claims(claims)
        return
    for key, owner, until in claims:
        when = datetime.fromtimestamp(until, UTC)
        # `now` at the claim's own expiry: the target is empty, so nothing can refuse it.
        if not await store.claim(key, owner, until=when, now=when):
            raise StoreError(f"the target refused claim {key!r}; is another process using it?")


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
    )


async def migrate(
    src: StoreOpener,
    dst: StoreOpener,
    *,
    force: bool = False,
    console: Console | None = None,
    names: tuple[str, str] = ("source", "target"),
) -> MigrationReport:
    """Copy everything from ``src`` to ``dst``, then read ``dst`` back and verify it.

    Raises StoreError when the target is not empty (unless ``force``) or the check fails.
    ``console`` shows a progress bar there; None runs quietly.
    """
    started = time.perf_counter()
    source = await open_for_reading(src)
    try:
        target = dst()
        await target.open()
        try:
            if not await _is_empty(target):
                if not force:
                    raise StoreError(
                        f"the {names[1]} already holds documents or claims: refusing to write "
                        "into it. Pass --force to replace everything in it with the copy."
                    )
                await _clear(target)
            report = await _copy(source, target, console)
            if isinstance(target, TinyDBStore):
                await target.compact()  # the copy becomes one snapshot, as TinyDB opens it
        finally:
            await target.close()
    finally:
        await source.close()
    await _verify(report, dst, console, names)
    report.seconds = time.perf_counter() - started
    return report


async def _copy(source: Store, target: Store, console: Console | None) -> MigrationReport:
    report = MigrationReport()
    with _progress(console) as progress:
        task = progress.add_task("copying", total=None)
        staged = 0

        def on_total(n: int) -> None:
            progress.update(task, total=n)

        claims: list[Claim] = []
        async for rows, more_claims in export(source, on_total=on_total):
            for record in rows:
                table, guild, key, doc = record
                target.put(table, guild, key, doc)
                report.add(record)
            claims += more_claims
            staged += len(rows)
            progress.advance(task, len(rows))
            if staged >= BATCH:
                await target.flush()
                staged = 0
        await target.flush()
        claim_task = progress.add_task("claims", total=len(claims))
        await _import_claims(target, claims)
        for claim in claims:
            report.add_claim(claim)
        progress.advance(claim_task, len(claims))
    return report


async def _verify(
    expected: MigrationReport, dst: StoreOpener, console: Console | None, names: tuple[str, str]
) -> None:
    if console is not None:
        console.print(f"verifying: reading the {names[1]} back")
    target = await open_for_reading(dst)
    try:
        found = await digest(target)
    finally:
        await target.close()
    problems = []
    for table in sorted(set(expected.tables) | set(found.tables)):
        want = expected.tables.get(table, TableDigest())
        got = found.tables.get(table, TableDigest())
        if (want.count, want.total) != (got.count, got.total):
            problems.append(
                f"{table}: {names[0]} {want.count} records sha256 {want.sha256[:12]}…, "
                f"{names[1]} {got.count} records sha256 {got.sha256[:12]}…"
            )
    if problems:
        raise StoreError("the copy does not match its source:\n  " + "\n  ".join(problems))


def render(report: MigrationReport) -> str:
    """A table of what was copied, for the terminal."""
    lines = [f"{'table':<20} {'records':>10}  sha256"]
    for table, d in sorted(report.tables.items()):
        lines.append(f"{table:<20} {d.count:>10}  {d.sha256}")
    lines.append(
        f"{report.documents} documents and {report.claims} claims copied and verified "
        f"in {report.seconds:.1f}s"
    )
    return "\n".join(lines)


async def run(src: str, dst: str, *, force: bool = False) -> int:
    """The CLI: migrate between two locations, print the report; exit status 0, 1 or 2."""
    console = Console(stderr=True)
    try:
        source, target = location(src), location(dst)
    except ValueError as exc:
        console.print(f"[red]{exc}")
        return 2
    if src == dst:
        console.print("[red]source and target are the same store")
        return 2
    names = (_shown(src), _shown(dst))
    try:
        report = await migrate(source, target, force=force, console=console, names=names)
    except StoreError as exc:
        console.print(f"[red]{exc}")
        return 1
    print(render(report))
    return 0


def _shown(text: str) -> str:
    backend, _, where = text.partition(":")
    return f"{backend}:{redact(where)}" if backend == "postgres" else text
