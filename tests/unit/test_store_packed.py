"""The embedded store keeps record documents packed (schema 3) and still reads schema 2 stores."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import orjson
import pytest
from tinydb import TinyDB

from rapport.store._format import JRNL, PACK_RECS, Groups, Packed, iter_parts, pack_raws
from rapport.store._staging import packable
from rapport.store.base import SCHEMA_VERSION, record_doc
from rapport.store.tinydb import TinyDBStore

PAIR = {"a": 1, "b": 2, "days": 12}


async def opened(path: Path) -> TinyDBStore:
    store = TinyDBStore(path)
    await store.open()
    return store


def journal(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.journal.{n}")


async def test_record_documents_are_kept_packed_and_open_in_tinydb(tmp_path: Path) -> None:
    """Record documents go to the journal and the snapshot packed, a line per PACK_RECS; the
    snapshot still opens in TinyDB (a packed line is one document); each loads as it was put."""
    path = tmp_path / "rapport.json"
    store = await opened(path)
    recs = {str(n): record_doc(n.to_bytes(8, "little")) for n in range(PACK_RECS + 10)}
    for key, doc in recs.items():
        store.put("pairs", 10, key, doc)
    store.put("pairs", 10, "doc", PAIR)
    await store.flush()
    lines = journal(path, 1).read_bytes().split(b"\n")
    assert sum(line.startswith(b"[") for line in lines) == 2
    assert len(journal(path, 1).read_bytes()) < 20 * len(recs)  # not a document per record
    await store.compact()
    await store.close()
    assert orjson.loads(path.read_bytes())["_meta"]["1"]["schema"] == SCHEMA_VERSION
    with TinyDB(path) as db:
        packed = [d for d in db.table("pairs").all() if "_p" in d]
        assert sorted(len(d["_p"][0]) for d in packed) == [10, PACK_RECS]
        assert [d for d in db.table("pairs").all() if "_p" not in d] == [
            {"_g": 10, "_k": "doc", **PAIR}
        ]
    store = await opened(path)
    assert await store.load("pairs", 10) == {**recs, "doc": PAIR}
    await store.close()


async def test_a_schema_2_store_opens_as_it_is(tmp_path: Path) -> None:
    """A store written at schema 2 (no packed lines) opens and loads unchanged; a flush adds
    a schema 3 journal and the next compaction writes a schema 3 snapshot, packed."""
    path = tmp_path / "rapport.json"
    rec = record_doc(b"\x01" * 16)
    old = {"1:2": {"a": 1, "b": 2, "r": "AQ=="}, "3:4": rec}
    body = [b'{"t":"pairs","g":10}', orjson.dumps(old)]
    crc = zlib.crc32(b"".join(line + b"\n" for line in body))
    commit = orjson.dumps({"commit": 1, "n": 2, "crc": crc})
    journal(path, 1).write_bytes(b"\n".join([b'{"journal":1,"schema":2}', *body, commit, b""]))
    store = await opened(path)
    assert await store.load("pairs", 10) == old
    store.put("pairs", 10, "5:6", rec)
    await store.flush()
    await store.close()
    assert orjson.loads(journal(path, 2).read_bytes().split(b"\n")[0])["schema"] == 3
    store = await opened(path)
    assert await store.load("pairs", 10) == {**old, "5:6": rec}
    await store.compact()
    await store.close()
    assert b'"_p":[' in path.read_bytes()
    store = await opened(path)
    assert await store.load("pairs", 10) == {**old, "5:6": rec}
    await store.close()


def test_a_flush_packs_exactly_the_canonical_record_documents() -> None:
    """Record documents are packed, checked together when their base64 has no padding; one
    that is not canonical (or not base64) among them stays a document, as do all others."""
    rng = random.Random(3)
    recs = {f"p{i}": rng.randbytes(189) for i in range(3000)}  # base64 without padding
    recs |= {f"q{i}": rng.randbytes(44) for i in range(50)}  # with padding
    items: list[tuple[str, bytes | None]] = [
        (k, orjson.dumps(record_doc(r))) for k, r in recs.items()
    ]
    odd = {
        "bad": b'{"r":"' + b"A*" * 126 + b'"}',  # a no-padding length, not base64
        "loose": orjson.dumps({"r": "AAB="}),
        "two": orjson.dumps({"r": "AAAA", "s": 1}),
        "doc": orjson.dumps(PAIR),
    }
    items += [*odd.items(), ("gone", None)]
    others, packed = pack_raws(items)
    got = {k: p.data[i * p.width : (i + 1) * p.width] for p in packed for i, k in enumerate(p.keys)}
    assert got == recs
    assert dict(others) == {**odd, "gone": None}


@pytest.mark.parametrize(
    ("text", "record"),
    [
        ("AAAA", b"\0\0\0"),
        ("AAAAAAAA", b"\0" * 6),
        ("AAA=", b"\0\0"),
        ("AAB=", None),  # padding whose spare bits are set: not what b2a writes
        ("AAAA****", None),  # no padding, not base64 (a lenient decode skips the stars)
        ("AAAA\\nAA", None),  # an escape
        ("A=AA", None),
        ("AAAAAA", None),
        ("", None),
    ],
)
def test_a_record_document_is_exactly_canonical_base64(text: str, record: bytes | None) -> None:
    """A serialised document is a record (kept as its bytes by both stores) only when its one
    field is base64 exactly as b2a writes it, so it loads back as the document that was put."""
    assert packable(b'{"r":"' + text.encode() + b'"}') == record


def test_de_duplication_remembers_only_keys_newer_than_the_oldest_source() -> None:
    """A group read from a snapshot and journal batches: a key's newest version wins, and only
    the newer sources' keys are remembered (a million stored pairs' keys made a set whose
    release stalled the loop ~100 ms at the end of a load)."""

    def line(docs: dict[str, int | None]) -> bytes:
        return orjson.dumps({k: None if v is None else {"v": v} for k, v in docs.items()})

    groups = Groups()
    pair = ("pairs", 1)
    groups.add(pair, (JRNL, line({"a": 1, "b": 1})), 1)
    groups.add(pair, (JRNL, line({"c": 1, "d": 1})), 1)
    groups.add(pair, (JRNL, line({"a": 2, "c": None})), 2)
    groups.add(pair, (JRNL, line({"b": 3})), 3)
    parts, fresh = groups.pop(pair)
    assert (len(parts), fresh) == (4, 2)
    remembered: list[set[str]] = []
    real_set = set

    class Seen(real_set):  # type: ignore[type-arg]
        def __init__(self) -> None:
            super().__init__()
            remembered.append(self)

    import rapport.store._format as fmt

    fmt.set = Seen  # type: ignore[attr-defined]
    try:
        docs = [item for item in iter_parts(parts, fresh) if not isinstance(item, Packed)]
    finally:
        del fmt.set  # type: ignore[attr-defined]
    assert dict(kv for chunk in docs for kv in chunk) == {
        "a": {"v": 2},
        "b": {"v": 3},
        "d": {"v": 1},
    }
    assert remembered == [{"a", "b", "c"}]  # not "d", of the oldest source only
    groups.add(pair, (JRNL, line({"a": 1})), 1)
    groups.add(pair, (JRNL, line({"b": 1})), 1)
    assert groups.pop(pair)[1] == 0  # one source: nothing to remember
