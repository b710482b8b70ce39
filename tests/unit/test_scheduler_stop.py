"""Stopping the bot while a scheduled job runs is quiet: no traceback for the cancelled job."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from rapport.runtime.scheduler import JobScheduler
from rapport.settings.timeparse import parse_schedule


async def test_stopping_during_a_scan_logs_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """A scan still running when the process stops is cancelled without an error logged."""
    started = asyncio.Event()

    async def scan() -> None:
        started.set()
        await asyncio.Event().wait()  # still sending when SIGTERM arrives

    scheduler = JobScheduler(UTC)
    scheduler.add("send_due_digests", scan, parse_schedule("1h"))
    scheduler.start()
    assert scheduler._scheduler is not None
    scheduler._scheduler.modify_job("send_due_digests", next_run_time=datetime.now(UTC))
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(started.wait(), 10)
        scheduler.shutdown()
        # What asyncio.run does on the way out: cancel the tasks still running.
        jobs = [t for t in asyncio.all_tasks() if "run_coroutine_job" in repr(t.get_coro())]
        assert jobs
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await asyncio.sleep(0)  # let APScheduler's done-callbacks run
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
