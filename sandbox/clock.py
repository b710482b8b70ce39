"""One clock for a sandboxed run: the bot's services, its scheduler and the emulator's snowflakes.

Time passes in a sandbox because a test (or the demo) moves it, never by sleeping:
``await clock.advance(days=1)`` jumps a day ahead, and whatever is listening (the sandbox runs
the jobs that came due, as the scheduler would have) catches up before ``advance`` returns.
Between jumps the clock ticks with real time, so timeouts measured on it still expire.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

#: Called after each jump with the moment before it and the moment after it.
AdvanceHook = Callable[[datetime, datetime], Awaitable[object]]


class SandboxClock:
    """A clock (a `rapport.clock.Clock`: call it for now) that the test moves forward."""

    def __init__(self, start: datetime | None = None, *, ticking: bool = True) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("a sandbox clock starts at an aware datetime")
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._ticking = ticking
        self._t0 = time.monotonic()
        self._offset = timedelta()
        self._hooks: list[AdvanceHook] = []

    def __call__(self) -> datetime:
        """Now, aware, in UTC."""
        elapsed = timedelta(seconds=time.monotonic() - self._t0) if self._ticking else timedelta()
        return self._start + self._offset + elapsed

    def on_advance(self, hook: AdvanceHook) -> None:
        """Call `hook(before, after)` after every jump (the sandbox runs due jobs there)."""
        self._hooks.append(hook)

    async def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Jump forward by `delta` or by timedelta(**parts) (days=1, hours=3); returns the new now."""
        step = (delta or timedelta()) + timedelta(**parts)
        if step < timedelta():
            raise ValueError("a sandbox clock only moves forward")
        before = self()
        self._offset += step
        after = self()
        for hook in list(self._hooks):
            await hook(before, after)
        return after

    def ago(self, **parts: float) -> datetime:
        """A moment that long before now (days_ago, hours_ago), for laying history in the past."""
        return self() - timedelta(**parts)
