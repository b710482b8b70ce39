"""Backfill reads history through the API into the ledger, once, and resumes after a restart."""

from __future__ import annotations

from collections import Counter

from cogs._backfill import backfill_guild
from rapport.tracking.model import Kind
from tests.conftest import Sandbox, days_ago, until


async def lay_history_while_offline(sandbox: Sandbox) -> tuple:
    """Stop the bot, let members talk for a month, start it again: nothing was seen live."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    await sandbox.stop()
    emu, design = sandbox.emulator, sandbox.channel("design")
    for day in range(30, 0, -1):
        post = await emu.say(ana, design, f"update {day}", at=days_ago(day))
        await emu.say(bob, design, "nice", reply_to=post, at=days_ago(day - 0.1))
    old = await emu.say(cy, design, "ancient", at=days_ago(90))
    await emu.say(bob, design, "reply to ancient", reply_to=old, at=days_ago(89))
    thread = await emu.create_thread(sandbox.channel("help"), cy, "keys?", at=days_ago(5))
    await emu.say(ana, thread, "rotate them", at=days_ago(4.9))
    await sandbox.start()
    return ana, bob, cy


async def run(sandbox: Sandbox, days: int):
    s = sandbox.services
    guild = sandbox.bot.get_guild(sandbox.guild.id)
    s.backfill.start(guild.id, days)
    return await backfill_guild(guild, s.backfill, s.ledger, s.members, s.guilds)


async def test_backfill_reads_the_window_and_running_it_twice_counts_nothing_twice(
    sandbox: Sandbox,
) -> None:
    """Replies and thread answers within the window are recorded once, whatever the re-runs."""
    ana, bob, cy = await lay_history_while_offline(sandbox)
    ledger, g = sandbox.services.ledger, sandbox.guild.id
    assert ledger.pair_count(g) == 0
    job = await run(sandbox, 60)
    assert job.finished is not None
    assert job.messages >= 62
    assert ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 30
    assert ledger.pair(g, ana.id, cy.id).counts_out[Kind.THREAD] == 1
    assert ledger.pair(g, bob.id, cy.id) is None  # 89 days ago: outside the 60-day window
    total = ledger.interactions_total(g)

    await run(sandbox, 60)
    assert ledger.interactions_total(g) == total
    assert ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 30


async def test_an_interrupted_backfill_resumes_after_a_restart(sandbox: Sandbox) -> None:
    """A restart mid-backfill picks the job up on connect and finishes it without double counts."""
    ana, bob, _ = await lay_history_while_offline(sandbox)
    s, g = sandbox.services, sandbox.guild.id
    guild = sandbox.bot.get_guild(g)
    s.backfill.start(g, 60)
    # Read one channel only, as if the bot stopped there.
    from cogs._backfill import _read_channel, readable_channels

    design = next(c for c in await readable_channels(guild) if c.name == "design")
    await _read_channel(guild, design, s.backfill, s.ledger, s.members, s.guilds)
    before = s.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY]
    assert before == 30
    await sandbox.restart()  # flushes; the job is unfinished on disk

    def finished() -> bool:
        job = sandbox.services.backfill.job(g)
        return job is not None and job.finished is not None

    await until(finished, "the interrupted backfill finished after the restart")
    await sandbox.settle()
    assert sandbox.services.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 30


async def test_the_admin_command_reads_history_once_however_often_it_runs(sandbox: Sandbox) -> None:
    """/rapport-admin backfill answers privately with what it read, and a re-run adds nothing."""
    ana, bob, _ = await lay_history_while_offline(sandbox)
    emu = sandbox.emulator
    admins = await emu.create_role(sandbox.guild, "Admins", permissions=1 << 5)
    boss = await sandbox.member("Boss", roles=[admins])
    reply = await sandbox.slash(boss, "rapport-admin backfill", days=60)
    assert reply.ephemeral
    assert "Backfill done" in reply.text
    assert "60 days" in reply.text
    g = sandbox.guild.id
    assert sandbox.services.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 30

    again = await sandbox.slash(boss, "rapport-admin backfill", days=60)
    assert "Backfill done" in again.text
    assert sandbox.services.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 30


async def test_a_fresh_session_mid_backfill_does_not_start_it_again(sandbox: Sandbox) -> None:
    """An invalid session fires on_ready again; the backfill already reading is not doubled."""
    ana, bob, _ = await lay_history_while_offline(sandbox)
    s, g, emu = sandbox.services, sandbox.guild.id, sandbox.emulator
    s.backfill.start(g, 60)
    history = "GET /channels/{channel_id}/messages"
    emu.slow(history, 0.3)
    await sandbox.restart()  # on_ready resumes the unfinished job, slowly
    s = sandbox.services

    async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause before the repeated IDENTIFY (the sandbox has no identify limit)."""

    sandbox.bot.before_identify_hook = identify_at_once  # type: ignore[method-assign]
    identifies = emu.gateway.identifies
    await emu.invalidate_session(resumable=False)  # a fresh IDENTIFY, READY, on_ready again
    await until(lambda: emu.gateway.identifies > identifies, what="a fresh IDENTIFY")
    await until(lambda: s.backfill.job(g).finished, within=20, what="the backfill to finish")
    reads = Counter(r.path for r in emu.requests if r.route == history)
    assert set(reads.values()) == {1}  # each channel's window is one page, read once
    assert s.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 30


async def test_backfill_credits_thread_answers_to_the_asker(sandbox: Sandbox) -> None:
    """History read later credits answers in a thread a moderator split off to the asker."""
    ana, bob, mod = await sandbox.members("Ana", "Bob", "Mod")
    await sandbox.stop()
    emu, help_ = sandbox.emulator, sandbox.channel("help")
    question = await emu.say(ana, help_, "How do I rotate keys?", at=days_ago(3))
    thread = await emu.create_thread(help_, ana, "keys", by=mod, message=question)
    await emu.say(bob, thread, "run the rotate script", at=days_ago(2.9))
    await sandbox.start()
    s, g = sandbox.services, sandbox.guild.id
    s.backfill.start(g, 7)
    guild = sandbox.bot.get_guild(g)
    await backfill_guild(guild, s.backfill, s.ledger, s.members, s.guilds, starters=s.threads)
    assert s.ledger.pair(g, bob.id, ana.id).counts_out[Kind.THREAD] == 1
    assert s.ledger.pair(g, bob.id, mod.id) is None
