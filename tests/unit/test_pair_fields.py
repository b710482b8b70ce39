"""The pair record's field-level writes give exactly what rewriting the whole record gave.

`bump_into` reads and writes only the fields an interaction touches, in place at an offset of
a member's packed records. The reference below is the whole-record version it replaced
(unpack all 57 fields, change them in a list, pack them all): any divergence, in any field,
on any sequence of interactions, fails here.
"""

from __future__ import annotations

import random
from bisect import insort
from typing import Any

import pytest

from rapport.tracking import _answers, _pairs
from rapport.tracking._pairs import (
    CAPPED,
    CDAYS,
    COUNT_MAX,
    COUNTED,
    COUNTS,
    DAY,
    DAYS,
    DAYS_MAX,
    DIR,
    EMPTY,
    FIRST,
    GCNT,
    GDAY,
    LAST,
    LCHAN,
    LMSG,
    NDAYS,
    OLDER_DAY,
    REACT,
    RECORD,
    RING,
    STARTS,
    STARTS_MAX,
    TCNT,
    W0,
    W1,
    WREF,
    XDAY,
    mark_given,
)

T0 = 1_790_000_000
HALF_LIFE = 30 * 86400.0


def _whole_add_day(v: list[Any], day: int) -> None:
    """Count a contact day once; a burst on one day is one day."""
    n = v[NDAYS]
    if n:
        newest = v[DAYS + n - 1]
        if day == newest:
            return  # the common case: another message today
        if day > newest:
            if v[CDAYS] < DAYS_MAX:
                v[CDAYS] += 1
            if n < RING:
                v[DAYS + n] = day
                v[NDAYS] = n + 1
            else:
                v[DAYS : DAYS + RING - 1] = v[DAYS + 1 : DAYS + RING]
                v[DAYS + RING - 1] = day
            return
    days = v[DAYS : DAYS + n]
    if day in days or day == v[XDAY]:
        return
    if v[CDAYS] < DAYS_MAX:
        v[CDAYS] += 1
    if n < RING:
        insort(days, day)
        v[DAYS : DAYS + n + 1] = days
        v[NDAYS] = n + 1
    elif day > days[0]:
        del days[0]
        insort(days, day)
        v[DAYS : DAYS + RING] = days
    else:
        # Older than the whole ring (history read newest-first): remember it so the rest of
        # that day's burst is not counted again.
        v[XDAY] = day


def _whole_bump(
    raw: bytes | None,
    d: int,
    kind: int,
    t: int,
    message_id: int,
    channel_id: int,
    weight: float,
    half_life: float,
    cap: int,
) -> tuple[bytes, int, int, bool, bool]:
    """One interaction in direction `d` (0 or DIR) of count index `kind` (2 = reaction).

    Returns the new record, the last time anything went the other way before it, the cap
    verdict (CAPPED, COUNTED or OLDER_DAY for the caller to settle), and whether the
    direction is new to the week and the month (only when COUNTED and not thanks).
    """
    v = list(EMPTY if raw is None else RECORD.unpack(raw))
    e = DIR - d
    back = v[LAST + e]
    if v[REACT + e] > back:
        back = v[REACT + e]
    c = COUNTS + kind + d
    if v[c] < COUNT_MAX[kind]:
        v[c] += 1
    verdict, new_week, new_month = CAPPED, False, False
    if kind == 2:
        if t > v[REACT + d]:
            v[REACT + d] = t
    else:
        prev, other = v[LAST], v[LAST + DIR]
        if other > prev:
            prev = other
        if v[FIRST + d] == 0 or t < v[FIRST + d]:
            v[FIRST + d] = t
        if t > v[LAST + d]:
            v[LAST + d] = t
        # An exchange starts with the first contact after a day of silence either way.
        if t > prev and (prev == 0 or t - prev >= DAY) and v[STARTS + d] < STARTS_MAX:
            v[STARTS + d] += 1
        if t >= prev and message_id:  # 0: a thanks with no message of its own keeps the link
            v[LMSG] = message_id
            v[LCHAN] = channel_id
        day = t // DAY
        n = v[NDAYS]
        if not n or v[DAYS + n - 1] != day:  # another message today changes nothing
            _whole_add_day(v, day)
        slot = TCNT + d if kind == 4 else GCNT + d
        if day > v[GDAY + d]:
            v[GDAY + d] = day
            v[GCNT + d] = v[TCNT + d] = 0
        if day == v[GDAY + d]:
            if v[slot] < cap:
                v[slot] += 1
                verdict = COUNTED
                # The day's first give sets its week and month bits; later ones find them set.
                if kind != 4 and v[slot] == 1:
                    new_week, new_month = mark_given(v, d, day)
        else:
            verdict = OLDER_DAY
    ref = v[WREF]
    w = W0 if d == 0 else W1
    if t >= ref:
        if ref:
            f = 0.5 ** ((t - ref) / half_life)  # _decay, inlined: once per interaction
            v[W0] *= f
            v[W1] *= f
        v[WREF] = t
        v[w] += weight
    else:
        v[w] += weight * 0.5 ** ((ref - t) / half_life)
    return RECORD.pack(*v), back, verdict, new_week, new_month


def _whole_bump_older_day(raw: bytes, d: int, day: int) -> tuple[bytes, bool, bool]:
    """Settle a counted give on an older day: mark its week and month."""
    v = list(RECORD.unpack(raw))
    new_week, new_month = mark_given(v, d, day)
    return RECORD.pack(*v), new_week, new_month


def _steps(seed: int) -> list[tuple[Any, ...]]:
    """A random run of interactions on one pair: both directions, every kind, time going
    forward, back (history read late), across days and past the 16-day ring."""
    rng = random.Random(seed)
    t = T0 + rng.randrange(10**6)
    out = []
    for _ in range(rng.randrange(1, 80)):
        jump = rng.choice((0, 5, 3600, DAY, 3 * DAY, -DAY, -3600, -40 * DAY, 20 * DAY))
        at = t + jump + rng.randrange(100)
        if rng.random() < 0.7:
            t = at
        out.append(
            (
                rng.choice((0, DIR)),
                rng.randrange(5),
                at,
                rng.choice((0, rng.randrange(1, 2**62))),
                rng.randrange(1, 2**62),
                rng.choice((1.0, 0.25, 0.5)),
                HALF_LIFE,
                rng.choice((0, 1, 3)),
                rng.random() < 0.1,  # then settle an older day, as the ledger does
                at // DAY - rng.randrange(60),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(300))
def test_field_level_bump_matches_rewriting_the_whole_record(seed: int) -> None:
    """Every field, after every step, is what the whole-record bump gives; neighbours in
    the same buffer are untouched."""
    slow: bytes | None = None
    row = bytearray(b"\xaa" * RECORD.size * 3)  # the pair sits between two other records
    o = RECORD.size
    row[o : o + RECORD.size] = bytes(RECORD.size)
    for d, kind, at, message, channel, weight, half_life, cap, older, day in _steps(seed):
        slow, *expected = _whole_bump(slow, d, kind, at, message, channel, weight, half_life, cap)
        got = _pairs.bump_into(row, o, d, kind, at, message, channel, weight, half_life, cap)
        assert list(got) == expected
        assert bytes(row[o : o + RECORD.size]) == slow
        if older:
            slow, *marks = _whole_bump_older_day(slow, d, day)
            assert list(_pairs.mark_older_day(row, o, d, day)) == marks
            assert bytes(row[o : o + RECORD.size]) == slow
        assert row[:o] == b"\xaa" * o
        assert row[o + RECORD.size :] == b"\xaa" * RECORD.size


def _whole_count(raw: bytes, d: int, slot: int, step: int) -> bytes:
    """One answer count of side d moved by step, rewriting the side's 8 counts whole: halved
    first when that count is full, never below zero."""
    start = _answers.OFFSET + (_answers.SIDE if d else 0)
    side = list(raw[start : start + _answers.SIDE])
    if step > 0 and side[slot] >= 255:
        side = [c // 2 for c in side]
    side[slot] = max(0, side[slot] + step)
    return raw[:start] + bytes(side) + raw[start + _answers.SIDE :]


@pytest.mark.parametrize("d", [0, DIR])
def test_answer_counts_written_in_place_match_rewriting_the_side(d: int) -> None:
    """owe_into, unowe_into and answer_into change only their side's counts, as rewriting the
    side whole does, halving included, and never below zero."""
    row = bytearray(b"\x01" + bytes(RECORD.size) + b"\x02")
    _pairs.bump_into(row, 1, 0, 0, T0, 1, 1, 1.0, HALF_LIFE, 3)
    raw = bytes(row[1:-1])
    for n in range(700):
        if n % 7 == 6:
            raw = _whole_count(raw, d, 0, -1)
            _answers.unowe_into(row, 1, d)
        elif n % 3:
            raw = _whole_count(raw, d, 0, 1)
            _answers.owe_into(row, 1, d)
        else:
            raw = _whole_count(raw, d, 1 + _answers.bucket(n * 97), 1)
            _answers.answer_into(row, 1, d, n * 97)
        assert bytes(row[1:-1]) == raw
    assert (row[0], row[-1]) == (1, 2)
    assert _answers.side(raw, d)[0] < 255  # the side was halved on the way
    assert _answers.side(raw, DIR - d) == (0, (0,) * 7)
