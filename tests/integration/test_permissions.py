"""Permission overwrites per channel: what the bot may not see or say, it skips and reports."""

from __future__ import annotations

import pytest

from cogs._backfill import backfill_guild
from rapport.tracking.model import Kind
from tests.conftest import Sandbox, days_ago

VIEW_CHANNEL, SEND_MESSAGES = 1 << 10, 1 << 11


async def test_backfill_skips_a_channel_hidden_from_the_bot_and_reads_the_rest(
    sandbox: Sandbox,
) -> None:
    """A private channel (its overwrite hides it from @everyone) is skipped; the rest is read."""
    ana, bob = await sandbox.members("Ana", "Bob")
    emu, guild = sandbox.emulator, sandbox.guild
    await emu.set_overwrite(sandbox.channel("design"), guild.everyone, deny=VIEW_CHANNEL)
    await sandbox.stop()
    secret = await emu.say(ana, sandbox.channel("design"), "private plans", at=days_ago(3))
    await emu.say(bob, sandbox.channel("design"), "ok", reply_to=secret, at=days_ago(2.9))
    public = await emu.say(ana, sandbox.channel("general"), "lunch?", at=days_ago(3))
    await emu.say(bob, sandbox.channel("general"), "yes", reply_to=public, at=days_ago(2.9))
    await sandbox.start()
    s, g = sandbox.services, guild.id
    s.backfill.start(g, 7)
    job = await backfill_guild(sandbox.bot.get_guild(g), s.backfill, s.ledger, s.members, s.guilds)
    assert job.finished is not None
    assert s.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 1  # #general only
    hidden = f"/channels/{sandbox.channel('design').id}/messages"
    assert not any(r.path == hidden for r in emu.requests)


@pytest.mark.sandbox_config({"leaderboard": {"channel": "leaderboard"}})
async def test_a_leaderboard_channel_overwrite_refusing_the_bot_is_reported(
    sandbox: Sandbox,
) -> None:
    """An overwrite taking Send Messages from the bot in #leaderboard: no post, a clear problem."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft", at=days_ago(8))
    await sandbox.say(bob, "#design", "nice", reply_to=post, at=days_ago(7.9))
    me = sandbox.guild.members[sandbox.emulator.bot_user.id]
    await sandbox.emulator.set_overwrite(sandbox.channel("leaderboard"), me, deny=SEND_MESSAGES)
    await sandbox.settle()
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert sandbox.posts("leaderboard") == []
    problem = sandbox.services.leaderboard.problem(sandbox.guild.id)
    assert problem is not None
    assert "Send Messages" in problem
