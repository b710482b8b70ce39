"""Parsers for the time words people type: durations, schedules, quiet hours and time zones.

They are shared by the config loader and the slash commands, so every error is a ValueError
whose text reads as what was expected ("expected a duration like 30s, ..."), ready to show.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

__all__ = [
    "DURATION_HINT",
    "QUIET_HOURS_HINT",
    "SCHEDULE_HINT",
    "TIMEZONE_HINT",
    "QuietHours",
    "Schedule",
    "duration_seconds",
    "format_duration",
    "parse_duration",
    "parse_quiet_hours",
    "parse_schedule",
    "parse_timezone",
]

DURATION_HINT = "expected a duration like 30s, 15m, 6h, 2d or 3w"
SCHEDULE_HINT = (
    'expected an interval like 30s, 15m, 6h or 2d, or a 5-field crontab like "0 9 * * mon"'
)
TIMEZONE_HINT = "expected an IANA time zone like UTC, Europe/Paris or America/New_York"
QUIET_HOURS_HINT = 'expected quiet hours like "22:00-08:00", or "" or "off" for none'

MAX_DURATION = timedelta(days=3650)
"""The longest duration or interval accepted anywhere (ten years): longer ones overflow dates."""
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Units must come largest first and at most once each, so "1h30m" parses and "30m1h" does not.
_DURATION_RE = re.compile(
    r"(?:(?P<w>\d+)\s*w)?\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*"
    r"(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?",
    re.IGNORECASE,
)


def _duration_seconds(text: str) -> int | None:
    """The length of a duration text in seconds, or None when it is not one."""
    cleaned = text.strip()
    if len(cleaned) > 100:  # no duration is this long; int() refuses 4,300 digits anyway
        return None
    match = _DURATION_RE.fullmatch(cleaned)
    if not cleaned or match is None:
        return None
    return sum(int(n) * _UNIT_SECONDS[unit] for unit, n in match.groupdict().items() if n)


def duration_seconds(text: str) -> int | None:
    """The length in seconds a duration text says, however long, or None when it is not one."""
    return _duration_seconds(text) if isinstance(text, str) else None


def parse_duration(text: str) -> timedelta:
    """Read "30s", "15m", "6h", "2d", "3w" or a compound like "1h30m" as a positive timedelta."""
    seconds = _duration_seconds(text) if isinstance(text, str) else None
    if seconds is None:
        raise ValueError(DURATION_HINT)
    if seconds == 0:
        raise ValueError(f"{DURATION_HINT}, longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{DURATION_HINT}, at most {MAX_DURATION.days}d (ten years)")
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    """Write a duration in the canonical form parse_duration reads back ("2d", "1h30m").

    Days are the largest unit, so "365d" stays readable rather than becoming "52w1d".
    Sub-second parts are rounded to the nearest second.
    """
    if td < timedelta(0):
        raise ValueError(f"cannot format a negative duration ({td})")
    seconds = round(td.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# --- schedules ----------------------------------------------------------------------------

_CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_CRON_LABELS = ("minute", "hour", "day of month", "month", "day of week")
# Crontab numbers weekdays from Sunday (0 and 7); APScheduler 3 numbers them from Monday.
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_ITEM_RE = re.compile(r"(?P<first>\*|\w+)(?:-(?P<last>\w+))?(?:/(?P<step>\d+))?")


def _crontab_weekday(token: str) -> int:
    """A crontab weekday as written: 0-7 (0 and 7 are Sunday) or a three-letter name."""
    lowered = token.lower()
    if lowered in _WEEKDAYS:
        return _WEEKDAYS.index(lowered)
    if lowered in ("0", "1", "2", "3", "4", "5", "6", "7"):
        return int(lowered)
    raise ValueError(f"{token!r} is not a weekday (0-7 or sun..sat)")


def _translate_day_of_week(field: str) -> str:
    """Rewrite a crontab day-of-week field as APScheduler weekday names with crontab meaning.

    Ranges and steps are expanded to a list, because a crontab range such as "0-2"
    (Sunday to Tuesday) would run backwards in APScheduler's Monday-first numbering.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        match = _WEEKDAY_ITEM_RE.fullmatch(item)
        if match is None or (match["first"] == "*" and match["last"] is not None):
            raise ValueError(f"{item!r} is not a weekday, range or list")
        first, last, step = match["first"], match["last"], match["step"]
        start = 0 if first == "*" else _crontab_weekday(first)
        if last is not None:
            stop = _crontab_weekday(last)
            # "sat-sun" reads as the weekend, as it always has with APScheduler's names.
            stop = 7 if stop == 0 and last.lower() == "sun" else stop
        else:
            stop = 6 if first == "*" or step is not None else start
        if stop < start:
            raise ValueError(f"the range {item!r} runs backwards")
        stride = int(step) if step else 1
        if stride == 0:
            raise ValueError(f"the step in {item!r} must be at least 1")
        days.update(day % 7 for day in range(start, stop + 1, stride))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _apscheduler_crontab(crontab: str) -> str:
    """The crontab with its weekday field translated, checked field by field."""
    parts = crontab.split()
    if len(parts) != 5:
        raise ValueError(f"{SCHEDULE_HINT} (got {len(parts)} fields)")
    try:
        parts[4] = _translate_day_of_week(parts[4])
    except ValueError as exc:
        raise ValueError(f"{SCHEDULE_HINT} (day of week: {exc})") from None
    if parts[2] != "*" and parts[4] != "*":
        # Cron fires when EITHER matches; APScheduler only when both do. Refuse the ambiguity.
        raise ValueError(f"{SCHEDULE_HINT}, restricting day of month or day of week but not both")
    for name, label, value in zip(_CRON_FIELDS, _CRON_LABELS, parts, strict=True):
        try:
            CronTrigger(**{name: value}, timezone=UTC)
        except ValueError as exc:
            raise ValueError(f"{SCHEDULE_HINT} ({label} {value!r}: {exc})") from None
    return " ".join(parts)


@dataclass(frozen=True)
class Schedule:
    """When a job runs: every `interval`, or at the times a 5-field `cron` matches.

    `cron` keeps the crontab as written (crontab weekday numbers, 0 = Sunday); the
    translation for APScheduler happens in `trigger`.
    """

    text: str
    interval: timedelta | None
    cron: str | None

    def __post_init__(self) -> None:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("a Schedule has exactly one of interval and cron")

    def trigger(self, timezone: tzinfo) -> BaseTrigger:
        """An APScheduler trigger firing on this schedule, with clock times in `timezone`."""
        if self.interval is not None:
            return IntervalTrigger(
                days=self.interval.days, seconds=self.interval.seconds, timezone=timezone
            )
        assert self.cron is not None  # guaranteed by __post_init__
        return CronTrigger.from_crontab(_apscheduler_crontab(self.cron), timezone=timezone)

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule:
    """Read an interval ("15m") or a 5-field crontab ("0 9 * * mon") as a Schedule."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(SCHEDULE_HINT)
    normalized = " ".join(text.split())
    seconds = _duration_seconds(normalized)
    if seconds == 0:
        raise ValueError(f"{SCHEDULE_HINT}; an interval must be longer than zero")
    if seconds is not None and seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{SCHEDULE_HINT}; an interval is at most {MAX_DURATION.days}d")
    if seconds is not None:
        return Schedule(normalized, timedelta(seconds=seconds), None)
    if " " not in normalized:
        raise ValueError(SCHEDULE_HINT)
    _apscheduler_crontab(normalized)
    return Schedule(normalized, None, normalized)


# --- quiet hours --------------------------------------------------------------------------

_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class QuietHours:
    """A daily span of wall-clock time, from `start` (inclusive) to `end` (exclusive).

    When end comes before start the span crosses midnight ("22:00-08:00").
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError(f"{QUIET_HOURS_HINT}; start and end must differ")

    def contains(self, t: time) -> bool:
        """Whether the wall-clock time `t` falls inside the quiet hours."""
        t = t.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def contains_at(self, when: datetime, zone: tzinfo) -> bool:
        """Whether the instant `when` is quiet for someone living in `zone` (DST included)."""
        if when.tzinfo is None:
            raise ValueError("contains_at needs an aware datetime")
        return self.contains(when.astimezone(zone).time())

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_clock(text: str) -> time:
    match = _CLOCK_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{QUIET_HOURS_HINT}; {text.strip()!r} is not a HH:MM time")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"{QUIET_HOURS_HINT}; {text.strip()!r} is not a time of day")
    return time(hour, minute)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Read "22:00-08:00" as QuietHours; "" or "off" mean no quiet hours (None)."""
    if not isinstance(text, str):
        raise ValueError(QUIET_HOURS_HINT)
    cleaned = text.strip()
    if cleaned.lower() in ("", "off"):
        return None
    start, sep, end = cleaned.partition("-")
    if not sep:
        raise ValueError(QUIET_HOURS_HINT)
    return QuietHours(_parse_clock(start), _parse_clock(end))


# --- time zones ---------------------------------------------------------------------------


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA name, keyed by its lower-case form so suggestions ignore case."""
    return {name.lower(): name for name in available_timezones()}


def parse_timezone(name: str) -> ZoneInfo:
    """Load an IANA time zone ("Europe/Paris"), suggesting the nearest name on a typo."""
    hint = TIMEZONE_HINT
    if not isinstance(name, str) or not name.strip():
        raise ValueError(hint)
    cleaned = name.strip()
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    names = _zone_names()
    wanted = cleaned.lower().replace(" ", "_")
    close = [names[wanted]] if wanted in names else []
    close = close or difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if close:
        raise ValueError(f"{hint}; did you mean {names.get(close[0], close[0])}?")
    raise ValueError(hint)
