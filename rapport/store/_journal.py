"""The append-only journal beside the snapshot: replaying committed batches, and compaction.

Compaction folds journals into a new snapshot; it runs in a worker thread or, for big stores, in a
child process started with ``python -c "...child_main()"`` so its parsing never holds the bot's GIL.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from rapport.errors import StoreError
from rapport.store._format import (
    CLAIMS,
    ReadInfo,
    State,
    bad_record,
    gc_paused,
    read_snapshot,
    restore_hint,
    write_snapshot,
)
from rapport.store._staging import Pair
from rapport.store.base import SCHEMA_VERSION

CHUNK = 2000  # records per parse: the GIL comes back to the loop between chunks
FREEZE_BYTES = 4 * 2**20  # below this the documents are too few for collections to matter


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


def replay_journal(file: Path, state: State, info: ReadInfo, only: Pair | None) -> None:
    """Apply every committed batch of one journal file; drop its torn tail."""
    data = file.read_bytes()
    info.journal_bytes += len(data)
    lines = data.split(b"\n")
    lines.pop()  # the unterminated remainder: b"" or a line a kill cut short
    if not lines:
        return  # killed while creating the file
    records = parse_lines(lines)
    header = records[0]
    if not isinstance(header, dict) or not isinstance(header.get("schema"), int):
        raise ValueError("line 1 is not a journal header")
    if header["schema"] != SCHEMA_VERSION:
        raise ValueError(f"journal schema {header['schema']}, this Rapport knows {SCHEMA_VERSION}")
    pending: list[dict[str, Any]] = []
    for i, rec in enumerate(records[1:], start=2):
        if bad_record(rec):
            raise ValueError(f"line {i} is not a journal record")
        if "commit" not in rec:
            pending.append(rec)
            continue
        if rec["n"] != len(pending):
            raise ValueError(f"line {i} commits {rec['n']} records but {len(pending)} precede it")
        info.seq = max(info.seq, rec["commit"])
        for op in pending:
            apply_op(state, op, only)
        pending = []


def apply_op(state: State, op: dict[str, Any], only: Pair | None) -> None:
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
) -> tuple[State, ReadInfo]:
    """Snapshot plus committed journal batches; raises StoreError, never writes."""
    with gc_paused():
        return read_files(path, upto, only)


def read_files(path: Path, upto: int | None, only: Pair | None) -> tuple[State, ReadInfo]:
    state, info = read_snapshot(path, only)
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
            replay_journal(file, state, info, only)
        except (ValueError, OSError) as exc:
            raise StoreError(
                f"{file} is unreadable ({exc}). Move it and any later journal away to open "
                f"{path} without the changes they hold; Rapport did not overwrite it."
            ) from exc
    return state, info


def read_at_open(path: Path) -> tuple[State, ReadInfo]:
    """read_store, then, for a big store, gc.freeze(): the start's objects leave the collector.

    Millions of fresh documents set off full collections that found nothing to free and took
    seconds of the start on the event loop (1.9 million documents, measured). Frozen objects
    are still freed by reference counting when dropped; only cycles among what exists at
    open (the process has barely started) are never collected.
    """
    with gc_paused():
        state, info = read_files(path, None, None)
        if info.snapshot_bytes + info.journal_bytes >= FREEZE_BYTES:
            gc.freeze()
    return state, info


def compact_files(path: Path, through: int) -> int:
    """Fold journals up to ``through`` into a new snapshot; returns the snapshot's size.

    Journals the new .bak still needs are kept; older ones are deleted.
    """
    state, info = read_store(path, upto=through)
    size = write_snapshot(path, state, through)
    for n in journal_numbers(path):
        if n <= info.through:
            journal_file(path, n).unlink(missing_ok=True)
    for entry in os.listdir(path.parent):
        leftover = entry.startswith((f"{path.name}.tmp.", f"{path.name}.bak.tmp."))
        if leftover and not entry.endswith(f".{os.getpid()}"):
            (path.parent / entry).unlink(missing_ok=True)  # left by a killed compaction
    return size


def child_main() -> None:
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
