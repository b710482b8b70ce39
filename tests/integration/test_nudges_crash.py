"""No duplicates, no loss: the bot killed in the middle of a scan never DMs anyone twice."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.conftest import Sandbox, days_ago, until

MESSAGES = "POST /channels/{channel_id}/messages"


def freeze_disk(data_dir: Path, into: Path) -> None:
    """Copy the store's files as they are now: what a kill -9 at this instant leaves."""
    into.mkdir()
    for f in data_dir.iterdir():
        if f.is_file():
            shutil.copy2(f, into / f.name)


def restore_disk(frozen: Path, data_dir: Path) -> None:
    """Put the frozen files back in place of whatever the bot wrote afterwards."""
    for f in data_dir.iterdir():
        if f.is_file():
            f.unlink()
    for f in frozen.iterdir():
        shutil.copy2(f, data_dir / f.name)


@pytest.mark.sandbox_config(
    {"nudges": {"digest_hour": "any", "quiet_hours": "", "dms_per_second": 50}}
)
async def test_a_kill_mid_scan_never_sends_a_second_dm(sandbox: Sandbox, tmp_path: Path) -> None:
    """Killed while digests go out and restarted, the bot sends each member at most one DM."""
    names = [f"Member{i}" for i in range(12)]
    people = await sandbox.members("Bob", *names)
    bob, members = people[0], people[1:]
    for m in members:
        await sandbox.slash(m, "rapport join")  # first: the join preview is never sent again
        post = await sandbox.say(m, "#design", "draft is up", at=days_ago(3))
        await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.flush()

    sandbox.emulator.slow(MESSAGES, 0.05)
    scan = asyncio.create_task(sandbox.run_job("send_due_digests"))
    # Watch every turn of the loop, so the kill lands right after Discord stored the 4th DM
    # and before the bot has read Discord's answer: the worst moment to die.
    await until(lambda: sum(len(sandbox.dms_to(m)) for m in members) >= 4, "4 DMs stored", every=0)
    # The kill: delivery and scan stop at this instant; the disk keeps what was flushed.
    queue = sandbox.services.nudges.queue
    assert queue._task is not None
    queue._task.cancel()
    scan.cancel()
    freeze_disk(sandbox.data_dir, tmp_path / "killed")
    before = {m.id: len(sandbox.dms_to(m)) for m in members}
    assert 4 <= sum(before.values()) < len(members)

    await sandbox.stop()
    restore_disk(tmp_path / "killed", sandbox.data_dir)
    sandbox.emulator.slow(MESSAGES, 0)
    await sandbox.start()
    await sandbox.run_job("send_due_digests")
    await sandbox.run_job("send_due_digests")

    after = {m.id: len(sandbox.dms_to(m)) for m in members}
    assert max(after.values()) == 1, "a member got a second DM for the same item"
    # At most once may lose the one DM in flight at the kill; nothing else is lost.
    assert sum(after.values()) >= len(members) - 1
