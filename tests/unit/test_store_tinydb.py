"""The embedded store's own promises: refusing what it can't read, migrations, journal recovery."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from tinydb import TinyDB

from rapport.errors import StoreError
from rapport.store import tinydb as tinydb_store
from rapport.store.base import SCHEMA_VERSION
from rapport.store.tinydb import TinyDBStore

PAIR = {"a": 1, "b": 2, "days": 12}


async def opened(path: Path, **kwargs: int) -> TinyDBStore:
    store = TinyDBStore(path, **kwargs)
    await store.open()
    return store


def abandon(store: TinyDBStore) -> None:
    """Let go of the files as a killed process would: no flush, no compaction."""
    store._closed = True
    for name in ("_journal_fd", "_lock_fd"):
        fd = getattr(store, name)
        if fd is not None:
            os.close(fd)
            setattr(store, name, None)
    store._executor.shutdown()


def journal(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.journal.{n}")


async def two_flushed_batches(path: Path) -> None:
    """Leave journal 1 with two committed batches (keys "1" then "2") and no snapshot."""
    store = await opened(path)
    store.put("pairs", 10, "1", PAIR)
    await store.flush()
    store.put("pairs", 10, "2", PAIR)
    await store.flush()
    abandon(store)


@pytest.mark.parametrize(
    ("content", "why"),
    [(b'{"pairs": {"1": {"_g": 1, "_k"', "not JSON"), (b"[1, 2]", "not a JSON object of tables")],
)
async def test_unreadable_snapshot_is_refused_and_left_alone(
    tmp_path: Path, content: bytes, why: str
) -> None:
    """A snapshot that can't be read stops the open, names the backup and is not rewritten."""
    path = tmp_path / "rapport.json"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=why) as refused:
        await opened(path)
    assert str(path) in str(refused.value)
    assert f"{path}.bak" in str(refused.value)
    assert path.read_bytes() == content
    assert sorted(os.listdir(tmp_path)) == ["rapport.json", "rapport.json.lock"]


async def test_refusal_says_restore_the_backup_when_one_exists(tmp_path: Path) -> None:
    """After a compaction a .bak exists, and a damaged snapshot points to it."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1", PAIR)
    await store.flush()
    await store.compact()
    await store.close()
    store = await opened(path)
    store.put("pairs", 10, "2", PAIR)
    await store.flush()
    await store.compact()
    await store.close()
    path.write_bytes(b"\0" * 64)
    with pytest.raises(StoreError, match=r"Restore .*rapport\.json\.bak"):
        await opened(path)


async def test_snapshot_from_a_newer_rapport_is_refused(tmp_path: Path) -> None:
    """A schema newer than this code knows asks for an upgrade and changes nothing."""
    path = tmp_path / "rapport.json"
    content = orjson.dumps({"_meta": {"1": {"schema": 4, "journal_through": 0}}})
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"newer Rapport \(schema 4; this one knows 3\)"):
        await opened(path)
    assert path.read_bytes() == content


async def test_plain_tinydb_file_is_migrated_and_stamped(tmp_path: Path) -> None:
    """A file without _meta is schema 0: its documents are kept and the file is stamped."""
    path = tmp_path / "rapport.json"
    with TinyDB(path) as db:
        db.table("members").insert({"guild_id": 5, "enrolled": True})
    original = path.read_bytes()
    store = await opened(path)
    assert await store.load("members", 5) == {"1": {"guild_id": 5, "enrolled": True}}
    await store.close()
    assert orjson.loads(path.read_bytes())["_meta"]["1"]["schema"] == SCHEMA_VERSION
    backup = path.with_name("rapport.json.bak")
    assert backup.read_bytes() == original


async def test_snapshot_opens_in_tinydb(tmp_path: Path) -> None:
    """The snapshot is a TinyDB file whose documents carry their guild and key."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1:2", PAIR)
    await store.flush()
    await store.compact()
    await store.close()
    with TinyDB(path) as db:
        assert db.table("pairs").all() == [{"_g": 10, "_k": "1:2", **PAIR}]


@pytest.mark.parametrize("cut", [1, 5, 20, 40])
async def test_journal_tail_cut_by_a_kill_is_dropped(tmp_path: Path, cut: int) -> None:
    """A last batch cut short (no commit line, or half a line) is ignored; earlier ones load."""
    path = tmp_path / "rapport.json"
    await two_flushed_batches(path)
    file = journal(path, 1)
    file.write_bytes(file.read_bytes()[:-cut])
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR}
    store.put("pairs", 10, "3", PAIR)
    await store.close()
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR, "3": PAIR}
    await store.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda lines: [*lines[:2], b"{not json", *lines[3:]],
        lambda lines: [lines[0], *lines[2:]],  # a record lost before its commit line
        lambda lines: [*lines[:2], b'{"t": "pairs"}', *lines[3:]],
    ],
    ids=["garbage", "count-mismatch", "wrong-shape"],
)
async def test_damaged_committed_journal_is_refused(
    tmp_path: Path, damage: Callable[[list[bytes]], list[bytes]]
) -> None:
    """A bad line inside committed batches is corruption: the open stops and names the file."""
    path = tmp_path / "rapport.json"
    await two_flushed_batches(path)
    file = journal(path, 1)
    damaged = b"\n".join(damage(file.read_bytes().split(b"\n")))
    file.write_bytes(damaged)
    with pytest.raises(StoreError, match=str(file)):
        await opened(path)
    assert file.read_bytes() == damaged


async def test_missing_journal_is_refused(tmp_path: Path) -> None:
    """A gap in the journal files means lost changes, so the open stops."""
    path = tmp_path / "rapport.json"
    await two_flushed_batches(path)
    store = await opened(path)
    store.put("pairs", 10, "3", PAIR)
    await store.flush()
    abandon(store)
    journal(path, 1).unlink()
    with pytest.raises(StoreError, match="missing"):
        await opened(path)


async def test_failed_flush_leaves_no_trace_and_keeps_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the disk refuses a flush, the journal is unchanged and the batch waits for the next."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1", PAIR)
    await store.flush()
    size = journal(path, 1).stat().st_size
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(tinydb_store.os, "fsync", failing_fsync)
    store.put("pairs", 10, "2", PAIR)
    with pytest.raises(OSError, match="No space"):
        await store.flush()
    assert journal(path, 1).stat().st_size == size
    store.put("pairs", 10, "3", PAIR)
    assert (await store.flush()).records == 2
    abandon(store)
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR, "2": PAIR, "3": PAIR}
    await store.close()


async def test_backup_and_its_journals_restore_everything(tmp_path: Path) -> None:
    """Restoring the .bak loses nothing flushed: the journals it needs are kept."""
    path = tmp_path / "rapport.json"
    for key in ("1", "2", "3"):
        store = await opened(path)
        store.put("pairs", 10, key, PAIR)
        await store.flush()
        await store.compact()
        await store.close()
    os.replace(f"{path}.bak", path)
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR, "2": PAIR, "3": PAIR}
    await store.close()


async def test_large_stores_compact_and_reread_in_a_child_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big stores are compacted and re-read by a child process, with the same results."""
    monkeypatch.setattr(tinydb_store, "PROCESS_COMPACTION_BYTES", 0)
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1", PAIR)
    await store.flush()
    await store.compact()
    store.put("pairs", 10, "2", PAIR)
    await store.flush()
    await store.compact()
    store.delete("pairs", 10, "1")
    await store.close()
    assert not journal(path, 1).exists()
    store = await opened(path)
    assert await store.load("pairs", 10) == {"2": PAIR}
    store.put("pairs", 10, "3", PAIR)
    await store.flush()
    assert await store.load("pairs", 10) == {"2": PAIR, "3": PAIR}  # re-read by a child
    await store.close()


async def test_journal_past_its_limit_is_compacted_in_the_background(tmp_path: Path) -> None:
    """A flush that grows the journal past the limit starts a compaction into the snapshot."""
    path = tmp_path / "rapport.json"
    store = await opened(path, compact_bytes=1)
    store.put("pairs", 10, "1", PAIR)
    await store.flush()
    assert store._compaction is not None
    await store._compaction
    with TinyDB(path) as db:
        assert db.table("pairs").all() == [{"_g": 10, "_k": "1", **PAIR}]
    await store.close()


async def test_second_process_on_the_same_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stores never write the same files at once."""
    monkeypatch.setattr(tinydb_store, "LOCK_WAIT_S", 0.1)
    path = tmp_path / "rapport.json"
    store = await opened(path)
    with pytest.raises(StoreError, match="in use"):
        await opened(path)
    await store.close()


@pytest.mark.parametrize(("table", "doc"), [("_meta", PAIR), ("pairs", {"_g": 1})])
async def test_store_names_are_reserved(tmp_path: Path, table: str, doc: dict[str, int]) -> None:
    """Tables starting with _ and the fields _g/_k belong to the store."""
    store = await opened(tmp_path / "rapport.json")
    with pytest.raises(ValueError, match="_"):
        store.put(table, 10, "1", doc)
    await store.close()


async def test_journal_from_a_newer_rapport_is_refused(tmp_path: Path) -> None:
    """A journal written with a newer schema is not replayed by older code."""
    path = tmp_path / "rapport.json"
    journal(path, 1).write_bytes(b'{"journal": 1, "schema": 4}\n')
    with pytest.raises(StoreError, match="journal schema 4"):
        await opened(path)


async def test_leftovers_of_a_killed_compaction_are_ignored_then_removed(tmp_path: Path) -> None:
    """A temp snapshot from a compaction killed before its rename changes nothing and is cleaned."""
    path = tmp_path / "rapport.json"
    await two_flushed_batches(path)
    leftover = path.with_name("rapport.json.tmp.999999")
    leftover.write_bytes(b'{"pairs": {"1": {"_g": 10, "_k": "half')
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR, "2": PAIR}
    await store.compact()
    await store.close()
    assert not leftover.exists()


async def test_close_flushes_the_journal_and_never_compacts(tmp_path: Path) -> None:
    """A shutdown appends what is staged to the journal and returns; the snapshot stays as it was."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1", PAIR)
    await store.close()
    assert not path.exists()
    assert journal(path, 1).exists()
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR}
    await store.close()


async def test_close_stops_a_pending_compaction_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A compaction started just before shutdown is stopped, quietly; the next open has it all."""
    monkeypatch.setattr(tinydb_store, "PROCESS_COMPACTION_BYTES", 0)
    path = tmp_path / "rapport.json"
    store = await opened(path, compact_bytes=1)
    store.put("pairs", 10, "1", PAIR)
    store.put("pairs", 10, "2", PAIR)
    await store.flush()
    assert store._compaction is not None
    await store.close()
    assert not path.exists()  # no snapshot: the shutdown did not wait for a compaction
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR, "2": PAIR}
    await store.close()


async def test_a_schema_1_store_is_read_and_rewritten_in_chunks(tmp_path: Path) -> None:
    """A snapshot on one line and a journal of one record per line (schema 1) still open."""
    path = tmp_path / "rapport.json"
    path.write_bytes(
        orjson.dumps(
            {
                "_meta": {"1": {"schema": 1, "journal_through": 0}},
                "pairs": {"1": {"_g": 10, "_k": "1", **PAIR}, "2": {"_g": 10, "_k": "2", **PAIR}},
            }
        )
    )
    journal(path, 1).write_bytes(
        b'{"journal": 1, "schema": 1}\n'
        b'{"t": "pairs", "g": 10, "k": "2", "d": null}\n'
        b'{"t": "pairs", "g": 20, "k": "3", "d": {"a": 3}}\n'
        b'{"commit": 1, "n": 2}\n'
    )
    store = await opened(path)
    assert await store.load("pairs", 10) == {"1": PAIR}
    assert await store.load("pairs", 20) == {"3": {"a": 3}}
    await store.close()
    assert path.read_bytes().startswith(b"{\n")  # rewritten in the chunked layout at open
    with TinyDB(path) as db:
        assert db.table("pairs").all() == [
            {"_g": 10, "_k": "1", **PAIR},
            {"_g": 20, "_k": "3", "a": 3},
        ]


async def test_a_damaged_chunk_line_is_refused_at_open(tmp_path: Path) -> None:
    """One changed byte inside a snapshot's documents fails its checksum: the open stops."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1", {"a": 1, "b": 2})
    await store.flush()
    await store.compact()
    await store.close()
    data = path.read_bytes()
    damaged = data.replace(b'"a":1', b'"a":7')
    assert damaged != data
    path.write_bytes(damaged)
    with pytest.raises(StoreError, match="checksum"):
        await opened(path)


async def test_a_big_table_streams_in_chunks(tmp_path: Path) -> None:
    """A table of many documents comes out a chunk at a time, each document once."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    for n in range(2500):
        store.put("pairs", 10, str(n), {"n": n})
    await store.flush()
    await store.compact()
    store.put("pairs", 10, "7", {"n": -7})
    await store.close()
    store = await opened(path)
    chunks = [chunk async for chunk in store.stream("pairs", 10)]
    await store.close()
    assert len(chunks) > 2
    docs = dict(kv for chunk in chunks for kv in chunk)
    assert sum(len(c) for c in chunks) == len(docs) == 2500
    assert docs["7"] == {"n": -7}
