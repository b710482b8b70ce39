"""The sandbox's one clock: tests move it, and the bot, its scheduler and Discord's ids follow."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox import snowflake_time
from tests.conftest import Sandbox, days_ago

SLACK = timedelta(seconds=30)
ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)


async def test_moving_the_clock_runs_the_scan_that_came_due(sandbox: Sandbox) -> None:
    """Nothing runs the scan but time: once the clock moves past its schedule, the digest is sent."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.slash(ana, "rapport join")  # first: the join preview is never sent again
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    assert sandbox.dms_to(ana) == []
    await sandbox.clock.advance(minutes=20)
    (dm,) = sandbox.dms_to(ana)
    assert "Bob answered your post in #design 2 days ago" in dm.text


async def test_the_bot_and_discords_ids_read_the_clock_the_test_moves(sandbox: Sandbox) -> None:
    """After a jump of a week, the bot's now and a new message's snowflake are a week later."""
    (ana,) = await sandbox.members("Ana")
    before = sandbox.clock()
    await sandbox.clock.advance(days=7)
    message = await sandbox.say(ana, "#general", "a week later")
    week_later = before + timedelta(days=7)
    # Snowflakes keep milliseconds; the clock keeps ticking in real time between the reads.
    assert week_later - timedelta(milliseconds=1) <= snowflake_time(message.id) < week_later + SLACK
    assert week_later <= sandbox.services.clock() < week_later + SLACK
    assert before <= days_ago(7) < before + SLACK
