"""One guild's in-memory ledger state and how it maps to store documents.

Kept apart from rapport/tracking/ledger.py (the rules) so the rules read without the bookkeeping.
Tables (all per guild, keys are strings):

- "pairs": "<lo id>:<hi id>" -> {"r": base64 of lo, hi (uint64 each) and the packed record}, a
  record document (rapport/store/base.py) that stores keep packed, so a million pairs load as
  a few hundred buffers sliced by struct, without a document and a base64 string per pair.
  Still read, and rewritten at the next flush after a load: {"a": lo, "b": hi, "r": record
  base64} (#14's first step) and {"a", "b", "v": [the record's fields]} (before #14).
- "members": "<id>" -> {"left": 0|1, "share": t, "ch": [[chan, last, msgs, shares, drawn]],
  "cad": [[other, seconds]]}
- "pending": "<id>" -> {"items": [[from, kind, message, channel, t, warm]]}  (packed in memory)
- "newcomers": "<id>" -> {"joined": t, "first": [[chan, message, t, thread]], "by": [ids]}
- "periods": "<week>/<month>/<id>" -> {"r": base64 of the member id (uint64), the week and month
  numbers (uint32 each, rapport.tracking._pairs) and the member's 7 counters (uint32)}, a record
  document like a pair's. Still read, and rewritten after a load: {"c": [given, new people in
  the week, in the month, inbound, answered, thanks, shares drew]} (before #14's second step)
- "coverage": "<message channel>" -> {"r": [[lo id, hi id]]}
- "totals": "ledger" -> {"interactions": n}

Over 400 lines because the in-memory layout and its store documents change together: a field added
to one is added to the other, in the same screen.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import struct
from array import array
from binascii import a2b_base64, b2a_base64
from bisect import bisect_left
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from rapport.store.base import Records, Store
from rapport.tracking import _pairs
from rapport.tracking._records import CHANNEL, NF, PENDING, Member, Period, pending_items

log = logging.getLogger(__name__)

SHIFT = 30
MASK = (1 << SHIFT) - 1

# A stored pair: both member ids, then the packed record. A layout change of the record keeps
# reading the stored width it replaces (as record_of does for documents).
STORED = struct.Struct(f"<QQ{_pairs.RECORD.size}s")
REC = _pairs.RECORD.size  # bytes per record in a member's packed records
_ONE_REC = struct.Struct(f"{REC}s")
_ZERO_REC = bytes(REC)
_OLD_STORED = struct.Struct(f"<QQ{_pairs.OLD_SIZE}s")
# A stored period row: member id, week number, month number, the row's NF counters.
PERIOD_ROW = struct.Struct(f"<Q2I{NF}I")

# Documents (or pairs, period rows) between two yields to the event loop while loading: ~5 ms
# of work (10,000 members' documents were a 50 ms step).
LOAD_BATCH = 2_500
# Pairs placed in the member arrays between two yields: a sort, an array and a list for each
# member's pairs made LOAD_BATCH of them a 30-40 ms step at a million pairs.
BUILD_BATCH = 2_500

# Batches of changed members the boards may still need (rapport/leaderboard keeps rankings up to
# date from them); older batches merge, so a reader behind them gets a superset, never less.
BOARD_BATCHES = 16
_RESETS = itertools.count(1)

TABLES = ("pairs", "members", "pending", "newcomers", "periods", "coverage", "totals")


class Guild:
    """Everything the ledger keeps for one guild, plus what changed since the last stage."""

    __slots__ = (
        "board_fresh",
        "board_log",
        "board_reset",
        "board_seq",
        "caps",
        "cov",
        "d_cov",
        "d_members",
        "d_newcomers",
        "d_pairs",
        "d_pending",
        "d_periods",
        "d_totals",
        "down",
        "id",
        "ids",
        "idx",
        "latest",
        "live",
        "members",
        "newcomers",
        "npairs",
        "pday",
        "pending",
        "periods",
        "pseg",
        "recs",
        "total",
        "up",
    )

    def __init__(self, guild_id: int) -> None:
        self.id = guild_id
        self.ids: list[int] = []  # member index -> member id
        self.idx: dict[int, int] = {}  # member id -> member index
        # Pairs without a dict (a dict slot and an int key cost ~80 bytes a pair): for member
        # index lo, up[lo] is the sorted array of partner indexes above lo and recs[lo] their
        # packed records back to back in the same order (REC bytes each: no object per pair
        # for the collector to walk, and the ledger writes a record's fields in place);
        # down[hi] lists the partners below hi.
        self.up: list[array[int] | None] = []
        self.recs: list[bytearray | None] = []
        self.down: list[array[int] | None] = []
        self.npairs = 0
        self.pending: dict[int, bytearray] = {}
        self.members: dict[int, Member] = {}
        self.newcomers: dict[int, list[Any]] = {}  # id -> [joined, [[ch, msg, t, th]], set]
        self.periods: dict[str, Period] = {}
        self.pday = -1  # the day whose week and month Period objects are cached below
        self.pseg = Period("", "")
        # Cap counts for days older than a pair's current day (out-of-order history only):
        # day << 64 | direction key << 1 | thanks -> count; pruned after a few days.
        self.caps: dict[int, int] = {}
        self.cov: dict[int, list[list[int]]] = {}  # message channel -> id intervals
        self.live: set[int] = set()  # channels whose last interval is still growing live
        self.total = 0
        self.latest = 0
        # Changed pairs as a flat array of keys (duplicates allowed, deduped at stage): 8 bytes
        # an event instead of a set slot and an int object per pair.
        self.d_pairs = array("Q")
        self.d_members: set[int] = set()
        self.d_pending: set[int] = set()
        self.d_newcomers: set[int] = set()
        self.d_periods: set[tuple[str, int]] = set()
        self.d_cov: set[int] = set()
        self.d_totals = False
        # For the boards (LedgerReads.period_changes): members whose period rows changed since
        # the boards last asked (every segment adds to this one set), then in batches numbered
        # by board_seq; board_reset tells this guild's state from an earlier one's (a guild is
        # loaded into a new object, unloaded and loaded again).
        self.board_fresh: set[int] = set()
        self.board_log: list[tuple[int, set[int]]] = []
        self.board_seq = 0
        self.board_reset = next(_RESETS)

    def board_batch(self) -> None:
        """Close the members changed since the last call into a numbered batch (the boards'
        rankings read batches after the one they last saw)."""
        fresh = self.board_fresh
        if not fresh:
            return
        self.board_seq += 1
        batches = self.board_log
        batches.append((self.board_seq, set(fresh)))
        fresh.clear()  # not replaced: every segment holds this set
        if len(batches) > BOARD_BATCHES:
            (_, first), (seq, second) = batches[0], batches[1]
            batches[0:2] = [(seq, first | second)]

    def index(self, member_id: int) -> int:
        """The member's compact index, assigned on first sight."""
        i = self.idx.get(member_id)
        if i is None:
            i = len(self.ids)
            if i > MASK:
                raise OverflowError("more than 2**30 members in one guild")
            self.idx[member_id] = i
            self.ids.append(member_id)
            self.up.append(None)
            self.recs.append(None)
            self.down.append(None)
        return i

    def canon(self, member_id: int) -> int:
        """The one int object this guild uses for a member id (saves an int per dict key)."""
        return self.ids[self.index(member_id)]

    def member(self, member_id: int) -> Member:
        """The member's activity record, created on first use and marked dirty."""
        m = self.members.get(member_id)
        if m is None:
            member_id = self.canon(member_id)
            m = self.members[member_id] = Member()
        self.d_members.add(member_id)
        return m

    def set_pending(self, member_id: int, buf: bytearray) -> None:
        """Replace the member's pending items (dropping the entry when empty)."""
        member_id = self.canon(member_id)
        if buf:
            self.pending[member_id] = buf
        else:
            self.pending.pop(member_id, None)
        self.d_pending.add(member_id)

    def direction(self, a: int, b: int) -> int:
        """The record offset of direction a -> b (0 when a has the smaller member id)."""
        return 0 if self.ids[a] < self.ids[b] else _pairs.DIR

    def find(self, lo: int, hi: int) -> tuple[int, bytes | None]:
        """Where pair (lo < hi) sits in lo's arrays, and its record if it exists."""
        ups = self.up[lo]
        if ups is None:
            return 0, None
        i = bisect_left(ups, hi)
        if i < len(ups) and ups[i] == hi:
            return i, bytes(self.recs[lo][i * REC : i * REC + REC])  # type: ignore[index]
        return i, None

    def locate(self, lo: int, hi: int) -> int:
        """Where pair (lo < hi) sits in lo's arrays (its record at that times REC in
        recs[lo]), or -1 when there is no such pair; no copy of the record."""
        ups = self.up[lo]
        if ups is None:
            return -1
        i = bisect_left(ups, hi)
        return i if i < len(ups) and ups[i] == hi else -1

    def get_pair(self, a: int, b: int) -> bytes | None:
        """The record of pair {a, b} (indexes, either order), or None."""
        return self.find(a, b)[1] if a < b else self.find(b, a)[1]

    def put_pair(self, lo: int, hi: int, i: int, raw: bytes, new: bool) -> None:
        """Store pair (lo < hi) at position i found by `find`, inserting it when new."""
        if new:
            self.insert_pair(lo, hi, i)
        self.recs[lo][i * REC : i * REC + REC] = raw  # type: ignore[index]
        self.d_pairs.append(lo << SHIFT | hi)

    def insert_pair(self, lo: int, hi: int, i: int) -> bytearray:
        """Insert pair (lo < hi) at position i found by `find`, its record zeroed (not marked
        changed: the caller writes it); returns lo's records, the pair's at i * REC."""
        ups = self.up[lo]
        recs = self.recs[lo]
        if ups is None or recs is None:
            ups = self.up[lo] = array("I")
            recs = self.recs[lo] = bytearray()
        ups.insert(i, hi)
        recs[i * REC : i * REC] = _ZERO_REC
        down = self.down[hi]
        if down is None:
            down = self.down[hi] = array("I")
        down.insert(bisect_left(down, lo), lo)
        self.npairs += 1
        return recs

    def partners(self, a: int) -> list[int]:
        """Indexes of everyone a has a pair with."""
        return [*(self.down[a] or ()), *(self.up[a] or ())]

    def iter_pairs(self) -> Iterator[tuple[int, int, bytes]]:
        """Every pair as (lo index, hi index, record)."""
        for lo, ups in enumerate(self.up):
            if ups:
                yield from ((lo, hi, raw) for hi, raw in zip(ups, self._records(lo), strict=True))

    def records_above(self, lo: int) -> list[tuple[int, bytes]]:
        """(partner index, record) of every pair of lo with a partner above lo."""
        return list(zip(self.up[lo] or (), self._records(lo), strict=True))

    def pairs_among(
        self, inside: set[int], lows: Iterable[int] | None = None
    ) -> Iterator[tuple[int, int, bytearray, int]]:
        """Every pair of two members of `inside` (indexes), once, as (lo, hi, lo's records,
        the pair's offset in them), or only those whose lower index is in `lows`: no copy of
        a record, and only the pairs asked for."""
        up, recs = self.up, self.recs
        for lo in inside if lows is None else lows:
            ups, buf = up[lo], recs[lo]
            if not ups or buf is None:
                continue
            for hi in inside.intersection(ups):
                yield lo, hi, buf, bisect_left(ups, hi) * REC

    def _records(self, lo: int) -> Iterator[bytes]:
        """lo's records, one bytes each, in up[lo]'s order."""
        return (raw for (raw,) in _ONE_REC.iter_unpack(self.recs[lo] or b""))

    def drop_pair(self, a: int, b: int) -> None:
        """Remove pair {a, b} (indexes, either order)."""
        lo, hi = (a, b) if a < b else (b, a)
        i, raw = self.find(lo, hi)
        if raw is None:
            return
        ups, recs = self.up[lo], self.recs[lo]
        assert ups is not None  # the pair was found in them
        assert recs is not None
        del ups[i]
        del recs[i * REC : i * REC + REC]
        down = self.down[hi]
        del down[bisect_left(down, lo)]  # type: ignore[arg-type, union-attr]
        self.npairs -= 1
        self.d_pairs.append(lo << SHIFT | hi)

    def segment(self, day: int) -> Period:
        """The counters of the week-in-month a UTC day falls in (cached: events cluster)."""
        if day != self.pday:
            week, month, _, _ = _pairs.day_info(day)
            key = f"{week}/{month}"
            seg = self.periods.get(key)
            if seg is None:
                seg = self.periods[key] = Period(week, month, self.board_fresh)
            self.pseg, self.pday = seg, day
        return self.pseg

    def cover(self, mchan: int, lo: int, hi: int) -> None:
        """Add message ids lo..hi to the channel's recorded intervals, merging overlaps."""
        merged: list[list[int]] = []
        for r in sorted([*self.cov.get(mchan, []), [lo, hi]]):
            if merged and r[0] <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], r[1])
            else:
                merged.append(list(r))
        self.cov[mchan] = merged
        self.d_cov.add(mchan)

    # ---- persistence -------------------------------------------------------------------

    async def load(self, store: Store) -> None:
        """Fill this (empty) guild from its store documents."""
        # A million short-lived documents set off full collections over everything the
        # process holds (over 2 s of a million-pair load, measured); they die by refcount.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            await self._load(store)
        finally:
            if was_enabled:
                gc.enable()

    async def _load(self, store: Store) -> None:
        g = self.id
        older = array("Q")  # member ids of pairs stored in an older form, two by two
        # The pairs are sorted in a thread while the other tables load on the loop.
        sorting = await self._read_pairs(_pair_rows(store.stream_records("pairs", g), older))
        async for batch in _batches(store.stream("members", g)):
            for key, doc in batch:
                m = self.members[self.canon(int(key))] = Member()
                m.left = bool(doc.get("left"))
                m.last_share = doc.get("share", 0)
                m.channels = bytearray(b"".join(CHANNEL.pack(*c) for c in doc.get("ch", [])))
                m.cadence = dict(doc["cad"]) if doc.get("cad") else None
        async for batch in _batches(store.stream("pending", g)):
            for key, doc in batch:
                self.pending[self.canon(int(key))] = bytearray(
                    b"".join(PENDING.pack(*it) for it in doc["items"])
                )
        async for batch in _batches(store.stream("newcomers", g)):
            for key, doc in batch:
                first = [list(f) for f in doc["first"]]
                self.newcomers[self.canon(int(key))] = [doc["joined"], first, set(doc["by"])]
        old_periods = await self._load_periods(store.stream_records("periods", g))
        if sorting is not None:
            await self._place_pairs(await sorting)
        async for batch in _batches(store.stream("coverage", g)):
            for key, doc in batch:
                self.cov[int(key)] = [list(r) for r in doc["r"]]
        totals = (await store.load("totals", g)).get("ledger")
        if totals:
            self.total = totals["interactions"]
            self.latest = totals.get("latest", 0)
        # Reading what is stored is not a change: nothing loaded needs writing back, except
        # pairs stored in an older form (rewritten once as record documents, which load faster).
        self.d_pairs = array("Q")
        if older:
            log.info("guild %s: %d pairs in an older stored form, rewritten", g, len(older) // 2)
            idx = self.idx
            for i in range(0, len(older), 2):
                x, y = idx[older[i]], idx[older[i + 1]]
                self.d_pairs.append(x << SHIFT | y if x < y else y << SHIFT | x)
        if old_periods:
            log.info("guild %s: %d period rows in an older stored form, rewritten", g, old_periods)
            for period, per in self.periods.items():
                self.d_periods.update((period, mid) for mid in per.slots)

    async def _load_periods(self, chunks: AsyncIterator[list[tuple[str, Any]] | Records]) -> int:
        """Fill the period rows from their stored records; how many came in an older form.

        Stored rows are grouped by segment in numpy (in a thread), then each segment takes its
        rows in slices: one dict update and one array append a slice, not a step per row.
        """
        periods, idx, ids = self.periods, self.idx, self.ids
        parts = []
        older = 0
        async for chunk in chunks:
            if isinstance(chunk, Records):
                if chunk.width != PERIOD_ROW.size:
                    raise ValueError(f"period rows of {chunk.width} bytes, not {PERIOD_ROW.size}")
                parts.append(np.frombuffer(chunk.data, dtype=_PERIOD_ROW))
                continue
            for start in range(0, len(chunk), LOAD_BATCH):
                for key, doc in chunk[start : start + LOAD_BATCH]:
                    segment, member_key = key.rsplit("/", 1)
                    per = periods.get(segment)
                    if per is None:
                        week, month = segment.split("/")
                        per = periods[segment] = Period(week, month, self.board_fresh)
                    mid = int(member_key)
                    i = idx.get(mid)
                    per.set_row(self.canon(mid) if i is None else ids[i], doc["c"])
                    older += 1
                await asyncio.sleep(0)
        if not parts:
            return older
        plan = await asyncio.to_thread(_period_plan, parts)
        del parts
        canon: dict[int, int] = {}
        people = plan.people.tolist()
        for start in range(0, len(people), LOAD_BATCH):
            for mid in people[start : start + LOAD_BATCH]:
                i = idx.get(mid)
                canon[mid] = self.canon(mid) if i is None else ids[i]
            await asyncio.sleep(0)
        counters = plan.counters.data.cast("B")
        at = plan.at.tolist()
        for n, number in enumerate(plan.segments.tolist()):
            week = _pairs.period_key(True, number & 0xFFFFFFFF)
            month = _pairs.period_key(False, number >> 32)
            per = periods.get(f"{week}/{month}")
            if per is None:
                per = periods[f"{week}/{month}"] = Period(week, month, self.board_fresh)
            for start in range(at[n], at[n + 1], 4 * LOAD_BATCH):
                end = min(start + 4 * LOAD_BATCH, at[n + 1])
                members = list(map(canon.__getitem__, plan.members[start:end].tolist()))
                rows_bytes = counters[4 * NF * start : 4 * NF * end]
                if per.slots.keys().isdisjoint(members):
                    base = len(per.counts)
                    per.slots.update(
                        zip(members, range(base, base + NF * len(members), NF), strict=True)
                    )
                    per.counts.frombytes(rows_bytes)
                else:  # rows already there (stored in an older form too): replaced one by one
                    for i, member in enumerate(members):
                        per.set_row(member, rows_bytes[4 * NF * i : 4 * NF * (i + 1)].cast("I"))
                await asyncio.sleep(0)
        return older

    async def _read_pairs(self, chunks: AsyncIterator[bytes]) -> asyncio.Future[_PairPlan] | None:
        """Read the stored pairs (STORED rows, as they stream in) and index their members;
        returns their sorting, under way in a thread, for `_place_pairs` (None: no pairs).

        Into an empty guild (every load) the rows are sorted by member index in numpy, in a
        thread that holds no GIL while it sorts and gathers, then cut into each member's arrays:
        a Python step per member, not per pair (a step per pair was most of a big guild's load).
        """
        if self.npairs:  # not the empty guild load expects: add the pairs one at a time
            async for chunk in chunks:
                for id_a, id_b, record in STORED.iter_unpack(chunk):
                    x, y = self.index(id_a), self.index(id_b)
                    lo, hi = (x, y) if x < y else (y, x)
                    i, raw = self.find(lo, hi)
                    self.put_pair(lo, hi, i, record, raw is None)
            return None
        # Kept as they came (one growing buffer was a copy of up to 50 MB when it moved).
        parts = [np.frombuffer(chunk, dtype=_STORED_ROW) async for chunk in chunks if chunk]
        if not parts:
            return None
        people, where = await asyncio.to_thread(_members_of, parts)
        ranks = await self._index_all(people)
        # The plan holds the records it needs, sorted: the stored rows go when it returns.
        return asyncio.ensure_future(
            asyncio.to_thread(_pair_plan, parts, where, ranks, len(self.ids))
        )

    async def _place_pairs(self, plan: _PairPlan) -> None:
        """Cut the sorted pairs into each member's arrays, a few thousand pairs a step."""
        up, recs, down = self.up, self.recs, self.down
        his, his_at = plan.his.data.cast("B"), plan.his_at.tolist()
        records = plan.records.data.cast("B")
        los, los_at = plan.los.data.cast("B"), plan.los_at.tolist()
        done = 0
        for i in range(len(his_at) - 1):
            start, end = his_at[i], his_at[i + 1]
            if start != end:
                ups = up[i] = array("I")
                ups.frombytes(his[4 * start : 4 * end])
                recs[i] = bytearray(records[REC * start : REC * end])
                done += end - start
            start, end = los_at[i], los_at[i + 1]
            if start != end:
                downs = down[i] = array("I")
                downs.frombytes(los[4 * start : 4 * end])
            if done >= BUILD_BATCH:
                done = 0
                await asyncio.sleep(0)
        self.npairs += len(plan.his)
        await asyncio.sleep(0)

    async def _index_all(self, people: Any) -> Any:
        """Indexes for the sorted member ids ``people`` (a numpy array): None when they are
        0..n-1 (an empty guild: indexes assigned in id order), else an array of them."""
        found = people.tolist()
        if not self.ids:
            if len(found) > MASK + 1:
                raise OverflowError("more than 2**30 members in one guild")
            for start in range(0, len(found), 4 * LOAD_BATCH):
                part = found[start : start + 4 * LOAD_BATCH]
                self.idx.update(zip(part, range(start, start + len(part)), strict=True))
                self.ids.extend(part)
                await asyncio.sleep(0)
            for side in (self.up, self.recs, self.down):
                side.extend(itertools.repeat(None, len(found)))
            return None
        out = []
        for start in range(0, len(found), LOAD_BATCH):
            out += [self.index(m) for m in found[start : start + LOAD_BATCH]]
            await asyncio.sleep(0)
        return np.array(out, dtype=np.uint32)

    def stage(self, store: Store) -> int:
        """Put every changed document into the store; how many were put or deleted."""
        g, n = self.id, 0
        changed = set(self.d_pairs)
        for key in changed:
            x, y = key >> SHIFT, key & MASK
            raw = self.find(x, y)[1]
            a, b = sorted((self.ids[x], self.ids[y]))  # documents are keyed by member ids
            if raw is None:
                store.delete("pairs", g, f"{a}:{b}")
            else:
                store.put("pairs", g, f"{a}:{b}", {"r": pair_text(STORED.pack(a, b, raw))})
        n += len(changed)
        self.d_pairs = array("Q")
        for mid in self.d_members:
            m = self.members.get(mid)
            if m is None or m.empty():
                store.delete("members", g, str(mid))
            else:
                store.put("members", g, str(mid), member_doc(m))
        n += len(self.d_members)
        for mid in self.d_pending:
            items = self.pending.get(mid)
            if items:
                doc = {"items": [list(it) for it in pending_items(items)]}
                store.put("pending", g, str(mid), doc)
            else:
                store.delete("pending", g, str(mid))
        n += len(self.d_pending)
        for mid in self.d_newcomers:
            rec = self.newcomers.get(mid)
            if rec is None:
                store.delete("newcomers", g, str(mid))
            else:
                doc = {"joined": rec[0], "first": [list(f) for f in rec[1]], "by": sorted(rec[2])}
                store.put("newcomers", g, str(mid), doc)
        n += len(self.d_newcomers)
        for period, table in self.periods.items():
            self.d_periods.update((period, mid) for mid in table.dirty)
            table.dirty.clear()
        numbers: dict[str, tuple[int, int]] = {}
        for period, mid in self.d_periods:
            per = self.periods.get(period)
            row = None if per is None else per.row(mid)
            if row is None:
                store.delete("periods", g, f"{period}/{mid}")
                continue
            assert per is not None  # it has the row
            number = numbers.get(period)
            if number is None:
                number = numbers[period] = (
                    _pairs.period_number(per.week)[1],
                    _pairs.period_number(per.month)[1],
                )
            record = PERIOD_ROW.pack(mid, *number, *row)
            store.put("periods", g, f"{period}/{mid}", {"r": pair_text(record)})
        n += len(self.d_periods)
        for ch in self.d_cov:
            ranges = self.cov.get(ch)
            if ranges:
                store.put("coverage", g, str(ch), {"r": [list(r) for r in ranges]})
            else:
                store.delete("coverage", g, str(ch))
        n += len(self.d_cov)
        if self.d_totals:
            store.put("totals", g, "ledger", {"interactions": self.total, "latest": self.latest})
            n += 1
        for dirty in (
            self.d_members,
            self.d_pending,
            self.d_newcomers,
            self.d_periods,
            self.d_cov,
        ):
            dirty.clear()
        self.d_totals = False
        return n


async def _batches(
    chunks: AsyncIterator[list[tuple[str, Any]]],
) -> AsyncIterator[list[tuple[str, Any]]]:
    """Stored documents LOAD_BATCH at most at a time, handing the event loop back in between."""
    async for chunk in chunks:
        if len(chunk) <= LOAD_BATCH:
            yield chunk
            await asyncio.sleep(0)
            continue
        for start in range(0, len(chunk), LOAD_BATCH):
            yield chunk[start : start + LOAD_BATCH]
            await asyncio.sleep(0)


async def _pair_rows(
    chunks: AsyncIterator[list[tuple[str, Any]] | Records], older: array[int]
) -> AsyncIterator[bytes]:
    """Stored pairs as STORED rows (member id, member id, record), a chunk at a time; the ids
    of pairs stored in an older form go to ``older``."""
    async for chunk in chunks:
        if isinstance(chunk, Records):
            data = chunk.data
            if chunk.width == _OLD_STORED.size:  # before the answer counts: none yet
                pad, w = bytes(STORED.size - _OLD_STORED.size), _OLD_STORED.size
                yield b"".join([data[i : i + w] + pad for i in range(0, len(data), w)])
            elif chunk.width == STORED.size:
                yield data
            else:
                raise ValueError(f"pair records of {chunk.width} bytes, expected {STORED.size}")
            continue
        for start in range(0, len(chunk), LOAD_BATCH):
            rows = [(d["a"], d["b"], record_of(d)) for _, d in chunk[start : start + LOAD_BATCH]]
            for a, b, _ in rows:
                older += array("Q", (a, b))
            yield b"".join([STORED.pack(*row) for row in rows])
            await asyncio.sleep(0)


# A STORED row as numpy reads it (no padding: the record is raw bytes).
_STORED_ROW = np.dtype([("a", "<u8"), ("b", "<u8"), ("r", f"V{REC}")])


def _members_of(parts: list[Any]) -> tuple[Any, Any]:
    """Every member id in the stored rows, sorted, once; and each row's two members as
    positions in it, every a then every b. Run in a thread: numpy sorts without the GIL."""
    return _distinct(np.concatenate([p["a"] for p in parts] + [p["b"] for p in parts]))


def _distinct(ids: Any) -> tuple[Any, Any]:
    """The distinct values of ``ids``, sorted, and each one's position among them.

    np.unique, but made of steps that release the GIL (numpy 2's unique held it for up to
    a quarter of a second on two million ids, a stall of the event loop beside its thread).
    """
    order = np.argsort(ids)
    values = ids[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = values[1:] != values[:-1]
    # Counted as uint64, not summed as bools: the cast inside a bool cumsum holds the GIL (a
    # 40 ms stall of the loop in about half the starts at a million pairs, measured).
    ranks = first.astype(np.uint64)
    np.cumsum(ranks, out=ranks)
    ranks -= np.uint64(1)
    where = np.empty(len(ids), dtype=np.uint64)
    where[order] = ranks
    return values[first], where


# A PERIOD_ROW as numpy reads it: member id, week | month << 32, the counters.
_PERIOD_ROW = np.dtype([("m", "<u8"), ("s", "<u8"), ("c", "<u4", (NF,))])


class _PeriodPlan(NamedTuple):
    """Stored period rows grouped by segment: segments[n]'s rows are at[n]:at[n + 1] of
    ``members`` (ids) and ``counters`` (NF native uint32 each)."""

    segments: Any
    at: Any
    members: Any
    counters: Any
    people: Any  # every member id once, sorted


def _period_plan(parts: list[Any]) -> _PeriodPlan:
    """Group stored period rows by segment, member ids in order, a later row for a
    (segment, member) winning; run in a thread (numpy sorts without the GIL)."""
    stored = np.concatenate(parts)
    segment, member = stored["s"], stored["m"]
    order = np.lexsort((member, segment))  # stable: a later row stays after an earlier one
    segment, member = segment[order], member[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (segment[1:] != segment[:-1]) | (member[1:] != member[:-1])
    order, segment, member = order[last], segment[last], member[last]
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    return _PeriodPlan(
        segments=segment[starts],
        at=np.r_[starts, len(segment)],
        members=member,
        counters=np.ascontiguousarray(stored["c"][order], dtype=np.uint32),
        people=_distinct(member)[0],
    )


class _PairPlan(NamedTuple):
    """The stored pairs sorted the way a guild keeps them, as flat arrays cut per member.

    his[his_at[lo]:his_at[lo + 1]] are lo's partners above lo, in order, and the same slice
    of ``records`` (REC bytes each) their records; los[los_at[hi]:los_at[hi + 1]] the
    partners below hi.
    """

    his: Any
    his_at: Any
    records: Any
    los: Any
    los_at: Any


def _pair_plan(parts: list[Any], where: Any, ranks: Any, members: int) -> _PairPlan:
    """Sort the stored rows by (lo index, hi index), a later row for a pair winning; run in a
    thread (numpy's sorts and gathers release the GIL). ``where``: `_members_of`'s positions,
    ``ranks`` the index of each position (None: the position is the index)."""
    if ranks is not None:
        where = ranks[where].astype(np.uint64)
    n = len(where) // 2
    a, b = where[:n], where[n:]
    pairs = np.minimum(a, b) << np.uint64(32) | np.maximum(a, b)
    order = np.argsort(pairs)
    key = pairs[order]
    last = np.ones(len(key), dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    if not last.all():  # a pair stored twice (never written so): the later row wins
        order = np.argsort(pairs, kind="stable")
        key = pairs[order]
        last[:-1] = key[1:] != key[:-1]
        order, key = order[last], key[last]
    lo = (key >> np.uint64(32)).astype(np.uint32)
    hi = (key & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    everyone = np.arange(members + 1)
    by_hi = np.argsort(hi.astype(np.uint64) << np.uint64(32) | lo)
    # Each stored row's record goes to its sorted place, a part at a time; whole rows are
    # moved with the ids cut off (a numpy "void" field of 173 bytes moved 6 times slower).
    to = np.full(n, -1, dtype=np.intp)
    to[order] = np.arange(len(order))
    records = np.empty((len(order), REC), dtype=np.uint8)
    start = 0
    for part in parts:
        end = start + len(part)
        rows, places = part.view(np.uint8).reshape(-1, STORED.size)[:, 16:], to[start:end]
        kept = places >= 0
        records[places[kept]] = rows[kept]
        start = end
    return _PairPlan(
        his=hi,
        his_at=np.searchsorted(lo, everyone),
        records=records.reshape(-1),
        los=lo[by_hi],
        los_at=np.searchsorted(hi[by_hi], everyone),
    )


def pair_text(raw: bytes) -> str:
    """Bytes as the base64 text a document stores."""
    return b2a_base64(raw, newline=False).decode()


def record_of(doc: dict[str, Any]) -> bytes:
    """The packed record of a stored pair document (base64 "r", or the older "v" field list)."""
    r = doc.get("r")
    if r is not None:
        if len(r) == _B64_LEN:
            return a2b_base64(r)
        if len(r) == _OLD_B64_LEN:  # stored before the answer counts: none yet
            return a2b_base64(r)[: _pairs.OLD_SIZE] + bytes(_pairs.RECORD.size - _pairs.OLD_SIZE)
        raise ValueError(f"a pair record of {len(r)} characters, expected {_B64_LEN}")
    return _pairs.from_doc(doc["v"])


_B64_LEN = (_pairs.RECORD.size + 2) // 3 * 4
_OLD_B64_LEN = (_pairs.OLD_SIZE + 2) // 3 * 4


def member_doc(m: Member) -> dict[str, Any]:
    """A member record as a JSON document."""
    return {
        "left": int(m.left),
        "share": m.last_share,
        "ch": sorted(list(r) for r in m.channel_rows()),
        "cad": sorted([o, s] for o, s in (m.cadence or {}).items()),
    }
