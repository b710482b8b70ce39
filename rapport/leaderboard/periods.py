"""The leaderboard's periods: week and month keys, the current and the last complete one in a
time zone, and a schedule's fire times (moved out of the service; it re-exports them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rapport.leaderboard.scoring import ALL
from rapport.settings.timeparse import Schedule


def week_key(day: date) -> str:
    """The ISO week key of a date ("2026-W48")."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_key(day: date) -> str:
    """The month key of a date ("2026-11")."""
    return f"{day.year}-{day.month:02d}"


def current_period(kind: str, now: datetime, zone: ZoneInfo) -> str:
    """The period ("week", "month" or "all") that contains `now` in a time zone."""
    if kind == ALL:
        return ALL
    day = now.astimezone(zone).date()
    return week_key(day) if kind == "week" else month_key(day)


def completed_period(kind: str, at: datetime, zone: ZoneInfo) -> str:
    """The last period of this kind that ended before `at`, in the time zone."""
    day = at.astimezone(zone).date()
    if kind == "month":
        return month_key(day.replace(day=1) - timedelta(days=1))
    return week_key(day - timedelta(days=7))


def last_fire(schedule: Schedule, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The schedule's latest fire time at or before `now` in the zone (None for intervals)."""
    if schedule.cron is None:
        return None
    trigger = schedule.trigger(zone)
    for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32)):
        found: datetime | None = None
        t: datetime | None = trigger.get_next_fire_time(None, now - window)
        while t is not None and t <= now:
            found = t
            t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
        if found is not None:
            return found
    return None


def next_fire(schedule: Schedule, now: datetime, zone: ZoneInfo) -> datetime:
    """The schedule's first fire time after `now` in the zone."""
    if schedule.interval is not None:
        return now + schedule.interval
    fire: datetime | None = schedule.trigger(zone).get_next_fire_time(
        None, now + timedelta(seconds=1)
    )
    return fire if fire is not None else now + timedelta(days=366)


__all__ = ["completed_period", "current_period", "last_fire", "month_key", "next_fire", "week_key"]
