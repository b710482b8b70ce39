"""The embedded default store: a TinyDB-format snapshot plus an append-only journal, crash-safe.

Why not TinyDB's own storage: JSONStorage rewrites the whole file in place, so a kill during the
write leaves it unreadable, and a value that fails to serialise under CachingMiddleware left a
0-byte file. Here the snapshot is only ever replaced whole (temp file, fsync, rename, previous
generation kept as ``<path>.bak``) and every flush appends one committed batch to a journal.

Files beside ``path`` (e.g. ``data/rapport.json``):

- ``rapport.json``: the snapshot, in TinyDB's format (tables -> {doc_id: document}), so
  ``TinyDB("data/rapport.json")`` opens it for inspection. Each document carries its guild and key
  as ``_g`` and ``_k``; table ``_meta`` holds ``{"schema": ..., "journal_through": N}``.
- ``rapport.json.journal.N``: a header line, then per flush one batch of JSON lines
  ``{"t": table, "g": guild, "k": key, "d": document or null}`` (or ``{"drop_guild": guild}``)
  closed by ``{"commit": seq, "n": count}``, fsynced before ``flush()`` returns. A batch without
  its commit line, or a partial last line, is what a kill leaves and is ignored; anything else
  malformed is corruption and the store refuses to open.
- ``rapport.json.bak``: the previous snapshot. Journals newer than it are kept until the next
  compaction, so restoring it loses nothing that was flushed.
- ``rapport.json.lock``: held (flock) while a process, or its compaction, uses the store.

put() serialises the document at once (orjson, about 1 µs): a value JSON can't hold fails there
with TypeError, later changes to the caller's dict don't leak in, and flush() only joins bytes in
a worker thread, CHUNK records at a time so the event loop gets the GIL back in between.

Compaction folds the journals into a new snapshot when they outgrow max(64 MiB, snapshot) and on
close; stores over PROCESS_COMPACTION_BYTES are compacted by a child process, since parsing and
dumping hundreds of MiB in one orjson call would hold the GIL for seconds.

The store keeps no image of the tables: ``open()`` reads everything once and ``load()`` hands each
(table, guild) out and forgets it. Loading the same (table, guild) again, or one that a flush has
touched since it was read, re-reads the files (in a thread, or a child process for big stores):
slow, but correct. Services are expected to load each (table, guild) once and keep it.

Documents hold ids, kinds, counts and times only, never message text; the store cannot check
that, so every service that writes here must keep to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from rapport.errors import StoreError
from rapport.store._staging import Batch, Pair, check_names, encode
from rapport.store.base import SCHEMA_VERSION, Doc, FlushStats, Store

log = logging.getLogger(__name__)

State = dict[Pair, dict[str, Doc]]

CLAIMS = "_claims"
META = "_meta"
CHUNK = 2000  # records per join: the worker gives the GIL back to the loop between chunks
PROCESS_COMPACTION_BYTES = 4 * 2**20  # below this a thread compacts faster than a new process
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # for the compaction child
FREEZE_BYTES = 4 * 2**20  # below this the documents are too few for collections to matter
LOCK_WAIT_S = 30.0  # an orphaned compaction child may still hold the lock after a kill


def _restore_hint(path: Path) -> str:
    bak = _bak(path)
    if bak.exists():
        return f"Restore {bak} or move the file away; Rapport did not overwrite it."
    return f"No backup ({bak}) exists: move the file away to start empty; Rapport did not overwrite it."


def _unreadable(path: Path, file: Path, why: str) -> StoreError:
    return StoreError(f"{file} is unreadable ({why}). {_restore_hint(path)}")


def _bak(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def _journal(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.journal.{n}")


def _journal_numbers(path: Path) -> list[int]:
    prefix = path.name + ".journal."
    numbers = []
    for entry in os.listdir(path.parent):
        if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
            numbers.append(int(entry[len(prefix) :]))
    return sorted(numbers)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Building a million documents triggers full collections that quadruple the parse time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# --- migrations: MIGRATIONS[v] turns a raw snapshot of schema v into schema v + 1 ---------------


def _v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """A plain TinyDB file: its doc_id becomes the key, guild from ``guild_id`` (else 0)."""
    for name, docs in raw.items():
        if name == META:
            continue
        for doc_id, doc in docs.items():
            if isinstance(doc, dict):
                doc.setdefault("_g", doc.get("guild_id", 0))
                doc.setdefault("_k", str(doc_id))
    raw[META] = {"1": {"schema": 1, "journal_through": 0}}
    return raw


MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_v0_to_v1]


# --- reading ------------------------------------------------------------------------------------


@dataclass
class _ReadInfo:
    """What open() learns besides the documents."""

    through: int = 0  # the last journal folded into the snapshot
    last_journal: int = 0
    seq: int = 0
    snapshot_bytes: int = 0
    journal_bytes: int = 0
    migrated: bool = False


def _read_snapshot(path: Path, only: Pair | None) -> tuple[State, _ReadInfo]:
    info = _ReadInfo()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, info
    except OSError as exc:
        raise _unreadable(path, path, exc.strerror or str(exc)) from exc
    info.snapshot_bytes = len(data)
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _unreadable(path, path, f"not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(t, dict) for t in raw.values()):
        raise _unreadable(path, path, "not a JSON object of tables")
    metas = list(raw.get(META, {}).values())
    meta = metas[0] if metas else {"schema": 0, "journal_through": 0}
    schema = meta.get("schema") if isinstance(meta, dict) else None
    if not isinstance(schema, int) or not isinstance(meta.get("journal_through"), int):
        raise _unreadable(path, path, f"bad {META} table")
    if schema > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer Rapport (schema {schema}; this one knows "
            f"{SCHEMA_VERSION}): upgrade Rapport. Nothing was changed."
        )
    while schema < SCHEMA_VERSION:
        raw = MIGRATIONS[schema](raw)
        schema += 1
        info.migrated = True
    info.through = next(iter(raw[META].values()))["journal_through"]
    state: State = {}
    for table, docs in raw.items():
        if table == META:
            continue
        for doc in docs.values():
            if not isinstance(doc, dict):
                raise _unreadable(path, path, f"a document in table {table!r} is not an object")
            guild, key = doc.pop("_g", None), doc.pop("_k", None)
            if not isinstance(guild, int) or not isinstance(key, str):
                raise _unreadable(path, path, f"a document in table {table!r} lacks _g/_k")
            if only is None or only == (table, guild):
                state.setdefault((table, guild), {})[key] = doc
    return state, info


def _bad_record(rec: Any) -> bool:
    if not isinstance(rec, dict):
        return True
    if "commit" in rec:
        return not (isinstance(rec["commit"], int) and isinstance(rec.get("n"), int))
    if "drop_guild" in rec:
        return not isinstance(rec["drop_guild"], int)
    return not (
        isinstance(rec.get("t"), str)
        and isinstance(rec.get("g"), int)
        and isinstance(rec.get("k"), str)
        and (rec.get("d") is None or isinstance(rec.get("d"), dict))
    )


def _parse_lines(lines: list[bytes]) -> list[Any]:
    """Parse CHUNK lines per C call (the GIL comes back between); find a bad one only on failure."""
    records: list[Any] = []
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start : start + CHUNK]
        try:
            parsed = orjson.loads(b"[" + b",".join(chunk) + b"]")
            if len(parsed) == len(chunk):  # a line like `1,2` would otherwise pass as two
                records += parsed
                continue
        except orjson.JSONDecodeError:
            pass
        for i, line in enumerate(chunk, start=start + 1):
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"line {i} is not JSON: {exc}") from exc
    return records


def _replay_journal(file: Path, state: State, info: _ReadInfo, only: Pair | None) -> None:
    """Apply every committed batch of one journal file; drop its torn tail."""
    data = file.read_bytes()
    info.journal_bytes += len(data)
    lines = data.split(b"\n")
    lines.pop()  # the unterminated remainder: b"" or a line a kill cut short
    if not lines:
        return  # killed while creating the file
    records = _parse_lines(lines)
    header = records[0]
    if not isinstance(header, dict) or not isinstance(header.get("schema"), int):
        raise ValueError("line 1 is not a journal header")
    if header["schema"] != SCHEMA_VERSION:
        raise ValueError(f"journal schema {header['schema']}, this Rapport knows {SCHEMA_VERSION}")
    pending: list[dict[str, Any]] = []
    for i, rec in enumerate(records[1:], start=2):
        if _bad_record(rec):
            raise ValueError(f"line {i} is not a journal record")
        if "commit" not in rec:
            pending.append(rec)
            continue
        if rec["n"] != len(pending):
            raise ValueError(f"line {i} commits {rec['n']} records but {len(pending)} precede it")
        info.seq = max(info.seq, rec["commit"])
        for op in pending:
            _apply(state, op, only)
        pending = []


def _apply(state: State, op: dict[str, Any], only: Pair | None) -> None:
    if "drop_guild" in op:
        guild = op["drop_guild"]
        for pair in [p for p in state if p[1] == guild and p[0] != CLAIMS]:
            del state[pair]
        return
    pair = (op["t"], op["g"])
    if only is not None and pair != only:
        return
    doc = op["d"]
    if doc is None:
        state.get(pair, {}).pop(op["k"], None)
    else:
        state.setdefault(pair, {})[op["k"]] = doc


def read_store(
    path: Path, *, upto: int | None = None, only: Pair | None = None
) -> tuple[State, _ReadInfo]:
    """Snapshot plus committed journal batches; raises StoreError, never writes."""
    with _gc_paused():
        return _read_store(path, upto, only)


def _read_store(path: Path, upto: int | None, only: Pair | None) -> tuple[State, _ReadInfo]:
    state, info = _read_snapshot(path, only)
    numbers = [n for n in _journal_numbers(path) if n > info.through]
    if numbers and numbers != list(range(info.through + 1, numbers[-1] + 1)):
        missing = sorted(set(range(info.through + 1, numbers[-1] + 1)) - set(numbers))
        where = path if not path.exists() else _journal(path, missing[0])
        raise StoreError(
            f"{where} is missing: journal files {numbers} need the snapshot that ends at journal "
            f"{numbers[0] - 1}. {_restore_hint(path)}"
        )
    info.last_journal = numbers[-1] if numbers else info.through
    for n in numbers:
        if upto is not None and n > upto:
            break
        file = _journal(path, n)
        try:
            _replay_journal(file, state, info, only)
        except (ValueError, OSError) as exc:
            raise StoreError(
                f"{file} is unreadable ({exc}). Move it and any later journal away to open "
                f"{path} without the changes they hold; Rapport did not overwrite it."
            ) from exc
    return state, info


def _read_at_open(path: Path) -> tuple[State, _ReadInfo]:
    """read_store, then, for a big store, gc.freeze(): the start's objects leave the collector.

    Millions of fresh documents set off full collections that found nothing to free and took
    seconds of the start on the event loop (1.9 million documents, measured). Frozen objects
    are still freed by reference counting when dropped; only cycles among what exists at
    open (the process has barely started) are never collected.
    """
    with _gc_paused():
        state, info = _read_store(path, None, None)
        if info.snapshot_bytes + info.journal_bytes >= FREEZE_BYTES:
            gc.freeze()
    return state, info


# --- writing snapshots (run in a worker thread or a child process) ------------------------------


def write_snapshot(path: Path, state: State, through: int) -> int:
    """Replace the snapshot atomically, keeping the previous one as .bak; returns its size."""
    tables: dict[str, dict[str, Doc]] = {
        META: {"1": {"schema": SCHEMA_VERSION, "journal_through": through}}
    }
    for (table, guild), docs in state.items():
        out = tables.setdefault(table, {})
        for key, doc in docs.items():
            out[str(len(out) + 1)] = {"_g": guild, "_k": key, **doc}
    with _gc_paused():
        data = orjson.dumps(tables)
    del tables
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if path.exists():
        bak_tmp = path.with_name(f"{path.name}.bak.tmp.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(bak_tmp)
        try:
            os.link(path, bak_tmp)  # the old generation lives on under .bak without a copy
        except OSError:
            bak_tmp.write_bytes(path.read_bytes())
        os.replace(bak_tmp, _bak(path))
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return len(data)


def compact_files(path: Path, through: int) -> int:
    """Fold journals up to ``through`` into a new snapshot; returns the snapshot's size.

    Journals the new .bak still needs are kept; older ones are deleted.
    """
    state, info = read_store(path, upto=through)
    size = write_snapshot(path, state, through)
    for n in _journal_numbers(path):
        if n <= info.through:
            _journal(path, n).unlink(missing_ok=True)
    for entry in os.listdir(path.parent):
        leftover = entry.startswith((f"{path.name}.tmp.", f"{path.name}.bak.tmp."))
        if leftover and not entry.endswith(f".{os.getpid()}"):
            (path.parent / entry).unlink(missing_ok=True)  # left by a killed compaction
    return size


def _child_main() -> None:
    """Entry point of the store's child process: ``python -c ... compact|read PATH ARG...``."""
    gc.disable()  # short-lived and acyclic: collections would only slow it down
    os.nice(10)  # background work: on a busy machine the bot's event loop goes first
    command, path = sys.argv[1], Path(sys.argv[2])
    if command == "compact":
        out = str(compact_files(path, int(sys.argv[3]))).encode()
    else:
        pair = (sys.argv[3], int(sys.argv[4]))
        out = orjson.dumps(read_store(path, only=pair)[0].get(pair, {}))
    sys.stdout.buffer.write(out)


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
        self._fresh: State = {}  # read at open, not yet handed out, untouched by any flush since
        self._handed: set[Pair] = set()
        self._dirty: set[Pair] = set()
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
        self._closed = False

    # --- lifecycle

    async def open(self) -> None:
        """Lock the store, read snapshot + journals once, migrate an older layout."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._take_lock)
        try:
            state, info = await asyncio.to_thread(_read_at_open, self.path)
            if info.migrated:
                log.info("migrating %s to schema %d", self.path, SCHEMA_VERSION)
                info.snapshot_bytes = await asyncio.to_thread(
                    write_snapshot, self.path, state, info.through
                )
        except BaseException:
            self._release_lock()
            raise
        self._claims = state.pop((CLAIMS, 0), {})
        self._fresh = {p: docs for p, docs in state.items() if docs}
        self._guilds = {g for _, g in self._fresh}
        self._through = info.through
        self._journal_no = info.last_journal + 1  # never append after another run's torn tail
        self._seq = info.seq
        self._snapshot_bytes = info.snapshot_bytes
        self._uncompacted = info.journal_bytes

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
        """Flush, fold the journal into the snapshot, release the files."""
        if self._closed:
            return
        try:
            await self.flush()
            if self._compaction is not None:
                with contextlib.suppress(Exception):  # already logged; compact again below
                    await self._compaction
            if self._uncompacted:
                await self.compact()
        finally:
            self._closed = True
            self._executor.shutdown(wait=True)  # before closing the fd it may still write to
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None
            self._release_lock()

    # --- reading

    async def guild_ids(self) -> set[int]:
        """Guilds read at open or written since (a guild emptied key by key stays listed)."""
        return set(self._guilds)

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Every document of one guild in one table; the first load per (table, guild) is free."""
        pair = (table, guild_id)
        if pair in self._handed or pair in self._dirty:
            async with self._compact_lock, self._flush_lock:
                if self._snapshot_bytes + self._uncompacted < PROCESS_COMPACTION_BYTES:
                    state, _ = await asyncio.to_thread(read_store, self.path, only=pair)
                    docs = state.get(pair, {})
                else:  # parsing a big snapshot holds the GIL for seconds
                    out = await self._run_child("read", table, str(guild_id))
                    docs = orjson.loads(out)
        else:
            docs = self._fresh.pop(pair, {})
            if self._inflight is not None:
                docs = self._inflight.overlay(pair, docs)
        self._handed.add(pair)
        return self._staged.overlay(pair, docs)

    # --- writing

    def put(self, table: str, guild_id: int, key: str, doc: Mapping[str, Any]) -> None:
        """Stage a whole-document write; a value JSON can't hold raises TypeError here."""
        self._stage(table, guild_id, key, encode(table, key, doc))

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
        """Append the staged batch to the journal and fsync it, off the event loop."""
        async with self._flush_lock:
            if not self._staged:
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
            stale = [self._fresh.pop(p) for p in batch.docs if p in self._fresh]
            stale += [self._fresh.pop(p) for p in list(self._fresh) if p[1] in batch.drops]
            self._dirty.update(batch.docs)
            stats = FlushStats(batch.count(), time.perf_counter() - started)
            # Freeing a million documents is one long C call: do it where it can't stall the loop
            # (and not on the writer thread, where the next flush would wait for it).
            asyncio.get_running_loop().run_in_executor(None, _dispose, [batch.docs, *stale])
            del batch, stale
        if self._uncompacted > max(self.compact_bytes, self._snapshot_bytes) and (
            self._compaction is None or self._compaction.done()
        ):
            self._compaction = asyncio.create_task(self._compact_in_background())
        return stats

    def _write_batch(self, batch: _Batch, seq: int) -> int:
        """Serialise and append one batch (worker thread); on failure leave no trace of it."""
        parts: list[bytes] = [orjson.dumps({"drop_guild": g}) + b"\n" for g in sorted(batch.drops)]
        pending: list[bytes] = []
        for (table, guild), docs in batch.docs.items():
            head = b'{"t":' + orjson.dumps(table) + b',"g":' + str(guild).encode() + b',"k":'
            for key, data in docs.items():
                pending += (head, orjson.dumps(key), b',"d":', data or b"null", b"}\n")
                if len(pending) >= 6 * CHUNK:
                    parts.append(b"".join(pending))
                    pending = []
                    time.sleep(0)  # a waiting event loop takes the GIL now, not in 5 ms
        parts.append(b"".join(pending))
        parts.append(orjson.dumps({"commit": seq, "n": batch.count()}) + b"\n")
        fd = self._journal_for_append()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            for part in parts:
                _write_all(fd, part)
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
            file = _journal(self.path, self._journal_no)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            if os.fstat(fd).st_size == 0:
                header = {"journal": self._journal_no, "schema": SCHEMA_VERSION}
                _write_all(fd, orjson.dumps(header) + b"\n")
                self._uncompacted += os.fstat(fd).st_size
            os.fsync(fd)
            _fsync_dir(self.path.parent)
            self._journal_fd = fd
        return self._journal_fd

    def _rotate_journal(self) -> int:
        """Close the journal being appended to; the next flush starts the next one."""
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        self._journal_no += 1
        return self._journal_no - 1

    # --- compaction

    async def _compact_in_background(self) -> None:
        try:
            await self.compact()
        except Exception:
            log.exception("store compaction failed; the journal keeps every change")

    async def compact(self) -> None:
        """Start a new journal and fold the old ones into a new snapshot, off the event loop."""
        async with self._compact_lock:
            async with self._flush_lock:
                # On the writer thread: a write left running by a cancelled flush finishes first.
                through = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._rotate_journal
                )
                size, self._uncompacted = self._snapshot_bytes + self._uncompacted, 0
            try:
                if size < PROCESS_COMPACTION_BYTES:
                    self._snapshot_bytes = await asyncio.to_thread(
                        compact_files, self.path, through
                    )
                else:
                    self._snapshot_bytes = int(await self._run_child("compact", str(through)))
            except BaseException:
                self._uncompacted += size - self._snapshot_bytes
                raise
            self._through = through

    async def _run_child(self, command: str, *args: str) -> bytes:
        """Run _child_main in a new interpreter, so its parsing never holds our GIL."""
        # The child holds our lock fd too, so a restart after kill -9 waits for it to finish.
        paths = [PACKAGE_ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        assert self._lock_fd is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from rapport.store.tinydb import _child_main; _child_main()",
            command,
            str(self.path),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            pass_fds=(self._lock_fd,),
        )
        out, err = await proc.communicate()
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
