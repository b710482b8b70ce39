"""Forums and archived threads: answers in a forum post are thread answers, live and read back."""

from __future__ import annotations

from cogs._backfill import backfill_guild
from rapport.tracking.model import Kind
from tests.conftest import Sandbox, days_ago


def thread_answers(sandbox: Sandbox, member, other) -> int:
    pair = sandbox.services.ledger.pair(sandbox.guild.id, member.id, other.id)
    return 0 if pair is None else pair.counts_out[Kind.THREAD]


async def test_an_answer_in_a_forum_post_credits_its_author(sandbox: Sandbox) -> None:
    """A forum post is a thread: an answer in it is a thread answer to whoever posted it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    forum = await sandbox.emulator.create_channel(sandbox.guild, "questions", kind="forum")
    post = await sandbox.emulator.create_forum_post(forum, ana, "How do I rotate keys?")
    await sandbox.say(bob, post, "run the rotate script")
    assert thread_answers(sandbox, bob, ana) == 1


async def test_backfill_reads_forum_posts_and_archived_threads(sandbox: Sandbox) -> None:
    """History read later includes forum posts and threads that have since archived."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    forum = await sandbox.emulator.create_channel(sandbox.guild, "questions", kind="forum")
    await sandbox.stop()
    emu = sandbox.emulator
    post = await emu.create_forum_post(forum, ana, "How do I rotate keys?", at=days_ago(5))
    await emu.say(bob, post, "run the rotate script", at=days_ago(4.9))
    old = await emu.create_forum_post(forum, cy, "Where are the docs?", at=days_ago(6))
    await emu.say(bob, old, "in the wiki", at=days_ago(5.9))
    await emu.archive_thread(old, at=days_ago(5))
    thread = await emu.create_thread(sandbox.channel("help"), cy, "deploys", at=days_ago(4))
    await emu.say(ana, thread, "use the pipeline", at=days_ago(3.9))
    await emu.archive_thread(thread, at=days_ago(3))
    await sandbox.start()
    s, g = sandbox.services, sandbox.guild.id
    s.backfill.start(g, 30)
    guild = sandbox.bot.get_guild(g)
    await backfill_guild(guild, s.backfill, s.ledger, s.members, s.guilds, starters=s.threads)
    assert thread_answers(sandbox, bob, ana) == 1  # active forum post
    assert thread_answers(sandbox, bob, cy) == 1  # archived forum post
    assert thread_answers(sandbox, ana, cy) == 1  # archived thread of a text channel


async def test_an_excluded_forum_tracks_none_of_its_posts(sandbox: Sandbox) -> None:
    """An admin can exclude a forum; answers in its posts are then not tracked."""
    admins = await sandbox.emulator.create_role(sandbox.guild, "Admins", permissions=1 << 5)
    boss = await sandbox.member("Boss", roles=[admins])
    ana, bob = await sandbox.members("Ana", "Bob")
    forum = await sandbox.emulator.create_channel(sandbox.guild, "questions", kind="forum")
    excluded = await sandbox.slash(boss, "rapport-admin exclude-channel", channel=forum)
    assert "no longer tracks" in excluded.text
    post = await sandbox.emulator.create_forum_post(forum, ana, "How do I rotate keys?")
    await sandbox.say(bob, post, "run the rotate script")
    assert thread_answers(sandbox, bob, ana) == 0
