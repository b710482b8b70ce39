"""Time as a service: the core takes `now` from a clock it is given, never from the wall directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


# One way to turn times into the epoch seconds the stores keep, and back (aware UTC only).


def epoch(at: datetime) -> int:
    """Whole epoch seconds of an aware datetime."""
    return int(at.timestamp())


def from_epoch(t: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(t, UTC)


def iso(at: datetime | None) -> str | None:
    """ISO 8601 text of a datetime, None for None (exports)."""
    return None if at is None else at.isoformat()
