"""kill -9 at random moments never loses a completed flush or leaves an unreadable store."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from rapport.store._journal import temp_files
from rapport.store.base import Records
from rapport.store.tinydb import TinyDBStore
from tests.unit._store_writer import RECORD, packed_doc

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("_store_writer.py")
KILLS = 40
RECORDS, KEEP = 40, 5  # as in _store_writer.py


def run_writer_until_killed(path: Path, rng: random.Random, *mode: str) -> int:
    """Start the writer, SIGKILL it at a random moment; the last batch it reported complete."""
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), *mode],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert child.stdout is not None
    first = b""
    if rng.random() < 0.3:
        time.sleep(rng.uniform(0.0, 0.3))  # sometimes during start-up, open or the first flush
    else:
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.12))
    child.send_signal(signal.SIGKILL)
    out = first + child.stdout.read()
    child.stdout.close()
    child.wait()
    done = [int(line) for line in out.split() if line.strip()]
    return max(done, default=0)


async def check_store(path: Path, reported: int, previous: int) -> int:
    """The reopened store holds exactly the state after one whole batch, no older than reported,
    and no temp snapshot of the killed writer."""
    store = TinyDBStore(path)
    await store.open()
    assert temp_files(path) == {}, "a killed compaction's temp snapshot outlived the next open"
    try:
        docs = {g: await store.load("rec", g) for g in range(3)}
        packed = {g: await store.load("packed", g) for g in range(3)}
        records: dict[int, set[bytes]] = {g: set() for g in range(3)}
        for g in range(3):
            async for item in store.stream_records("packed", g):
                assert isinstance(item, Records), "a record document came out unpacked"
                assert item.width == RECORD.size
                w = item.width
                records[g] |= {item.data[i : i + w] for i in range(0, len(item.data), w)}
    finally:
        await store.close()
    latest = docs[0].pop("latest", {"seq": 0})["seq"]
    assert max(reported, previous) <= latest <= max(reported, previous) + 1
    for g in range(3):
        expected = {
            f"{s}:{j}": {"seq": s, "j": j, "w": {"reply": 3.2}}
            for s in range(max(1, latest - KEEP + 1), latest + 1)
            if s % 3 == g
            for j in range(RECORDS)
        }
        assert docs[g] == expected
        assert packed[g] == {key: packed_doc(doc["seq"], doc["j"]) for key, doc in expected.items()}
        assert records[g] == {RECORD.pack(doc["seq"], doc["j"]) for doc in expected.values()}
    return latest


def test_kill_9_at_random_moments_loses_no_completed_flush(tmp_path: Path) -> None:
    """After each of 40 SIGKILLs the store opens and holds every batch the writer saw flushed,
    documents and packed records alike, whether loaded as documents or as records."""
    rng = random.Random(20261126)
    path = tmp_path / "rapport.json"
    latest = 0
    for _ in range(KILLS):
        reported = run_writer_until_killed(path, rng)
        latest = asyncio.run(check_store(path, reported, latest))
    assert latest > KILLS


def test_kill_9_during_purges_loses_no_completed_flush(tmp_path: Path) -> None:
    """Purges (a forget's compaction that also drops the .bak and old journals), killed at
    random moments, or owed and run at the next open, leave every flushed batch readable."""
    rng = random.Random(20261206)
    path = tmp_path / "rapport.json"
    latest = 0
    for _ in range(KILLS // 2):
        reported = run_writer_until_killed(path, rng, "purge")
        latest = asyncio.run(check_store(path, reported, latest))
    assert latest > KILLS // 2
