"""The Store contract: every backend (TinyDB, PostgreSQL, and the MemoryStore tests use) passes these.

The MemoryStore's "disk" is the factory's: every store it opens shares one set of flushed
documents and claims, so a reopen sees what was flushed and a crash loses only what was staged.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rapport.store import Store, TinyDBStore, open_store
from rapport.store.base import Records, record_doc
from rapport.store.memory import MemoryStore
from rapport.store.postgres import PostgresStore
from tests.unit._pg import DSN, drop_schema, fresh_schema, require_postgres

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PAIR = {"a": 1, "b": 2, "first_ab": 1_700_000_000, "w": {"reply": 3.2}}


class StoreFactory:
    """Opens stores of one backend over the same data, and abandons them as a crash would."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.path = tmp_path / "rapport.json"
        self.opened: list[Store] = []
        self.schema = fresh_schema()  # postgres: one fresh schema per test
        self.memory = MemoryStore()  # memory: the flushed state every store opened shares

    async def open(self) -> Store:
        if self.backend == "memory":
            store: Store = MemoryStore()
            store._data, store._claims = self.memory._data, self.memory._claims
        else:
            store = open_store(self.backend, path=self.path, dsn=DSN, schema=self.schema)
        await store.open()
        self.opened.append(store)
        return store

    def abandon(self, store: Store) -> None:
        """Let go of the store's files without flushing or compacting, like a killed process."""
        if isinstance(store, PostgresStore):
            store.terminate()
            return
        if isinstance(store, MemoryStore):
            store._staged.clear()  # what was only staged dies with the process
            return
        assert isinstance(store, TinyDBStore), "each backend says how it is abandoned"
        store._closed = True
        for name in ("_journal_fd", "_lock_fd"):
            fd = getattr(store, name)
            if fd is not None:
                os.close(fd)
                setattr(store, name, None)
        store._executor.shutdown()


@pytest.fixture(params=["tinydb", "postgres", "memory"])
async def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreFactory]:
    """A factory for the backend under test; every store it opened is closed afterwards."""
    if request.param == "postgres":
        await require_postgres()
    factory = StoreFactory(request.param, tmp_path)
    yield factory
    for store in factory.opened:
        await store.close()
    if request.param == "postgres":
        await drop_schema(factory.schema)


async def reopen(factory: StoreFactory, store: Store) -> Store:
    await store.close()
    return await factory.open()


async def test_documents_survive_close_and_reopen(store_factory: StoreFactory) -> None:
    """A document put before close is loaded unchanged after reopening."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", PAIR)
    store = await reopen(store_factory, store)
    assert await store.load("pairs", 10) == {"1:2": PAIR}


async def test_flushed_documents_survive_a_crash(store_factory: StoreFactory) -> None:
    """What flush() persisted is there after the process dies without closing."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", PAIR)
    stats = await store.flush()
    store.put("pairs", 10, "3:4", PAIR)  # staged only: lost with the process
    store_factory.abandon(store)
    store = await store_factory.open()
    assert stats.records == 1
    assert await store.load("pairs", 10) == {"1:2": PAIR}


async def test_delete_removes_a_document(store_factory: StoreFactory) -> None:
    """A deleted document is gone after reopening; deleting a missing one is fine."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", PAIR)
    store.put("pairs", 10, "3:4", PAIR)
    await store.flush()
    store.delete("pairs", 10, "1:2")
    store.delete("pairs", 10, "never-there")
    store = await reopen(store_factory, store)
    assert await store.load("pairs", 10) == {"3:4": PAIR}


async def test_last_write_wins(store_factory: StoreFactory) -> None:
    """Of several writes to one key, flushed or not, the last one is kept."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", {"n": 1})
    await store.flush()
    store.put("pairs", 10, "1:2", {"n": 2})
    store.put("pairs", 10, "1:2", {"n": 3})
    store = await reopen(store_factory, store)
    assert await store.load("pairs", 10) == {"1:2": {"n": 3}}


async def test_same_key_in_two_guilds_stays_separate(store_factory: StoreFactory) -> None:
    """One key in two guilds is two documents; a change to one leaves the other."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", {"n": 10})
    store.put("pairs", 20, "1:2", {"n": 20})
    await store.flush()
    store.delete("pairs", 20, "1:2")
    store = await reopen(store_factory, store)
    assert await store.load("pairs", 10) == {"1:2": {"n": 10}}
    assert await store.load("pairs", 20) == {}
    assert await store.guild_ids() == {10}


async def test_delete_guild_removes_only_that_guild(store_factory: StoreFactory) -> None:
    """delete_guild drops the guild's documents in every table, flushed or staged."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", PAIR)
    store.put("members", 10, "1", {"enrolled": True})
    store.put("pairs", 20, "1:2", PAIR)
    await store.flush()
    store.put("members", 10, "2", {"enrolled": True})
    await store.delete_guild(10)
    assert await store.guild_ids() == {20}
    store = await reopen(store_factory, store)
    assert await store.load("pairs", 10) == {}
    assert await store.load("members", 10) == {}
    assert await store.load("pairs", 20) == {"1:2": PAIR}
    assert await store.guild_ids() == {20}


async def test_writes_after_delete_guild_are_kept(store_factory: StoreFactory) -> None:
    """A guild can be written again after delete_guild, in the same batch."""
    store = await store_factory.open()
    store.put("pairs", 10, "old", PAIR)
    await store.flush()
    await store.delete_guild(10)
    store.put("pairs", 10, "new", PAIR)
    store = await reopen(store_factory, store)
    assert await store.load("pairs", 10) == {"new": PAIR}


async def test_load_includes_staged_changes(store_factory: StoreFactory) -> None:
    """load() shows puts and deletes that no flush has persisted yet."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", {"n": 1})
    store.put("pairs", 10, "3:4", {"n": 1})
    store = await reopen(store_factory, store)
    store.put("pairs", 10, "1:2", {"n": 2})
    store.delete("pairs", 10, "3:4")
    store.put("pairs", 10, "5:6", {"n": 1})
    assert await store.load("pairs", 10) == {"1:2": {"n": 2}, "5:6": {"n": 1}}


async def test_stream_gives_what_load_gives(store_factory: StoreFactory) -> None:
    """Streaming a table yields each current document once: flushed, staged, not deleted."""
    store = await store_factory.open()
    for n in range(1200):
        store.put("pairs", 10, str(n), {"n": n})
    store = await reopen(store_factory, store)
    store.put("pairs", 10, "5", {"n": -5})
    store.delete("pairs", 10, "6")
    await store.flush()
    store.put("pairs", 10, "7", {"n": -7})
    rows = [row async for chunk in store.stream("pairs", 10) for row in chunk]
    assert len(rows) == 1199
    assert dict(rows) == await store.load("pairs", 10)
    docs = dict(rows)
    assert docs["5"] == {"n": -5}
    assert docs["7"] == {"n": -7}
    assert "6" not in docs


async def test_record_documents_load_as_put_and_stream_as_records(
    store_factory: StoreFactory,
) -> None:
    """Record documents ({"r": base64}) load back exactly as put, beside other documents, and
    stream_records hands each current one out once, packed, at its width."""
    store = await store_factory.open()
    for n in range(2500):
        store.put("pairs", 10, str(n), record_doc(n.to_bytes(4, "little") * 3))
    store.put("pairs", 10, "wide", record_doc(b"w" * 20))
    store.put("pairs", 10, "doc", {"n": 1})
    store.put("pairs", 10, "loose", {"r": "AAB="})  # not canonical base64: a plain document
    store.put("pairs", 10, "two", {"r": "AAAA", "s": 1})
    store = await reopen(store_factory, store)
    store.put("pairs", 10, "5", record_doc(b"\xff" * 12))
    store.delete("pairs", 10, "6")
    await store.flush()
    store.put("pairs", 10, "7", record_doc(b"\xee" * 12))
    store.delete("pairs", 10, "8")
    docs = await store.load("pairs", 10)
    assert len(docs) == 2500 + 4 - 2
    assert docs["5"] == record_doc(b"\xff" * 12)
    assert docs["9"] == {"r": base64.b64encode((9).to_bytes(4, "little") * 3).decode()}
    assert docs["loose"] == {"r": "AAB="}
    assert docs["two"] == {"r": "AAAA", "s": 1}
    records: dict[int, list[bytes]] = {}
    others = {}
    async for item in store.stream_records("pairs", 10):
        if isinstance(item, Records):
            w = item.width
            records.setdefault(w, []).extend(
                item.data[i : i + w] for i in range(0, len(item.data), w)
            )
        else:
            others.update(item)
    assert others == {"doc": {"n": 1}, "loose": {"r": "AAB="}, "two": {"r": "AAAA", "s": 1}}
    assert records[20] == [b"w" * 20]
    expected = {k: base64.b64decode(d["r"]) for k, d in docs.items() if k not in others}
    assert sorted(records[12]) == sorted(r for k, r in expected.items() if k != "wide")


async def test_load_again_after_flushes_sees_every_change(store_factory: StoreFactory) -> None:
    """Loading a (table, guild) a second time reflects what was flushed and staged since."""
    store = await store_factory.open()
    assert await store.load("pairs", 10) == {}
    store.put("pairs", 10, "1:2", {"n": 1})
    await store.flush()
    store.put("pairs", 10, "3:4", {"n": 1})
    assert await store.load("pairs", 10) == {"1:2": {"n": 1}, "3:4": {"n": 1}}
    assert await store.load("pairs", 10) == {"1:2": {"n": 1}, "3:4": {"n": 1}}


async def test_put_keeps_the_document_as_it_was(store_factory: StoreFactory) -> None:
    """Changing a document after put() does not change what is stored."""
    store = await store_factory.open()
    doc = {"w": {"reply": 1.0}}
    store.put("pairs", 10, "1:2", doc)
    doc["w"]["reply"] = 99.0
    assert await store.load("pairs", 10) == {"1:2": {"w": {"reply": 1.0}}}


async def test_unserialisable_value_is_refused_at_put(store_factory: StoreFactory) -> None:
    """A value JSON can't hold fails at put(), so a later flush never trips on it."""
    store = await store_factory.open()
    with pytest.raises(TypeError):
        store.put("pairs", 10, "1:2", {"when": object()})
    store.put("pairs", 10, "3:4", PAIR)
    assert (await store.flush()).records == 1


async def test_close_flushes_staged_changes(store_factory: StoreFactory) -> None:
    """close() persists what is staged, so a graceful shutdown loses nothing."""
    store = await store_factory.open()
    for n in range(100):
        store.put("pairs", 10, f"{n}", {"n": n})
    await store.close()
    store = await store_factory.open()
    assert len(await store.load("pairs", 10)) == 100


async def test_claim_is_refused_while_another_owner_holds_it(store_factory: StoreFactory) -> None:
    """A live claim keeps other owners out."""
    store = await store_factory.open()
    assert await store.claim("digest:1", "a", until=NOW + timedelta(minutes=5), now=NOW)
    assert not await store.claim("digest:1", "b", until=NOW + timedelta(minutes=5), now=NOW)


async def test_expired_claim_can_be_taken_over(store_factory: StoreFactory) -> None:
    """Once its time is past, another owner takes the claim."""
    store = await store_factory.open()
    assert await store.claim("digest:1", "a", until=NOW + timedelta(minutes=5), now=NOW)
    later = NOW + timedelta(minutes=6)
    assert await store.claim("digest:1", "b", until=later + timedelta(minutes=5), now=later)
    assert not await store.claim("digest:1", "a", until=later + timedelta(minutes=5), now=later)


async def test_same_owner_renews_its_claim(store_factory: StoreFactory) -> None:
    """Claiming again as the holder extends the claim."""
    store = await store_factory.open()
    assert await store.claim("digest:1", "a", until=NOW + timedelta(minutes=5), now=NOW)
    assert await store.claim("digest:1", "a", until=NOW + timedelta(minutes=30), now=NOW)
    later = NOW + timedelta(minutes=10)
    assert not await store.claim("digest:1", "b", until=later + timedelta(minutes=5), now=later)


async def test_release_frees_the_claim_for_its_owner_only(store_factory: StoreFactory) -> None:
    """release() by the holder frees the claim; by anyone else it changes nothing."""
    store = await store_factory.open()
    assert await store.claim("digest:1", "a", until=NOW + timedelta(minutes=5), now=NOW)
    await store.release("digest:1", "b")
    assert not await store.claim("digest:1", "b", until=NOW + timedelta(minutes=5), now=NOW)
    await store.release("digest:1", "a")
    assert await store.claim("digest:1", "b", until=NOW + timedelta(minutes=5), now=NOW)


async def test_claim_is_durable_when_granted(store_factory: StoreFactory) -> None:
    """A granted claim still holds after a crash, so a restart does not send twice."""
    store = await store_factory.open()
    assert await store.claim("digest:1", "a", until=NOW + timedelta(minutes=5), now=NOW)
    store_factory.abandon(store)
    store = await store_factory.open()
    assert not await store.claim("digest:1", "b", until=NOW + timedelta(minutes=5), now=NOW)
    assert await store.guild_ids() == set()


async def test_expired_claims_are_pruned_for_good_and_live_ones_kept(
    store_factory: StoreFactory,
) -> None:
    """Pruning drops expired claims durably and leaves live ones holding."""
    store = await store_factory.open()
    assert await store.claim("old", "a", until=NOW + timedelta(minutes=5), now=NOW)
    assert await store.claim("live", "a", until=NOW + timedelta(days=5), now=NOW)
    later = NOW + timedelta(hours=1)
    assert await store.prune_claims(later) == 1
    assert await store.prune_claims(later) == 0
    store_factory.abandon(store)
    store = await store_factory.open()
    assert await store.prune_claims(later) == 0  # the pruning survived the crash
    assert not await store.claim("live", "b", until=later + timedelta(days=1), now=later)


async def test_dropping_claims_by_prefix_frees_them_all_whoever_holds_them(
    store_factory: StoreFactory,
) -> None:
    """A forget drops every claim under the member's prefix, live ones of other owners too,
    durably, and no claim of another member or guild."""
    store = await store_factory.open()
    until = NOW + timedelta(days=1)
    for key, owner in [("nudge:1:10:a", "a"), ("nudge:1:10:b", "b"), ("nudge:1:100:a", "a")]:
        assert await store.claim(key, owner, until=until, now=NOW)
    assert await store.claim("nudge:2:10:a", "a", until=until, now=NOW)
    assert await store.drop_claims("nudge:1:10:") == 2
    assert await store.drop_claims("nudge:1:10:") == 0
    store_factory.abandon(store)
    store = await store_factory.open()
    for key in ("nudge:1:10:a", "nudge:1:10:b"):
        assert await store.claim(key, "c", until=until, now=NOW)
    for key in ("nudge:1:100:a", "nudge:2:10:a"):
        assert not await store.claim(key, "c", until=until, now=NOW)


async def test_load_during_a_flush_sees_the_batch_being_written(
    store_factory: StoreFactory,
) -> None:
    """A load that runs while a flush is writing still includes that flush's changes."""
    store = await store_factory.open()
    store.put("pairs", 10, "1:2", PAIR)
    flushing = asyncio.create_task(store.flush())
    await asyncio.sleep(0)  # the flush has taken the batch and is writing it
    store.put("pairs", 10, "3:4", PAIR)
    docs = await store.load("pairs", 10)
    await flushing
    assert docs == {"1:2": PAIR, "3:4": PAIR}


async def test_a_document_no_backend_can_hold_is_reported_and_the_rest_is_saved(
    store_factory: StoreFactory,
) -> None:
    """With a reject hook, an unstorable document is handed to it and every other one is saved."""
    store = await store_factory.open()
    rejected: list[tuple[str, int, str]] = []
    store.reject = lambda table, guild, key, why: rejected.append((table, guild, key))
    store.put("member_settings", 10, "1", {"muted": [2**64 + 5]})  # beyond JSON's integers
    store.put("member_settings", 10, "2", {"timezone": "UTC\x00"})  # PostgreSQL refuses NUL
    store.put("member_settings", 2**63, "3", {"ok": 1})  # beyond Discord's ids and bigint
    store.put("member_settings", 10, "4", {"ok": 1})
    await store.flush()
    store = await reopen(store_factory, store)
    assert await store.load("member_settings", 10) == {"4": {"ok": 1}}
    assert [key for _, _, key in rejected] == ["1", "2", "3"]
