"""Compact in-memory records the ledger keeps per guild: pending items, member activity,
leaderboard segments, and the bounded recent-message window.

Packed into bytes and arrays because a process holds every guild's members: a Python object
per item or counter would cost several times as much (see bench/ledger_memory.py).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

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


# One pending item: from, kind index, message, message channel, time, flags (1: a thanks, from
# data stored before thanks stopped owing answers; 2: an answer to the member's post). Packed so a
# member's items are one bytearray (~30 bytes an item) rather than lists of ints.
PENDING = struct.Struct("<QBQQIB")
_P = PENDING.size


def pending_items(buf: bytes | bytearray) -> Iterator[tuple[int, int, int, int, int, int]]:
    """The items of a packed pending buffer."""
    return PENDING.iter_unpack(buf)


_AT = struct.Struct("<I")
_AT_OFFSET = 25  # where the time sits inside an item
_MSG_OFFSET = 9  # where the message id sits inside an item
_CHAN_OFFSET = 17  # where the message channel sits inside an item


def pending_add(
    buf: bytearray,
    other: int,
    kind: int,
    message: int,
    channel: int,
    t: int,
    warm: int,
    limit: int,
) -> bool:
    """Add other's item unless that message already has one (then only warm it); True if new.

    Items stay in time order; over `limit` the oldest goes.
    """
    needle = message.to_bytes(8, "little")
    i = buf.find(needle)
    while i != -1:
        start = i - _MSG_OFFSET
        if start % _P == 0 and PENDING.unpack_from(buf, start)[0] == other:
            if warm:
                buf[start + _P - 1] |= warm
            return False
        i = buf.find(needle, i + 1)
    item = PENDING.pack(other, kind, message, channel, t, warm)
    end = len(buf)
    if end and _AT.unpack_from(buf, end - _P + _AT_OFFSET)[0] > t:
        # Out of order (history): walk back to the item's place.
        while end and _AT.unpack_from(buf, end - _P + _AT_OFFSET)[0] > t:
            end -= _P
        buf[end:end] = item
    else:
        buf += item
    if len(buf) > limit * _P:
        del buf[:_P]
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


def pending_clear_channel(
    buf: bytearray, channel: int, t: int, window: int
) -> list[tuple[int, ...]]:
    """The member wrote in `channel` at t: remove (in place) the items there it answers.

    Those within `window` before t, and answers to the member's own post at any time before
    t (they came back to it). Returns the removed items.
    """
    needle = channel.to_bytes(8, "little")
    gone = []
    i = buf.find(needle)
    while i != -1:
        start = i - _CHAN_OFFSET
        if start % _P == 0:
            it = PENDING.unpack_from(buf, start)
            if it[4] <= t and (t - it[4] <= window or it[5] & 2):
                gone.append(it)
                del buf[start : start + _P]
                i = buf.find(needle, start)
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
_LAST_MSGS = struct.Struct("<II")


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

    def posted(self, channel: int, t: int) -> None:
        """One message in a channel: the hot path of `touch` (two fields, no full repack)."""
        chans = self.channels
        needle = channel.to_bytes(8, "little")
        i = chans.find(needle)
        while i != -1 and i % _C:
            i = chans.find(needle, i + 1)
        if i == -1:
            chans += CHANNEL.pack(channel, t, 1, 0, 0)
            return
        last, n = _LAST_MSGS.unpack_from(chans, i + 8)
        _LAST_MSGS.pack_into(chans, i + 8, t if t > last else last, n + 1)

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

    __slots__ = ("counts", "dirty", "fresh", "month", "slots", "week")

    def __init__(self, week: str, month: str, fresh: set[int] | None = None) -> None:
        self.week, self.month = week, month
        self.slots: dict[int, int] = {}
        self.counts = array("I")
        self.dirty: set[int] = set()  # changed rows to stage
        # Changed rows the boards haven't seen: the guild's set, shared by its segments.
        self.fresh: set[int] = set() if fresh is None else fresh

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
        self.fresh.add(member_id)

    def row(self, member_id: int) -> list[int] | None:
        """The member's counters, or None."""
        i = self.slots.get(member_id)
        return None if i is None else self.counts[i : i + NF].tolist()

    def set_row(self, member_id: int, row: Sequence[int]) -> None:
        """Replace the member's counters (loading)."""
        i = self.slots.get(member_id)
        if i is None:  # the usual case when loading: a new row, without zeros to overwrite
            self.slots[member_id] = len(self.counts)
            self.counts.extend(row)
        else:
            self.counts[i : i + NF] = array("I", row)

    def drop(self, member_id: int) -> bool:
        """Remove the member's row; True if there was one."""
        i = self.slots.pop(member_id, None)
        if i is None:
            return False
        self.counts[i : i + NF] = _ZEROS
        self.dirty.discard(member_id)
        self.fresh.add(member_id)
        return True
