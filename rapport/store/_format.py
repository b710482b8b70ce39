"""The TinyDB-format snapshot: its layout on disk, its schema migrations, reading and writing it.

A snapshot is only ever replaced whole (temp file, fsync, rename, the previous generation kept as
``<path>.bak``); see rapport/store/tinydb.py for the whole file set and why.

Schema 2 (written since #14) is still one TinyDB JSON object, laid out in lines so that it is read
without parsing it whole: ``{``, then per table a line ``"name":{``, chunk lines of up to
CHUNK_DOCS documents (``"1":{...},"2":{...}``, each chunk line of a table after the first starting
with a comma) and ``},``, then the meta line ``"_meta":{"1":{...}}`` and ``}``. The meta document
lists the (table, guild, chunk lines) groups in file order and the crc32 of everything between the
first line and the meta line, so open() checks the file and hands each group's chunk lines out as
raw bytes; they are parsed only when that (table, guild) is loaded, a chunk at a time. Schema 0
and 1 (one JSON object on one line) are parsed whole and rewritten as schema 2 at open.

Schema 3 (since #14's second step) adds packed chunk lines: record documents (exactly
``{"r": base64}``, see rapport/store/base.py) of one (table, guild) and one width are written
PACK_RECS at a time as one TinyDB document ``"id":{"_g":guild,"_p":[[keys],width,"base64"]}``
(in the journal, a chunk line ``[[keys],width,"base64"]``), so a million pairs load as a few
hundred base64 decodes instead of a million documents. A schema 2 snapshot or journal has none
and is read as it is; the next compaction writes schema 3.

Over 400 lines because the reader and the writer of that layout must agree byte for byte, so
they sit in one file and change together.
"""

from __future__ import annotations

import binascii
import contextlib
import gc
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rapport.errors import StoreError
from rapport.store._staging import Pair, packable
from rapport.store.base import SCHEMA_VERSION, Doc, record_bytes, record_doc

State = dict[Pair, dict[str, Doc]]

CLAIMS = "_claims"
META = "_meta"
CHUNK_DOCS = 1000  # documents per chunk line: one orjson call of a few ms when loaded
PACK_RECS = 2000  # records per packed chunk line: ~0.5 MB of base64, decoded in well under 1 ms

# A group's parts, oldest first: snapshot chunk lines, journal chunk lines (raw JSON objects
# key -> document or null), or already decoded {key: document or None} / {key: bytes or None}.
SNAP, JRNL, DOCS, RAWS = 0, 1, 2, 3
Part = tuple[int, Any]

# The start of a snapshot chunk line that is one packed document (a document's own fields
# always come after its "_k", so no document of a caller can look like this).
_PACKED_SNAP = re.compile(rb',?"\d+":\{"_g":-?\d+,"_p":\[')


@dataclass
class Packed:
    """Record documents of one width: their keys and their records' bytes, concatenated."""

    keys: list[str]
    width: int
    data: bytes

    def docs(self) -> dict[str, Any]:
        """As {key: record document}."""
        w, data = self.width, self.data
        return {k: record_doc(data[i * w : (i + 1) * w]) for i, k in enumerate(self.keys)}


def packed_of(kind: int, payload: bytes) -> Packed | None:
    """The packed records of a snapshot or journal chunk line, or None if it holds documents."""
    if kind == JRNL:
        if payload[:1] != b"[":
            return None
        keys, width, text = orjson.loads(payload)
    elif kind == SNAP and _PACKED_SNAP.match(payload, 0, 64):
        view = memoryview(payload)
        doc = orjson.loads(b"".join((b"{", view[1:] if payload[:1] == b"," else view, b"}")))
        ((keys, width, text),) = (d["_p"] for d in doc.values())
    else:
        return None
    data = binascii.a2b_base64(text)
    if not (isinstance(width, int) and width > 0 and len(data) == width * len(keys)):
        raise ValueError(
            f"a packed chunk of {len(keys)} keys and {len(data)} bytes at width {width}"
        )
    return Packed(keys, width, data)


def packed_line(packed: Packed) -> bytes:
    """The JSON of packed records: ``[[keys],width,"base64"]``."""
    text = binascii.b2a_base64(packed.data, newline=False)
    return b'[%b,%d,"%b"]' % (orjson.dumps(packed.keys), packed.width, text)


def pack_raws(
    items: Iterable[tuple[str, bytes | None]],
) -> tuple[list[tuple[str, bytes | None]], list[Packed]]:
    """Serialised documents (None: deleted) as the ones to keep as they are and packed records.

    Record documents of one length whose base64 has no padding (a pair's does not) are checked
    PACK_RECS at a time: decoded joined, re-encoded, compared (a check per document tripled the
    time of a big flush). Anything else, or a joined check that fails, is checked one by one.
    """
    others: list[tuple[str, bytes | None]] = []
    shaped: dict[int, tuple[list[str], list[bytes], list[bytes]]] = {}  # by base64 length
    for key, data in items:
        if data is not None and data[:6] == b'{"r":"' and data[-2:] == b'"}' and len(data) > 8:
            group = shaped.get(len(data))
            if group is None:
                group = shaped[len(data)] = ([], [], [])
            group[0].append(key)
            group[1].append(data[6:-2])
            group[2].append(data)
        else:
            others.append((key, data))
    packed = []
    for length, (keys, texts, datas) in shaped.items():
        width = (length - 8) // 4 * 3
        by_width: dict[int, tuple[list[str], list[bytes]]] = {}
        # PACK_RECS at a time: one decode of a whole big batch would hold the GIL for tens of ms.
        for at in range(0, len(keys), PACK_RECS):
            joined = b"".join(texts[at : at + PACK_RECS])
            if (length - 8) % 4 == 0 and b"=" not in joined:
                try:
                    raw = binascii.a2b_base64(joined, strict_mode=True)
                except (binascii.Error, ValueError):
                    raw = b""
                if raw and binascii.b2a_base64(raw, newline=False) == joined:
                    packed.append(Packed(keys[at : at + PACK_RECS], width, raw))
                    continue
            for key, data in zip(
                keys[at : at + PACK_RECS], datas[at : at + PACK_RECS], strict=True
            ):
                rec = packable(data)
                if rec is None:
                    others.append((key, data))
                else:
                    ks, rs = by_width.setdefault(len(rec), ([], []))
                    ks.append(key)
                    rs.append(rec)
        for w, (ks, rs) in by_width.items():
            for at in range(0, len(ks), PACK_RECS):
                packed.append(Packed(ks[at : at + PACK_RECS], w, b"".join(rs[at : at + PACK_RECS])))
    return others, packed


@dataclass
class Groups:
    """Every (table, guild) of a store as undecoded parts, and which ones need de-duplication."""

    parts: dict[Pair, list[Part]] = field(default_factory=dict)
    # Groups whose parts come from more than one source (snapshot, journal batches): a key may
    # be in several, the newest wins. Within one source every key is there once.
    multi: set[Pair] = field(default_factory=set)
    _source: dict[Pair, int] = field(default_factory=dict)
    # How many of a group's first parts come from its oldest source: their keys need no
    # remembering while de-duplicating, as nothing older follows (at a million pairs, remembering
    # them cost a set of a million keys, and freeing it a 100 ms stall at the end of a load).
    _oldest: dict[Pair, int] = field(default_factory=dict)

    def add(self, pair: Pair, part: Part, source: int) -> None:
        parts = self.parts.get(pair)
        if parts is None:
            self.parts[pair] = [part]
            self._source[pair] = source
            self._oldest[pair] = 1
            return
        parts.append(part)
        if self._source[pair] != source:
            self.multi.add(pair)
            self._source[pair] = source
        elif pair not in self.multi:
            self._oldest[pair] += 1

    def drop_guild(self, guild: int) -> None:
        for pair in [p for p in self.parts if p[1] == guild and p[0] != CLAIMS]:
            del self.parts[pair]
            self.multi.discard(pair)
            del self._source[pair]
            del self._oldest[pair]

    def guilds(self) -> set[int]:
        """The guilds with a document. A document in a group's newest part (in any part, when
        the group has one source) settles it; only a group whose deletes might cover every
        document is decoded whole to find out (and kept decoded)."""
        found: set[int] = set()
        for pair in list(self.parts):
            if pair[1] in found or pair[0] == CLAIMS:
                continue
            parts = self.parts[pair]
            multi = pair in self.multi
            for part in reversed(parts):
                kind, payload = part
                # A packed line holds records; a chunk line without null, documents.
                if kind == SNAP or (
                    kind == JRNL and (payload[:1] == b"[" or b"null" not in payload)
                ):
                    found.add(pair[1])
                    break
                if any(d is not None for d in decode(part).values()):
                    found.add(pair[1])
                    break
                if multi:
                    break
            if pair[1] in found or not multi:
                continue
            parts, fresh = self.pop(pair)
            docs = {k: d for chunk in iter_docs(parts, fresh) for k, d in chunk}
            if docs:
                self.add(pair, (DOCS, docs), 0)
                found.add(pair[1])
        return found

    def pop(self, pair: Pair) -> tuple[list[Part], int]:
        """A group's parts and how many of its newest parts' keys de-duplication remembers (0:
        none, the parts are of one source); the group is forgotten."""
        self._source.pop(pair, None)
        oldest = self._oldest.pop(pair, 0)
        parts = self.parts.pop(pair, [])
        if pair not in self.multi:
            return parts, 0
        self.multi.discard(pair)
        return parts, len(parts) - oldest


def decode(part: Part) -> dict[str, Any]:
    """One part as {key: document or None} (packed records as their record documents)."""
    kind, payload = part
    if kind == SNAP:
        packed = packed_of(kind, payload)
        if packed is not None:
            return packed.docs()
        view = memoryview(payload)
        docs = orjson.loads(b"".join((b"{", view[1:] if payload[:1] == b"," else view, b"}")))
        out = {}
        for doc in docs.values():
            del doc["_g"]
            out[doc.pop("_k")] = doc
        return out
    if kind == JRNL:
        packed = packed_of(kind, payload)
        if packed is not None:
            return packed.docs()
        journal: dict[str, Any] = orjson.loads(payload)
        return journal
    if kind == RAWS:
        return {k: None if v is None else orjson.loads(v) for k, v in payload.items()}
    decoded: dict[str, Any] = payload
    return decoded


def split(part: Part) -> tuple[dict[str, Any], list[Packed]]:
    """One part as {key: document or None} and packed records, apart (never unpacked)."""
    kind, payload = part
    if kind in (SNAP, JRNL):
        packed = packed_of(kind, payload)
        if packed is not None:
            return {}, [packed]
    elif kind == RAWS:
        others, packs = pack_raws(payload.items())
        return {k: None if v is None else orjson.loads(v) for k, v in others}, packs
    return decode(part), []


def iter_docs(parts: list[Part], multi: int) -> Iterator[list[tuple[str, Doc]]]:
    """A group's documents a part at a time, newest part first; a key's newest version wins.

    ``multi``: how many of the newest parts' keys to remember to skip in older parts (what
    Groups.pop says; the older ones are of one source, a key there once).
    """
    seen: set[str] | None = set() if multi else None
    while parts:
        docs = decode(parts.pop())  # consumed as it goes: its bytes are freed meanwhile
        if seen is None:
            yield [(k, d) for k, d in docs.items() if d is not None]
            continue
        remember, multi = multi > 0, multi - 1
        out = []
        for key, doc in docs.items():
            if key not in seen:
                if remember:
                    seen.add(key)
                if doc is not None:
                    out.append((key, doc))
        yield out


def iter_parts(parts: list[Part], multi: int) -> Iterator[list[tuple[str, Doc]] | Packed]:
    """``iter_docs``, with packed records handed out packed (a key's newest version wins)."""
    seen: set[str] | None = set() if multi else None
    while parts:
        docs, packs = split(parts.pop())
        if seen is None:
            out = [(k, d) for k, d in docs.items() if d is not None]
            if out:
                yield out
            yield from packs
            continue
        remember, multi = multi > 0, multi - 1
        out = []
        for key, doc in docs.items():
            if key not in seen:
                if remember:
                    seen.add(key)
                if doc is not None:
                    out.append((key, doc))
        if out:
            yield out
        for packed in packs:
            if seen.isdisjoint(packed.keys):  # the usual case: a whole line of unseen keys
                if remember:
                    seen.update(packed.keys)
                yield packed
                continue
            keep = [i for i, k in enumerate(packed.keys) if k not in seen]
            if remember:
                seen.update(packed.keys)
            if keep:
                w, data = packed.width, packed.data
                recs = b"".join([data[i * w : (i + 1) * w] for i in keep])
                yield Packed([packed.keys[i] for i in keep], w, recs)


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


def split_lines(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """``data[start:end].split(b"\\n")``, a line at a time: one split of a store's hundreds of
    MB holds the GIL throughout (open() runs in a thread, but the event loop waited for it); a
    line at a time, the loop gets the GIL back every few milliseconds."""
    end = len(data) if end is None else end
    lines = []
    while (i := data.find(b"\n", start, end)) != -1:
        lines.append(data[start:i])
        start = i + 1
    lines.append(data[start:end])
    return lines


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


def read_snapshot(path: Path, only: Pair | None) -> tuple[Groups, ReadInfo]:
    """The snapshot's groups (schema 2 undecoded; older schemas parsed whole and migrated)."""
    info = ReadInfo()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Groups(), info
    except OSError as exc:
        raise unreadable(path, path, exc.strerror or str(exc)) from exc
    info.snapshot_bytes = len(data)
    if data.startswith(b"{\n"):
        return read_chunked(path, data, only, info), info
    return read_whole(path, data, only, info), info


def read_chunked(path: Path, data: bytes, only: Pair | None, info: ReadInfo) -> Groups:
    """A schema 2 snapshot: check its shape and crc, hand each group's chunk lines out raw."""
    if not data.endswith(b"\n}\n"):
        raise unreadable(path, path, "cut short: no closing line")
    meta_at = data.rfind(b"\n", 0, len(data) - 3) + 1
    try:
        meta = orjson.loads(b"{" + data[meta_at : len(data) - 3] + b"}")[META]["1"]
        schema, through, groups = meta["schema"], meta["journal_through"], meta["groups"]
        crc = meta["crc"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise unreadable(path, path, f"bad {META} line: {exc}") from exc
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer Rapport (schema {schema}; this one knows "
            f"{SCHEMA_VERSION}): upgrade Rapport. Nothing was changed."
        )
    body = memoryview(data)[2:meta_at]
    if zlib.crc32(body) != crc:
        raise unreadable(path, path, "its checksum does not match (damaged)")
    info.through = through
    lines = split_lines(data, 2, meta_at)
    lines.pop()  # after the last table's "}," line
    out = Groups()
    i, table = 0, None
    try:
        for name, guild, count in groups:
            if name != table:
                if table is not None:
                    if lines[i] != b"},":
                        raise ValueError(f"line {i + 2}: table {table!r} not closed")
                    i += 1
                if lines[i] != orjson.dumps(name) + b":{":
                    raise ValueError(f"line {i + 2}: expected table {name!r}")
                i, table = i + 1, name
            pair = (name, guild)
            for line in lines[i : i + count]:
                if only is None or only == pair:
                    out.add(pair, (SNAP, line), 0)
            i += count
        if table is not None:
            if lines[i] != b"},":
                raise ValueError(f"line {i + 2}: table {table!r} not closed")
            i += 1
        if i != len(lines):
            raise ValueError(f"line {i + 2}: more lines than {META} lists")
    except (ValueError, IndexError, TypeError) as exc:
        raise unreadable(path, path, f"not a Rapport snapshot: {exc}") from exc
    return out


def read_whole(path: Path, data: bytes, only: Pair | None, info: ReadInfo) -> Groups:
    """A schema 0 or 1 snapshot (one JSON object on one line), parsed whole."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise unreadable(path, path, f"not JSON: {exc}") from exc
    del data
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
    while schema < len(MIGRATIONS):
        raw = MIGRATIONS[schema](raw)
        schema += 1
    info.migrated = True  # rewritten in the chunked layout
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
    out = Groups()
    for pair, docs in state.items():
        out.add(pair, (DOCS, docs), 0)
    return out


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


def chunk_lines(docs: Iterable[tuple[str, Doc]], guild: int, ids: list[int]) -> Iterator[bytes]:
    """Documents as snapshot chunk lines of CHUNK_DOCS, numbered on from ids[0]."""
    pieces: list[bytes] = []
    for key, doc in docs:
        ids[0] += 1
        pieces.append(
            b'"%d":{"_g":%d,"_k":%b,%b' % (ids[0], guild, orjson.dumps(key), orjson.dumps(doc)[1:])
            if doc
            else b'"%d":{"_g":%d,"_k":%b}' % (ids[0], guild, orjson.dumps(key))
        )
        if len(pieces) >= CHUNK_DOCS:
            yield b",".join(pieces)
            pieces = []
    if pieces:
        yield b",".join(pieces)


def group_lines(parts: list[Part], multi: int, guild: int, ids: list[int]) -> Iterator[bytes]:
    """A group's snapshot chunk lines: documents CHUNK_DOCS a line, record documents packed
    PACK_RECS a line (whether they came packed or not)."""
    pending: dict[int, tuple[list[str], list[bytes]]] = {}  # width -> keys, records' bytes
    for item in iter_parts(parts, multi):
        if isinstance(item, Packed):
            keys, datas = pending.setdefault(item.width, ([], []))
            keys += item.keys
            datas.append(item.data)
        else:
            docs = []
            for key, doc in item:
                raw = record_bytes(doc)
                if raw is None:
                    docs.append((key, doc))
                else:
                    keys, datas = pending.setdefault(len(raw), ([], []))
                    keys.append(key)
                    datas.append(raw)
            yield from chunk_lines(docs, guild, ids)
        for width, (keys, datas) in pending.items():
            if len(keys) >= PACK_RECS:
                yield from packed_lines(keys, datas, width, guild, ids, final=False)
    for width, (keys, datas) in pending.items():
        yield from packed_lines(keys, datas, width, guild, ids, final=True)


def packed_lines(
    keys: list[str], datas: list[bytes], width: int, guild: int, ids: list[int], *, final: bool
) -> Iterator[bytes]:
    """Whole lines of PACK_RECS records (every record when final) out of keys/datas, in place."""
    data = b"".join(datas)
    end = len(keys) if final else len(keys) - len(keys) % PACK_RECS
    for start in range(0, end, PACK_RECS):
        ids[0] += 1
        packed = Packed(
            keys[start : start + PACK_RECS],
            width,
            data[start * width : (start + PACK_RECS) * width],
        )
        yield b'"%d":{"_g":%d,"_p":%b}' % (ids[0], guild, packed_line(packed))
    del keys[:end]
    datas[:] = [data[end * width :]] if len(keys) else []


def write_snapshot(path: Path, groups: Groups, through: int) -> int:
    """Replace the snapshot atomically, keeping the previous one as .bak; returns its size.

    Streams: one part of one group is decoded at a time, its chunk lines written as they come.
    """
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    listed: list[list[Any]] = []
    crc = 0
    try:
        write_all(fd, b"{\n")
        table: str | None = None
        first = True
        ids = [0]
        out: list[bytes] = []
        for pair in sorted(groups.parts, key=lambda p: (p[0], p[1])):
            parts, multi = groups.pop(pair)
            count = 0
            for line in group_lines(parts, multi, pair[1], ids):
                if pair[0] != table:
                    if table is not None:
                        out.append(b"},\n")
                    out.append(orjson.dumps(pair[0]) + b":{\n")
                    table, first = pair[0], True
                out.append(line + b"\n" if first else b"," + line + b"\n")
                first = False
                count += 1
                if len(out) >= 64:
                    chunk = b"".join(out)
                    crc = zlib.crc32(chunk, crc)
                    write_all(fd, chunk)
                    out = []
            if count:
                listed.append([pair[0], pair[1], count])
        if table is not None:
            out.append(b"},\n")
        chunk = b"".join(out)
        crc = zlib.crc32(chunk, crc)
        meta = {"schema": SCHEMA_VERSION, "journal_through": through, "groups": listed, "crc": crc}
        write_all(fd, chunk + b'"_meta":{"1":' + orjson.dumps(meta) + b"}\n}\n")
        size = os.lseek(fd, 0, os.SEEK_END)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if path.exists():
            keep_as_backup(path)  # the old generation lives on under .bak
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # a failed write (a full disk) leaves no partial copy behind
        raise
    fsync_dir(path.parent)
    return size


def keep_as_backup(path: Path) -> None:
    """Make the snapshot at ``path`` the .bak too, atomically (a link: no copy)."""
    bak_tmp = path.with_name(f"{path.name}.bak.tmp.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(bak_tmp)
    try:
        os.link(path, bak_tmp)
    except OSError:
        bak_tmp.write_bytes(path.read_bytes())
    os.replace(bak_tmp, bak_path(path))


# MIGRATIONS[v] turns a raw snapshot of schema v into schema v + 1.
MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [v0_to_v1]
