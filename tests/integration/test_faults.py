"""The real bot keeps working through what Discord does on a bad day: 429s, slow answers, drops."""

from __future__ import annotations

from rapport.tracking.model import Kind
from tests.conftest import Sandbox, until

CALLBACK = "POST /interactions/{interaction_id}/{token}/callback"


async def test_a_rate_limited_answer_is_retried_and_arrives_once(sandbox: Sandbox) -> None:
    """A 429 on the interaction callback is waited out (retry_after) and the answer lands once."""
    (ana,) = await sandbox.members("Ana")
    sandbox.emulator.rate_limit(CALLBACK, retry_after=0.3, times=1)
    reply = await sandbox.slash(ana, "rapport help")
    assert reply.error is None
    assert reply.ephemeral
    assert "Rapport" in reply.text
    answers = [r for r in sandbox.emulator.requests if r.path.endswith("/callback")]
    assert len(answers) == 2  # the refused one and the retry


async def test_a_slow_rest_answer_still_completes(sandbox: Sandbox) -> None:
    """A slow callback (under Discord's 3 s) is still a good answer."""
    (ana,) = await sandbox.members("Ana")
    sandbox.emulator.slow(CALLBACK, 0.8)
    reply = await sandbox.slash(ana, "rapport settings")
    assert reply.error is None
    assert "digest" in reply.text.lower()


async def test_events_during_a_dropped_connection_are_replayed_on_resume(
    sandbox: Sandbox,
) -> None:
    """After the connection drops, RESUME replays what was missed: no interaction is lost."""
    ana, bob = await sandbox.members("Ana", "Bob")
    emu = sandbox.emulator
    post = await sandbox.say(ana, "#design", "draft")
    resumes = emu.gateway.resumes
    await emu.drop_connections()
    await emu.say(bob, sandbox.channel("design"), "nice", reply_to=post)
    await until(lambda: emu.gateway.resumes > resumes, "the bot resumed")
    await sandbox.settle()
    view = sandbox.services.ledger.pair(sandbox.guild.id, bob.id, ana.id)
    assert view is not None
    assert view.counts_out[Kind.REPLY] == 1


async def test_a_reconnect_request_is_followed_and_tracking_goes_on(sandbox: Sandbox) -> None:
    """Op 7 makes the bot reconnect and resume; messages after it are tracked."""
    ana, bob = await sandbox.members("Ana", "Bob")
    emu = sandbox.emulator
    resumes = emu.gateway.resumes
    await emu.send_reconnect()
    await until(lambda: emu.gateway.resumes > resumes, "the bot resumed")
    post = await sandbox.say(ana, "#design", "draft")
    await sandbox.say(bob, "#design", "nice", reply_to=post)
    assert sandbox.services.ledger.pair(sandbox.guild.id, bob.id, ana.id) is not None
