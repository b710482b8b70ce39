"""The embedded default store: a TinyDB-format snapshot plus an append-only journal, crash-safe.

Why not TinyDB's own storage: JSONStorage rewrites the whole file in place, so a kill during the
write leaves it unreadable, and a value that fails to serialise under CachingMiddleware left a
0-byte file. Here the snapshot is only ever replaced whole (temp file, fsync, rename, previous
generation kept as ``<path>.bak``) and every flush appends one committed batch to a journal.

Files beside ``path`` (e.g. ``data/rapport.json``):

- ``rapport.json``: the snapshot, in TinyDB's format (tables -> {doc_id: document}), so
  ``TinyDB("data/rapport.json")`` opens it for inspection. Each document carries its guild and key
  as ``_g`` and ``_k``; table ``_meta`` holds ``{"schema": ..., "journal_through": N, ...}``. It
  is laid out in chunk lines of documents (rapport/store/_format.py), so it is read without
  being parsed whole.
- ``rapport.json.journal.N``: a header line, then per flush one batch: per (table, guild) a line
  ``{"t": table, "g": guild}`` and a chunk line ``{key: document or null, ...}`` (or a line
  ``{"drop_guild": guild}``), closed by ``{"commit": seq, "n": lines, "crc": crc32}``, fsynced
  before ``flush()`` returns. A batch without its commit line, or a partial last line, is what a
  kill leaves and is ignored; anything else malformed is corruption and the store refuses to open.
- ``rapport.json.bak``: the previous snapshot. Journals newer than it are kept until the next
  compaction, so restoring it loses nothing that was flushed.
- ``rapport.json.lock``: held (flock) while a process, or its compaction, uses the store.
- ``rapport.json.purge``: an empty marker while a purge is owed (``purge()``, after a forget):
  a store opened with it purges at once, so a stop or a kill does not leave the records behind;
  a purge that fails is tried again at later flushes (backing off, see ``_compact_if_due``).
- ``rapport.json.tmp.PID``, ``rapport.json.bak.tmp.PID``: a snapshot being written; one that a
  kill left is removed at the next open (``remove_dead_temp_files``) and by every compaction.

put() serialises the document at once (orjson, about 1 µs): a value JSON can't hold fails there
with TypeError, later changes to the caller's dict don't leak in, and flush() only joins bytes in
a worker thread, CHUNK records at a time so the event loop gets the GIL back in between.

Compaction folds the journals into a new snapshot when they outgrow max(64 MiB, snapshot), never
on close: a shutdown flushes the journal and returns (a compaction still running is stopped; it
leaves nothing a later one does not clean up). Stores over PROCESS_COMPACTION_BYTES are compacted
by a child process, so its parsing and dumping never hold the bot's GIL.

The store keeps no image of the tables: ``open()`` reads the files once, checks them, and keeps
each (table, guild)'s chunk lines undecoded; ``stream()``/``load()`` decode them a chunk at a time,
yielding to the event loop in between, hand the (table, guild) out and forget it. Loading the
same (table, guild) again re-reads the files in a thread: slow, but correct. Services are
expected to load each (table, guild) once and keep it.

Documents hold ids, kinds, counts and times only, never message text; the store cannot check
that, so every service that writes here must keep to it.

Over 400 lines because open, flush, compaction and the lock are one crash-safety protocol; the file
format and the journal already live apart (_format.py, _journal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sys
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from rapport.errors import StoreError
from rapport.store._format import (
    CHUNK_DOCS,
    CLAIMS,
    RAWS,
    Groups,
    Packed,
    Part,
    fsync_dir,
    iter_docs,
    iter_parts,
    pack_raws,
    packed_line,
    write_all,
    write_snapshot,
)
from rapport.store._journal import (
    compact_files,
    journal_file,
    read_store,
    remove_dead_temp_files,
)
from rapport.store._staging import Batch, Pair, check_names, staged_form
from rapport.store.base import SCHEMA_VERSION, Doc, FlushStats, Records, Store, split_records

log = logging.getLogger(__name__)

CHUNK = 2000  # records per join: the worker gives the GIL back to the loop between chunks
PROCESS_COMPACTION_BYTES = 4 * 2**20  # below this a thread compacts faster than a new process
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # for the compaction child
LOCK_WAIT_S = 30.0  # an orphaned compaction child may still hold the lock after a kill
PURGE_RETRY_MAX = 256  # flushes between two tries of a failing purge, at most (8.5 min at 2 s)


# --- the store ----------------------------------------------------------------------------------


class _Batch(Batch):
    """A batch whose claims survive a guild drop (they live beside, not in, any guild)."""

    kept_tables = frozenset({CLAIMS})


def _dispose(garbage: list[dict[Any, Any]]) -> None:
    """Empty nested dicts a few entries at a time, handing the GIL back to the loop in between."""
    freed = 0
    for outer in garbage:
        while outer:
            _, inner = outer.popitem()
            while isinstance(inner, dict) and inner:
                inner.popitem()
                freed += 1
                if freed % CHUNK == 0:
                    time.sleep(0)


class TinyDBStore(Store):
    """One process's store under data/: write-behind batches, journal + snapshot."""

    def __init__(self, path: Path, *, compact_bytes: int = 64 * 2**20) -> None:
        self.path = Path(path)
        self.compact_bytes = compact_bytes
        self._staged = _Batch()
        self._inflight: _Batch | None = None
        self._fresh = Groups()  # read at open (plus what flushes wrote since), not handed out
        self._handed: set[Pair] = set()  # handed out or written since open: load re-reads
        self._guilds: set[int] = set()
        self._claims: dict[str, Doc] = {}
        self._flush_lock = asyncio.Lock()
        self._compact_lock = asyncio.Lock()
        self._claim_lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="rapport-store")
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._journal_no = 1
        self._through = 0
        self._seq = 0
        self._snapshot_bytes = 0
        self._uncompacted = 0  # journal bytes not yet folded into the snapshot
        self._compaction: asyncio.Task[None] | None = None
        self._purge_owed = False  # a purge asked for since the last purge started
        self._purge_failures = 0  # purges failed in a row; the next is tried after a wait
        self._purge_wait = 0  # flushes to let pass before that try
        self._child: asyncio.subprocess.Process | None = None
        self._closed = False

    # --- lifecycle

    async def open(self) -> None:
        """Lock the store, read and check snapshot + journals, migrate an older layout.

        Documents stay undecoded until their (table, guild) is loaded; claims are decoded now.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._take_lock)
        try:
            if removed := await asyncio.to_thread(remove_dead_temp_files, self.path):
                log.info(
                    "removed %d temp file(s) a killed compaction left beside %s", removed, self.path
                )
            groups, info = await asyncio.to_thread(read_store, self.path)
            if info.migrated:
                log.info("migrating %s to schema %d", self.path, SCHEMA_VERSION)
                info.snapshot_bytes = await asyncio.to_thread(
                    write_snapshot, self.path, groups, info.through
                )
                groups, info = await asyncio.to_thread(read_store, self.path)
        except BaseException:
            self._release_lock()
            raise
        parts, multi = groups.pop((CLAIMS, 0))
        self._claims = {k: d for docs in iter_docs(parts, multi) for k, d in docs}
        self._fresh = groups
        self._guilds = await asyncio.to_thread(groups.guilds)
        self._through = info.through
        self._journal_no = info.last_journal + 1  # never append after another run's torn tail
        self._seq = info.seq
        self._snapshot_bytes = info.snapshot_bytes
        self._uncompacted = info.journal_bytes
        if self._purge_marker.exists():  # a purge owed by the last run: do it now
            self._compaction = asyncio.create_task(self._compact_in_background(purge=True))

    @property
    def _purge_marker(self) -> Path:
        return self.path.with_name(self.path.name + ".purge")

    def _take_lock(self) -> None:
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreError(
                        f"{self.path} is in use by another process (another Rapport, or its "
                        "compaction still finishing)."
                    ) from None
                time.sleep(0.05)

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def close(self) -> None:
        """Flush the journal and release the files; never compacts (a running one is stopped)."""
        if self._closed:
            return
        try:
            await self.flush()
        finally:
            self._closed = True
            child = self._child
            if child is not None and child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()  # a compaction killed anywhere leaves the store as it was
            if self._compaction is not None:
                with contextlib.suppress(Exception):  # already logged
                    await self._compaction
            self._executor.shutdown(wait=True)  # before closing the fd it may still write to
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None
            self._release_lock()

    # --- reading

    async def guild_ids(self) -> set[int]:
        """Guilds read at open or written since (a guild emptied key by key stays listed)."""
        return set(self._guilds)

    def unloaded(self) -> list[Pair]:
        """The (table, guild)s read at open or flushed since that no load has taken yet."""
        return sorted(self._fresh.parts)

    def claims(self) -> list[tuple[str, str, float]]:
        """Every claim as (key, owner, until epoch seconds), expired ones included."""
        return [(k, d["owner"], float(d["until"])) for k, d in self._claims.items()]

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Every document of one guild in one table; the first load per (table, guild) is cheap."""
        docs: dict[str, Doc] = {}
        async for chunk in self.stream(table, guild_id):
            docs.update(chunk)
        return docs

    async def stream(self, table: str, guild_id: int) -> AsyncIterator[list[tuple[str, Doc]]]:
        """The documents of one guild in one table, a chunk at a time, staged ones included.

        Decodes one chunk line per step and yields to the event loop in between.
        """
        parts, multi = await self._parts(table, guild_id)
        for chunk in iter_docs(parts, multi):
            yield chunk
            await asyncio.sleep(0)

    async def stream_records(
        self, table: str, guild_id: int
    ) -> AsyncIterator[list[tuple[str, Doc]] | Records]:
        """``stream``, with record documents handed out as they are kept: packed, a line at a time."""
        parts, multi = await self._parts(table, guild_id)
        for item in iter_parts(parts, multi):
            if isinstance(item, Packed):
                yield Records(item.width, item.data)
            else:
                others, packed = split_records(item)
                for records in packed:
                    yield records
                if others:
                    yield others
            await asyncio.sleep(0)

    async def _parts(self, table: str, guild_id: int) -> tuple[list[Part], int]:
        """The (table, guild)'s parts, staged and in-flight changes last; taken from ``_fresh``
        the first time, re-read from the files after."""
        pair = (table, guild_id)
        if pair in self._handed:
            async with self._compact_lock, self._flush_lock:
                groups, _ = await asyncio.to_thread(read_store, self.path, only=pair)
            parts, multi = groups.pop(pair)
        else:
            parts, multi = self._fresh.pop(pair)
        self._handed.add(pair)
        newer: list[Part] = []  # staged and in-flight changes, newest last
        for batch in (self._inflight, self._staged):
            if batch is None:
                continue
            if guild_id in batch.drops:
                parts, newer = [], []
            if pair in batch.docs:
                newer.append((RAWS, dict(batch.docs[pair])))
        if newer:
            # Every newer part is a source of its own; the stored parts keep their count.
            multi = multi + len(newer) if parts else len(newer) - 1
            parts = parts + newer
        return parts, multi

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
            raise StoreError(f"{self.path} is closed")
        if not isinstance(guild_id, int):
            raise TypeError(f"guild ids are ints, not {type(guild_id).__name__}")
        self._staged.docs.setdefault((table, guild_id), {})[key] = data
        if data is not None and table != CLAIMS:
            self._guilds.add(guild_id)

    async def delete_guild(self, guild_id: int) -> None:
        """Stage dropping every document of a guild, as one journal record."""
        if self._closed:
            raise StoreError(f"{self.path} is closed")
        staged = self._staged.docs
        for pair in [p for p in staged if p[1] == guild_id and p[0] != CLAIMS]:
            del staged[pair]
        self._staged.drops.add(guild_id)
        self._guilds.discard(guild_id)

    async def flush(self) -> FlushStats:
        """Append the staged batch to the journal and fsync it, off the event loop; then start
        a compaction if one is due (an empty flush too: see _compact_if_due)."""
        async with self._flush_lock:
            if not self._staged:
                self._compact_if_due(wrote=False)
                return FlushStats(0, 0.0)
            batch, self._staged = self._staged, _Batch()
            self._inflight = batch
            started = time.perf_counter()
            try:
                written = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._write_batch, batch, self._seq + 1
                )
            except BaseException:
                batch.merge_newer(self._staged)
                self._staged = batch
                raise
            finally:
                self._inflight = None
            self._seq += 1
            self._uncompacted += written
            stats = FlushStats(batch.count(), time.perf_counter() - started)
            for guild in batch.drops:
                self._fresh.drop_guild(guild)
            # A (table, guild) read at open and not handed out yet keeps the batch as its newest
            # part; any other is read from the files if loaded (a migration writing millions
            # of documents keeps none of them in memory).
            for pair in list(batch.docs):
                if pair in self._fresh.parts:  # out of the batch, which is freed below
                    self._fresh.add(pair, (RAWS, batch.docs.pop(pair)), -self._seq)
                else:
                    self._handed.add(pair)
            # Freeing a million documents is one long C call: do it where it can't stall the loop
            # (and not on the writer thread, where the next flush would wait for it).
            asyncio.get_running_loop().run_in_executor(None, _dispose, [batch.docs])
            del batch
        self._compact_if_due(wrote=True)
        return stats

    def _compact_if_due(self, wrote: bool) -> None:
        """Start a compaction when a write made the journals outgrow max(compact_bytes,
        snapshot), or retry a failed purge: at the next flush after its first failure, then
        twice as many flushes later after each further one, PURGE_RETRY_MAX at most (empty
        flushes count: the flush loop's turns; the marker keeps the purge owed meanwhile)."""
        if self._compaction is not None and not self._compaction.done():
            return
        if self._purge_failures and self._purge_owed:
            self._purge_wait -= 1
            if self._purge_wait <= 0:
                self._compaction = asyncio.create_task(self._compact_in_background(purge=True))
                return
        if wrote and self._uncompacted > max(self.compact_bytes, self._snapshot_bytes):
            self._compaction = asyncio.create_task(self._compact_in_background())

    def _write_batch(self, batch: _Batch, seq: int) -> int:
        """Serialise and append one batch (worker thread); on failure leave no trace of it."""
        parts: list[bytes] = [orjson.dumps({"drop_guild": g}) + b"\n" for g in sorted(batch.drops)]
        for (table, guild), docs in batch.docs.items():
            head = orjson.dumps({"t": table, "g": guild}) + b"\n"
            items, packs = pack_raws(docs.items())
            for packed in packs:
                parts += (head, packed_line(packed) + b"\n")
                time.sleep(0)
            for start in range(0, len(items), CHUNK_DOCS):
                pieces = [
                    orjson.dumps(key) + b":" + (data or b"null")
                    for key, data in items[start : start + CHUNK_DOCS]
                ]
                parts += (head, b"{" + b",".join(pieces) + b"}\n")
                time.sleep(0)  # a waiting event loop takes the GIL now, not in 5 ms
        crc = 0
        for part in parts:
            crc = zlib.crc32(part, crc)
        parts.append(orjson.dumps({"commit": seq, "n": len(parts), "crc": crc}) + b"\n")
        fd = self._journal_for_append()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            for part in parts:
                write_all(fd, part)
            os.fsync(fd)
        except BaseException:
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                os.close(fd)  # the bad tail stays at this file's end; go on in a new one
                self._journal_fd = None
                self._journal_no += 1
            raise
        return os.lseek(fd, 0, os.SEEK_END) - start

    def _journal_for_append(self) -> int:
        if self._journal_fd is None:
            file = journal_file(self.path, self._journal_no)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            if os.fstat(fd).st_size == 0:
                header = {"journal": self._journal_no, "schema": SCHEMA_VERSION}
                write_all(fd, orjson.dumps(header) + b"\n")
                self._uncompacted += os.fstat(fd).st_size
            os.fsync(fd)
            fsync_dir(self.path.parent)
            self._journal_fd = fd
        return self._journal_fd

    def _rotate_journal(self) -> int:
        """Close the journal being appended to; the next flush starts the next one. Returns
        the last journal a compaction folds in: never one not written yet, whose number a
        snapshot left behind by a kill would then miss as a lost journal."""
        if not journal_file(self.path, self._journal_no).exists():
            return self._journal_no - 1  # nothing flushed since the last rotation or the open
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        self._journal_no += 1
        return self._journal_no - 1

    # --- compaction

    async def purge(self) -> None:
        """Compact so that no file keeps a record deleted (and flushed) before this call: the
        previous snapshot (.bak) and the journals go once the new snapshot is durable."""
        self._purge_owed = True
        try:
            await asyncio.to_thread(self._mark_purge)
        except BaseException:
            self._purge_failed()  # later flushes try it again, the marker first
            raise
        while self._compaction is not None and not self._compaction.done():
            await asyncio.wait([self._compaction])  # it may have rotated before the deletions
        if self._closed:
            return  # the marker makes the next open purge
        self._compaction = asyncio.create_task(self._compact_in_background(purge=True))
        await asyncio.wait([self._compaction])

    def _mark_purge(self) -> None:
        self._purge_marker.touch()
        fsync_dir(self.path.parent)

    def _purge_failed(self) -> None:
        """The purge is still owed: have a later flush try it again (see _compact_if_due)."""
        self._purge_owed = True
        self._purge_failures += 1
        self._purge_wait = min(2 ** (self._purge_failures - 1), PURGE_RETRY_MAX)

    async def _compact_in_background(self, *, purge: bool = False) -> None:
        try:
            await self.compact(purge=purge)
        except Exception:
            if self._closed:  # stopped by close(): the next one starts from the same files
                log.info("store compaction stopped at shutdown; the journal keeps every change")
            elif purge:
                log.exception(
                    "purging %s failed (try %d); tried again after %d more flush(es), and at "
                    "the next start while %s is there",
                    self.path,
                    self._purge_failures,
                    self._purge_wait,
                    self._purge_marker.name,
                )
            else:
                log.exception("store compaction failed; the journal keeps every change")

    async def compact(self, *, purge: bool = False) -> None:
        """Start a new journal and fold the old ones into a new snapshot, off the event loop
        (with ``purge``, the .bak and every folded journal go too: see compact_files)."""
        async with self._compact_lock:
            async with self._flush_lock:
                # On the writer thread: a write left running by a cancelled flush finishes first.
                through = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._rotate_journal
                )
                size, self._uncompacted = self._snapshot_bytes + self._uncompacted, 0
                if purge:
                    self._purge_owed = False
            try:
                if self._closed:  # close() came first: never compact on the shutdown path
                    raise StoreError(f"{self.path} is closing: compaction skipped")
                if purge:  # again: this may be the retry of a purge that could not mark
                    await asyncio.to_thread(self._mark_purge)
                if size < PROCESS_COMPACTION_BYTES:
                    self._snapshot_bytes = await asyncio.to_thread(
                        partial(compact_files, self.path, through, purge=purge)
                    )
                else:
                    args = (str(through), "purge") if purge else (str(through),)
                    self._snapshot_bytes = int(await self._run_child("compact", *args))
            except BaseException:
                self._uncompacted += size - self._snapshot_bytes
                if purge and not self._closed:
                    self._purge_failed()
                raise
            self._through = through
            if purge:
                self._purge_failures = 0
            if purge and not self._purge_owed:  # else a later forget's purge still needs it
                await asyncio.to_thread(self._purge_marker.unlink, missing_ok=True)

    async def _run_child(self, command: str, *args: str) -> bytes:
        """Run child_main in a new interpreter, so its parsing never holds our GIL."""
        # The child holds our lock fd too, so a restart after kill -9 waits for it to finish.
        paths = [PACKAGE_ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        assert self._lock_fd is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from rapport.store._journal import child_main; child_main()",
            command,
            str(self.path),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            pass_fds=(self._lock_fd,),
        )
        self._child = proc
        try:
            out, err = await proc.communicate()
        finally:
            self._child = None
        if proc.returncode != 0:
            why = err.decode(errors="replace").strip().splitlines()[-1:] or [
                f"exit {proc.returncode}"
            ]
            raise StoreError(f"{command} of {self.path} failed in a child process: {why[0]}")
        return out

    # --- claims

    async def claim(self, key: str, owner: str, until: datetime, now: datetime) -> bool:
        """Take the claim unless another owner holds it past ``now``; fsynced before True."""
        if until.tzinfo is None or now.tzinfo is None:
            raise ValueError("claim() needs aware datetimes")
        async with self._claim_lock:
            held = self._claims.get(key)
            if held and held["owner"] != owner and held["until"] > now.timestamp():
                return False
            doc = {"owner": owner, "until": until.timestamp()}
            self._stage(CLAIMS, 0, key, orjson.dumps(doc))
            self._claims[key] = doc
            try:
                await self.flush()
            except BaseException:
                self._undo_claim(key, held)
                raise
            return True

    async def release(self, key: str, owner: str) -> None:
        """Drop the claim if ``owner`` holds it."""
        async with self._claim_lock:
            held = self._claims.get(key)
            if not held or held["owner"] != owner:
                return
            del self._claims[key]
            self._stage(CLAIMS, 0, key, None)
            try:
                await self.flush()
            except BaseException:
                self._undo_claim(key, held)
                raise

    async def drop_claims(self, prefix: str) -> int:
        """Drop the claims whose key starts with ``prefix``; durable before it returns."""
        async with self._claim_lock:
            gone = [k for k in self._claims if k.startswith(prefix)]
            for key in gone:
                del self._claims[key]
                self._stage(CLAIMS, 0, key, None)
            if gone:
                await self.flush()
            return len(gone)

    async def prune_claims(self, now: datetime) -> int:
        """Drop claims expired at ``now``; durable before it returns."""
        cutoff = now.timestamp()
        async with self._claim_lock:
            expired = [k for k, doc in self._claims.items() if doc["until"] <= cutoff]
            for key in expired:
                del self._claims[key]
                self._stage(CLAIMS, 0, key, None)
            if expired:
                await self.flush()
            return len(expired)

    def _undo_claim(self, key: str, held: Doc | None) -> None:
        # The failed batch went back to staging; make sure it no longer carries this change.
        self._staged.docs.setdefault((CLAIMS, 0), {})[key] = orjson.dumps(held) if held else None
        if held:
            self._claims[key] = held
        else:
            self._claims.pop(key, None)
