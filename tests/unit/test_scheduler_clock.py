"""Jobs on a clock the test moves: the wall never fires them; moving past a schedule does, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.runtime.scheduler import JobScheduler
from rapport.settings.timeparse import parse_schedule

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 08:00


class Hands:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("schedule", "moved", "runs"),
    [
        ("0 9 * * *", timedelta(minutes=59), 0),
        ("0 9 * * *", timedelta(hours=1), 1),
        ("0 9 * * *", timedelta(days=3), 1),  # coalesced, as APScheduler would
        ("15m", timedelta(minutes=14), 0),
        ("15m", timedelta(minutes=15), 1),
    ],
)
async def test_a_job_runs_once_when_the_clock_passes_its_schedule(
    schedule: str, moved: timedelta, runs: int
) -> None:
    """A job runs when the moved clock passes its next fire time, once however far it moved."""
    hands = Hands()
    ran: list[datetime] = []

    async def job() -> None:
        ran.append(hands())

    scheduler = JobScheduler(UTC, clock=hands)
    scheduler.add("job", job, parse_schedule(schedule))
    scheduler.start()
    try:
        hands.now += moved
        await scheduler.run_due()
        assert len(ran) == runs
        await scheduler.run_due()
        assert len(ran) == runs  # nothing new came due without the clock moving
    finally:
        scheduler.shutdown()
