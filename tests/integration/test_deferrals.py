"""Handlers whose work grows with the server answer "thinking" first, and stay private.

bench/commands.py times the core work behind every command and button at 100,000 members and
1,000,000 pairs; what can pass a second defers (Discord allows 3 s for the first response,
the fixture 2 s). Each deferral is checked here with Discord's network made slow, so that a
handler answering only after its work and a REST round trip would miss the budget.
"""

from __future__ import annotations

from tests.conftest import Sandbox, days_ago
from tests.integration.test_commands_admin import admin


async def test_stats_defer_privately_before_counting(sandbox: Sandbox) -> None:
    """/rapport-admin stats answers "thinking" at once, then the totals only the admin sees."""
    boss = await admin(sandbox)
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft", at=days_ago(2))
    await sandbox.say(bob, "#design", "nice", reply_to=post, at=days_ago(1))
    sandbox.emulator.latency = 0.3
    reply = await sandbox.slash(boss, "rapport-admin stats")
    assert reply.deferred
    assert reply.ephemeral
    assert "**Pairs who interacted:** 1" in reply.text
    assert all(m.ephemeral for m in reply.followups)


async def test_forget_confirm_acknowledges_then_edits_the_private_message(
    sandbox: Sandbox,
) -> None:
    """Confirming forget acknowledges the click first, then edits the same private message."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(bob, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(ana, "#design", "looks great", reply_to=post, at=days_ago(2))
    ask = await sandbox.slash(ana, "rapport forget")
    assert ask.message is not None
    sandbox.emulator.latency = 0.3
    done = await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    assert done.deferred
    assert done.message is ask.message
    assert done.ephemeral
    assert "Everything about you is deleted" in ask.message.text
    assert sandbox.services.ledger.pairs_of(sandbox.guild.id, bob.id) == []
