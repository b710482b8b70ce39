"""APScheduler wiring: named jobs on schedules from the config, one instance at a time.

Jobs are registered by name ("send_due_digests", "post_weekly_leaderboard", ...) so tests and
admins can run one now through the same lock the scheduler uses; a job that raises is logged
and the schedule carries on.

APScheduler fires jobs by the wall clock. When the services run on another clock (the sandbox's,
which tests move), the wall must not fire anything: that clock's owner calls `run_due` after
moving it, and each job whose schedule came due in between runs once (coalesced, as APScheduler
would).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from rapport.clock import Clock, system_clock
from rapport.settings.timeparse import Schedule

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


@dataclass
class _Entry:
    func: Job
    schedule: Schedule
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    runs: int = 0
    failures: int = 0
    # When the job is next due on a clock other than the wall's (see run_due).
    next_at: datetime | None = None


class JobScheduler:
    """Named async jobs; coalesced, never overlapping, started inside the running loop."""

    def __init__(
        self,
        timezone: tzinfo,
        *,
        misfire_grace: timedelta = timedelta(minutes=10),
        clock: Clock = system_clock,
    ) -> None:
        self.timezone = timezone
        self.misfire_grace = misfire_grace
        self.clock = clock
        self._started = False
        self._jobs: dict[str, _Entry] = {}
        self._scheduler: AsyncIOScheduler | None = None

    def add(self, name: str, func: Job, schedule: Schedule) -> None:
        """Register a job; it starts firing when the scheduler starts."""
        if name in self._jobs:
            raise ValueError(f"a job named {name!r} is already registered")
        self._jobs[name] = _Entry(func, schedule)
        if self._scheduler is not None:
            self._schedule(name)
        elif self._started:
            self._jobs[name].next_at = _next_after(schedule, self.clock(), self.timezone)

    @property
    def names(self) -> list[str]:
        """The registered job names, in registration order."""
        return list(self._jobs)

    def start(self) -> None:
        """Start firing jobs; must be called with the event loop running (setup_hook)."""
        if self._started:
            return
        self._started = True
        if self.clock is not system_clock:
            now = self.clock()
            for entry in self._jobs.values():
                entry.next_at = _next_after(entry.schedule, now, self.timezone)
            return
        self._scheduler = AsyncIOScheduler(
            timezone=self.timezone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(self.misfire_grace.total_seconds()),
            },
        )
        for name in self._jobs:
            self._schedule(name)
        self._scheduler.start()

    def _schedule(self, name: str) -> None:
        assert self._scheduler is not None
        entry = self._jobs[name]
        self._scheduler.add_job(
            self._fire, entry.schedule.trigger(self.timezone), args=[name], id=name, name=name
        )

    async def _fire(self, name: str) -> None:
        """What APScheduler runs. Stopping cancels a running job; that is no error to log
        (APScheduler would log the CancelledError with a traceback)."""
        try:
            await self.run(name)
        except asyncio.CancelledError:
            log.info("job %s stopped: shutting down", name)

    async def run(self, name: str) -> bool:
        """Run a job now unless it is already running; returns whether it ran without error."""
        entry = self._jobs[name]
        if entry.lock.locked():
            log.info("job %s is still running; skipping this run", name)
            return False
        async with entry.lock:
            entry.runs += 1
            try:
                await entry.func()
            except Exception:
                entry.failures += 1
                log.exception("job %s failed; it will run again on its schedule", name)
                return False
        return True

    async def run_due(self) -> list[str]:
        """Run once each job whose schedule came due by the clock's now; returns their names.

        Only for a clock other than the wall's, whose owner calls this after moving it.
        """
        if not self._started or self._scheduler is not None:
            return []
        now = self.clock()
        due = [
            name
            for name, entry in self._jobs.items()
            if entry.next_at is not None and entry.next_at <= now
        ]
        for name in due:
            self._jobs[name].next_at = _next_after(self._jobs[name].schedule, now, self.timezone)
            await self.run(name)
        return due

    def shutdown(self) -> None:
        """Stop firing jobs (a running one finishes on its own)."""
        self._started = False
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None


def _next_after(schedule: Schedule, moment: datetime, timezone: tzinfo) -> datetime:
    """The first time strictly after `moment` that `schedule` fires."""
    if schedule.interval is not None:
        return moment + schedule.interval
    fire: datetime | None = schedule.trigger(timezone).get_next_fire_time(
        None, moment + timedelta(seconds=1)
    )
    assert fire is not None  # a crontab always fires again
    return fire
