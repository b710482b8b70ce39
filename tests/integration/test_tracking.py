"""Tracking through the real gateway: each source of interaction, and what must be ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.tracking.model import Kind
from tests.conftest import Sandbox, days_ago
from tests.timing import until


def pair(sandbox: Sandbox, member, other):
    return sandbox.services.ledger.pair(sandbox.guild.id, member.id, other.id)


def pending(sandbox: Sandbox, member) -> list:
    return sandbox.services.ledger.pending_for(sandbox.guild.id, member.id, datetime.now(UTC))


async def test_a_reply_links_the_replier_to_the_author_at_the_message_time(
    sandbox: Sandbox,
) -> None:
    """A reply counts for its author towards the replied-to member, timed by its snowflake."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(10))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(9))
    view = pair(sandbox, bob, ana)
    assert view is not None
    assert view.counts_out[Kind.REPLY] == 1
    assert abs(view.last_out - days_ago(9)) < timedelta(minutes=1)
    (item,) = pending(sandbox, ana)
    assert item.from_member_id == bob.id
    assert item.kind is Kind.REPLY


async def test_mentions_count_for_each_member_mentioned(sandbox: Sandbox) -> None:
    """A message mentioning two members links the author to both; @everyone links nobody."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    await sandbox.say(ana, "#general", "what do you think?", mentions=[bob, cy])
    await sandbox.say(ana, "#general", "@everyone standup in 5")
    assert pair(sandbox, ana, bob).counts_out[Kind.MENTION] == 1
    assert pair(sandbox, ana, cy).counts_out[Kind.MENTION] == 1
    assert len(sandbox.services.ledger.pairs_of(sandbox.guild.id, ana.id)) == 2


async def test_a_reaction_counts_and_its_removal_takes_it_back(sandbox: Sandbox) -> None:
    """Reacting links the reactor to the author; removing the reaction undoes it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#general", "shipped!")
    await sandbox.react(bob, post, "👍")
    assert pair(sandbox, bob, ana).counts_out[Kind.REACTION] == 1
    await sandbox.react(bob, post, "👍", remove=True)
    view = pair(sandbox, bob, ana)
    assert view is None or view.counts_out[Kind.REACTION] == 0


@pytest.mark.sandbox_config({"discord": {"members_intent": False}})
async def test_without_the_members_intent_a_removed_reaction_is_taken_back(
    sandbox: Sandbox,
) -> None:
    """The removal carries no member and the cache holds none: it is taken back all the same."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#general", "shipped!")
    await sandbox.react(bob, post, "👍")
    assert pair(sandbox, bob, ana).counts_out[Kind.REACTION] == 1
    await sandbox.react(bob, post, "👍", remove=True)
    view = pair(sandbox, bob, ana)
    assert view is None or view.counts_out[Kind.REACTION] == 0


@pytest.mark.sandbox_config({"discord": {"members_intent": False}})
async def test_without_the_members_intent_reactions_to_a_bots_post_are_not_recorded(
    sandbox: Sandbox,
) -> None:
    """Reacting to another bot's post (a reaction-role message) links nobody to the bot."""
    bob = await sandbox.member("Bob")
    roles_bot = await sandbox.member("Role Picker", bot=True)
    post = await sandbox.say(roles_bot, "#general", "react to get a role")
    await sandbox.restart()  # the post and its author are no longer cached
    await sandbox.react(bob, post, "🎨")
    assert pair(sandbox, bob, roles_bot) is None


async def test_a_thanks_reaction_is_a_thanks(sandbox: Sandbox) -> None:
    """A 🙏 reaction thanks the author as well as reacting."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#help", "here is the fix")
    await sandbox.react(bob, post, "🙏")
    counts = pair(sandbox, bob, ana).counts_out
    assert counts[Kind.REACTION] == 1
    assert counts[Kind.THANKS] == 1


async def test_a_thread_answer_links_to_the_starter_once(sandbox: Sandbox) -> None:
    """An answer in someone's thread counts as a thread answer, not also as a reply."""
    ana, bob = await sandbox.members("Ana", "Bob")
    thread = await sandbox.thread(ana, "#help", "How do I rotate keys?")
    await sandbox.say(bob, thread, "run the rotate script")
    counts = pair(sandbox, bob, ana).counts_out
    assert counts[Kind.THREAD] == 1
    assert counts[Kind.REPLY] == 0
    (item,) = pending(sandbox, ana)
    assert item.channel_id == thread.id


@pytest.mark.parametrize("creator_is_a_bot", [False, True], ids=["moderator", "auto-thread bot"])
async def test_a_thread_someone_else_split_off_credits_the_asker(
    sandbox: Sandbox, creator_is_a_bot: bool
) -> None:
    """Answers in a thread a moderator or an auto-thread bot made from Ana's question are Ana's."""
    ana, bob = await sandbox.members("Ana", "Bob")
    mod = await sandbox.member("Mod", bot=creator_is_a_bot)
    question = await sandbox.say(ana, "#help", "How do I rotate keys?")
    thread = await sandbox.thread(ana, "#help", "rotating keys", by=mod, message=question)
    await sandbox.say(bob, thread, "run the rotate script")
    assert pair(sandbox, bob, ana).counts_out[Kind.THREAD] == 1
    assert pair(sandbox, bob, mod) is None


async def test_a_thread_answer_after_a_restart_still_credits_the_asker(sandbox: Sandbox) -> None:
    """With the starter message no longer cached, the bot asks Discord who started the thread."""
    ana, bob, mod = await sandbox.members("Ana", "Bob", "Mod")
    question = await sandbox.say(ana, "#help", "How do I rotate keys?")
    thread = await sandbox.thread(ana, "#help", "rotating keys", by=mod, message=question)
    await sandbox.restart()
    await sandbox.say(bob, thread, "run the rotate script")
    await sandbox.say(bob, thread, "and restart the service")
    await until(lambda: pair(sandbox, bob, ana), what="the answers credited to Ana")
    assert pair(sandbox, bob, ana).counts_out[Kind.THREAD] == 2
    assert pair(sandbox, bob, mod) is None


async def test_thanks_and_shares_are_read_from_content_and_never_stored(sandbox: Sandbox) -> None:
    """A reply saying thanks is a thanks; a link is a share; the text reaches no store document.

    Without the message content intent the text arrives empty: neither counts.
    """
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#help", "try clearing the cache")
    await sandbox.say(bob, "#help", "thank you so much, secret-phrase-42", reply_to=post)
    await sandbox.say(bob, "#resources", "great read https://example.org/post")
    reading = sandbox.message_content
    assert pair(sandbox, bob, ana).counts_out[Kind.THANKS] == (1 if reading else 0)
    shared = sandbox.services.ledger.activity(sandbox.guild.id, bob.id).last_share
    assert (shared is not None) is reading
    await sandbox.flush()
    stored = (sandbox.data_dir).glob("rapport.json*")
    blob = b"".join(p.read_bytes() for p in stored)
    assert b"secret-phrase-42" not in blob
    assert b"example.org" not in blob
    assert b"pairs" in blob or sandbox.services.ledger.pair_count(sandbox.guild.id) == 1


@pytest.mark.sandbox_config({"discord": {"message_content": False}})
async def test_without_message_content_thanks_and_shares_are_off_but_replies_work(
    sandbox: Sandbox,
) -> None:
    """Without the intent, content arrives empty: no thanks or share, replies still count."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#help", "try clearing the cache")
    await sandbox.say(bob, "#help", "thanks! https://example.org", reply_to=post)
    counts = pair(sandbox, bob, ana).counts_out
    assert counts[Kind.REPLY] == 1
    assert counts[Kind.THANKS] == 0
    assert sandbox.services.ledger.activity(sandbox.guild.id, bob.id).last_share is None


async def test_bots_webhooks_system_messages_and_self_replies_are_ignored(
    sandbox: Sandbox,
) -> None:
    """Only people interacting with other people count."""
    ana, bob = await sandbox.members("Ana", "Bob")
    robo = await sandbox.member("Robo", bot=True)
    post = await sandbox.say(ana, "#general", "hello")
    await sandbox.say(robo, "#general", "beep", reply_to=post)
    await sandbox.say(bob, "#general", "via webhook", reply_to=post, webhook=True)
    await sandbox.say(bob, "#general", "pinned a message", system=True, mentions=[ana])
    await sandbox.say(ana, "#general", "replying to myself", reply_to=post)
    await sandbox.say(ana, "#general", "hey robo", mentions=[robo])
    ledger = sandbox.services.ledger
    assert ledger.pairs_of(sandbox.guild.id, ana.id) == []
    assert ledger.pair_count(sandbox.guild.id) == 0


@pytest.mark.sandbox_config({"tracking": {"ignore_channels": ["random"]}})
async def test_ignored_channels_are_not_tracked(sandbox: Sandbox) -> None:
    """Channels in [tracking] ignore_channels, by name, record nothing."""
    sandbox.emulator.add_channel(sandbox.guild, "random")
    await sandbox.restart()  # the bot learns the new channel from GUILD_CREATE
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#random", "memes")
    await sandbox.say(bob, "#random", "lol", reply_to=post)
    assert sandbox.services.ledger.pair_count(sandbox.guild.id) == 0


async def test_a_deleted_reply_withdraws_its_pending_item(sandbox: Sandbox) -> None:
    """Deleting a reply removes what it asked of the author."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft")
    reply = await sandbox.say(bob, "#design", "question?", reply_to=post)
    assert len(pending(sandbox, ana)) == 1
    await sandbox.emulator.delete(reply)
    await sandbox.settle()
    assert pending(sandbox, ana) == []


async def test_an_edit_adding_a_mention_counts_once(sandbox: Sandbox) -> None:
    """Editing a message to mention someone links them once, however often it is edited."""
    ana, bob = await sandbox.members("Ana", "Bob")
    message = await sandbox.say(ana, "#general", "who can review?")
    await sandbox.emulator.edit(message, f"who can review? {bob.mention}", mentions=[bob])
    await sandbox.emulator.edit(message, f"who can review? {bob.mention} please", mentions=[bob])
    await sandbox.settle()
    assert pair(sandbox, ana, bob).counts_out[Kind.MENTION] == 1


async def test_answering_clears_what_was_pending(sandbox: Sandbox) -> None:
    """Once the member interacts with the person, their pending item from them is gone."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft")
    reply = await sandbox.say(bob, "#design", "question?", reply_to=post)
    await sandbox.say(ana, "#design", "answer", reply_to=reply)
    assert pending(sandbox, ana) == []


async def test_a_newcomer_and_who_greeted_them(sandbox: Sandbox) -> None:
    """A member who joins is a newcomer; a reply to their first message greets them."""
    (ana,) = await sandbox.members("Ana")
    lee = await sandbox.member("Lee", at=datetime.now(UTC) - timedelta(hours=2))
    hello = await sandbox.say(lee, "#introductions", "hi all, just joined")
    await sandbox.say(ana, "#introductions", "welcome!", reply_to=hello)
    (newcomer,) = [
        n
        for n in sandbox.services.ledger.newcomers(sandbox.guild.id, days_ago(7))
        if n.member_id == lee.id
    ]
    assert newcomer.first_messages[0].message_id == hello.id
    assert ana.id in newcomer.answered_by


async def test_interactions_survive_a_restart(sandbox: Sandbox) -> None:
    """What was recorded before a restart is there after it (flushed on shutdown)."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft")
    await sandbox.say(bob, "#design", "nice", reply_to=post)
    await sandbox.restart()
    assert pair(sandbox, bob, ana).counts_out[Kind.REPLY] == 1
    assert len(pending(sandbox, ana)) == 1
