"""The TinyDB-format snapshot: its layout on disk, its schema migrations, reading and writing it whole.

A snapshot is only ever replaced whole (temp file, fsync, rename, the previous generation kept as
``<path>.bak``); see rapport/store/tinydb.py for the whole file set and why.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rapport.errors import StoreError
from rapport.store._staging import Pair
from rapport.store.base import SCHEMA_VERSION, Doc

State = dict[Pair, dict[str, Doc]]

CLAIMS = "_claims"
META = "_meta"


def restore_hint(path: Path) -> str:
    bak = bak_path(path)
    if bak.exists():
        return f"Restore {bak} or move the file away; Rapport did not overwrite it."
    return f"No backup ({bak}) exists: move the file away to start empty; Rapport did not overwrite it."


def unreadable(path: Path, file: Path, why: str) -> StoreError:
    return StoreError(f"{file} is unreadable ({why}). {restore_hint(path)}")


def bak_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Building a million documents triggers full collections that quadruple the parse time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
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


@dataclass
class ReadInfo:
    """What open() learns besides the documents."""

    through: int = 0  # the last journal folded into the snapshot
    last_journal: int = 0
    seq: int = 0
    snapshot_bytes: int = 0
    journal_bytes: int = 0
    migrated: bool = False


def read_snapshot(path: Path, only: Pair | None) -> tuple[State, ReadInfo]:
    info = ReadInfo()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, info
    except OSError as exc:
        raise unreadable(path, path, exc.strerror or str(exc)) from exc
    info.snapshot_bytes = len(data)
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise unreadable(path, path, f"not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(t, dict) for t in raw.values()):
        raise unreadable(path, path, "not a JSON object of tables")
    metas = list(raw.get(META, {}).values())
    meta = metas[0] if metas else {"schema": 0, "journal_through": 0}
    schema = meta.get("schema") if isinstance(meta, dict) else None
    if not isinstance(schema, int) or not isinstance(meta.get("journal_through"), int):
        raise unreadable(path, path, f"bad {META} table")
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
                raise unreadable(path, path, f"a document in table {table!r} is not an object")
            guild, key = doc.pop("_g", None), doc.pop("_k", None)
            if not isinstance(guild, int) or not isinstance(key, str):
                raise unreadable(path, path, f"a document in table {table!r} lacks _g/_k")
            if only is None or only == (table, guild):
                state.setdefault((table, guild), {})[key] = doc
    return state, info


def bad_record(rec: Any) -> bool:
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


def write_snapshot(path: Path, state: State, through: int) -> int:
    """Replace the snapshot atomically, keeping the previous one as .bak; returns its size."""
    tables: dict[str, dict[str, Doc]] = {
        META: {"1": {"schema": SCHEMA_VERSION, "journal_through": through}}
    }
    for (table, guild), docs in state.items():
        out = tables.setdefault(table, {})
        for key, doc in docs.items():
            out[str(len(out) + 1)] = {"_g": guild, "_k": key, **doc}
    with gc_paused():
        data = orjson.dumps(tables)
    del tables
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
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
        os.replace(bak_tmp, bak_path(path))
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return len(data)


# MIGRATIONS[v] turns a raw snapshot of schema v into schema v + 1.
MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [v0_to_v1]
