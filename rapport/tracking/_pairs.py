"""The packed pair record: 173 bytes per pair of members, back to back in a bytearray per member
(rapport/tracking/_state.py), written in place field by field (`bump_into`).

A record holds both directions of one unordered pair, direction 0 going from the smaller
member id to the larger. A Python object per field would cost about 1 kB a pair; packed, a
pair with its partner-array entries stays under 400 bytes, which bench/ledger_memory.py
measures. Times are epoch seconds (uint32); days are UTC day numbers since 1970 (uint16);
weeks are Monday-aligned week numbers since 1970 and months year*12+month-1.

Besides the history each direction carries the leaderboard's per-day cap state (today's
capped counts) and bitmasks of the last 64 weeks and 16 months in which it gave a reply,
mention or thread answer: exact "distinct people per period" and "who engaged with whom in
a period" in any replay order, without a per-period dict of pairs.

The last 16 bytes count how each side answers the other (rapport/tracking/_answers.py).
"""

from __future__ import annotations

import struct
from bisect import insort
from datetime import date
from functools import lru_cache
from itertools import pairwise
from typing import Any

# first, last, last reaction (I); replies, mentions (I); reactions, thread answers, thanks,
# exchange starts (H); cap day (H), capped gives and thanks that day (B); week top (H) and
# mask (Q); month top (H) and mask (H). After both directions: weights, contact days, last
# message, the day ring; then each side's answers (16B, read and written by _answers only).
_DIR_FMT = "3I2I4HHBBHQHH"
RECORD = struct.Struct("<" + _DIR_FMT * 2 + "2fIHQQBH16H16B")
OLD_SIZE = RECORD.size - 16  # records stored before the answer counts: read as none yet
DIR = 16  # fields per direction; direction 1 starts here
FIRST, LAST, REACT, COUNTS, STARTS = 0, 1, 2, 3, 8
GDAY, GCNT, TCNT, WTOP, WMASK, MTOP, MMASK = 9, 10, 11, 12, 13, 14, 15
W0, W1, WREF, CDAYS, LMSG, LCHAN, NDAYS, XDAY, DAYS = 32, 33, 34, 35, 36, 37, 38, 39, 40
RING = 16
DAY = 86400
COUNT_MAX = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF, 0xFFFF, 0xFFFF)
STARTS_MAX = 0xFFFF
DAYS_MAX = 0xFFFF
WEEK_BITS, MONTH_BITS = 64, 16

EMPTY: tuple[int | float, ...] = RECORD.unpack(bytes(RECORD.size))

# The record's parts, for field-level writes (bump_into): one direction's 16 fields (at 0 and
# _DIR_SIZE), a direction's last contact and last reaction, the shared head (weights, their
# reference time, contact days, last message and channel, ring length, older day), the ring.
_DIR = struct.Struct("<" + _DIR_FMT)
_DIR_SIZE = _DIR.size
_BACK = struct.Struct("<4x2I")
_HEAD = struct.Struct("<2fIHQQBH")
_AT_HEAD = 2 * _DIR_SIZE
_AT_RING = _AT_HEAD + _HEAD.size
_RING = struct.Struct(f"<{RING}H")
_DAY = struct.Struct("<H")
# A direction's week top and mask, month top and mask: its last four fields.
_PERIODS = struct.Struct("<HQHH")
_PERIOD_AT = (_DIR_SIZE - _PERIODS.size, 2 * _DIR_SIZE - _PERIODS.size)

# Both directions' last contact and the contact days, read straight from a packed record:
# a scan filters every pair on them and builds views only for the few that pass.
_AT_LAST1 = struct.calcsize("<" + _DIR_FMT + "I")
_AT_CDAYS = struct.calcsize("<" + _DIR_FMT * 2 + "2fI")
CONTACT = struct.Struct(f"<4xI{_AT_LAST1 - 8}xI{_AT_CDAYS - _AT_LAST1 - 4}xH")

# What bump_into says about the leaderboard cap for a reply, mention, thread answer or thanks.
CAPPED, COUNTED, OLDER_DAY = 0, 1, 2


@lru_cache(maxsize=8192)
def day_info(day: int) -> tuple[str, str, int, int]:
    """ISO week key, month key, week number and month number of a UTC day number."""
    d = date.fromordinal(day + 719163)
    year, week, _ = d.isocalendar()
    return (
        f"{year}-W{week:02d}",
        f"{d.year}-{d.month:02d}",
        (day + 3) // 7,
        d.year * 12 + d.month - 1,
    )


def period_number(period: str) -> tuple[bool, int]:
    """(is_week, number) of a period key, the numbering the masks use."""
    if "-W" in period:
        iso_year, iso_week = period.split("-W")
        day = date.fromisocalendar(int(iso_year), int(iso_week), 1).toordinal() - 719163
        return True, (day + 3) // 7
    year, month = (int(x) for x in period.split("-"))
    return False, year * 12 + month - 1


def period_key(is_week: bool, number: int) -> str:
    """The key ("2026-W48" or "2026-11") of a week or month number."""
    if is_week:
        return day_info(number * 7 - 3)[0]
    return f"{number // 12}-{number % 12 + 1:02d}"


def _decay(seconds: int, half_life: float) -> float:
    """The factor a weight keeps after `seconds` at the given half-life."""
    factor: float = 0.5 ** (seconds / half_life)
    return factor


def _add_day(s: list[Any], day: int) -> None:
    """Count a contact day once; a burst on one day is one day.

    `s` is the record's [contact days, ring length, older day, *the day ring] (see bump_into).
    """
    n = s[1]
    if n:
        newest = s[2 + n]
        if day == newest:
            return  # the common case: another message today
        if day > newest:
            if s[0] < DAYS_MAX:
                s[0] += 1
            if n < RING:
                s[3 + n] = day
                s[1] = n + 1
            else:
                s[3 : 3 + RING - 1] = s[4 : 3 + RING]
                s[2 + RING] = day
            return
    days = s[3 : 3 + n]
    if day in days or day == s[2]:
        return
    if s[0] < DAYS_MAX:
        s[0] += 1
    if n < RING:
        insort(days, day)
        s[3 : 3 + n + 1] = days
        s[1] = n + 1
    elif day > days[0]:
        del days[0]
        insort(days, day)
        s[3 : 3 + RING] = days
    else:
        # Older than the whole ring (history read newest-first): remember it so the rest of
        # that day's burst is not counted again.
        s[2] = day


def _mark(v: list[Any], top_i: int, mask_i: int, n: int, bits: int) -> bool:
    """Set period n in a (top, mask) window; True when it was not set before."""
    top, mask = v[top_i], v[mask_i]
    if top == 0 or n > top:
        shift = n - top if top else bits
        v[mask_i] = ((mask << shift) & ((1 << bits) - 1) if shift < bits else 0) | 1
        v[top_i] = n
        return True
    off = top - n
    if off >= bits:
        return True  # older than the window: cannot tell, count it
    if mask >> off & 1:
        return False
    v[mask_i] = mask | 1 << off
    return True


def gave_in(raw: bytes | bytearray, is_week: bool, n: int, offset: int = 0) -> int:
    """In how many directions (0 to 2) the packed record at `offset` of `raw` gave in period
    n: reads the two directions' period masks only (a team board asks it of every pair among
    its members, in place in the member's records)."""
    out = 0
    for at in _PERIOD_AT:
        wtop, wmask, mtop, mmask = _PERIODS.unpack_from(raw, offset + at)
        top, mask, bits = (wtop, wmask, WEEK_BITS) if is_week else (mtop, mmask, MONTH_BITS)
        off = top - n
        if top and 0 <= off < bits and mask >> off & 1:
            out += 1
    return out


def mark_given(v: list[Any], d: int, day: int) -> tuple[bool, bool]:
    """Record that direction d gave on `day`; (new person this week, new this month)."""
    _, _, week, month = day_info(day)
    if week == v[WTOP + d] and v[WMASK + d] & 1 and month == v[MTOP + d] and v[MMASK + d] & 1:
        return False, False  # already engaged this week and month
    return (
        _mark(v, WTOP + d, WMASK + d, week, WEEK_BITS),
        _mark(v, MTOP + d, MMASK + d, month, MONTH_BITS),
    )


def bump_into(
    rec: bytearray,
    o: int,
    d: int,
    kind: int,
    t: int,
    message_id: int,
    channel_id: int,
    weight: float,
    half_life: float,
    cap: int,
) -> tuple[int, int, bool, bool]:
    """One interaction in direction `d` (0 or DIR) of count index `kind` (2 = reaction),
    written into the record at offset `o` of `rec`.

    Field-level: it reads and writes this direction's fields and the shared head, the day
    ring only on a new day, never the whole record (unpacking and repacking all 57 fields
    cost ~3 µs an event, issue 14). Returns the last time anything went the other way before
    it, the cap verdict (CAPPED, COUNTED or OLDER_DAY for the caller to settle), and whether
    the direction is new to the week and the month (only when COUNTED and not thanks).
    """
    mine, theirs = (o, o + _DIR_SIZE) if d == 0 else (o + _DIR_SIZE, o)
    v = list(_DIR.unpack_from(rec, mine))  # numbered as direction 0's fields
    their_last, back = _BACK.unpack_from(rec, theirs)
    if their_last > back:
        back = their_last
    c = COUNTS + kind
    if v[c] < COUNT_MAX[kind]:
        v[c] += 1
    w0, w1, ref, cdays, lmsg, lchan, n, xday = _HEAD.unpack_from(rec, o + _AT_HEAD)
    verdict, new_week, new_month = CAPPED, False, False
    if kind == 2:
        if t > v[REACT]:
            v[REACT] = t
    else:
        prev = v[LAST]
        if their_last > prev:
            prev = their_last
        if v[FIRST] == 0 or t < v[FIRST]:
            v[FIRST] = t
        if t > v[LAST]:
            v[LAST] = t
        # An exchange starts with the first contact after a day of silence either way.
        if t > prev and (prev == 0 or t - prev >= DAY) and v[STARTS] < STARTS_MAX:
            v[STARTS] += 1
        if t >= prev and message_id:  # 0: a thanks with no message of its own keeps the link
            lmsg = message_id
            lchan = channel_id
        day = t // DAY
        newest = _DAY.unpack_from(rec, o + _AT_RING + 2 * n - 2)[0] if n else -1
        if day == newest:
            pass  # another message today changes nothing
        elif n < RING and (day > newest if n else day != xday):
            # A newer day with room in the ring (a new pair's first): one day written, as
            # _add_day would, without reading and writing the whole ring.
            if cdays < DAYS_MAX:
                cdays += 1
            _DAY.pack_into(rec, o + _AT_RING + 2 * n, day)
            n += 1
        else:
            s = [cdays, n, xday, *_RING.unpack_from(rec, o + _AT_RING)]
            _add_day(s, day)
            cdays, n, xday = s[0], s[1], s[2]
            _RING.pack_into(rec, o + _AT_RING, *s[3:])
        slot = TCNT if kind == 4 else GCNT
        if day > v[GDAY]:
            v[GDAY] = day
            v[GCNT] = v[TCNT] = 0
        if day == v[GDAY]:
            if v[slot] < cap:
                v[slot] += 1
                verdict = COUNTED
                # The day's first give sets its week and month bits; later ones find them set.
                if kind != 4 and v[slot] == 1:
                    new_week, new_month = mark_given(v, 0, day)
        else:
            verdict = OLDER_DAY
    if t >= ref:
        if ref:
            f = 0.5 ** ((t - ref) / half_life)  # _decay, inlined: once per interaction
            w0 *= f
            w1 *= f
        ref = t
        if d == 0:
            w0 += weight
        else:
            w1 += weight
    elif d == 0:
        w0 += weight * 0.5 ** ((ref - t) / half_life)
    else:
        w1 += weight * 0.5 ** ((ref - t) / half_life)
    _DIR.pack_into(rec, mine, *v)
    _HEAD.pack_into(rec, o + _AT_HEAD, w0, w1, ref, cdays, lmsg, lchan, n, xday)
    return back, verdict, new_week, new_month


def mark_older_day(rec: bytearray, o: int, d: int, day: int) -> tuple[bool, bool]:
    """Settle a counted give on an older day, on the record at offset `o` of `rec`: mark its
    week and month; (new person that week, that month)."""
    mine = o if d == 0 else o + _DIR_SIZE
    v = list(_DIR.unpack_from(rec, mine))
    new_week, new_month = mark_given(v, 0, day)
    _DIR.pack_into(rec, mine, *v)
    return new_week, new_month


def take_back(raw: bytes, d: int, kind: int, t: int, weight: float, half_life: float) -> bytes:
    """The record with one interaction of count index `kind` at `t` removed (reactions)."""
    v = list(RECORD.unpack(raw))
    c = COUNTS + kind + d
    if v[c] == 0:
        return raw
    v[c] -= 1
    w = W0 if d == 0 else W1
    v[w] = max(0.0, v[w] - weight * _decay(max(0, v[WREF] - t), half_life))
    return RECORD.pack(*v)


def last_activity(v: tuple[Any, ...]) -> int:
    """The last time anything happened in the pair, either way."""
    latest: int = max(v[LAST], v[LAST + DIR], v[REACT], v[REACT + DIR])
    return latest


def usual_gap_days(v: tuple[Any, ...]) -> float | None:
    """Median of the gaps between the recent distinct contact days; None under two days."""
    n = v[NDAYS]
    if n < 2:
        return None
    gaps = sorted([b - a for a, b in pairwise(v[DAYS : DAYS + n])])
    mid = len(gaps) // 2
    return float(gaps[mid]) if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2


def weights_at(v: tuple[Any, ...], t: int | None, half_life: float) -> tuple[float, float]:
    """Both directions' decayed weights as of `t` (as of the last interaction when None)."""
    if t is None or t <= v[WREF]:
        return v[W0], v[W1]
    f = _decay(t - v[WREF], half_life)
    return v[W0] * f, v[W1] * f


def given_periods(v: tuple[Any, ...], d: int) -> list[tuple[bool, int]]:
    """Every (is_week, number) period in which direction d gave, as far as the masks reach."""
    out: list[tuple[bool, int]] = []
    for is_week, top, mask, bits in (
        (True, v[WTOP + d], v[WMASK + d], WEEK_BITS),
        (False, v[MTOP + d], v[MMASK + d], MONTH_BITS),
    ):
        if top:
            out += [(is_week, top - off) for off in range(bits) if mask >> off & 1]
    return out


def to_doc(raw: bytes) -> list[Any]:
    """The record as a JSON list (its field order is the persisted layout)."""
    return list(RECORD.unpack(raw))


def from_doc(values: list[Any]) -> bytes:
    """A record from its JSON list (one stored before the answer counts gets none)."""
    missing = len(EMPTY) - len(values)
    return RECORD.pack(*values, *(0,) * missing) if missing > 0 else RECORD.pack(*values)
