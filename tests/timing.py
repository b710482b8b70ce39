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

import pytest

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
    condition: Callable[[], T | Awaitable[T]],
    what: str = "",
    *,
    within: float = 10.0,
    every: float = 0.02,
    also: Callable[[], str | None] | None = None,
    explain: Callable[[], str] | None = None,
) -> T:
    """Wait until `condition()` is truthy and return its value; fail after `within` real seconds.

    `every` is how often to look (0: at every turn of the event loop, to catch a moment);
    `also` may report a reason to stop early (a process exited); `explain` adds what helps
    read a failure (the end of a process's log).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        problem = also() if also is not None else None
        if problem is not None:
            pytest.fail(f"{what or condition}: {problem}")
        if loop.time() >= deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            pytest.fail(f"gave up after {within:g}s waiting for {what or condition}{detail}")
        await asyncio.sleep(every)
