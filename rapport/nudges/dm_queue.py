"""One paced queue of outgoing DMs per process: never a burst, and a long pause on 40003.

Discord answers 40003 ("opening direct messages too fast") after a few dozen DMs at once and
quarantines bots that mass-DM, so every DM of the process goes through here, at most
`per_second`, one at a time. The queue knows nothing of Discord: `deliver` says how it went.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from enum import StrEnum
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class SendResult(StrEnum):
    """What became of one DM."""

    SENT = "sent"
    CLOSED = "closed"  # 403 / 50007: the member's DMs refuse us
    TOO_FAST = "too_fast"  # 40003: opening DMs too fast; retry much later
    FAILED = "failed"  # Discord answered with an error: certainly not sent
    UNKNOWN = "unknown"  # no answer (network, timeout): maybe sent
    SKIPPED = "skipped"  # nothing left to send when its turn came


class DmQueue(Generic[T]):
    """FIFO of DMs keyed by recipient (one queued DM per key), delivered at a steady pace."""

    def __init__(
        self,
        per_second: float,
        deliver: Callable[[T], Awaitable[SendResult]],
        *,
        key: Callable[[T], Hashable],
        backoff: float = 60.0,
        max_backoff: float = 900.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / per_second
        self.deliver = deliver
        self.key = key
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._monotonic = monotonic
        self._items: deque[T] = deque()
        self._keys: set[Hashable] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._last = float("-inf")
        self.results: dict[SendResult, int] = dict.fromkeys(SendResult, 0)

    def __len__(self) -> int:
        return len(self._items)

    def queued(self, key: Hashable) -> bool:
        """Whether a DM for this recipient waits (or is being sent)."""
        return key in self._keys

    def put(self, item: T) -> bool:
        """Queue a DM; False when this recipient already has one waiting."""
        k = self.key(item)
        if k in self._keys:
            return False
        self._keys.add(k)
        self._items.append(item)
        self._idle.clear()
        self._wake.set()
        return True

    def drop(self, predicate: Callable[[T], bool]) -> int:
        """Remove waiting DMs (a member forgot us, or closed their DMs)."""
        gone = [i for i in self._items if predicate(i)]
        for item in gone:
            self._items.remove(item)
            self._keys.discard(self.key(item))
        self._settle()
        return len(gone)

    @property
    def running(self) -> bool:
        """Whether the delivery task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start delivering in the background (inside the running loop)."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="rapport: dm queue")

    async def stop(self) -> None:
        """Stop delivering; waiting DMs stay unsent (the next scan plans them again)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._idle.set()

    async def join(self) -> None:
        """Wait until every queued DM has had its turn (returns at once if not running)."""
        while self.running and not self._idle.is_set():
            assert self._task is not None  # running
            idle = asyncio.create_task(self._idle.wait())
            either: set[asyncio.Task[Any]] = {idle, self._task}
            try:
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                idle.cancel()

    def _settle(self) -> None:
        if not self._items and not self._busy:
            self._idle.set()

    _busy = False

    async def _run(self) -> None:
        pause = 0.0  # the current back-off; 0 until Discord says 40003
        while True:
            if not self._items:
                self._settle()
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._last + self.interval - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
                continue
            item = self._items[0]
            self._busy = True
            try:
                result = await self.deliver(item)
            except Exception:
                log.exception("delivering a DM failed")
                result = SendResult.FAILED
            finally:
                self._busy = False
            self._last = self._monotonic()
            self.results[result] += 1
            if result is SendResult.TOO_FAST:
                # Keep it first in line and pause the whole queue: every DM would get the same.
                pause = min(pause * 2, self.max_backoff) if pause else self.backoff
                log.warning("Discord says we open DMs too fast (40003); pausing %.0f s", pause)
                await self._sleep(pause)
                continue
            pause = 0.0
            if self._items and self._items[0] is item:
                self._items.popleft()
                self._keys.discard(self.key(item))
            self._settle()
