"""Moving a whole store between backends: everything arrives, and the copy is proven."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rapport.errors import StoreError
from rapport.store import Store
from rapport.store.migrate import MigrationReport, digest, location, migrate, run
from rapport.store.postgres import PostgresStore
from rapport.store.tinydb import TinyDBStore
from tests.unit._pg import DSN, drop_schema, fresh_schema, require_postgres

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DOCS: list[tuple[str, int, str, dict[str, Any]]] = [
    ("pairs", 10, "1:2", {"a": 1, "b": 2, "v": [1_700_000_000, 3, 0.25]}),
    ("pairs", 10, "1:3", {"a": 1, "b": 3, "v": [1_700_000_100, 1, 1.5]}),
    ("pairs", 20, "1:2", {"a": 1, "b": 2, "v": []}),
    ("members", 10, "1", {"left": 0, "ch": [[5, 1_700_000_000, 2, 0, 0]]}),
    ("member_settings", 20, "7", {"enrolled": True, "tz": "Europe/Paris", "note": "tab\t\\"}),
    ("totals", 10, "ledger", {"interactions": 3, "latest": 1_700_000_100}),
]


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema for the test, dropped after it."""
    await require_postgres()
    name = fresh_schema()
    yield name
    await drop_schema(name)


async def filled_tinydb(path: Path, docs: list[tuple[str, int, str, dict[str, Any]]]) -> None:
    store = TinyDBStore(path)
    await store.open()
    for table, guild, key, doc in docs:
        store.put(table, guild, key, doc)
    assert await store.claim("digest:10:1:2026-11-26", "proc-a", NOW + timedelta(days=1), NOW)
    await store.close()


async def contents(store: Store) -> dict[tuple[str, int], dict[str, Any]]:
    await store.open()
    try:
        return {(t, g): await store.load(t, g) for t in {d[0] for d in DOCS} for g in (10, 20, 30)}
    finally:
        await store.close()


async def test_round_trip_tinydb_postgres_tinydb_keeps_everything(
    tmp_path: Path, schema: str
) -> None:
    """TinyDB -> PostgreSQL -> TinyDB arrives identical, claims included, each leg verified."""
    await filled_tinydb(tmp_path / "a.json", DOCS)
    pg = location(f"postgres:{DSN}", schema=schema)
    there = await migrate(location(f"tinydb:{tmp_path / 'a.json'}"), pg)
    back = await migrate(pg, location(f"tinydb:{tmp_path / 'b.json'}"))
    assert (there.documents, there.claims) == (len(DOCS), 1)
    assert _figures(back) == _figures(there)
    assert await contents(TinyDBStore(tmp_path / "b.json")) == await contents(
        TinyDBStore(tmp_path / "a.json")
    )
    copy = TinyDBStore(tmp_path / "b.json")
    await copy.open()
    try:  # the digest already sent stays sent after the move
        assert not await copy.claim("digest:10:1:2026-11-26", "proc-b", NOW + timedelta(1), NOW)
    finally:
        await copy.close()


async def test_non_empty_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Copying into a store that holds anything fails and changes nothing in it."""
    await filled_tinydb(tmp_path / "a.json", DOCS)
    await filled_tinydb(tmp_path / "b.json", [("pairs", 30, "8:9", {"v": [1]})])
    with pytest.raises(StoreError, match="already holds documents"):
        await migrate(
            location(f"tinydb:{tmp_path / 'a.json'}"), location(f"tinydb:{tmp_path / 'b.json'}")
        )
    assert (await contents(TinyDBStore(tmp_path / "b.json")))[("pairs", 30)] == {"8:9": {"v": [1]}}


async def test_force_replaces_the_target_with_the_source(tmp_path: Path, schema: str) -> None:
    """With force, what the target held before is gone and it equals the source exactly."""
    await filled_tinydb(tmp_path / "a.json", DOCS)
    target = PostgresStore(DSN, schema=schema)
    await target.open()
    target.put("pairs", 30, "8:9", {"v": [1]})
    assert await target.claim("stale", "proc-z", NOW + timedelta(days=9), NOW)
    await target.close()
    pg = location(f"postgres:{DSN}", schema=schema)
    await migrate(location(f"tinydb:{tmp_path / 'a.json'}"), pg, force=True)
    source, copy = TinyDBStore(tmp_path / "a.json"), PostgresStore(DSN, schema=schema)
    for store in (source, copy):
        await store.open()
    try:
        want, got = await digest(source), await digest(copy)
        assert await copy.guild_ids() == {10, 20}
    finally:
        for store in (source, copy):
            await store.close()
    assert _figures(got) == _figures(want)


class LossyStore(TinyDBStore):
    """A target that silently drops one document: what the verification is there to catch."""

    def put(self, table: str, guild_id: int, key: str, doc: Any) -> None:
        """Write everything except pairs 1:3."""
        if key != "1:3":
            super().put(table, guild_id, key, doc)


async def test_a_copy_that_lost_a_document_fails_verification(tmp_path: Path) -> None:
    """Reading the target back catches a missing document and names its table."""
    await filled_tinydb(tmp_path / "a.json", DOCS)
    with pytest.raises(StoreError, match=r"pairs: source 3 records .* target 2 records"):
        await migrate(
            location(f"tinydb:{tmp_path / 'a.json'}"), lambda: LossyStore(tmp_path / "b.json")
        )


@pytest.mark.parametrize("text", ["data/rapport.json", "tinydb:", "mysql:localhost", "postgres:"])
def test_bad_location_names_the_accepted_forms(text: str) -> None:
    """A location that is neither tinydb:PATH nor postgres:DSN is refused with both forms."""
    with pytest.raises(ValueError, match=r"tinydb:PATH .* postgres:DSN"):
        location(text)


async def test_cli_copies_and_refuses_without_force(tmp_path: Path) -> None:
    """The command exits 0 after a verified copy, then 1 for the now non-empty target."""
    await filled_tinydb(tmp_path / "a.json", DOCS)
    src, dst = f"tinydb:{tmp_path / 'a.json'}", f"tinydb:{tmp_path / 'b.json'}"
    assert await run(src, dst) == 0
    assert await run(src, dst) == 1
    assert await run(src, dst, force=True) == 0
    assert await run(src, "nowhere") == 2


def _figures(report: MigrationReport) -> dict[str, tuple[int, int]]:
    return {t: (d.count, d.total) for t, d in report.tables.items()}
