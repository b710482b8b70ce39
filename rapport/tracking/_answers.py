"""How each side of a pair answers the other: the 16 bytes at the end of the pair record.

Per answering side, one byte counts the other's messages that called for an answer (a reply,
mention or thread answer that did not close an exchange, seen live), and seven bytes count
the ones answered, by how long the answer took (the buckets below). Answered means what
clears a pending item: a reply, mention, reaction or thread answer back, or a message in the
same channel within the answer window. Kept as small counts rather than a list of times so a
pair costs 16 bytes more, not hundreds (bytes_per_pair, issue 14); when a count reaches 255
the side's counts are halved, so the rate and the middle answer time lean to recent habits.
The answer time is known only as a bucket: a read says "1 to 4 hours", never a made-up minute.

The side is 0 when the answering member has the smaller id (as in the record's directions).
"""

from __future__ import annotations

from collections.abc import Callable

from rapport.tracking import _pairs
from rapport.tracking._state import SHIFT, Guild

COUNTED = 4
"""Pending-item flag: its ask was counted (it was seen live), so its answer counts too."""
SIDE = 8
SIZE = 2 * SIDE
OFFSET = _pairs.RECORD.size - SIZE
BUCKETS = (15 * 60, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400)
"""Upper bounds (seconds) of the first six answer-time buckets; the seventh is longer."""
FULL = 0xFF
_SIDE1 = OFFSET + SIDE  # where side DIR's counts start


def _bump_into(rec: bytearray, start: int, slot: int, step: int) -> None:
    """Move one count of the side at `start` by step, in place, halving the side first when
    that count is full."""
    i = start + slot
    n = rec[i]
    if step > 0 and n >= FULL:
        rec[start : start + SIDE] = bytes(c // 2 for c in rec[start : start + SIDE])
        n = rec[i]
    n += step
    rec[i] = n if n > 0 else 0


def bucket(seconds: int) -> int:
    """The answer-time bucket (0-6) of an answer that took so many seconds."""
    for i, bound in enumerate(BUCKETS):
        if seconds <= bound:
            return i
    return len(BUCKETS)


def owe_into(rec: bytearray, o: int, d: int) -> None:
    """Side d (the record's direction offset of the one who owes) was asked for an answer;
    in place on the record at offset `o` of `rec` (the ledger's hot path: no copy)."""
    i = o + (_SIDE1 if d else OFFSET)
    n = rec[i]
    if n < FULL:
        rec[i] = n + 1  # _bump_into's common case, inlined: once per reply or mention
    else:
        _bump_into(rec, i, 0, 1)


def unowe_into(rec: bytearray, o: int, d: int) -> None:
    """Take back one ask of side d (its message was deleted before an answer)."""
    _bump_into(rec, o + (_SIDE1 if d else OFFSET), 0, -1)


def answer_into(rec: bytearray, o: int, d: int, seconds: int) -> None:
    """Side d answered a message of the other's after so many seconds."""
    _bump_into(rec, o + (_SIDE1 if d else OFFSET), 1 + bucket(seconds), 1)


def side(raw: bytes, d: int) -> tuple[int, tuple[int, ...]]:
    """Side d's (asks, answers per time bucket)."""
    start = OFFSET + (SIDE if d else 0)
    counts = raw[start : start + SIDE]
    return counts[0], tuple(counts[1:])


def change(g: Guild, member: int, other: int, how: Callable[[bytearray, int, int], None]) -> None:
    """Apply how(records, offset, member's direction) in place to the pair of two member ids,
    if it exists (no copy of the record: this runs for answers in the flow of a channel)."""
    a, b = g.idx.get(member), g.idx.get(other)
    if a is None or b is None:
        return
    lo, hi = (a, b) if a < b else (b, a)
    i = g.locate(lo, hi)
    if i >= 0:
        how(g.recs[lo], i * _pairs.RECORD.size, g.direction(a, b))  # type: ignore[arg-type]
        g.d_pairs.append(lo << SHIFT | hi)


__all__ = [
    "BUCKETS",
    "COUNTED",
    "SIZE",
    "answer_into",
    "bucket",
    "change",
    "owe_into",
    "side",
    "unowe_into",
]
