"""Discord's shared rate-limit buckets and global limit, met by the real bot.

Reading a channel's history and fetching one of its messages share a bucket per channel (as
Discord shares similar routes, named by X-RateLimit-Bucket). The bot must wait its turn there,
not fail, and count nothing twice or not at all.
"""

from __future__ import annotations

import pytest

from cogs._backfill import backfill_guild
from rapport.tracking.model import Kind
from tests.conftest import Sandbox, days_ago

HISTORY = "GET /channels/{channel_id}/messages"
ONE_MESSAGE = "GET /channels/{channel_id}/messages/{message_id}"


async def test_backfill_waits_its_turn_in_a_shared_bucket_and_counts_each_answer_once(
    sandbox: Sandbox,
) -> None:
    """History and thread starters in #help share one bucket a window: all read, none twice."""
    ana, bob, cy, mod = await sandbox.members("Ana", "Bob", "Cy", "Mod")
    await sandbox.stop()
    emu, help_ = sandbox.emulator, sandbox.channel("help")
    for day, asker in ((6, ana), (5, bob), (4, ana)):
        question = await emu.say(asker, help_, f"question {day}", at=days_ago(day))
        # A moderator opens the thread on the question: the answer is owed to the asker.
        thread = await emu.create_thread(
            help_, asker, f"q{day}", by=mod, message=question, at=days_ago(day)
        )
        await emu.say(cy, thread, "here's how", at=days_ago(day - 0.5))
    await emu.say(bob, help_, "me too", reply_to=question, at=days_ago(3))
    await sandbox.start()
    # One request per 50 ms of the sandbox clock on each channel's "read messages" bucket.
    emu.limit_bucket(HISTORY, limit=1, window=0.05)
    refused_before = len(emu.ratelimits.refused)

    s, g = sandbox.services, sandbox.guild.id
    guild = sandbox.bot.get_guild(g)
    s.backfill.start(g, 30)
    job = await backfill_guild(guild, s.backfill, s.ledger, s.members, s.guilds, None, s.threads)

    assert job.finished is not None
    assert s.ledger.pair(g, cy.id, ana.id).counts_out[Kind.THREAD] == 2
    assert s.ledger.pair(g, cy.id, bob.id).counts_out[Kind.THREAD] == 1
    assert s.ledger.pair(g, cy.id, mod.id) is None  # the creator is not who was answered
    assert s.ledger.pair(g, bob.id, ana.id).counts_out[Kind.REPLY] == 1
    reads = [r for r in emu.requests if r.route in (HISTORY, ONE_MESSAGE)]
    assert {r.route for r in reads} == {HISTORY, ONE_MESSAGE}
    # discord.py learns each route's bucket from its first answer, then queues instead of
    # being refused: at most the first request of each of the two routes can meet a 429.
    refused = emu.ratelimits.refused[refused_before:]
    assert len(refused) <= 2, refused


# About Discord's limits, not intents: both pinned on, so the matrix runs it once.
@pytest.mark.sandbox_config(
    {
        "nudges": {"digest_hour": "any", "quiet_hours": ""},
        "discord": {"members_intent": True, "message_content": True},
    }
)
async def test_a_global_limit_holds_digests_back_but_sends_each_once(sandbox: Sandbox) -> None:
    """Over Discord's global limit the bot waits, then every digest goes out exactly once."""
    people = await sandbox.members("Ana", "Bob", "Cy")
    for member in people:
        await sandbox.slash(member, "rapport join")
    # Each is asked something in a channel of their own and hasn't answered: one line each.
    channels = ("#design", "#help", "#resources")
    for member, asker, where in zip(people, people[1:] + people[:1], channels, strict=True):
        await sandbox.say(asker, where, "can you look?", mentions=[member], at=days_ago(2))
    sandbox.emulator.ratelimits.set_global(1, window=0.3)
    await sandbox.run_job("send_due_digests")
    await sandbox.settle()
    sent = [len(sandbox.dms_to(m)) for m in people]
    assert sent == [1] * len(people)
    assert any(scope == "global" for _, scope in sandbox.emulator.ratelimits.refused)
