"""Translate a discord message into the core's plain MessageFacts (shared by live tracking and backfill).

Message text is read here to spot thanks and links, and goes no further.
"""

from __future__ import annotations

import logging

import discord

from rapport.people import GuildService, MemberService
from rapport.tracking import (
    MessageFacts,
    ThreadStarters,
    closes_exchange,
    has_link,
    says_thanks,
    snowflake_time,
)

TRACKED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
_NOBODY: frozenset[int] = frozenset()


log = logging.getLogger(__name__)
_THREAD = discord.Thread
_MESSAGE = discord.Message


def ignored_channel(guilds: GuildService, guild_id: int, channel: object) -> bool:
    """Whether a channel is left untracked: excluded (itself or a thread's parent), or not
    among the server's track-only channels (nor is its parent)."""
    policy = guilds.policy(guild_id)
    if not policy.filters_channels:
        return False  # the common case, asked once per message
    parent = getattr(channel, "parent", None)
    return policy.ignores_channel(
        getattr(channel, "id", 0),
        getattr(channel, "name", None),
        getattr(parent, "id", None),
        getattr(parent, "name", None),
    )


def counts(members: MemberService, guild_id: int, user: discord.abc.User | None) -> bool:
    """Whether a person can take part in a tracked interaction (not a bot, not opted out)."""
    return user is not None and not user.bot and members.is_tracked(guild_id, user.id)


def thread_starter(thread: discord.Thread, starters: ThreadStarters | None) -> int | None:
    """Who started a thread, from what is at hand: remembered, or the cached starter message.

    None when neither knows (then `resolve_thread_starter` asks Discord).
    """
    known = starters.get(thread.id) if starters is not None else None
    if known is not None:
        return known
    cached = thread.starter_message  # the message with the thread's id, when cached
    if cached is not None:
        if starters is not None:
            starters.remember(thread.id, cached.author.id)
        return cached.author.id
    return None


async def resolve_thread_starter(thread: discord.Thread, starters: ThreadStarters) -> int | None:
    """Who started a thread, asking Discord for the starter message when it isn't at hand.

    A thread started from a message shares that message's id (in the parent channel; a forum
    post's is inside the thread). A thread started from nothing has only its creator.
    """
    known = thread_starter(thread, starters)
    if known is not None:
        return known
    for where in (thread.parent, thread):
        if not isinstance(where, discord.abc.Messageable):
            continue
        try:
            message = await where.fetch_message(thread.id)
        except discord.NotFound:
            continue
        except discord.HTTPException:
            log.info("could not read the starter message of thread %s", thread.id)
            break
        starters.remember(thread.id, message.author.id)
        return message.author.id
    if thread.owner_id is not None:
        starters.remember(thread.id, thread.owner_id)
    return thread.owner_id


def message_facts(
    message: discord.Message,
    members: MemberService,
    guilds: GuildService,
    starters: ThreadStarters | None = None,
) -> MessageFacts | None:
    """The plain facts of a guild message, or None when it must not be tracked.

    Runs once per gateway message: attributes are read once and the facts built positionally.
    A thread answer is credited to the thread's starter (see `thread_starter`), its creator
    only when the starter is unknown.
    """
    guild = message.guild
    if guild is None or message.webhook_id is not None or message.type not in TRACKED_TYPES:
        return None
    author = message.author
    gid = guild.id
    tracked = members.is_tracked
    if author.bot or not tracked(gid, author.id):
        return None
    channel = message.channel
    if ignored_channel(guilds, gid, channel):
        return None
    reply_author: int | None = None
    reply_message: int | None = None
    ref = message.reference
    if ref is not None and ref.message_id is not None:
        reply_message = ref.message_id
        resolved = ref.resolved
        if isinstance(resolved, _MESSAGE) and counts(members, gid, resolved.author):
            reply_author = resolved.author.id
    author_id = author.id
    mentioned = message.mentions
    mentions = (
        frozenset(u.id for u in mentioned if u.id != author_id and not u.bot and tracked(gid, u.id))
        if mentioned
        else _NOBODY
    )
    if isinstance(channel, _THREAD):
        thread_id: int | None = channel.id
        starter = thread_starter(channel, starters) or channel.owner_id
        if starter is not None and not tracked(gid, starter):
            starter = None
        channel_id = channel.parent_id or channel.id
    else:
        thread_id = starter = None
        channel_id = channel.id
    content = message.content
    mid = message.id
    thanks = says_thanks(content)
    return MessageFacts(
        gid,
        channel_id,
        mid,
        author_id,
        snowflake_time(mid),
        thread_id,
        starter,
        reply_author,
        reply_message,
        mentions,
        has_link(content),
        bool(message.attachments),
        thanks,
        closes_exchange(content, thanks),
        getattr(author, "joined_at", None),
    )
