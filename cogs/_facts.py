"""Translate a discord message into the core's plain MessageFacts (shared by live tracking and backfill).

Message text is read here to spot thanks and links, and goes no further.
"""

from __future__ import annotations

import discord

from rapport.people import GuildService, MemberService
from rapport.tracking import MessageFacts, closes_exchange, has_link, says_thanks, snowflake_time

TRACKED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
_NOBODY: frozenset[int] = frozenset()


_THREAD = discord.Thread
_MESSAGE = discord.Message


def ignored_channel(guilds: GuildService, guild_id: int, channel: object) -> bool:
    """Whether a channel (or a thread's parent) is excluded from tracking."""
    policy = guilds.policy(guild_id)
    if not policy.excluded_channels and not policy.ignored_channel_names:
        return False  # the common case, asked once per message
    if policy.ignores_channel(getattr(channel, "id", 0), getattr(channel, "name", None)):
        return True
    parent = getattr(channel, "parent", None)
    return parent is not None and policy.ignores_channel(parent.id, parent.name)


def counts(members: MemberService, guild_id: int, user: discord.abc.User | None) -> bool:
    """Whether a person can take part in a tracked interaction (not a bot, not opted out)."""
    return user is not None and not user.bot and members.is_tracked(guild_id, user.id)


def message_facts(
    message: discord.Message, members: MemberService, guilds: GuildService
) -> MessageFacts | None:
    """The plain facts of a guild message, or None when it must not be tracked.

    Runs once per gateway message: attributes are read once and the facts built positionally.
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
        starter = channel.owner_id
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
        (thanks and "?" not in content) or closes_exchange(content),
        getattr(author, "joined_at", None),
    )
