"""Listen to the gateway and hand the ledger plain facts: who interacted with whom, and when.

Thin by design: a discord object in, `MessageFacts`/`Interaction` out. Times come from the
message snowflake; message text is read here (thanks, links) and never leaves this function.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord
from discord.ext import commands

from cogs._bot import RapportBot
from cogs._facts import ignored_channel, message_facts, resolve_thread_starter, thread_starter
from rapport.clock import Clock, system_clock
from rapport.people import GuildService, MemberService
from rapport.tracking import (
    Interaction,
    Kind,
    Ledger,
    MessageFacts,
    ThreadStarters,
    is_thanks_emoji,
    snowflake_time,
)

log = logging.getLogger(__name__)


class Tracking(commands.Cog):
    """Records interactions from messages, reactions, threads and member joins."""

    def __init__(
        self,
        ledger: Ledger,
        members: MemberService,
        guilds: GuildService,
        bot: RapportBot,
        open_guild: Callable[[int], Awaitable[None]],
        thanks_emoji: frozenset[str] = frozenset(),
        clock: Clock = system_clock,
        starters: ThreadStarters | None = None,
    ) -> None:
        self.thanks_emoji = thanks_emoji
        self.clock = clock
        self.ledger = ledger
        self.members = members
        self.guilds = guilds
        self.bot = bot
        self.open_guild = open_guild
        self.starters = starters if starters is not None else ThreadStarters()
        # Messages of threads whose starter is being looked up, recorded once it is known.
        self._waiting: dict[int, list[discord.Message]] = {}
        self._lookups: set[asyncio.Task[None]] = set()
        # Whether authors the cache doesn't know are bots, learnt from their messages.
        self._bot_authors: dict[int, bool] = {}

    def facts(self, message: discord.Message) -> MessageFacts | None:
        """The plain facts of a guild message, or None when it must not be tracked."""
        return message_facts(message, self.members, self.guilds, self.starters)

    def _starter_pending(self, message: discord.Message) -> bool:
        """Hold a thread message whose starter nobody knows yet; True when held.

        Its answer is credited to the starter, so the message waits (in order, with the rest
        of the thread's) for one lookup instead of being credited to the thread's creator.
        """
        thread = message.channel
        if not isinstance(thread, discord.Thread) or message.guild is None:
            return False
        waiting = self._waiting.get(thread.id)
        if waiting is None and thread_starter(thread, self.starters) is not None:
            return False
        if waiting is None:
            waiting = self._waiting[thread.id] = []
            task = asyncio.create_task(self._look_up(thread), name=f"rapport: starter {thread.id}")
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)
        waiting.append(message)
        return True

    async def _look_up(self, thread: discord.Thread) -> None:
        try:
            await resolve_thread_starter(thread, self.starters)
        finally:
            for message in self._waiting.pop(thread.id, []):
                facts = self.facts(message)
                if facts is not None:
                    self.ledger.record_message(facts)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Learn who started a new thread before its answers arrive."""
        await resolve_thread_starter(thread, self.starters)

    async def cog_load(self) -> None:
        """Track messages inline on dispatch: no task per message (see SyncListeners)."""
        self.bot.add_sync_listener("message", self.on_message)
        self.bot.add_sync_listener("message_edit", self.on_message_edit)

    async def cog_unload(self) -> None:
        """Stop tracking messages."""
        self.bot.remove_sync_listener("message", self.on_message)
        self.bot.remove_sync_listener("message_edit", self.on_message_edit)
        for task in list(self._lookups):
            task.cancel()
        await asyncio.gather(*self._lookups, return_exceptions=True)

    def on_message(self, message: discord.Message) -> None:
        """Record a new message's replies, mentions, thread answer, thanks and share."""
        if self._starter_pending(message):
            return
        facts = self.facts(message)
        if facts is not None:
            self.ledger.record_message(facts)

    def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """An edit that adds a mention counts once (the ledger ignores what it already saw)."""
        if self._starter_pending(after):
            return
        facts = self.facts(after)
        if facts is not None:
            self.ledger.record_message(facts)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A deleted message withdraws the pending items it created."""
        if payload.guild_id is not None:
            self.ledger.withdraw_message(payload.guild_id, payload.message_id)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """A reaction links the reactor to the message's author; 🙏 (or [tracking] thanks_emoji)
        also thanks them."""
        guild_id, author = payload.guild_id, payload.message_author_id
        if guild_id is None or author is None:
            return
        author_bot = await self._author_is_bot(payload, author)
        if not self._reaction_counts(payload, author, author_bot=author_bot):
            return
        at = snowflake_time(payload.message_id)
        for kind in (
            (Kind.REACTION, Kind.THANKS)
            if is_thanks_emoji(str(payload.emoji), self.thanks_emoji)
            else (Kind.REACTION,)
        ):
            self.ledger.record(
                Interaction(
                    guild_id,
                    payload.user_id,
                    author,
                    payload.channel_id,
                    kind,
                    payload.message_id,
                    at,
                )
            )

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """Removing a reaction takes it back."""
        if payload.guild_id is None:
            return
        message = discord.utils.get(self.bot.cached_messages, id=payload.message_id)
        if message is None:
            channel = self.bot.get_channel(payload.channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                return
            try:
                message = await channel.fetch_message(payload.message_id)
            except discord.HTTPException:
                return  # gone: nothing to take back from
        if self._reaction_counts(payload, message.author.id, author_bot=message.author.bot):
            self.ledger.remove_reaction(
                payload.guild_id,
                payload.user_id,
                message.author.id,
                payload.message_id,
                snowflake_time(payload.message_id),
            )

    async def _author_is_bot(self, payload: discord.RawReactionActionEvent, author_id: int) -> bool:
        """Whether a reacted-to message's author is a bot (reaction-role posts, for one).

        The cache knows only with the members intent or a recent message; otherwise the
        message is read once per author and the answer kept.
        """
        guild = self.bot.get_guild(payload.guild_id or 0)
        known = (guild.get_member(author_id) if guild else None) or self.bot.get_user(author_id)
        if known is not None:
            return known.bot
        if author_id in self._bot_authors:
            return self._bot_authors[author_id]
        channel = self.bot.get_channel(payload.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return False
        try:
            message = await channel.fetch_message(payload.message_id)
        except discord.HTTPException:
            return False
        if len(self._bot_authors) >= 10_000:
            self._bot_authors.clear()
        self._bot_authors[author_id] = message.author.bot
        return message.author.bot

    def _reaction_counts(
        self,
        payload: discord.RawReactionActionEvent,
        author_id: int,
        *,
        author_bot: bool | None = None,
    ) -> bool:
        guild = self.bot.get_guild(payload.guild_id or 0)
        if guild is None or author_id == payload.user_id:
            return False
        # A removal carries no member, and without the members intent the cache has none:
        # taking back a reaction that was never recorded is harmless, so only a known bot stops it.
        actor = payload.member or guild.get_member(payload.user_id)
        if actor is None and payload.event_type == "REACTION_ADD":
            return False
        if actor is not None and actor.bot:
            return False
        if author_bot is None:
            target = guild.get_member(author_id) or self.bot.get_user(author_id)
            author_bot = target is not None and target.bot
        if author_bot:
            return False
        if not self.members.is_tracked(guild.id, payload.user_id) or not self.members.is_tracked(
            guild.id, author_id
        ):
            return False
        channel = guild.get_channel_or_thread(payload.channel_id)
        return channel is None or not ignored_channel(self.guilds, guild.id, channel)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """A newcomer: a later rule can see whether anyone greeted them."""
        if not member.bot and self.members.is_tracked(member.guild.id, member.id):
            joined = member.joined_at or snowflake_time(member.id)
            self.ledger.member_joined(member.guild.id, member.id, joined)

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """A member left: nobody is nudged about them (their history stays until retention)."""
        self.ledger.member_left(payload.guild_id, payload.user.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """A new gateway session: events may have been missed, so history read later fills in."""
        self.ledger.live_restarted([g.id for g in self.bot.guilds])

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Make sure every service holds the guild's state (stored guilds loaded before connect)."""
        await self.open_guild(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """A new server (or one that removed the bot and invited it back): start its state."""
        await self.open_guild(guild.id)
        await self.guilds.mark_returned(guild.id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server (GUILD_DELETE without `unavailable`; an outage
        is on_guild_unavailable): nothing more is sent, posted or planned for it, and its data
        is deleted after [storage] removed_guild_retention unless the bot comes back."""
        await self.guilds.mark_removed(guild.id, self.clock())


async def setup(bot: RapportBot) -> None:
    """Load the listeners with the ledger, member and guild services."""
    s = bot.services
    thanks_emoji = frozenset(s.settings.tracking.thanks_emoji)
    await bot.add_cog(
        Tracking(s.ledger, s.members, s.guilds, bot, s.open_guild, thanks_emoji, s.clock, s.threads)
    )
