"""Translate a discord message into the core's plain MessageFacts (shared by live tracking and backfill).

Message text is read here to spot thanks and links, and goes no further.
"""

from __future__ import annotations

import discord

from rapport.guilds import GuildService
from rapport.members import MemberService
from rapport.model import MessageFacts, snowflake_time
from rapport.signals import has_link, says_thanks

TRACKED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def ignored_channel(guilds: GuildService, guild_id: int, channel: object) -> bool:
    """Whether a channel (or a thread's parent) is excluded from tracking."""
    policy = guilds.policy(guild_id)
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
    """The plain facts of a guild message, or None when it must not be tracked."""
    guild = message.guild
    if (
        guild is None
        or message.webhook_id is not None
        or message.type not in TRACKED_TYPES
        or not counts(members, guild.id, message.author)
        or ignored_channel(guilds, guild.id, message.channel)
    ):
        return None
    channel = message.channel
    thread = channel if isinstance(channel, discord.Thread) else None
    reply_author: int | None = None
    reply_message: int | None = None
    ref = message.reference
    if ref is not None and ref.message_id is not None:
        reply_message = ref.message_id
        resolved = ref.resolved
        if isinstance(resolved, discord.Message) and counts(members, guild.id, resolved.author):
            reply_author = resolved.author.id
    author = message.author.id
    mentions = frozenset(
        u.id for u in message.mentions if u.id != author and counts(members, guild.id, u)
    )
    starter = thread.owner_id if thread is not None else None
    if starter is not None and not members.is_tracked(guild.id, starter):
        starter = None
    content = message.content
    return MessageFacts(
        guild_id=guild.id,
        channel_id=thread.parent_id if thread is not None and thread.parent_id else channel.id,
        message_id=message.id,
        author_id=author,
        at=snowflake_time(message.id),
        thread_id=thread.id if thread is not None else None,
        thread_starter_id=starter,
        reply_to_id=reply_author,
        reply_to_message_id=reply_message,
        mentions=mentions,
        has_link=has_link(content),
        has_file=bool(message.attachments),
        thanks=says_thanks(content),
    )
