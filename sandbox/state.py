"""The emulated Discord world: guilds, channels, members, messages and their wire shapes.

Objects are plain mutable dataclasses so a scenario can hold on to them; the ``*_payload``
functions render them exactly as Discord's API does, because discord.py parses those shapes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
#: Every permission bit, for owners and administrators.
ALL_PERMISSIONS = (1 << 53) - 1
#: What @everyone may do in a fresh guild: view, send, embed, attach, history, react, slash.
EVERYONE_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | (1 << 31)
)
CHANNEL_TYPES = {
    "text": 0,
    "dm": 1,
    "voice": 2,
    "category": 4,
    "announcement": 5,
    "thread": 11,
    "forum": 15,
}
#: Channels whose messages are read like a text channel's.
TEXT_KINDS = ("text", "announcement")


class Snowflakes:
    """Hands out unique snowflakes whose timestamp is the moment asked for.

    Uniqueness matters more than the low bits' meaning: history laid down at the same instant
    still gets distinct, increasing ids.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._used: set[int] = set()
        self._increment = itertools.count()
        self.clock = clock or (lambda: datetime.now(UTC))

    def make(self, at: datetime | None = None) -> int:
        """A fresh snowflake for ``at`` (aware; the clock's now when None)."""
        moment = at or self.clock()
        if moment.tzinfo is None:
            raise ValueError("snowflake times must be timezone-aware")
        ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
        base = (ms << 22) | (1 << 17)
        while True:
            candidate = base | (next(self._increment) & 0xFFF)
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate


def snowflake_time(snowflake: int) -> datetime:
    """The aware time a snowflake was made for."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def iso(moment: datetime) -> str:
    """Discord's ISO 8601 timestamp."""
    return moment.astimezone(UTC).isoformat()


@dataclass(eq=False)
class User:
    """A Discord account: a member's person, or the bot."""

    id: int
    name: str
    bot: bool = False
    # The language of the member's Discord client (sent as each interaction's `locale`).
    locale: str = "en-US"
    #: The avatar's hash (the CDN serves /avatars/{id}/{hash}.png); None: Discord's default.
    avatar: str | None = None

    @property
    def display_name(self) -> str:
        """What clients show."""
        return self.name

    def payload(self) -> dict[str, Any]:
        """The user object."""
        return {
            "id": str(self.id),
            "username": self.name.lower().replace(" ", "_"),
            "global_name": None if self.bot else self.name,
            "discriminator": "0",
            "avatar": self.avatar,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(eq=False)
class Role:
    """A guild role."""

    id: int
    name: str
    guild: Guild
    permissions: int = 0
    position: int = 1

    def payload(self) -> dict[str, Any]:
        """The role object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": True,
            "flags": 0,
        }


@dataclass(eq=False)
class Member:
    """A user inside a guild (``guild`` None for someone only met in DMs)."""

    user: User
    guild: Guild | None
    roles: list[Role] = field(default_factory=list)
    joined_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    nick: str | None = None

    @property
    def id(self) -> int:
        """The user's id."""
        return self.user.id

    @property
    def name(self) -> str:
        """The user's name."""
        return self.user.name

    @property
    def display_name(self) -> str:
        """The nickname, else the name."""
        return self.nick or self.user.name

    @property
    def bot(self) -> bool:
        """Whether this member is a bot account."""
        return self.user.bot

    @property
    def mention(self) -> str:
        """The mention markup."""
        return f"<@{self.id}>"

    def permissions(self) -> int:
        """Guild-level permissions: @everyone plus roles; everything for the owner or admins."""
        guild = self.guild
        if guild is None:
            return 0
        if guild.owner_id == self.id:
            return ALL_PERMISSIONS
        value = guild.everyone.permissions
        for role in self.roles:
            value |= role.permissions
        return ALL_PERMISSIONS if value & (1 << 3) else value

    def permissions_in(self, channel: Channel) -> int:
        """Permissions in a channel: guild permissions, then its overwrites in Discord's order
        (@everyone, the member's roles together, the member); a thread follows its parent."""
        base = self.permissions()
        if base == ALL_PERMISSIONS or self.guild is None:
            return base
        target = channel.parent if channel.kind == "thread" and channel.parent else channel
        overwrites = target.overwrites
        if not overwrites:
            return base
        allow, deny = overwrites.get(self.guild.id, (0, 0, 0))[1:]
        base = (base & ~deny) | allow
        allow = deny = 0
        for role in self.roles:
            if role.id in overwrites:
                allow |= overwrites[role.id][1]
                deny |= overwrites[role.id][2]
        base = (base & ~deny) | allow
        allow, deny = overwrites.get(self.id, (1, 0, 0))[1:]
        return (base & ~deny) | allow

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        """The guild member object."""
        data: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r.id) for r in self.roles],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass(eq=False)
class Guild:
    """A server."""

    id: int
    name: str
    owner_id: int
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    # The server's language (Server Settings -> Community -> Server Primary Language).
    preferred_locale: str = "en-US"
    #: The icon's hash (the CDN serves /icons/{id}/{hash}.png); None: no icon.
    icon: str | None = None

    def active_threads(self) -> list[Channel]:
        """Threads not archived (what GUILD_CREATE and the active-threads route list)."""
        return [c for c in self.channels if c.kind == "thread" and c.archived_at is None]

    @property
    def everyone(self) -> Role:
        """The @everyone role, whose id is the guild's."""
        return self.roles[0]

    def payload(self, *, members: bool = True) -> dict[str, Any]:
        """The GUILD_CREATE payload (channels, threads, roles and the member list)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": self.icon,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": iso(snowflake_time(self.id)),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "presences": [],
            "members": [m.payload() for m in self.members.values()] if members else [],
            "channels": [c.payload() for c in self.channels if c.kind != "thread"],
            "threads": [c.payload() for c in self.active_threads()],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "hub_type": None,
            "incidents_data": None,
            "safety_alerts_channel_id": None,
        }


@dataclass(eq=False)
class Channel:
    """A guild channel, thread or DM."""

    id: int
    name: str
    kind: str
    guild: Guild | None
    parent: Channel | None = None
    recipient: User | None = None
    owner_id: int | None = None
    messages: list[Message] = field(default_factory=list)
    #: A thread's: archived (no longer in GUILD_CREATE or the active list) and when.
    archived_at: datetime | None = None
    #: Permission overwrites: role or member id -> (type 0 role / 1 member, allow, deny).
    overwrites: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def type(self) -> int:
        """Discord's channel type number."""
        return CHANNEL_TYPES[self.kind]

    @property
    def mention(self) -> str:
        """The mention markup."""
        return f"<#{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The channel object."""
        last = str(self.messages[-1].id) if self.messages else None
        if self.kind == "dm":
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": 1,
                "name": None,
                "last_message_id": last,
                "recipients": [self.recipient.payload()],
                "flags": 0,
            }
        assert self.guild is not None
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild.id),
            "name": self.name,
            "position": self.guild.channels.index(self) if self in self.guild.channels else 0,
            "permission_overwrites": [
                {"id": str(i), "type": kind, "allow": str(allow), "deny": str(deny)}
                for i, (kind, allow, deny) in self.overwrites.items()
            ],
            "parent_id": str(self.parent.id) if self.parent else None,
            "nsfw": False,
            "flags": 0,
        }
        if self.kind in (*TEXT_KINDS, "thread", "forum"):
            data.update(topic=None, last_message_id=last, rate_limit_per_user=0)
        if self.kind == "forum":
            # APIGuildForumChannel: tags and defaults (none set in the sandbox).
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        if self.kind == "voice":
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        if self.kind == "thread":
            # APIThreadChannel has neither overwrites, a position nor a topic.
            for key in ("permission_overwrites", "position", "topic"):
                data.pop(key, None)
            data.update(
                owner_id=str(self.owner_id),
                message_count=len(self.messages),
                member_count=1,
                total_message_sent=len(self.messages),
                thread_metadata={
                    "archived": self.archived_at is not None,
                    "auto_archive_duration": 10080,
                    "archive_timestamp": iso(self.archived_at or snowflake_time(self.id)),
                    "locked": False,
                    "create_timestamp": iso(snowflake_time(self.id)),
                },
            )
        return data


@dataclass(eq=False)
class Message:
    """A message as stored: what the author sent, before any per-bot filtering."""

    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    mentions: list[User] = field(default_factory=list)
    reply_to: Message | None = None
    webhook_id: int | None = None
    type: int = 0
    flags: int = 0
    edited_at: datetime | None = None
    reactions: dict[str, set[int]] = field(default_factory=dict)
    interaction: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def created_at(self) -> datetime:
        """When the message was sent (from its snowflake)."""
        return snowflake_time(self.id)

    @property
    def guild(self) -> Guild | None:
        """The guild of its channel."""
        return self.channel.guild

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking member sees it."""
        return bool(self.flags & 64)

    @property
    def jump_url(self) -> str:
        """The link Discord clients open."""
        where = self.channel.guild.id if self.channel.guild else "@me"
        return f"https://discord.com/channels/{where}/{self.channel.id}/{self.id}"

    @property
    def text(self) -> str:
        """Content plus every embed's title, description and fields, for assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for f in embed.get("fields", []):
                parts += [f.get("name", ""), f.get("value", "")]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    def custom_ids(self) -> list[str]:
        """Every component custom_id on the message, depth first."""
        found: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if "custom_id" in item:
                    found.append(item["custom_id"])
                walk(item.get("components", []))
                if "accessory" in item:
                    walk([item["accessory"]])

        walk(self.components)
        return found

    def find_component(self, custom_id: str) -> dict[str, Any] | None:
        """The component with this custom_id."""

        def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
            for item in items:
                if item.get("custom_id") == custom_id:
                    return item
                children = list(item.get("components", []))
                if item.get("accessory"):
                    children.append(item["accessory"])
                inner = walk(children)
                if inner is not None:
                    return inner
            return None

        return walk(self.components)

    def payload(
        self, *, hide_content: bool = False, gateway: bool = False, nested: bool = False
    ) -> dict[str, Any]:
        """The message object; ``hide_content`` blanks what the message-content intent guards.

        ``gateway`` adds MESSAGE_CREATE's extra fields (guild_id, the author's member, members
        on mentions): REST and a referenced message carry none (APIMessage in
        discord-api-types, against GatewayMessageCreateDispatchData). A referenced message
        (``nested``) does not carry its own referenced message.
        """
        channel = self.channel
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(channel.id),
            "author": self.author.payload(),
            "content": "" if hide_content else self.content,
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at) if self.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [self._mention_payload(u, gateway) for u in self.mentions],
            "mention_roles": [],
            "attachments": [] if hide_content else self._attachments(),
            "embeds": [] if hide_content else self.embeds,
            "components": [] if hide_content else self.components,
            "reactions": [
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": False,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, users in self.reactions.items()
                if users
            ],
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if channel.guild is not None and gateway:
            data["guild_id"] = str(channel.guild.id)
            member = channel.guild.members.get(self.author.id)
            if member is not None and self.webhook_id is None:
                data["member"] = member.payload(with_user=False)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.interaction is not None:
            data["interaction_metadata"] = self.interaction
            # An interaction's answers are sent by the application's webhook.
            data["application_id"] = str(self.webhook_id)
        if self.reply_to is not None:
            # APIMessageReference: fail_if_not_exists is only for requests.
            data["message_reference"] = {
                "type": 0,
                "message_id": str(self.reply_to.id),
                "channel_id": str(self.reply_to.channel.id),
            }
            if channel.guild is not None:
                data["message_reference"]["guild_id"] = str(channel.guild.id)
            if not nested:
                data["referenced_message"] = (
                    None
                    if self.reply_to.deleted
                    else self.reply_to.payload(hide_content=hide_content, nested=True)
                )
        return data

    def _mention_payload(self, user: User, gateway: bool) -> dict[str, Any]:
        data = user.payload()
        guild = self.channel.guild
        if gateway and guild is not None and user.id in guild.members:
            data["member"] = guild.members[user.id].payload(with_user=False)
        return data

    def _attachments(self) -> list[dict[str, Any]]:
        return [
            {
                "id": str(self.id + i + 1),
                "filename": name,
                "size": len(body),
                "url": f"https://cdn.discordapp.com/attachments/{self.channel.id}/{self.id}/{name}",
                "proxy_url": f"https://media.discordapp.net/attachments/{self.channel.id}/{self.id}/{name}",
            }
            for i, (name, body) in enumerate(self.files)
        ]
