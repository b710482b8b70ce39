"""One guild's in-memory ledger state and how it maps to store documents.

Kept apart from rapport/ledger.py (the rules) so the rules read without the bookkeeping.
Tables (all per guild, keys are strings):

- "pairs": "<lo id>:<hi id>" -> {"a": lo, "b": hi, "v": [packed record fields]}
- "members": "<id>" -> {"left": 0|1, "share": t, "ch": [[chan, last, msgs, shares, drawn]],
  "cad": [[other, seconds]]}
- "pending": "<id>" -> {"items": [[from, kind, message, channel, t, warm]]}  (packed in memory)
- "newcomers": "<id>" -> {"joined": t, "first": [[chan, message, t, thread]], "by": [ids]}
- "periods": "<week>/<month>/<id>" -> {"c": [given, new people in the week, in the month,
  inbound, answered, thanks, shares drew]}
- "coverage": "<message channel>" -> {"r": [[lo id, hi id]]}
- "totals": "ledger" -> {"interactions": n}
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from rapport import _pairs
from rapport.store.base import Store

SHIFT = 30
MASK = (1 << SHIFT) - 1

TABLES = ("pairs", "members", "pending", "newcomers", "periods", "coverage", "totals")

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A bounded map that forgets the oldest half at once: O(1), at most `limit` entries.

    Two generations instead of an LRU: no per-entry links, and eviction never scans.
    """

    __slots__ = ("half", "new", "old")

    def __init__(self, limit: int) -> None:
        self.half = max(1, limit // 2)
        self.new: dict[K, V] = {}
        self.old: dict[K, V] = {}

    def get(self, key: K, default: Any = None) -> Any:
        """The value, from either generation."""
        v = self.new.get(key)
        if v is None:
            v = self.old.get(key, default)
        return v

    def __setitem__(self, key: K, value: V) -> None:
        new = self.new
        if key not in new and len(new) >= self.half:
            self.old, self.new = new, {}
            new = self.new
        new[key] = value
        self.old.pop(key, None)

    def pop(self, key: K, default: Any = None) -> Any:
        """Remove a key from both generations."""
        v = self.new.pop(key, None)
        w = self.old.pop(key, None)
        return default if v is None and w is None else (v if v is not None else w)

    def __len__(self) -> int:
        return len(self.new) + len(self.old)

    def keep_if(self, keep: Callable[[K, V], bool]) -> None:
        """Drop every entry `keep` refuses (for forgetting a member)."""
        self.new = {k: v for k, v in self.new.items() if keep(k, v)}
        self.old = {k: v for k, v in self.old.items() if keep(k, v)}

    def update_values(self, fn: Callable[[V], V]) -> None:
        """Replace every value with fn(value)."""
        self.new = {k: fn(v) for k, v in self.new.items()}
        self.old = {k: fn(v) for k, v in self.old.items()}


# One pending item: from, kind index, message, message channel, time, warm. Packed so a
# member's items are one bytearray (~30 bytes an item) rather than lists of ints.
PENDING = struct.Struct("<QBQQIB")
_P = PENDING.size


def pending_items(buf: bytes | bytearray) -> Iterator[tuple[int, int, int, int, int, int]]:
    """The items of a packed pending buffer."""
    return PENDING.iter_unpack(buf)


def pending_add(
    buf: bytearray,
    other: int,
    kind: int,
    message: int,
    channel: int,
    t: int,
    warm: bool,
    limit: int,
) -> bool:
    """Add other's item unless that message already has one (then only warm it); True if new.

    Over `limit` the oldest item goes.
    """
    if other.to_bytes(8, "little") in buf:
        for i, it in enumerate(PENDING.iter_unpack(buf)):
            if it[0] == other and it[2] == message:
                if warm:
                    buf[i * _P + _P - 1] = 1
                return False
    buf += PENDING.pack(other, kind, message, channel, t, warm)
    if len(buf) > limit * _P:
        oldest = min(range(len(buf) // _P), key=lambda i: PENDING.unpack_from(buf, i * _P)[4])
        del buf[oldest * _P : oldest * _P + _P]
    return True


def pending_clear(buf: bytearray, other: int, t: int) -> list[tuple[int, ...]]:
    """Remove (in place) other's items not newer than t; returns the removed items."""
    needle = other.to_bytes(8, "little")
    gone = []
    i = buf.find(needle)
    while i != -1:
        if i % _P == 0:
            it = PENDING.unpack_from(buf, i)
            if it[4] <= t:
                gone.append(it)
                del buf[i : i + _P]
                i = buf.find(needle, i)
                continue
        i = buf.find(needle, i + 1)
    return gone


def pending_keep(buf: bytearray, drop: Any) -> tuple[bytearray, list[tuple[int, ...]]]:
    """Split a buffer into the items kept and the items `drop(item)` says go."""
    kept, gone = bytearray(), []
    for it in PENDING.iter_unpack(buf):
        if drop(it):
            gone.append(it)
        else:
            kept += PENDING.pack(*it)
    return kept, gone


# One channel of a member's activity: channel, last active, messages, shares, replies drawn.
CHANNEL = struct.Struct("<QIIII")
_C = CHANNEL.size


class Member:
    """Per-member activity: channels (packed), last share, left flag, cadence overrides."""

    __slots__ = ("cadence", "channels", "last_share", "left")

    def __init__(self) -> None:
        self.left = False
        self.last_share = 0
        self.channels = bytearray()
        self.cadence: dict[int, int] | None = None

    def empty(self) -> bool:
        """Nothing worth keeping."""
        return not (self.left or self.last_share or self.channels or self.cadence)

    def _find(self, channel: int) -> int:
        needle = channel.to_bytes(8, "little")
        i = self.channels.find(needle)
        while i != -1 and i % _C:
            i = self.channels.find(needle, i + 1)
        return i

    def touch(self, channel: int, t: int, messages: int, shares: int, drawn: int) -> bool:
        """Add to one channel's activity (created when new); False if the channel is unknown
        and nothing would be added but a time."""
        i = self._find(channel)
        if i == -1:
            if drawn and not (messages or shares):
                return False
            self.channels += CHANNEL.pack(channel, t, messages, shares, drawn)
            return True
        _, last, m, sh, dr = CHANNEL.unpack_from(self.channels, i)
        CHANNEL.pack_into(
            self.channels, i, channel, max(last, t), m + messages, sh + shares, dr + drawn
        )
        return True

    def channel_rows(self) -> list[tuple[int, int, int, int, int]]:
        """(channel, last active, messages, shares, replies drawn) per channel."""
        return list(CHANNEL.iter_unpack(self.channels))

    def drop_channels_before(self, cutoff: int) -> bool:
        """Forget channels idle since before cutoff; True if any went."""
        rows = self.channel_rows()
        keep = [r for r in rows if r[1] >= cutoff]
        if len(keep) == len(rows):
            return False
        self.channels = bytearray(b"".join(CHANNEL.pack(*r) for r in keep))
        return True


_ZEROS = array("I", bytes(28))
NF = 7  # fields per member row of a segment


class Period:
    """Leaderboard counters of one segment (a week within a month): a row per member.

    A row is given, new people this week, new people this month, inbound, answered,
    thanks, shares that drew a reply. A week or month is the sum of its segments, so an
    event updates one row rather than a week's and a month's.
    """

    __slots__ = ("counts", "dirty", "month", "slots", "week")

    def __init__(self, week: str, month: str) -> None:
        self.week, self.month = week, month
        self.slots: dict[int, int] = {}
        self.counts = array("I")
        self.dirty: set[int] = set()

    def slot(self, member_id: int) -> int:
        """The member's row offset (member_id should be the guild's canonical int)."""
        i = self.slots.get(member_id)
        if i is None:
            i = self.slots[member_id] = len(self.counts)
            self.counts.extend(_ZEROS)
        return i

    def add(self, member_id: int, field: int, n: int = 1) -> None:
        """Add to one counter."""
        self.counts[self.slot(member_id) + field] += n
        self.dirty.add(member_id)

    def row(self, member_id: int) -> list[int] | None:
        """The member's counters, or None."""
        i = self.slots.get(member_id)
        return None if i is None else self.counts[i : i + NF].tolist()

    def set_row(self, member_id: int, row: list[int]) -> None:
        """Replace the member's counters (loading)."""
        i = self.slot(member_id)
        self.counts[i : i + NF] = array("I", row)

    def drop(self, member_id: int) -> bool:
        """Remove the member's row; True if there was one."""
        i = self.slots.pop(member_id, None)
        if i is None:
            return False
        self.counts[i : i + NF] = _ZEROS
        self.dirty.discard(member_id)
        return True


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
        "id",
        "ids",
        "idx",
        "latest",
        "live",
        "members",
        "newcomers",
        "pairs",
        "partners",
        "pday",
        "pending",
        "periods",
        "pseg",
        "total",
    )

    def __init__(self, guild_id: int) -> None:
        self.id = guild_id
        self.ids: list[int] = []  # member index -> member id
        self.idx: dict[int, int] = {}  # member id -> member index
        self.pairs: dict[int, bytes] = {}  # lo index << SHIFT | hi index -> packed record
        self.partners: list[array] = []  # member index -> indexes of their pair partners
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
        self.d_pairs: set[int] = set()
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
            self.partners.append(array("I"))
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

    def pair_key(self, a: int, b: int) -> tuple[int, int]:
        """The pair's key and the direction offset of a -> b (indexes, not ids)."""
        if self.ids[a] < self.ids[b]:
            return a << SHIFT | b, 0
        return b << SHIFT | a, _pairs.DIR

    def dir_key(self, a: int, b: int) -> int:
        """A directed key for a -> b (indexes)."""
        return a << SHIFT | b

    def drop_pair(self, key: int) -> None:
        """Remove a pair and its partner links."""
        if self.pairs.pop(key, None) is None:
            return
        lo, hi = key >> SHIFT, key & MASK
        for x, y in ((lo, hi), (hi, lo)):
            arr = self.partners[x]
            if y in arr:
                arr.remove(y)
        self.d_pairs.add(key)

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

    # ---- persistence -------------------------------------------------------------------

    async def load(self, store: Store) -> None:
        """Fill this (empty) guild from its store documents."""
        g = self.id
        for doc in (await store.load("pairs", g)).values():
            a, b = self.index(doc["a"]), self.index(doc["b"])
            key, _ = self.pair_key(a, b)
            self.pairs[key] = _pairs.from_doc(doc["v"])
            self.partners[a].append(b)
            self.partners[b].append(a)
        for key, doc in (await store.load("members", g)).items():
            m = self.members[self.canon(int(key))] = Member()
            m.left = bool(doc.get("left"))
            m.last_share = doc.get("share", 0)
            m.channels = bytearray(b"".join(CHANNEL.pack(*c) for c in doc.get("ch", [])))
            m.cadence = dict(doc["cad"]) if doc.get("cad") else None
        for key, doc in (await store.load("pending", g)).items():
            self.pending[self.canon(int(key))] = bytearray(
                b"".join(PENDING.pack(*it) for it in doc["items"])
            )
        for key, doc in (await store.load("newcomers", g)).items():
            first = [list(f) for f in doc["first"]]
            self.newcomers[self.canon(int(key))] = [doc["joined"], first, set(doc["by"])]
        for key, doc in (await store.load("periods", g)).items():
            seg, member = key.rsplit("/", 1)
            per = self.periods.get(seg)
            if per is None:
                per = self.periods[seg] = Period(*seg.split("/"))
            per.set_row(self.canon(int(member)), doc["c"])
        for key, doc in (await store.load("coverage", g)).items():
            self.cov[int(key)] = [list(r) for r in doc["r"]]
        totals = (await store.load("totals", g)).get("ledger")
        if totals:
            self.total = totals["interactions"]
            self.latest = totals.get("latest", 0)

    def stage(self, store: Store) -> int:
        """Put every changed document into the store; how many were put or deleted."""
        g, n = self.id, 0
        for key in self.d_pairs:
            lo, hi = self.ids[key >> SHIFT], self.ids[key & MASK]
            raw = self.pairs.get(key)
            if raw is None:
                store.delete("pairs", g, f"{lo}:{hi}")
            else:
                store.put("pairs", g, f"{lo}:{hi}", {"a": lo, "b": hi, "v": _pairs.to_doc(raw)})
        n += len(self.d_pairs)
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
        for key, per in self.periods.items():
            self.d_periods.update((key, mid) for mid in per.dirty)
            per.dirty.clear()
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
            self.d_pairs,
            self.d_members,
            self.d_pending,
            self.d_newcomers,
            self.d_periods,
            self.d_cov,
        ):
            dirty.clear()
        self.d_totals = False
        return n


def member_doc(m: Member) -> dict[str, Any]:
    """A member record as a JSON document."""
    return {
        "left": int(m.left),
        "share": m.last_share,
        "ch": sorted(list(r) for r in m.channel_rows()),
        "cad": sorted([o, s] for o, s in (m.cadence or {}).items()),
    }
