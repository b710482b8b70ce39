"""What only the PostgreSQL store promises: migrations, sharing one database, batches."""

from __future__ import annotations

import asyncio
import gc
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from rapport.errors import StoreError
from rapport.store import open_store
from rapport.store.postgres import (
    _COPY_SIGNATURE,
    CHUNK,
    FREEZE_ROWS,
    PostgresStore,
    _CopyCutter,
    migrations,
)
from tests.unit._pg import DSN, drop_schema, execute, fetch, fresh_schema, require_postgres

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """A fresh schema on the test server, dropped after the test."""
    await require_postgres()
    name = fresh_schema()
    yield name
    await drop_schema(name)


@pytest.fixture
async def stores(schema: str) -> AsyncIterator[list[PostgresStore]]:
    """Stores the test opened on its schema; each is closed afterwards."""
    opened: list[PostgresStore] = []
    yield opened
    for store in opened:
        await store.close()


async def open_on(schema: str, stores: list[PostgresStore]) -> PostgresStore:
    store = PostgresStore(DSN, schema=schema)
    stores.append(store)
    await store.open()
    return store


async def test_open_store_builds_the_postgres_backend(schema: str) -> None:
    """The configured backend "postgres" is this store, on the schema asked for."""
    store = open_store("postgres", dsn=DSN, schema=schema)
    assert isinstance(store, PostgresStore)
    assert store.schema == schema


async def test_migrations_are_applied_once(schema: str, stores: list[PostgresStore]) -> None:
    """Opening an up-to-date schema again applies nothing twice."""
    first = await open_on(schema, stores)
    await first.close()
    second = await open_on(schema, stores)
    versions = await fetch(f'SELECT version FROM "{schema}".schema_version ORDER BY version')
    assert versions == [(m.version,) for m in migrations()]
    assert await second.schema_version() == migrations()[-1].version


async def test_processes_starting_together_migrate_once(
    schema: str, stores: list[PostgresStore]
) -> None:
    """Several stores opening a new schema at the same moment all open, and migrate it once."""
    await asyncio.gather(*(open_on(schema, stores) for _ in range(4)))
    versions = await fetch(f'SELECT version FROM "{schema}".schema_version')
    assert sorted(versions) == [(m.version,) for m in migrations()]


async def test_newer_schema_is_refused_and_left_alone(
    schema: str, stores: list[PostgresStore]
) -> None:
    """A database migrated by a newer Rapport is refused with a message, and not written to."""
    store = await open_on(schema, stores)
    store.put("pairs", 10, "1:2", {"n": 1})
    await store.close()
    await execute(f"INSERT INTO \"{schema}\".schema_version (version, name) VALUES (999, 'future')")
    with pytest.raises(StoreError, match=r"newer Rapport \(schema version 999"):
        await open_on(schema, stores)
    assert await fetch(f'SELECT key FROM "{schema}".documents') == [("1:2",)]


def test_migration_files_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    """A missing migration number is refused rather than skipped."""
    (tmp_path / "001_initial.sql").write_text("SELECT 1;")
    (tmp_path / "003_later.sql").write_text("SELECT 1;")
    with pytest.raises(StoreError, match="without gaps"):
        migrations(tmp_path)


async def test_unreachable_server_is_a_clear_store_error() -> None:
    """A DSN nobody answers on fails open() with a StoreError that names it, password hidden."""
    store = PostgresStore("postgresql://rapport:secret@127.0.0.1:1/none")
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at .*:\*\*\*@") as err:
        await store.open()
    assert "secret" not in str(err.value)


async def test_concurrent_claims_from_two_processes_grant_each_once(
    schema: str, stores: list[PostgresStore]
) -> None:
    """Two stores racing for the same claims over their own connections never both win one."""
    a, b = await open_on(schema, stores), await open_on(schema, stores)
    keys = [f"digest:{n}" for n in range(50)]
    until = NOW + timedelta(minutes=5)
    results = await asyncio.gather(
        *(
            s.claim(k, owner, until=until, now=NOW)
            for k in keys
            for s, owner in ((a, "a"), (b, "b"))
        )
    )
    granted = [results[i] + results[i + 1] for i in range(0, len(results), 2)]
    assert granted == [1] * len(keys)


async def test_another_process_sees_what_one_flushed(
    schema: str, stores: list[PostgresStore]
) -> None:
    """A document flushed by one process is loaded by another sharing the database."""
    a, b = await open_on(schema, stores), await open_on(schema, stores)
    a.put("member_settings", 10, "7", {"enrolled": True})
    assert await b.load("member_settings", 10) == {}
    await a.flush()
    assert await b.load("member_settings", 10) == {"7": {"enrolled": True}}
    assert await b.guild_ids() == {10}


async def test_failed_flush_keeps_the_batch_staged(
    schema: str, stores: list[PostgresStore]
) -> None:
    """When the database refuses a batch, nothing of it is written and all of it is retried."""
    store = await open_on(schema, stores)
    await execute(f"ALTER TABLE \"{schema}\".documents ADD CONSTRAINT no_bad CHECK (key <> 'bad')")
    store.put("pairs", 10, "good", {"n": 1})
    store.put("pairs", 10, "bad", {"n": 0})
    with pytest.raises(asyncpg.CheckViolationError):
        await store.flush()
    assert await fetch(f'SELECT key FROM "{schema}".documents') == []
    store.put("pairs", 10, "later", {"n": 2})
    store.delete("pairs", 10, "bad")
    assert (await store.flush()).records == 3
    assert await store.load("pairs", 10) == {"good": {"n": 1}, "later": {"n": 2}}


async def test_big_batch_round_trips_across_chunks(
    schema: str, stores: list[PostgresStore]
) -> None:
    """A batch several chunks long, with deletes and awkward keys, is stored exactly."""
    store = await open_on(schema, stores)
    n = CHUNK * 2 + 17
    for i in range(n):
        store.put("pairs", i % 3, f"{i}\t\\{i}", {"i": i, "s": "tab\there \\ \n"})
    await store.flush()
    for i in range(0, n, 2):
        store.delete("pairs", i % 3, f"{i}\t\\{i}")
    await store.close()
    store = await open_on(schema, stores)
    loaded = {g: await store.load("pairs", g) for g in range(3)}
    expected: dict[int, dict[str, dict[str, object]]] = {0: {}, 1: {}, 2: {}}
    for i in range(1, n, 2):
        expected[i % 3][f"{i}\t\\{i}"] = {"i": i, "s": "tab\there \\ \n"}
    assert loaded == expected


async def test_documents_streams_every_flushed_document(
    schema: str, stores: list[PostgresStore]
) -> None:
    """documents() yields every flushed document once, in chunks, for migration."""
    store = await open_on(schema, stores)
    for i in range(25):
        store.put("pairs", i % 2, str(i), {"i": i})
    await store.flush()
    chunks = [c async for c in store.documents(chunk=10)]
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert sorted(doc["i"] for c in chunks for _, _, _, doc in c) == list(range(25))


async def test_processes_flushing_the_same_documents_at_once_both_succeed(
    schema: str, stores: list[PostgresStore]
) -> None:
    """Overlapping batches from two processes are written without a deadlock; one wins each row."""
    a, b = await open_on(schema, stores), await open_on(schema, stores)
    keys = [str(n) for n in range(CHUNK * 2)]
    for rounds in range(3):
        for store, name in ((a, "a"), (b, "b")):
            for key in keys if name == "a" else reversed(keys):
                store.put("nudge_state", 10, key, {"by": name, "round": rounds})
        await asyncio.gather(a.flush(), b.flush())
    docs = await a.load("nudge_state", 10)
    assert len(docs) == len(keys)
    assert {d["round"] for d in docs.values()} == {2}


async def test_loads_at_the_same_time_leave_garbage_collection_on(
    schema: str, stores: list[PostgresStore]
) -> None:
    """Overlapping loads, big and small, end with the garbage collector running again."""
    store = await open_on(schema, stores)
    for i in range(FREEZE_ROWS):
        store.put("pairs", 10, str(i), {"i": i})
    store.put("members", 10, "1", {"left": 0})
    await store.flush()
    big, small = await asyncio.gather(store.load("pairs", 10), store.load("members", 10))
    assert (len(big), len(small)) == (FREEZE_ROWS, 1)
    assert gc.isenabled()


@pytest.mark.parametrize("step", [1, 5, 18, 4096])
def test_a_binary_copy_of_records_is_cut_whatever_its_chunks(step: int) -> None:
    """Records of mixed widths come out whole and in order, however the COPY bytes arrive;
    a stream without its trailer is an error, not a short table."""
    rows = [b"a" * 12] * 3 + [b"w" * 20] + [b"b" * 12] * 2
    body = b"".join(struct.pack(">hi", 1, len(r)) + r for r in rows)
    data = _COPY_SIGNATURE + bytes(8) + body + b"\xff\xff"
    cutter = _CopyCutter()
    out = [rec for i in range(0, len(data), step) for rec in cutter.feed(data[i : i + step])]
    cutter.done()
    assert b"".join(r.data for r in out if r.width == 12) == b"a" * 36 + b"b" * 24
    assert [r.data for r in out if r.width == 20] == [b"w" * 20]
    cut = _CopyCutter()
    list(cut.feed(data[:-2]))
    with pytest.raises(StoreError, match="ended early"):
        cut.done()
