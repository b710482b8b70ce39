"""The ledger persists through the real embedded store and reads back the same."""

from __future__ import annotations

import base64
import gc
import random
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rapport import compose
from rapport.collector import release_free_memory
from rapport.compose import build_services
from rapport.settings.config import Settings
from rapport.store.memory import MemoryStore
from rapport.store.tinydb import TinyDBStore
from rapport.tracking import _pairs
from rapport.tracking import _state as _guild
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts, time_snowflake

G = 77
ANA, BOB, CAT = 2**62 + 1, 2**62 + 2, 2**62 + 3  # large snowflakes survive JSON
T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def _facts(author: int, at: datetime, n: int, **kw: object) -> MessageFacts:
    return MessageFacts(
        guild_id=G, channel_id=9, message_id=time_snowflake(at) + n, author_id=author, at=at, **kw
    )


async def test_a_ledger_reloads_from_tinydb_with_equal_reads(tmp_path: Path) -> None:
    """stage -> flush -> close -> reopen -> load_guild gives the same pairs, items and periods."""
    store = TinyDBStore(tmp_path / "rapport.db")
    await store.open()
    ledger = Ledger(store)
    ledger.member_joined(G, CAT, T0)
    ledger.record_message(_facts(ANA, T0, 1, reply_to_id=BOB, has_link=True))
    ledger.record_message(_facts(BOB, T0 + timedelta(hours=1), 2, mentions=frozenset({ANA, CAT})))
    ledger.record(Interaction(G, CAT, ANA, 9, Kind.REACTION, 5, T0 + timedelta(hours=2)))
    ledger.set_cadence(G, ANA, BOB, timedelta(days=10))
    ledger.stage()
    await store.flush()
    await store.close()

    reopened = TinyDBStore(tmp_path / "rapport.db")
    await reopened.open()
    again = Ledger(reopened)
    await again.load_guild(G)
    now = T0 + timedelta(days=1)
    for member in (ANA, BOB, CAT):
        assert again.pairs_of(G, member, now=now) == ledger.pairs_of(G, member, now=now)
        assert again.pending_for(G, member, now) == ledger.pending_for(G, member, now)
        assert again.export_member(G, member) == ledger.export_member(G, member)
    assert again.period_stats(G, "2026-W48") == ledger.period_stats(G, "2026-W48")
    assert again.newcomers(G, T0) == ledger.newcomers(G, T0)
    await reopened.close()


async def test_loading_a_guild_writes_nothing_back() -> None:
    """A restart reads the ledger without marking it changed: the next flush writes nothing."""
    store = MemoryStore()
    ledger = Ledger(store)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(200):
        ledger.record_message(
            MessageFacts(
                1,
                5,
                10_000 + i,
                100 + i % 20,
                start + timedelta(hours=i),
                reply_to_id=100 + (i * 7) % 20,
            )
        )
    assert ledger.stage() > 0
    await store.flush()
    reloaded = Ledger(store)
    await reloaded.load_guild(1)
    assert reloaded.pair_count(1) == ledger.pair_count(1)
    assert reloaded.stage() == 0


async def test_a_reload_in_many_batches_gives_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A guild read a few documents at a time has every member's pairs as written, and they
    take new interactions, old partners and new ones, as the original does."""
    monkeypatch.setattr(_guild, "LOAD_BATCH", 7)
    monkeypatch.setattr(_guild, "BUILD_BATCH", 5)
    store = MemoryStore()
    ledger = Ledger(store)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    members = [100 + i for i in range(30)]
    for i in range(300):
        author, target = members[(i * 11) % 30], members[(i * 17 + 3) % 30]
        at = start + timedelta(hours=i)
        ledger.record_message(MessageFacts(1, 5, 10_000 + i, author, at, reply_to_id=target))
    ledger.stage()
    await store.flush()
    reloaded = Ledger(store)
    await reloaded.load_guild(1)
    now = start + timedelta(days=20)
    assert reloaded.pair_count(1) == ledger.pair_count(1)
    for member in members:
        assert reloaded.pairs_of(1, member, now=now) == ledger.pairs_of(1, member, now=now)
    later = start + timedelta(days=15)
    for led in (ledger, reloaded):
        led.record_message(MessageFacts(1, 5, 20_000, 129, later, reply_to_id=100))
        led.record_message(MessageFacts(1, 5, 20_001, 999, later, reply_to_id=115))
    assert reloaded.pair_count(1) == ledger.pair_count(1)
    for member in [*members, 999]:
        assert reloaded.pairs_of(1, member, now=now) == ledger.pairs_of(1, member, now=now)


def _field_list(a: int, b: int, record: bytes) -> dict[str, object]:
    return {"a": a, "b": b, "v": _pairs.to_doc(record)}


def _base64_record(a: int, b: int, record: bytes) -> dict[str, object]:
    return {"a": a, "b": b, "r": _guild.pair_text(record)}


@pytest.mark.parametrize("older", [_field_list, _base64_record])
async def test_pairs_stored_in_an_older_form_load_and_are_rewritten(older: Any) -> None:
    """A pair document of an older layout (record fields before #14, a base64 record beside the
    member ids after) loads as the same pair, and the next stage rewrites it as a record."""
    store = MemoryStore()
    ledger = Ledger(store)
    ledger.record_message(_facts(ANA, T0, 1, reply_to_id=BOB))
    ledger.record_message(_facts(BOB, T0 + timedelta(hours=3), 2, reply_to_id=ANA))
    ledger.stage()
    await store.flush()
    docs = await store.load("pairs", G)
    assert list(docs) == [f"{ANA}:{BOB}"]
    for key, doc in docs.items():
        a, b, record = _guild.STORED.unpack(base64.b64decode(doc["r"]))
        assert (a, b) == (ANA, BOB)
        store.put("pairs", G, key, older(a, b, record))
    await store.flush()
    assert all("a" in doc for doc in (await store.load("pairs", G)).values())
    again = Ledger(store)
    await again.load_guild(G)
    now = T0 + timedelta(days=1)
    assert again.pairs_of(G, ANA, now=now) == ledger.pairs_of(G, ANA, now=now)
    again.stage()
    await store.flush()
    assert await store.load("pairs", G) == docs


async def test_period_rows_stored_as_counter_lists_load_and_are_rewritten() -> None:
    """A period row of the older layout ({"c": counters}) loads with the same leaderboard
    figures, and the next stage rewrites it as a record."""
    store = MemoryStore()
    ledger = Ledger(store)
    ledger.record_message(_facts(ANA, T0, 1, reply_to_id=BOB))
    ledger.record_message(_facts(BOB, T0 + timedelta(hours=3), 2, reply_to_id=ANA))
    ledger.stage()
    await store.flush()
    docs = await store.load("periods", G)
    assert docs
    assert all(set(doc) == {"r"} for doc in docs.values())
    for key, doc in docs.items():
        mid, _, _, *row = _guild.PERIOD_ROW.unpack(base64.b64decode(doc["r"]))
        assert key.endswith(f"/{mid}")
        store.put("periods", G, key, {"c": row})
    await store.flush()
    again = Ledger(store)
    await again.load_guild(G)
    for period in ("2026-W48", "2026-11"):
        assert again.period_stats(G, period) == ledger.period_stats(G, period)
    again.stage()
    await store.flush()
    assert await store.load("periods", G) == docs


async def test_opening_a_guild_pauses_the_collector_and_freezes_what_it_loaded() -> None:
    """No collection runs while a guild loads (its documents set off full ones), the loaded
    state is frozen after, and the collector is on again."""
    services = build_services(Settings(), MemoryStore(), lambda: T0)
    during: list[bool] = []

    async def loader(_: int) -> None:
        during.append(gc.isenabled())

    services.guild_loaders.append(loader)
    gc.unfreeze()
    try:
        await services.open_guild(G)
        assert during == [False]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def _random_ledger(seed: int, members: int, messages: int) -> tuple[Ledger, MemoryStore, list[int]]:
    """A ledger of members with random snowflake-sized ids, replying to each other."""
    rng = random.Random(seed)
    ids = rng.sample(range(2**40, 2**63), members)
    store = MemoryStore()
    ledger = Ledger(store)
    for n in range(messages):
        author, target = rng.sample(ids, 2)
        at = T0 + timedelta(minutes=n * 7)
        ledger.record_message(_facts(author, at, n % 1000, reply_to_id=target))
    return ledger, store, ids


def _stored_pairs(g: _guild.Guild) -> dict[tuple[int, int], bytes]:
    """Every pair as {(smaller id, larger id): record}."""
    out = {}
    for lo, hi, raw in g.iter_pairs():
        a, b = sorted((g.ids[lo], g.ids[hi]))
        out[(a, b)] = raw
    return out


async def test_a_reload_sorts_members_by_id_and_keeps_every_pair_and_its_partners() -> None:
    """Loading indexes a guild's members in id order and rebuilds each member's arrays from
    the sorted rows: the same records, each partner list sorted, above and below agreeing."""
    ledger, store, _ids = _random_ledger(5, 120, 3000)
    ledger.stage()
    await store.flush()
    reloaded = Ledger(store)
    await reloaded.load_guild(G)
    before, after = ledger.guilds.by_id[G], reloaded.guilds.by_id[G]
    assert after.ids[: len(set(after.ids))] == sorted(after.ids)
    assert _stored_pairs(after) == _stored_pairs(before)
    assert after.npairs == before.npairs
    for i in range(len(after.ids)):
        ups, downs = list(after.up[i] or ()), list(after.down[i] or ())
        assert ups == sorted(ups)
        assert all(hi > i for hi in ups)
        assert downs == sorted(downs)
        assert all(lo < i for lo in downs)
        assert all(after.locate(lo, i) >= 0 for lo in downs)
    assert sum(len(d or ()) for d in after.down) == after.npairs


async def _rows(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_a_pair_stored_twice_loads_as_its_later_row() -> None:
    """Were a pair ever handed out twice, the later row wins, as a later document always did."""
    g = _guild.Guild(G)
    early, late, other = (bytes([n]) * _guild.REC for n in (1, 2, 3))
    sorting = await g._read_pairs(
        _rows(
            _guild.STORED.pack(ANA, BOB, early) + _guild.STORED.pack(BOB, CAT, other),
            _guild.STORED.pack(ANA, BOB, late),
        )
    )
    assert sorting is not None
    await g._place_pairs(await sorting)
    assert _stored_pairs(g) == {(ANA, BOB): late, (BOB, CAT): other}
    assert g.npairs == 2


async def test_pairs_are_sorted_beside_the_loop_not_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sorting of a guild's pairs and period rows runs in a worker thread (numpy releases
    the GIL there): on the loop it was a step of up to a second at a million pairs."""
    threads: list[str] = []
    for name in ("_members_of", "_pair_plan", "_period_plan"):
        real = getattr(_guild, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            threads.append(f"{_name} {threading.current_thread() is threading.main_thread()}")
            return _real(*args)

        monkeypatch.setattr(_guild, name, spy)
    ledger, store, _ = _random_ledger(6, 30, 200)
    ledger.stage()
    await store.flush()
    reloaded = Ledger(store)
    await reloaded.load_guild(G)
    assert sorted(threads) == ["_members_of False", "_pair_plan False", "_period_plan False"]
    assert reloaded.pair_count(G) == ledger.pair_count(G)


async def test_period_rows_load_in_slices_and_a_row_already_there_is_replaced() -> None:
    """Period rows read in slices give every member's counters; a stored row for a member the
    segment already has (an older-form row read first) replaces it rather than adding one."""
    ledger, store, _ids = _random_ledger(7, 80, 2000)
    ledger.stage()
    await store.flush()
    docs = await store.load("periods", G)
    reloaded = Ledger(store)
    await reloaded.load_guild(G)
    for period in reloaded.periods(G):
        assert reloaded.period_stats(G, period) == ledger.period_stats(G, period)
    g = _guild.Guild(G)
    key, doc = next(iter(docs.items()))
    mid, week, month, *row = _guild.PERIOD_ROW.unpack(base64.b64decode(doc["r"]))
    segment = key.rsplit("/", 1)[0]
    older = [(key, {"c": [9] * _guild.NF})]
    fresh = _guild.PERIOD_ROW.pack(mid, week, month, *row)

    async def chunks() -> AsyncIterator[Any]:
        yield older
        yield _guild.Records(_guild.PERIOD_ROW.size, fresh)

    assert await g._load_periods(chunks()) == 1
    assert g.periods[segment].row(mid) == row
    assert len(g.periods[segment].counts) == _guild.NF


@pytest.mark.parametrize(("threshold", "trims"), [(1, 1), (10**9, 0)])
async def test_a_big_guild_hands_the_memory_its_load_freed_back(
    monkeypatch: pytest.MonkeyPatch, threshold: int, trims: int
) -> None:
    """After loading a guild of many pairs the freed heap goes back to the system (a few ms);
    a small guild's load, which frees little, doesn't pay for it."""
    store = MemoryStore()
    ledger = Ledger(store)
    ledger.record_message(_facts(ANA, T0, 1, reply_to_id=BOB))
    ledger.stage()
    await store.flush()
    calls: list[bool] = []
    monkeypatch.setattr(compose, "BIG_GUILD_PAIRS", threshold)
    monkeypatch.setattr(compose, "release_free_memory", lambda: calls.append(True) or True)
    await build_services(Settings(), store, lambda: T0).open_guild(G)
    assert len(calls) == trims
    assert isinstance(release_free_memory(), bool)
