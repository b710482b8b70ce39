"""After a purge no file beside the TinyDB-format store keeps a record deleted before it."""

from __future__ import annotations

from pathlib import Path

from rapport.runtime.flush import FlushLoop
from rapport.store.base import FlushStats
from rapport.store.memory import MemoryStore
from rapport.store.tinydb import TinyDBStore

GONE = {"who": "forgotten-ana"}
KEPT = {"who": "bob"}


async def opened(path: Path) -> TinyDBStore:
    store = TinyDBStore(path)
    await store.open()
    return store


def holding(directory: Path, needle: bytes) -> list[str]:
    """The files under `directory` whose bytes contain `needle`."""
    return sorted(p.name for p in directory.rglob("*") if p.is_file() and needle in p.read_bytes())


async def forgotten_in_every_generation(path: Path) -> TinyDBStore:
    """Ana's record in the snapshot, its .bak and a journal, then deleted and flushed."""
    store = await opened(path)
    store.put("pairs", 10, "ana", GONE)
    store.put("pairs", 10, "bob", KEPT)
    await store.flush()
    await store.compact()
    store.put("pairs", 10, "ana", {**GONE, "n": 2})
    await store.flush()
    await store.compact()  # the snapshot and the .bak both hold her now
    store.put("pairs", 10, "ana", {**GONE, "n": 3})
    await store.flush()  # and the journal
    store.delete("pairs", 10, "ana")
    await store.flush()
    assert "rapport.json.bak" in holding(path.parent, b"forgotten-ana")
    return store


async def test_a_purge_leaves_no_file_holding_a_deleted_record(tmp_path: Path) -> None:
    """A deleted record is in no file once the purge returns: snapshot, .bak and journals."""
    path = tmp_path / "rapport.json"
    store = await forgotten_in_every_generation(path)
    await store.purge()
    assert holding(tmp_path, b"forgotten-ana") == []
    store.put("pairs", 10, "cy", KEPT)
    await store.flush()
    await store.close()
    store = await opened(path)
    assert await store.load("pairs", 10) == {"bob": KEPT, "cy": KEPT}
    await store.close()


async def test_a_purge_owed_when_the_process_stopped_runs_at_the_next_open(
    tmp_path: Path,
) -> None:
    """A stop (or a kill) between the forget and its purge leaves a marker: the next open
    purges, so the records still go in bounded time."""
    path = tmp_path / "rapport.json"
    store = await forgotten_in_every_generation(path)
    store._mark_purge()  # what purge() does first; then the process stops
    await store.close()
    assert holding(tmp_path, b"forgotten-ana")
    store = await opened(path)
    assert store._compaction is not None
    await store._compaction
    assert holding(tmp_path, b"forgotten-ana") == []
    assert not path.with_name("rapport.json.purge").exists()
    assert await store.load("pairs", 10) == {"bob": KEPT}
    await store.close()


class Recording(MemoryStore):
    """A memory store that says when it flushed (how many records) and purged."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    async def flush(self) -> FlushStats:
        stats = await super().flush()
        self.events.append(f"flush {stats.records}")
        return stats

    async def purge(self) -> None:
        self.events.append("purge")


async def test_the_flush_after_a_forget_is_followed_by_one_purge() -> None:
    """The purge comes after the flush that carries the forget's deletions, and only once."""
    store = Recording()
    flusher = FlushLoop(store, 60)
    forgotten: list[str] = []

    def stage() -> int:
        for key in forgotten:
            store.delete("pairs", 1, key)
        return len(forgotten)

    flusher.add_stager(stage)
    forgotten.append("ana")
    flusher.purge_soon()
    await flusher.flush()
    forgotten.clear()
    assert flusher._purging is not None
    await flusher._purging
    await flusher.flush()
    assert store.events == ["flush 1", "purge", "flush 0"]
