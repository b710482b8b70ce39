"""After a purge no file beside the TinyDB-format store keeps a record deleted before it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rapport.nudges.dm_queue import SendResult
from rapport.nudges.rules import Digest
from rapport.nudges.service import NudgeService
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.people.privacy import Privacy
from rapport.runtime.flush import FlushLoop
from rapport.settings.config import NudgeSettings, Settings
from rapport.store import tinydb
from rapport.store.base import FlushStats
from rapport.store.memory import MemoryStore
from rapport.store.tinydb import TinyDBStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

GONE = {"who": "forgotten-ana"}
KEPT = {"who": "bob"}
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ANA, BOB = 4_242_424_242, 5_353_535_353


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


def dead_pid() -> int:
    """The PID of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


async def test_temp_files_of_dead_writers_go_at_open_and_a_live_pids_at_compaction(
    tmp_path: Path,
) -> None:
    """Opening removes the temp snapshots killed compactions left (a dead PID's, or one under
    our own PID, as a container restarts the bot); one named after a live process is spared
    until the next compaction, the store's only writer, which removes it too. None is read."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    store.put("pairs", 10, "1", KEPT)
    await store.flush()
    await store.close()
    dead = path.with_name(f"rapport.json.tmp.{dead_pid()}")
    own = path.with_name(f"rapport.json.bak.tmp.{os.getpid()}")
    live = path.with_name(f"rapport.json.tmp.{os.getppid()}")
    for leftover in (dead, own, live):
        leftover.write_bytes(b'{"pairs": {"1": {"_g": 10, "_k": "half')
    store = await opened(path)
    assert not dead.exists()
    assert not own.exists()
    assert live.exists()
    assert await store.load("pairs", 10) == {"1": KEPT}
    await store.compact()
    assert not live.exists()
    await store.close()


async def test_a_purge_removes_temp_snapshots_a_killed_compaction_left(tmp_path: Path) -> None:
    """A temp snapshot left beside the store holds no deleted record once a purge returns,
    even one under a live process's PID, which opening the store spares."""
    path = tmp_path / "rapport.json"
    store = await forgotten_in_every_generation(path)
    leftover = path.with_name(f"rapport.json.tmp.{os.getppid()}")
    leftover.write_bytes(b'{"pairs": {"1": {"_g": 10, "_k": "ana", "who": "forgotten-ana"')
    await store.purge()
    assert holding(tmp_path, b"forgotten-ana") == []
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


async def test_after_a_forget_and_its_purge_no_file_holds_the_members_claims(
    tmp_path: Path,
) -> None:
    """The send-once claims of a forgotten member's digests go with the forget, and with its
    purge from every file (snapshot, .bak, journals), not a day later when claims are pruned."""
    store = await opened(tmp_path / "rapport.json")
    cfg = replace(NudgeSettings(), digest_hour=None, quiet_hours=None, dms_per_second=1000.0)
    settings = replace(Settings(), nudges=cfg)
    flusher = FlushLoop(store, 3600)
    members = MemberService(store, settings, GuildService(store, settings), lambda: NOW)
    ledger = Ledger(store)
    nudges = NudgeService(store, settings, members, ledger, flusher, lambda: NOW)
    for service in (ledger, members, members.guilds, nudges):
        flusher.add_stager(service.stage)
    privacy = Privacy(ledger, members, lambda: NOW, nudges)
    privacy.purge_soon = flusher.purge_soon
    sent: list[Digest] = []

    async def send(digest: Digest) -> SendResult:
        sent.append(digest)
        return SendResult.SENT

    nudges.attach(send)
    await members.ensure(1)
    await members.enroll(1, ANA)
    at = NOW - timedelta(days=2)
    ledger.record_message(MessageFacts(1, 7, time_snowflake(at), BOB, at, reply_to_id=ANA))
    await nudges.scan()
    assert [d.member_id for d in sent] == [ANA]
    await flusher.flush()
    await store.compact()
    await store.compact()  # the snapshot and the .bak both hold her claim now
    claim = f"nudge:1:{ANA}:".encode()
    assert "rapport.json.bak" in holding(tmp_path, claim)
    await privacy.forget(1, ANA)
    await flusher.flush()
    assert flusher._purging is not None
    await flusher._purging
    assert holding(tmp_path, claim) == []
    await nudges.detach()
    await store.close()


def failing_compactions(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Make the next `times` compactions fail as on a full disk; returns the attempt count."""
    attempts = [0]
    real = tinydb.compact_files

    def compact_or_fail(*args: Any, **kwargs: Any) -> int:
        attempts[0] += 1
        if attempts[0] <= times:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(tinydb, "compact_files", compact_or_fail)
    return attempts


async def flushes(store: TinyDBStore, n: int) -> None:
    """`n` turns of the flush loop with nothing staged, each compaction it starts let finish."""
    for _ in range(n):
        await store.flush()
        if store._compaction is not None:
            await asyncio.wait([store._compaction])


async def test_a_purge_that_fails_is_tried_again_at_the_next_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A purge that fails while the bot runs (a full disk) is logged and tried again by the
    flush loop's next turn, not only at the next start; the marker stays until it succeeds."""
    path = tmp_path / "rapport.json"
    store = await forgotten_in_every_generation(path)
    attempts = failing_compactions(monkeypatch, times=1)
    await store.purge()
    assert "purging" in caplog.text
    assert "tried again after 1 more flush" in caplog.text
    assert path.with_name("rapport.json.purge").exists()
    assert holding(tmp_path, b"forgotten-ana")
    await flushes(store, 1)
    assert attempts[0] == 2
    assert holding(tmp_path, b"forgotten-ana") == []
    assert not path.with_name("rapport.json.purge").exists()
    await flushes(store, 20)
    assert attempts[0] == 2  # done: nothing more to try
    await store.close()


async def test_a_purge_owed_at_open_that_fails_is_tried_again_at_the_next_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge a marker makes an open run is tried again the same way when it fails."""
    path = tmp_path / "rapport.json"
    store = await forgotten_in_every_generation(path)
    store._mark_purge()
    await store.close()
    attempts = failing_compactions(monkeypatch, times=1)
    store = await opened(path)
    assert store._compaction is not None
    await asyncio.wait([store._compaction])
    assert holding(tmp_path, b"forgotten-ana")
    await flushes(store, 1)
    assert attempts[0] == 2
    assert holding(tmp_path, b"forgotten-ana") == []
    assert not path.with_name("rapport.json.purge").exists()
    await store.close()


@pytest.mark.parametrize(("turns", "tries"), [(0, 1), (1, 2), (2, 2), (3, 3), (100, 7), (1000, 11)])
async def test_a_purge_that_keeps_failing_is_tried_ever_further_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, turns: int, tries: int
) -> None:
    """A purge failing every time is tried after 1, 2, 4 ... flushes, 256 at most: a full disk
    costs a few compactions an hour, never one per flush."""
    store = await forgotten_in_every_generation(tmp_path / "rapport.json")
    attempts = failing_compactions(monkeypatch, times=10**6)
    await store.purge()
    await flushes(store, turns)
    assert attempts[0] == tries
    await store.close()
