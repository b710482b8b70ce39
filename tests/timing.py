"""Time in tests: history laid relative to the sandbox's clock, and one way to wait for a condition.

Time passes because a test moves the clock (``await sandbox.clock.advance(days=1)``), never by
sleeping. ``until`` is for the other kind of wait: work the bot does concurrently (a gateway
event, a restart, another process) that finishes on its own; it checks as the loop turns and
fails, naming what it waited for, when the condition never holds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from rapport.clock import Clock

T = TypeVar("T")

_clocks: list[Clock] = []


def use_clock(clock: Clock | None) -> None:
    """Lay history relative to `clock` (the running sandbox's), or the wall clock for None."""
    _clocks[:] = [clock] if clock is not None else []


def current() -> datetime:
    """The running sandbox's now, or the wall clock's outside a sandbox."""
    return _clocks[0]() if _clocks else datetime.now(UTC)


def days_ago(days: float, *, now: datetime | None = None) -> datetime:
    """A moment `days` before now (aware UTC), for laying history in the past."""
    return (now or current()) - timedelta(days=days)


def hours_ago(hours: float) -> datetime:
    """A moment `hours` before now."""
    return current() - timedelta(hours=hours)


async def until(
    condition: Callable[[], T | Awaitable[T]], *, within: float = 10.0, what: str = ""
) -> T:
    """Wait until `condition()` is truthy and return its value; fail after `within` real seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if loop.time() >= deadline:
            raise AssertionError(f"gave up after {within:g}s waiting for {what or condition}")
        await asyncio.sleep(0.02)
