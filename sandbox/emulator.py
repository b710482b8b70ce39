"""The public face of the sandbox: build a world, speak as its members, read what the bot did.

One ``Emulator`` is one Discord: a loopback HTTP + websocket server the unmodified discord.py
client connects to. Scenario methods change the world and dispatch the matching gateway events.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox import rest, webhooks
from sandbox.cdn import picture_hash
from sandbox.gateway import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILDS,
    MESSAGE_CONTENT,
    PRIVILEGED,
    Gateway,
)
from sandbox.interactions import CommandError, Invocation, Invoker, Reply
from sandbox.ratelimits import Forced, Limit, RateLimits, Scope, bucket_of
from sandbox.server import ROUTER, RequestRecord, build_app
from sandbox.spec import Spec, Violation, default_spec
from sandbox.state import (
    EVERYONE_PERMISSIONS,
    Channel,
    Guild,
    Member,
    Message,
    Role,
    Snowflakes,
    User,
)

if TYPE_CHECKING:
    from sandbox.contract import Contract, ContractViolation
    from sandbox.contract.validate import Direction

__all__ = ["CommandError", "Emulator", "Reply", "RequestRecord", "Violation"]
#: Importing the handler modules registers their routes on ROUTER.
HANDLER_MODULES = (rest, webhooks)


class Emulator:
    """A Discord API emulator on loopback (REST v10 + gateway v10)."""

    def __init__(
        self,
        *,
        spec_path: Path | None = None,
        check_schema: bool = True,
        bot_name: str = "Rapport",
        interaction_timeout: float = 3.0,
        deferred_timeout: float = 5.0,
        clock: Callable[[], datetime] | None = None,
        check_contract: bool | None = None,
    ) -> None:
        # Request bodies are checked against Discord's schema unless the caller opts out
        # (the demo, without the dev requirements): see sandbox/spec.py.
        self.spec: Spec | None = None
        if check_schema:
            self.spec = Spec(spec_path) if spec_path else default_spec()
        #: Every dispatch and REST body, both ways, checked against discord-api-types
        #: (sandbox/contract, which needs jsonschema too); on whenever the schema check is,
        #: unless asked otherwise (a benchmark's feeder only supplies load).
        self.contract: Contract | None = None
        if check_schema if check_contract is None else check_contract:
            from sandbox.contract import default_contract

            self.contract = default_contract()
        self.contract_violations: list[ContractViolation] = []
        self.interaction_timeout = interaction_timeout
        self.deferred_timeout = deferred_timeout
        self.sync_timeout = 10.0
        # Message times and ids read this clock (the sandbox shares it with the bot).
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.snowflakes = Snowflakes(self.clock)
        self.token = "sandbox." + secrets.token_urlsafe(24)
        self.bot_user = User(self.snowflakes.make(), bot_name, bot=True)
        self.owner = User(self.snowflakes.make(), "Sandbox Owner")
        self.application_id = self.bot_user.id
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        self.guilds: list[Guild] = []
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.invoker = Invoker(self)
        self.interactions_by_token = self.invoker.by_token
        self.guilds_sent: set[int] = set()
        self.violations: list[Violation] = []
        self.unknown_routes: list[str] = []
        self.requests: list[RequestRecord] = []
        self.refused_dms: set[int] = set()
        self.dms_too_fast = 0
        self.refused_privileged: set[str] = set()
        #: Discord's shared per-route buckets and global limit, on the sandbox's clock.
        self.ratelimits = RateLimits(self.clock)
        self.slow_routes: dict[str, float] = {}
        #: Guilds the bot was removed from (remove_bot).
        self.removed_guilds: set[int] = set()
        #: (channel id, nonce) -> (when, message), for enforce_nonce.
        self.nonces: dict[tuple[int, str], tuple[float, Message]] = {}
        #: Added to every REST answer (seconds): the network between a bot and Discord.
        self.latency = 0.0
        #: Seconds from each INTERACTION_CREATE to the bot's first response to it.
        self.first_responses: list[float] = []
        self.server_errors: dict[str, list[int]] = {}
        #: The CDN (sandbox/cdn.py): every picture asked for, [status, times left] of a fault,
        #: and seconds every picture is held.
        self.cdn_requests: list[str] = []
        self.cdn_errors: list[int] = [0, 0]
        self.cdn_delay = 0.0
        self.dm_opened_count = 0
        self.messages_sent = 0
        self.command_syncs = 0
        self.gateway = Gateway(self)
        self._runner: web.AppRunner | None = None
        self.api_base = ""
        self.gateway_url = ""

    # -- the contract -----------------------------------------------------------------------

    def check_dispatch(self, event: str, data: Any) -> None:
        """Record how a dispatch the sandbox sends breaks discord-api-types, if it does."""
        if self.contract is not None:
            self.contract_violations.extend(self.contract.check_dispatch(event, data))

    def check_send(self, op: str, data: Any) -> None:
        """Record how a gateway command the bot sent breaks discord-api-types, if it does."""
        if self.contract is not None:
            self.contract_violations.extend(self.contract.check_send(op, data))

    def check_rest(
        self, method: str, route: str, direction: Direction, body: Any, *, status: int = 200
    ) -> None:
        """Record how a REST body (the bot's request or our answer) breaks discord-api-types."""
        if self.contract is not None:
            self.contract_violations.extend(
                self.contract.check_rest(method, route, direction, body, status=status)
            )

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on loopback; ``port`` 0 picks a free one."""
        self._runner = web.AppRunner(build_app(self, ROUTER), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.api_base = f"http://{host}:{bound}"
        self.gateway_url = f"ws://{host}:{bound}/gateway"

    async def stop(self) -> None:
        """Close every websocket and the server."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the world ------------------------------------------------------------------------

    def add_guild(self, name: str, *, at: datetime | None = None, icon: bool = True) -> Guild:
        """A guild owned by the sandbox owner, with the bot as a member (and an icon, unless
        ``icon`` is False)."""
        guild = Guild(self.snowflakes.make(at), name, owner_id=self.owner.id)
        if icon:
            guild.icon = picture_hash("icon", guild.id)
        guild.roles.append(Role(guild.id, "@everyone", guild, EVERYONE_PERMISSIONS, position=0))
        guild.members[self.bot_user.id] = Member(self.bot_user, guild)
        self.guilds.append(guild)
        return guild

    def add_channel(
        self, guild: Guild, name: str, *, kind: str = "text", parent: Channel | None = None
    ) -> Channel:
        """A channel ("text", "voice" or "category"); sent in GUILD_CREATE on the next IDENTIFY.

        Once bots are connected use create_channel, which dispatches CHANNEL_CREATE.
        """
        channel = Channel(self.snowflakes.make(), name.lstrip("#"), kind, guild, parent=parent)
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        return channel

    async def create_channel(self, guild: Guild, name: str, *, kind: str = "text") -> Channel:
        """A channel made while bots are connected (CHANNEL_CREATE)."""
        channel = self.add_channel(guild, name, kind=kind)
        if guild.id in self.guilds_sent:
            payload = channel.payload()
            await self.gateway.dispatch(
                "CHANNEL_CREATE", lambda _: payload, guild_id=guild.id, intent=GUILDS
            )
        return channel

    def add_role(self, guild: Guild, name: str, *, permissions: int = 0) -> Role:
        """A role; ``permissions`` is Discord's bit field (e.g. 1 << 5 for manage_guild).

        Sent in GUILD_CREATE on the next IDENTIFY; once bots are connected use create_role.
        """
        role = Role(self.snowflakes.make(), name, guild, permissions, position=len(guild.roles))
        guild.roles.append(role)
        return role

    async def create_role(self, guild: Guild, name: str, *, permissions: int = 0) -> Role:
        """A role made while bots are connected (GUILD_ROLE_CREATE)."""
        role = self.add_role(guild, name, permissions=permissions)
        if guild.id in self.guilds_sent:
            payload = {"guild_id": str(guild.id), "role": role.payload()}
            await self.gateway.dispatch(
                "GUILD_ROLE_CREATE", lambda _: payload, guild_id=guild.id, intent=GUILDS
            )
        return role

    def guild_by_id(self, guild_id: int) -> Guild | None:
        """The guild with this id."""
        return next((g for g in self.guilds if g.id == guild_id), None)

    def channel(self, guild: Guild, name: str) -> Channel:
        """A guild channel by name ("general" or "#general")."""
        wanted = name.lstrip("#")
        for channel in guild.channels:
            if channel.name == wanted:
                return channel
        raise KeyError(f"no channel {name!r} in {guild.name}")

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between the bot and a user (made on first use)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.snowflakes.make(), user.name, "dm", None, recipient=user)
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    async def add_member(
        self,
        guild: Guild,
        name: str,
        *,
        bot: bool = False,
        roles: Sequence[Role] = (),
        at: datetime | None = None,
        avatar: bool = True,
        user: User | None = None,
    ) -> Member:
        """A new member; GUILD_MEMBER_ADD once the guild has been sent to a bot.

        The member has an avatar on the CDN unless ``avatar`` is False (Discord's default).
        ``user``: someone who is already a member of another guild (one Discord account in two
        servers); otherwise a new user named ``name``.
        """
        if user is None:
            user = User(self.snowflakes.make(at), name, bot=bot)
            if avatar:
                user.avatar = picture_hash("avatar", user.id)
        self.users[user.id] = user
        member = Member(user, guild, list(roles))
        member.joined_at = at or self.clock()
        guild.members[user.id] = member
        if guild.id in self.guilds_sent:
            payload = {**member.payload(), "guild_id": str(guild.id)}
            await self.gateway.dispatch(
                "GUILD_MEMBER_ADD", lambda _: payload, guild_id=guild.id, intent=GUILD_MEMBERS
            )
        return member

    async def update_member(
        self, member: Member, *, roles: Sequence[Role] | None = None, nick: str | None = None
    ) -> None:
        """Change a member's roles or nickname (GUILD_MEMBER_UPDATE)."""
        guild = member.guild
        assert guild is not None
        if roles is not None:
            member.roles = list(roles)
        if nick is not None:
            member.nick = nick or None
        if guild.id in self.guilds_sent:
            payload = {**member.payload(), "guild_id": str(guild.id)}
            await self.gateway.dispatch(
                "GUILD_MEMBER_UPDATE", lambda _: payload, guild_id=guild.id, intent=GUILD_MEMBERS
            )

    async def set_avatar(self, member: Member, avatar: bool = True) -> None:
        """The member uploads a new avatar (a new hash; the old URL then answers 404), or
        removes theirs (False); GUILD_MEMBER_UPDATE carries the user."""
        user = member.user
        user.avatar = picture_hash("avatar", user.id, self.snowflakes.make()) if avatar else None
        await self.update_member(member)

    async def remove_member(self, guild: Guild, member: Member) -> None:
        """The member leaves (GUILD_MEMBER_REMOVE)."""
        guild.members.pop(member.id, None)
        payload = {"guild_id": str(guild.id), "user": member.user.payload()}
        await self.gateway.dispatch(
            "GUILD_MEMBER_REMOVE", lambda _: payload, guild_id=guild.id, intent=GUILD_MEMBERS
        )

    async def create_thread(
        self,
        channel: Channel,
        starter: Member,
        name: str,
        *,
        at: datetime | None = None,
        by: Member | None = None,
        message: Message | None = None,
    ) -> Channel:
        """A public thread started from a message by ``starter`` (THREAD_CREATE + the message).

        ``message`` starts it from a message already posted (its author is the starter);
        ``by`` is who created the thread when that is someone else (a moderator, an
        auto-thread bot): Discord's owner_id names the creator, not the starter.
        """
        guild = channel.guild
        assert guild is not None
        starter_message = message or await self.say(starter, channel, name, at=at)
        creator = by or starter
        thread = Channel(
            starter_message.id, name, "thread", guild, parent=channel, owner_id=creator.id
        )
        guild.channels.append(thread)
        self.channels[thread.id] = thread
        payload = {**thread.payload(), "newly_created": True}
        await self.gateway.dispatch(
            "THREAD_CREATE", lambda _: payload, guild_id=guild.id, intent=GUILDS
        )
        return thread

    async def create_forum_post(
        self,
        forum: Channel,
        author: Member,
        title: str,
        content: str = "",
        *,
        at: datetime | None = None,
    ) -> Channel:
        """A post in a forum: a thread whose starter message (same id) is inside it."""
        guild = forum.guild
        assert guild is not None
        assert forum.kind == "forum"
        post = Channel(self.snowflakes.make(at), title, "thread", guild, parent=forum)
        post.owner_id = author.id
        guild.channels.append(post)
        self.channels[post.id] = post
        if guild.id in self.guilds_sent:
            payload = {**post.payload(), "newly_created": True}
            await self.gateway.dispatch(
                "THREAD_CREATE", lambda _: payload, guild_id=guild.id, intent=GUILDS
            )
        starter = Message(post.id, post, author.user, content or title)
        self.messages[starter.id] = starter
        post.messages.append(starter)
        await self.dispatch_message("MESSAGE_CREATE", starter)
        return post

    async def archive_thread(self, thread: Channel, *, at: datetime | None = None) -> None:
        """The thread archives (THREAD_UPDATE); it leaves the active list."""
        guild = thread.guild
        assert guild is not None
        assert thread.kind == "thread"
        thread.archived_at = at or self.clock()
        if guild.id in self.guilds_sent:
            payload = thread.payload()
            await self.gateway.dispatch(
                "THREAD_UPDATE", lambda _: payload, guild_id=guild.id, intent=GUILDS
            )

    # -- members speak --------------------------------------------------------------------

    async def say(
        self,
        author: Member,
        channel: Channel,
        content: str = "",
        *,
        at: datetime | None = None,
        reply_to: Message | None = None,
        mentions: Sequence[Member] = (),
        attachments: Sequence[str] = (),
        webhook: bool = False,
        system: bool = False,
    ) -> Message:
        """``author`` posts in ``channel`` (MESSAGE_CREATE); mentions are rendered as <@id>."""
        message = Message(
            id=self.snowflakes.make(at),
            channel=channel,
            author=author.user,
            content=_with_mentions(content, mentions),
            files=[(name, b"") for name in attachments],
            mentions=[m.user for m in mentions],
            reply_to=reply_to,
            webhook_id=self.snowflakes.make(at) if webhook else None,
            type=7 if system else (19 if reply_to else 0),
        )
        if reply_to is not None and reply_to.author not in message.mentions:
            message.mentions.append(reply_to.author)
        self.messages[message.id] = message
        channel.messages.append(message)
        channel.messages.sort(key=lambda m: m.id)
        await self.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def edit(
        self, message: Message, content: str, *, mentions: Sequence[Member] | None = None
    ) -> None:
        """The author edits the message (MESSAGE_UPDATE); mentions are rendered as in ``say``."""
        if mentions is not None:
            content = _with_mentions(content, mentions)
            message.mentions = [m.user for m in mentions]
        message.content = content
        message.edited_at = max(message.created_at, self.clock())
        await self.dispatch_message("MESSAGE_UPDATE", message)

    async def delete(self, message: Message) -> None:
        """The message is deleted (MESSAGE_DELETE)."""
        message.deleted = True
        channel = message.channel
        if message in channel.messages:
            channel.messages.remove(message)
        if message.ephemeral:
            return
        payload: dict[str, Any] = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild is not None:
            payload["guild_id"] = str(channel.guild.id)
        intent = GUILD_MESSAGES if channel.guild else DIRECT_MESSAGES
        await self._dispatch_in(channel, "MESSAGE_DELETE", lambda _: payload, intent)

    async def react(
        self, member: Member, message: Message, emoji: str, *, remove: bool = False
    ) -> None:
        """The member adds (or removes) a unicode emoji reaction."""
        await self.react_as(member.user, message, emoji, remove=remove)

    async def react_as(self, user: User, message: Message, emoji: str, *, remove: bool) -> None:
        """Any user (the bot included) reacts; MESSAGE_REACTION_ADD/REMOVE."""
        users = message.reactions.setdefault(emoji, set())
        if remove:
            users.discard(user.id)
        else:
            users.add(user.id)
        channel = message.channel
        payload: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if channel.guild is not None:
            payload["guild_id"] = str(channel.guild.id)
            if not remove and user.id in channel.guild.members:
                payload["member"] = channel.guild.members[user.id].payload()
            if not remove:
                payload["message_author_id"] = str(message.author.id)
        event = "MESSAGE_REACTION_REMOVE" if remove else "MESSAGE_REACTION_ADD"
        intent = GUILD_MESSAGE_REACTIONS if channel.guild else DIRECT_MESSAGE_REACTIONS
        await self._dispatch_in(channel, event, lambda _: payload, intent)

    # -- gateway plumbing -----------------------------------------------------------------

    def render(self, message: Message, hide: bool, *, gateway: bool = False) -> dict[str, Any]:
        """A message payload, blanked when the reader lacks the message-content intent."""
        exempt = (
            message.channel.guild is None
            or message.author is self.bot_user
            or self.bot_user in message.mentions
        )
        return message.payload(hide_content=hide and not exempt, gateway=gateway)

    def content_hidden_for_rest(self) -> bool:
        """REST reads honour the intent too: hidden when no live session asked for content."""
        sessions = [s for s in self.gateway.sessions.values() if s.resumable]
        return bool(sessions) and not any(s.has(MESSAGE_CONTENT) for s in sessions)

    async def dispatch_message(self, event: str, message: Message) -> None:
        """MESSAGE_CREATE/UPDATE to each bot, filtered by its message-content intent."""
        intent = GUILD_MESSAGES if message.channel.guild else DIRECT_MESSAGES
        await self._dispatch_in(
            message.channel,
            event,
            lambda session: self.render(message, not session.has(MESSAGE_CONTENT), gateway=True),
            intent,
        )

    async def _dispatch_in(self, channel: Channel, event: str, build: Any, intent: int) -> None:
        guild_id = channel.guild.id if channel.guild else None
        if guild_id is not None and guild_id not in self.guilds_sent:
            return
        if not self.bot_can(channel, 1 << 10):
            return  # a channel the bot can't see sends it nothing
        await self.gateway.dispatch(event, build, guild_id=guild_id, intent=intent)

    async def sync(self) -> None:
        """Barrier: returns once every connected bot has read every event dispatched so far."""
        await self.gateway.sync(self.sync_timeout)

    # -- interactions ---------------------------------------------------------------------

    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        """The application commands the bot synced (global when ``guild`` is None)."""
        if guild is None:
            return list(self.global_commands)
        return list(self.guild_commands.get(guild.id, []))

    def expire_if_late(self, inter: Invocation, *, force: bool = False) -> bool:
        """Expire an unanswered interaction once its time is up; True when it is expired."""
        return self.invoker.expire_if_late(inter, force=force)

    async def slash(
        self,
        member: Member,
        guild: Guild | None,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: Channel | None = None,
    ) -> Reply:
        """``member`` runs ``/command`` ("group sub" for subcommands); waits for the answer.

        Options are typed per the synced definition; members, channels and roles are given as
        sandbox objects. ``guild`` None runs it in the member's DM with the bot.
        """
        return await self.invoker.slash(member, guild, command, options or {}, channel=channel)

    async def autocomplete(
        self,
        member: Member,
        guild: Guild | None,
        command: str,
        options: Mapping[str, Any],
        focused: str,
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while ``member`` types option ``focused``."""
        return await self.invoker.autocomplete(member, guild, command, options, focused)

    async def user_menu(
        self, member: Member, guild: Guild | None, name: str, target: Member
    ) -> Reply:
        """``member`` runs the user context-menu command ``name`` on ``target``."""
        return await self.invoker.user_menu(member, guild, name, target)

    async def message_menu(
        self, member: Member, guild: Guild | None, name: str, target: Message
    ) -> Reply:
        """``member`` runs the message context-menu command ``name`` on ``target``."""
        return await self.invoker.message_menu(member, guild, name, target)

    async def click(
        self,
        member: Member,
        message: Message,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
    ) -> Reply:
        """``member`` presses a button (or picks ``values`` in a select) on a bot message."""
        return await self.invoker.click(member, message, custom_id, values=values)

    async def submit_modal(
        self, member: Member, reply: Reply, values: Mapping[str, Any], *, guild: Guild | None
    ) -> Reply:
        """``member`` fills and submits the modal the bot answered with in ``reply``."""
        return await self.invoker.submit_modal(member, reply, values, guild=guild)

    # -- what members see -----------------------------------------------------------------

    def dms_to(self, member: Member) -> list[Message]:
        """What the bot sent ``member`` in their DM channel, oldest first."""
        channel = self.dm_channels.get(member.id)
        if channel is None:
            return []
        return [m for m in channel.messages if m.author is self.bot_user and not m.deleted]

    def channel_messages(self, channel: Channel) -> list[Message]:
        """Every visible message in a channel, oldest first."""
        return [m for m in channel.messages if not m.deleted]

    # -- faults ---------------------------------------------------------------------------

    def bot_can(self, channel: Channel, permission: int) -> bool:
        """Whether the bot has ``permission`` in a channel (overwrites applied); DMs: yes."""
        if channel.guild is None:
            return True
        me = channel.guild.members.get(self.bot_user.id)
        return me is not None and bool(me.permissions_in(channel) & permission)

    async def set_overwrite(
        self, channel: Channel, target: Role | Member, *, allow: int = 0, deny: int = 0
    ) -> None:
        """A permission overwrite on a channel for a role or member (CHANNEL_UPDATE)."""
        guild = channel.guild
        assert guild is not None
        kind = 1 if isinstance(target, Member) else 0
        channel.overwrites[target.id] = (kind, allow, deny)
        if guild.id in self.guilds_sent:
            payload = channel.payload()
            await self.gateway.dispatch(
                "CHANNEL_UPDATE", lambda _: payload, guild_id=guild.id, intent=GUILDS
            )

    def may_dm(self, user: User) -> bool:
        """Whether the bot may DM ``user``: they share a server and accept DMs from it."""
        if user.id in self.refused_dms:
            return False
        return any(user.id in g.members for g in self.guilds if g.id not in self.removed_guilds)

    async def remove_bot(self, guild: Guild) -> None:
        """An admin removes the bot: GUILD_DELETE, then that guild's routes answer 50001."""
        self.removed_guilds.add(guild.id)
        self.guilds_sent.discard(guild.id)
        payload = {"id": str(guild.id)}  # no "unavailable": removed, not an outage
        await self.gateway.dispatch("GUILD_DELETE", lambda _: payload, guild_id=guild.id)

    def refuse_dms(self, member: Member, refuse: bool = True) -> None:
        """The member's privacy settings refuse the bot's DMs (403, code 50007)."""
        if refuse:
            self.refused_dms.add(member.id)
        else:
            self.refused_dms.discard(member.id)

    def routes(self) -> list[str]:
        """Every REST route served, as "METHOD /template" (the names faults are set on)."""
        return ROUTER.names()

    def _known(self, route: str) -> str:
        if route not in ROUTER.names():
            raise ValueError(f"no route {route!r}; known routes: {self.routes()}")
        return route

    def refuse_dm_burst(self, times: int = 1) -> None:
        """The next ``times`` DMs fail with 40003, as Discord answers a bot opening DMs too fast."""
        self.dms_too_fast = times

    def rate_limit_globally(self, *, retry_after: float = 0.5, times: int = 1) -> None:
        """The next ``times`` requests, whatever the route, get Discord's global 429."""
        self.ratelimits.forced_global = Forced(retry_after, times, "global")

    def rate_limit(
        self, route: str, *, retry_after: float = 0.5, times: int = 1, scope: Scope = "user"
    ) -> None:
        """The next ``times`` calls to ``route`` ("POST /channels/{channel_id}/messages") get 429
        (scope "shared": the resource is limited, as Discord answers for a busy channel)."""
        self.ratelimits.forced[self._known(route)] = Forced(retry_after, times, scope)

    def limit_bucket(self, route: str, *, limit: int, window: float) -> None:
        """The bucket holding ``route`` (and every route sharing it) allows ``limit`` requests
        per ``window`` seconds of the sandbox clock, per channel, guild or webhook."""
        self.ratelimits.limits[bucket_of(self._known(route))] = Limit(limit, window)

    def server_error(self, route: str, *, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls to ``route`` do their work, then answer ``status`` (a 5xx
        after Discord created the message: the client can't tell whether it went out)."""
        self.server_errors[self._known(route)] = [status, times]

    def cdn_error(self, status: int = 500, *, times: int = 1) -> None:
        """The next ``times`` pictures asked of the CDN are answered ``status`` (404, 5xx)."""
        self.cdn_errors = [status, times]

    def slow(self, route: str, seconds: float) -> None:
        """Answers on ``route`` take ``seconds`` longer (0 to stop)."""
        self.slow_routes[self._known(route)] = seconds

    async def drop_connections(self) -> None:
        """Cut every bot websocket without a close frame; the client must RESUME."""
        await self.gateway.drop()

    async def send_reconnect(self) -> None:
        """Op 7: ask every bot to reconnect and resume."""
        await self.gateway.broadcast({"op": 7, "d": None})

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Op 9: the session is invalid; not resumable means a fresh IDENTIFY."""
        if not resumable:
            for session in list(self.gateway.sessions.values()):
                session.resumable = False
            self.gateway.sessions.clear()
        await self.gateway.broadcast({"op": 9, "d": resumable})

    def refuse_intents(self, privileged: set[str]) -> None:
        """IDENTIFY asking for these privileged intents is closed with 4014."""
        unknown = privileged - PRIVILEGED.keys()
        if unknown:
            raise ValueError(f"not privileged intents: {sorted(unknown)}")
        self.refused_privileged = set(privileged)
        bits = 0
        for name in privileged:
            bits |= PRIVILEGED[name]
        self.gateway.refused_intents = bits


def _with_mentions(content: str, mentions: Sequence[Member]) -> str:
    """Append the <@id> markup of each mentioned member the text does not already contain."""
    return " ".join([content, *(m.mention for m in mentions if m.mention not in content)]).strip()
