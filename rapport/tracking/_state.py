"""One guild's in-memory ledger state and how it maps to store documents.

Kept apart from rapport/tracking/ledger.py (the rules) so the rules read without the bookkeeping.
Tables (all per guild, keys are strings):

- "pairs": "<lo id>:<hi id>" -> {"a": lo, "b": hi, "r": the packed record, base64}
  (before #14 "v": [packed record fields], still read: decoding 57 numbers and packing them
  cost ~2 µs a pair at load; a base64 string decodes straight to the record)
- "members": "<id>" -> {"left": 0|1, "share": t, "ch": [[chan, last, msgs, shares, drawn]],
  "cad": [[other, seconds]]}
- "pending": "<id>" -> {"items": [[from, kind, message, channel, t, warm]]}  (packed in memory)
- "newcomers": "<id>" -> {"joined": t, "first": [[chan, message, t, thread]], "by": [ids]}
- "periods": "<week>/<month>/<id>" -> {"c": [given, new people in the week, in the month,
  inbound, answered, thanks, shares drew]}
- "coverage": "<message channel>" -> {"r": [[lo id, hi id]]}
- "totals": "ledger" -> {"interactions": n}

Over 400 lines because the in-memory layout and its store documents change together: a field added
to one is added to the other, in the same screen.
"""

from __future__ import annotations

import asyncio
import gc
from array import array
from binascii import a2b_base64, b2a_base64
from bisect import bisect_left
from collections.abc import AsyncIterator, Iterator
from typing import Any

from rapport.store.base import Store
from rapport.tracking import _pairs
from rapport.tracking._records import CHANNEL, PENDING, Member, Period, pending_items

SHIFT = 30
MASK = (1 << SHIFT) - 1

# Documents (or pairs) between two yields to the event loop while loading: ~20 ms of work.
LOAD_BATCH = 10_000

TABLES = ("pairs", "members", "pending", "newcomers", "periods", "coverage", "totals")


class Guild:
    """Everything the ledger keeps for one guild, plus what changed since the last stage."""

    __slots__ = (
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
        # packed records in the same order; down[hi] lists the partners below hi.
        self.up: list[array[int] | None] = []
        self.recs: list[list[bytes] | None] = []
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
            return i, self.recs[lo][i]  # type: ignore[index]
        return i, None

    def get_pair(self, a: int, b: int) -> bytes | None:
        """The record of pair {a, b} (indexes, either order), or None."""
        return self.find(a, b)[1] if a < b else self.find(b, a)[1]

    def put_pair(self, lo: int, hi: int, i: int, raw: bytes, new: bool) -> None:
        """Store pair (lo < hi) at position i found by `find`, inserting it when new."""
        if new:
            ups = self.up[lo]
            if ups is None:
                ups = self.up[lo] = array("I")
                self.recs[lo] = []
            ups.insert(i, hi)
            self.recs[lo].insert(i, raw)  # type: ignore[union-attr]
            down = self.down[hi]
            if down is None:
                down = self.down[hi] = array("I")
            down.insert(bisect_left(down, lo), lo)
            self.npairs += 1
        else:
            self.recs[lo][i] = raw  # type: ignore[index]
        self.d_pairs.append(lo << SHIFT | hi)

    def partners(self, a: int) -> list[int]:
        """Indexes of everyone a has a pair with."""
        return [*(self.down[a] or ()), *(self.up[a] or ())]

    def iter_pairs(self) -> Iterator[tuple[int, int, bytes]]:
        """Every pair as (lo index, hi index, record)."""
        for lo, ups in enumerate(self.up):
            if ups:
                yield from ((lo, hi, raw) for hi, raw in zip(ups, self.recs[lo], strict=True))  # type: ignore[arg-type]

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
        del recs[i]
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
                seg = self.periods[key] = Period(week, month)
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
        await self._load_pairs(_batches(store.stream("pairs", g)))
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
        periods, idx, ids = self.periods, self.idx, self.ids
        async for batch in _batches(store.stream("periods", g)):
            for key, doc in batch:  # the most numerous table after pairs
                seg, member = key.rsplit("/", 1)
                per = periods.get(seg)
                if per is None:
                    per = periods[seg] = Period(*seg.split("/"))
                mid = int(member)
                i = idx.get(mid)
                per.set_row(self.canon(mid) if i is None else ids[i], doc["c"])
        async for batch in _batches(store.stream("coverage", g)):
            for key, doc in batch:
                self.cov[int(key)] = [list(r) for r in doc["r"]]
        totals = (await store.load("totals", g)).get("ledger")
        if totals:
            self.total = totals["interactions"]
            self.latest = totals.get("latest", 0)
        # Reading what is stored is not a change: nothing loaded needs writing back.
        self.d_pairs = array("Q")

    async def _load_pairs(self, chunks: AsyncIterator[list[tuple[str, Any]]]) -> None:
        """Build each member's pair arrays in one go from the stored pairs as they stream in: a
        bisect and an array insert per stored pair made up most of a big guild's load."""
        if self.npairs:  # not the empty guild load expects: add the pairs one at a time
            async for chunk in chunks:
                for _, doc in chunk:
                    a, b = self.index(doc["a"]), self.index(doc["b"])
                    lo, hi = (a, b) if a < b else (b, a)
                    i, raw = self.find(lo, hi)
                    self.put_pair(lo, hi, i, record_of(doc), raw is None)
            return
        idx, index = self.idx, self.index
        rows: list[dict[int, bytes] | None] = [None] * len(self.ids)  # lo -> {hi: record}
        async for chunk in chunks:
            for _, doc in chunk:
                found_a = idx.get(doc["a"])
                if found_a is None:
                    a = index(doc["a"])
                    rows.append(None)
                else:
                    a = found_a
                found_b = idx.get(doc["b"])
                if found_b is None:
                    b = index(doc["b"])
                    rows.append(None)
                else:
                    b = found_b
                lo, hi = (a, b) if a < b else (b, a)
                his = rows[lo]
                if his is None:
                    his = rows[lo] = {}
                his[hi] = record_of(doc)  # a later document for a pair wins
            del chunk
        up, recs, down = self.up, self.recs, self.down
        downs: list[list[int] | None] = [None] * len(rows)
        done = 0
        for lo, his in enumerate(rows):
            if his is not None:
                order = sorted(his)
                up[lo] = array("I", order)
                recs[lo] = [his[hi] for hi in order]
                rows[lo] = None
                for hi in order:
                    d = downs[hi]
                    if d is None:
                        downs[hi] = [lo]
                    else:
                        d.append(lo)  # lo only grows: each list comes out sorted
                self.npairs += len(order)
                done += len(order)
            below = downs[lo]
            if below is not None:  # complete: every lo up to this one has been through
                down[lo] = array("I", below)
                downs[lo] = None
            if done >= LOAD_BATCH:
                done = 0
                await asyncio.sleep(0)

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
                store.put("pairs", g, f"{a}:{b}", {"a": a, "b": b, "r": pair_text(raw)})
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
        for period, mid in self.d_periods:
            per = self.periods.get(period)
            row = None if per is None else per.row(mid)
            if row is None:
                store.delete("periods", g, f"{period}/{mid}")
            else:
                store.put("periods", g, f"{period}/{mid}", {"c": row})
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


def pair_text(raw: bytes) -> str:
    """A packed pair record as the base64 text its document stores."""
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
