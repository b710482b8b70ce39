"""The write-behind loop: services stage their dirty records, then the store flushes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from rapport.store.base import FlushStats, Store

log = logging.getLogger(__name__)

Stager = Callable[[], int]
"""Puts a service's dirty records into the store and says how many."""


class FlushLoop:
    """Flush every `interval` seconds and on demand; one flush at a time."""

    def __init__(self, store: Store, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._stagers: list[Stager] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.last: FlushStats | None = None
        self.frozen = False
        self._failure: str | None = None
        self._purge_asked = False
        self._purging: asyncio.Task[None] | None = None
        self.rejected: list[tuple[str, int, str, str]] = []
        """Documents the store could not hold (table, guild, key, why): dropped and reported."""
        store.reject = self._reject

    def _reject(self, table: str, guild_id: int, key: str, why: Exception) -> None:
        self.rejected.append((table, guild_id, key, str(why)))
        log.error(
            "could not save document %s of guild %s in table %s (%s); it is dropped and every "
            "other change is saved",
            key,
            guild_id,
            table,
            why,
        )

    def add_stager(self, stager: Stager) -> None:
        """Have a service stage its changes before every flush."""
        self._stagers.append(stager)

    def purge_soon(self) -> None:
        """After the next flush, have the store purge the records deleted until then (a forget:
        no file may keep them, rapport/store/tinydb.py's .bak and journals included)."""
        self._purge_asked = True

    def freeze(self) -> None:
        """Write nothing more (the store could not be read: it must stay as it is)."""
        self.frozen = True

    async def flush(self) -> FlushStats:
        """Stage every service's changes and persist them now (nothing once frozen)."""
        if self.frozen:
            return FlushStats(0, 0.0)
        async with self._lock:
            purge, self._purge_asked = self._purge_asked, False
            for stage in self._stagers:
                try:
                    stage()
                except Exception:
                    # One service's failure must not keep every other service's changes out.
                    log.exception(
                        "staging changes failed in %s", getattr(stage, "__qualname__", stage)
                    )
            try:
                self.last = await self.store.flush()
            except BaseException:
                self._purge_asked |= purge
                raise
            if purge:  # beside the loop: a compaction can take a while
                self._purging = asyncio.create_task(self._purge(), name="rapport: store purge")
            return self.last

    async def _purge(self) -> None:
        try:
            await self.store.purge()
        except Exception:
            log.exception("purging the store after a forget failed; the store tries it again")

    def start(self) -> None:
        """Start flushing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="rapport: flush loop")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush_logged()

    async def flush_logged(self) -> None:
        """One turn of the loop: flush, and log a failure once until it changes or heals.

        The batch stays staged in the store and the next turn tries again; a full disk must
        not write a traceback every second (to the disk that is full, perhaps).
        """
        try:
            await self.flush()
        except Exception as exc:
            # OSError (disk full, read-only, gone): its message says it all; a bug gets a traceback.
            text = f"{type(exc).__name__}: {exc}"
            if text != self._failure:
                self._failure = text
                log.error(
                    "writing the store failed (%s); changes stay in memory and are retried "
                    "every %gs (logged again only if the error changes)",
                    text,
                    self.interval,
                    exc_info=None if isinstance(exc, OSError) else exc,
                )
        else:
            if self._failure is not None:
                log.warning("writing the store works again; the changes kept meanwhile are saved")
                self._failure = None

    async def stop(self) -> None:
        """Stop the loop and flush what is left."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()
