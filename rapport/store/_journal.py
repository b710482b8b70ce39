"""The append-only journal beside the snapshot: replaying committed batches, and compaction.

Schema 2 journals (since #14) write each batch's documents per (table, guild) as a header line
``{"t": table, "g": guild}`` followed by one chunk line, a JSON object ``{key: document or null}``
of up to CHUNK_DOCS documents, and close the batch with ``{"commit": seq, "n": lines, "crc": c}``
(the batch's line count and the crc32 of its lines). open() checks counts and crc and keeps each
chunk line raw for the load of its (table, guild), like the snapshot's. Schema 1 journals (one
line per document) are still replayed.

Compaction folds journals into a new snapshot; it runs in a worker thread or, for big stores, in a
child process started with ``python -c "...child_main()"`` so its parsing never holds the bot's GIL.
"""

from __future__ import annotations

import gc
import os
import sys
import zlib
from pathlib import Path
from typing import Any

import orjson

from rapport.errors import StoreError
from rapport.store._format import (
    DOCS,
    JRNL,
    Groups,
    ReadInfo,
    bad_record,
    fsync_dir,
    gc_paused,
    keep_as_backup,
    read_snapshot,
    restore_hint,
    split_lines,
    write_snapshot,
)
from rapport.store._staging import Pair
from rapport.store.base import SCHEMA_VERSION

CHUNK = 2000  # records per parse: the GIL comes back to the loop between chunks


def journal_file(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.journal.{n}")


def journal_numbers(path: Path) -> list[int]:
    prefix = path.name + ".journal."
    numbers = []
    for entry in os.listdir(path.parent):
        if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
            numbers.append(int(entry[len(prefix) :]))
    return sorted(numbers)


def parse_lines(lines: list[bytes]) -> list[Any]:
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


def replay_journal(file: Path, groups: Groups, info: ReadInfo, only: Pair | None) -> None:
    """Apply every committed batch of one journal file; drop its torn tail."""
    data = file.read_bytes()
    info.journal_bytes += len(data)
    lines = split_lines(data)
    del data
    lines.pop()  # the unterminated remainder: b"" or a line a kill cut short
    if not lines:
        return  # killed while creating the file
    header = parse_lines(lines[:1])[0]
    if not isinstance(header, dict) or not isinstance(header.get("schema"), int):
        raise ValueError("line 1 is not a journal header")
    if header["schema"] > SCHEMA_VERSION or header["schema"] < 1:
        raise ValueError(f"journal schema {header['schema']}, this Rapport knows {SCHEMA_VERSION}")
    if header["schema"] == 1:
        replay_records(parse_lines(lines)[1:], groups, info, only)
    else:
        replay_chunks(lines, groups, info, only)


def replay_records(records: list[Any], groups: Groups, info: ReadInfo, only: Pair | None) -> None:
    """A schema 1 journal: one record per line."""
    pending: list[dict[str, Any]] = []
    for i, rec in enumerate(records, start=2):
        if bad_record(rec):
            raise ValueError(f"line {i} is not a journal record")
        if "commit" not in rec:
            pending.append(rec)
            continue
        if rec["n"] != len(pending):
            raise ValueError(f"line {i} commits {rec['n']} records but {len(pending)} precede it")
        info.seq = max(info.seq, rec["commit"])
        batch: dict[Pair, dict[str, Any]] = {}
        for op in pending:
            if "drop_guild" in op:
                for pair, docs in batch.items():
                    groups.add(pair, (DOCS, docs), rec["commit"])
                batch = {}
                groups.drop_guild(op["drop_guild"])
                continue
            pair = (op["t"], op["g"])
            if only is None or pair == only:
                batch.setdefault(pair, {})[op["k"]] = op["d"]
        for pair, docs in batch.items():
            groups.add(pair, (DOCS, docs), rec["commit"])
        pending = []


def replay_chunks(lines: list[bytes], groups: Groups, info: ReadInfo, only: Pair | None) -> None:
    """A schema 2 journal: header lines parsed, chunk lines kept raw once their batch commits."""
    pending: list[tuple[Pair | int, bytes]] = []  # (pair, chunk line) or (dropped guild, b"")
    start, crc, i = 1, 0, 1
    while i < len(lines):
        line = lines[i]
        if line.startswith(b'{"t":'):
            head = parse_line(line, i)
            if not (isinstance(head.get("t"), str) and isinstance(head.get("g"), int)):
                raise ValueError(f"line {i + 1} is not a journal record")
            if i + 1 >= len(lines):
                return  # a batch cut short by a kill: no chunk line, no commit
            pending.append(((head["t"], head["g"]), lines[i + 1]))
            crc = zlib.crc32(lines[i + 1] + b"\n", zlib.crc32(line + b"\n", crc))
            i += 2
            continue
        rec = parse_line(line, i)
        if bad_record(rec):
            raise ValueError(f"line {i + 1} is not a journal record")
        if "drop_guild" in rec:
            pending.append((rec["drop_guild"], b""))
            crc = zlib.crc32(line + b"\n", crc)
            i += 1
            continue
        if rec["n"] != i - start or rec.get("crc") != crc:
            raise ValueError(
                f"line {i + 1} commits {rec['n']} lines (crc {rec.get('crc')}) but "
                f"{i - start} (crc {crc}) precede it"
            )
        info.seq = max(info.seq, rec["commit"])
        for what, chunk in pending:
            if isinstance(what, int):
                groups.drop_guild(what)
            elif only is None or what == only:
                groups.add(what, (JRNL, chunk), rec["commit"])
        pending, start, crc, i = [], i + 1, 0, i + 1


def parse_line(line: bytes, i: int) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"line {i + 1} is not JSON: {exc}") from exc


def read_store(
    path: Path, *, upto: int | None = None, only: Pair | None = None
) -> tuple[Groups, ReadInfo]:
    """Snapshot plus committed journal batches, undecoded; raises StoreError, never writes."""
    with gc_paused():
        return read_files(path, upto, only)


def read_files(path: Path, upto: int | None, only: Pair | None) -> tuple[Groups, ReadInfo]:
    groups, info = read_snapshot(path, only)
    numbers = [n for n in journal_numbers(path) if n > info.through]
    if numbers and numbers != list(range(info.through + 1, numbers[-1] + 1)):
        missing = sorted(set(range(info.through + 1, numbers[-1] + 1)) - set(numbers))
        where = path if not path.exists() else journal_file(path, missing[0])
        raise StoreError(
            f"{where} is missing: journal files {numbers} need the snapshot that ends at journal "
            f"{numbers[0] - 1}. {restore_hint(path)}"
        )
    info.last_journal = numbers[-1] if numbers else info.through
    for n in numbers:
        if upto is not None and n > upto:
            break
        file = journal_file(path, n)
        try:
            replay_journal(file, groups, info, only)
        except (ValueError, OSError) as exc:
            raise StoreError(
                f"{file} is unreadable ({exc}). Move it and any later journal away to open "
                f"{path} without the changes they hold; Rapport did not overwrite it."
            ) from exc
    return groups, info


def temp_files(path: Path) -> dict[Path, int]:
    """The temp snapshots beside ``path`` by their writer's PID (``<name>.tmp.PID`` and
    ``<name>.bak.tmp.PID``): what a snapshot write killed before its rename leaves behind."""
    found = {}
    for entry in os.listdir(path.parent):
        for prefix in (f"{path.name}.tmp.", f"{path.name}.bak.tmp."):
            if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
                found[path.parent / entry] = int(entry[len(prefix) :])
    return found


def remove_dead_temp_files(path: Path) -> int:
    """At open, under the lock: delete the temp snapshots of writers that are gone; returns
    how many. Only a holder of the lock writes one (the bot, or its compaction child, which
    shares the bot's lock and, orphaned by a kill, keeps it until it is done), and the opener
    holds it now and has written nothing yet, so a file named with its own PID (a container
    restarts the bot under the same one) or a dead PID is a leftover. A live PID not ours is
    spared: a recycled PID, or a writer the lock can't see (a lock file replaced by hand);
    the next compaction, the store's only writer then, removes it either way."""
    removed = 0
    for file, pid in temp_files(path).items():
        if pid == os.getpid() or not _alive(pid):
            file.unlink(missing_ok=True)
            removed += 1
    if removed:
        fsync_dir(path.parent)
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def compact_files(path: Path, through: int, *, purge: bool = False) -> int:
    """Fold journals up to ``through`` into a new snapshot; returns the snapshot's size.

    Journals the new .bak still needs are kept; older ones are deleted. With ``purge``, no file
    keeps a record deleted up to ``through``: once the new snapshot is durable it becomes the
    .bak too and every journal folded into it goes (the previous generation and those journals
    may hold a forgotten member's records).
    """
    groups, info = read_store(path, upto=through)
    with gc_paused():
        size = write_snapshot(path, groups, through)
    if purge:
        keep_as_backup(path)
        fsync_dir(path.parent)
    for n in journal_numbers(path):
        if n <= (through if purge else info.through):
            journal_file(path, n).unlink(missing_ok=True)
    for file, pid in temp_files(path).items():
        if pid != os.getpid():  # under the lock, the one snapshot being written is ours
            file.unlink(missing_ok=True)  # left by a killed compaction
    if purge:
        fsync_dir(path.parent)
    return size


def child_main() -> None:
    """Entry point of the store's child process: ``python -c ... compact PATH THROUGH [purge]``."""
    gc.disable()  # short-lived and acyclic: collections would only slow it down
    os.nice(10)  # background work: on a busy machine the bot's event loop goes first
    path, through = Path(sys.argv[2]), int(sys.argv[3])
    purge = sys.argv[4:] == ["purge"]
    sys.stdout.buffer.write(str(compact_files(path, through, purge=purge)).encode())
