"""REST v10 handlers for what a bot reads and writes, in Discord's shapes and error codes.

Identity, application commands, channels, messages and guilds; the interaction webhooks are in
webhooks.py and the rules for bot messages in messages.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sandbox.messages import edit_message, post_bot_message
from sandbox.server import ApiError, Call, route
from sandbox.state import Channel, Guild, Message

if TYPE_CHECKING:
    from sandbox.emulator import Emulator


VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
READ_MESSAGE_HISTORY = 1 << 16
SEND_IN_THREADS = 1 << 38
#: How long a message's nonce is remembered for enforce_nonce (Discord: "a few minutes").
NONCE_WINDOW = 300.0


def parse_id(value: str, code: int = 10003, what: str = "Channel") -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(404, code, f"Unknown {what}") from None


def _channel(emu: Emulator, channel_id: str) -> Channel:
    channel = emu.channels.get(parse_id(channel_id))
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    if channel.guild is not None and channel.guild.id in emu.removed_guilds:
        raise ApiError(403, 50001, "Missing Access")
    if not emu.bot_can(channel, VIEW_CHANNEL):
        raise ApiError(403, 50001, "Missing Access")
    return channel


def _require(emu: Emulator, channel: Channel, permission: int) -> None:
    if not emu.bot_can(channel, permission):
        raise ApiError(403, 50013, "Missing Permissions")


def _message(emu: Emulator, channel: Channel, message_id: str) -> Message:
    message = emu.messages.get(parse_id(message_id, 10008, "Message"))
    if message is None or message.deleted or message.channel is not channel:
        raise ApiError(404, 10008, "Unknown Message")
    return message


# -- identity -------------------------------------------------------------------------------


@route("GET", "/gateway/bot")
async def gateway_bot(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Where to connect, and how many shards."""
    limit = {"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1}
    return 200, {"url": emu.gateway_url, "shards": 1, "session_start_limit": limit}


@route("GET", "/gateway", auth=False)
async def gateway(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Where to connect."""
    return 200, {"url": emu.gateway_url}


@route("GET", "/users/@me")
async def me(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The bot's own user."""
    data = emu.bot_user.payload()
    data.update(verified=True, mfa_enabled=False, locale="en-US", email=None)
    return 200, data


@route("GET", "/oauth2/applications/@me")
@route("GET", "/applications/@me")
async def application(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The bot's application."""
    owner = emu.owner.payload()
    flags = (1 << 19) | (1 << 15)
    # APIApplication: flags_new is the same bit field as a string; tags, when none, is absent.
    return 200, {
        "id": str(emu.application_id),
        "name": emu.bot_user.name,
        "icon": None,
        "description": "Rapport sandbox application",
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "bot": emu.bot_user.payload(),
        "owner": owner,
        "team": None,
        "verify_key": "0" * 64,
        "flags": flags,
        "flags_new": str(flags),
        "summary": "",
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": len(emu.guilds),
        "integration_types_config": {"0": {}},
    }


@route("GET", "/users/{user_id}")
async def get_user(emu: Emulator, call: Call) -> tuple[int, Any]:
    """A user by id."""
    user = emu.users.get(parse_id(call.params["user_id"], 10013, "User"))
    if user is None:
        raise ApiError(404, 10013, "Unknown User")
    return 200, user.payload()


# -- application commands -------------------------------------------------------------------


def _command_list(emu: Emulator, call: Call) -> tuple[list[dict[str, Any]], int | None]:
    if parse_id(call.params["application_id"], 10002, "Application") != emu.application_id:
        raise ApiError(403, 50001, "Missing Access")
    guild_id = call.params.get("guild_id")
    if guild_id is None:
        return emu.global_commands, None
    gid = parse_id(guild_id, 10004, "Guild")
    if emu.guild_by_id(gid) is None:
        raise ApiError(404, 10004, "Unknown Guild")
    return emu.guild_commands.setdefault(gid, []), gid


def _stored_command(
    emu: Emulator, body: dict[str, Any], guild_id: int | None, old: list[dict[str, Any]]
) -> dict[str, Any]:
    kind = body.get("type", 1)
    previous = next((c for c in old if c["name"] == body["name"] and c["type"] == kind), None)
    given = {k: v for k, v in body.items() if v is not None}
    command = {
        "default_member_permissions": None,
        "nsfw": False,
        "contexts": None,
        "integration_types": [0],
        "description": "",
        "options": [],
        **given,
        "id": previous["id"] if previous else str(emu.snowflakes.make()),
        "application_id": str(emu.application_id),
        "type": kind,
        "version": str(emu.snowflakes.make()),
    }
    # Discord answers permissions as a string whatever the bot sent (discord.py sends an int).
    if command["default_member_permissions"] is not None:
        command["default_member_permissions"] = str(command["default_member_permissions"])
    if guild_id is not None:
        command["guild_id"] = str(guild_id)
        # A guild command has no install contexts (RESTGetAPIApplicationGuildCommandsResult).
        for key in ("contexts", "dm_permission", "integration_types"):
            command.pop(key, None)
    return command


@route("PUT", "/applications/{application_id}/commands")
@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def bulk_commands(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Replace the command set and keep the definitions with ids."""
    old, guild_id = _command_list(emu, call)
    if not isinstance(call.json, list):
        raise ApiError(400, 50035, "Invalid Form Body")
    new = [_stored_command(emu, body, guild_id, old) for body in call.json]
    old[:] = new
    emu.command_syncs += 1
    return 200, new


@route("POST", "/applications/{application_id}/commands")
@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def upsert_command(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Create or overwrite one command."""
    old, guild_id = _command_list(emu, call)
    command = _stored_command(emu, call.json, guild_id, old)
    old[:] = [c for c in old if c["id"] != command["id"]] + [command]
    return 201, command


@route("GET", "/applications/{application_id}/commands")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def list_commands(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The synced commands."""
    return 200, _command_list(emu, call)[0]


@route("DELETE", "/applications/{application_id}/commands/{command_id}")
@route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Remove one command."""
    old, _ = _command_list(emu, call)
    old[:] = [c for c in old if c["id"] != call.params["command_id"]]
    return 204, None


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")
async def command_permissions(emu: Emulator, call: Call) -> tuple[int, Any]:
    """No per-command permission overrides in the sandbox."""
    return 200, []


# -- channels and messages ------------------------------------------------------------------


@route("POST", "/users/@me/channels")
async def open_dm(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Open (or reuse) the DM channel with a user."""
    user = emu.users.get(parse_id(str((call.json or {}).get("recipient_id", "")), 10013, "User"))
    if user is None:
        raise ApiError(404, 10013, "Unknown User")
    emu.dm_opened_count += 1
    return 200, emu.dm_channel(user).payload()


@route("GET", "/channels/{channel_id}")
async def get_channel(emu: Emulator, call: Call) -> tuple[int, Any]:
    """A channel by id."""
    return 200, _channel(emu, call.params["channel_id"]).payload()


@route("POST", "/channels/{channel_id}/messages")
async def create_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Send a message, unless the recipient refuses DMs from the bot."""
    channel = _channel(emu, call.params["channel_id"])
    if channel.kind == "dm" and channel.recipient and not emu.may_dm(channel.recipient):
        raise ApiError(403, 50007, "Cannot send messages to this user")
    if channel.kind == "dm" and emu.dms_too_fast > 0:
        emu.dms_too_fast -= 1
        raise ApiError(400, 40003, "You are opening direct messages too fast.")
    _require(emu, channel, SEND_IN_THREADS if channel.kind == "thread" else SEND_MESSAGES)
    body = call.json or {}
    # With enforce_nonce, Discord answers a repeated nonce (a client retrying after a lost
    # answer) with the message it already created, for a few minutes.
    nonce = body.get("nonce") if body.get("enforce_nonce") else None
    if nonce is not None:
        now = asyncio.get_running_loop().time()
        seen = emu.nonces.get((channel.id, str(nonce)))
        if seen is not None and now - seen[0] < NONCE_WINDOW and not seen[1].deleted:
            return 200, seen[1].payload()
    message = await post_bot_message(emu, channel, body, call.files)
    if nonce is not None:
        emu.nonces[(channel.id, str(nonce))] = (asyncio.get_running_loop().time(), message)
    return 200, message.payload()


@route("GET", "/channels/{channel_id}/messages")
async def history(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Up to ``limit`` messages before/after/around an id, newest first."""
    channel = _channel(emu, call.params["channel_id"])
    if not emu.bot_can(channel, READ_MESSAGE_HISTORY):
        return 200, []  # as Discord: no history without Read Message History
    limit = max(1, min(100, int(call.query.get("limit", 50))))
    visible = [m for m in channel.messages if not m.deleted]
    if "before" in call.query:
        cut = int(call.query["before"])
        chosen = [m for m in visible if m.id < cut][-limit:]
    elif "after" in call.query:
        cut = int(call.query["after"])
        chosen = [m for m in visible if m.id > cut][:limit]
    elif "around" in call.query:
        cut = int(call.query["around"])
        older = [m for m in visible if m.id <= cut][-((limit + 1) // 2) :]
        newer = [m for m in visible if m.id > cut][: limit // 2]
        chosen = older + newer
    else:
        chosen = visible[-limit:]
    hide = emu.content_hidden_for_rest()
    return 200, [emu.render(m, hide) for m in reversed(chosen)]


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """One message."""
    channel = _channel(emu, call.params["channel_id"])
    message = _message(emu, channel, call.params["message_id"])
    return 200, emu.render(message, emu.content_hidden_for_rest())


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def patch_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Edit one of the bot's messages."""
    channel = _channel(emu, call.params["channel_id"])
    message = _message(emu, channel, call.params["message_id"])
    if message.author is not emu.bot_user:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    await edit_message(emu, message, call.json or {}, call.files)
    # A deferred click is often finished by editing the clicked message directly.
    for inter in emu.interactions_by_token.values():
        if inter.message is message and inter.acknowledged:
            inter.settled.set()
    return 200, message.payload()


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Delete a message."""
    channel = _channel(emu, call.params["channel_id"])
    await emu.delete(_message(emu, channel, call.params["message_id"]))
    return 204, None


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def own_reaction(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The bot reacts (or takes its reaction back)."""
    channel = _channel(emu, call.params["channel_id"])
    message = _message(emu, channel, call.params["message_id"])
    emoji = unquote(call.params["emoji"])
    await emu.react_as(emu.bot_user, message, emoji, remove=call.method == "DELETE")
    return 204, None


@route("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
async def reaction_users(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Who reacted with an emoji, by ascending id after ``after``."""
    channel = _channel(emu, call.params["channel_id"])
    message = _message(emu, channel, call.params["message_id"])
    ids = sorted(message.reactions.get(unquote(call.params["emoji"]), set()))
    after = int(call.query.get("after", 0))
    limit = max(1, min(100, int(call.query.get("limit", 25))))
    chosen = [emu.users[i] for i in ids if i > after and i in emu.users][:limit]
    return 200, [u.payload() for u in chosen]


@route("GET", "/users/@me/guilds")
async def my_guilds(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The guilds the bot is in, as partial guilds."""
    return 200, [
        {
            "id": str(g.id),
            "name": g.name,
            "icon": g.icon,
            "banner": None,
            "owner": False,
            "permissions": str(guild_member_permissions(emu, g)),
            "features": [],
        }
        for g in emu.guilds
        if g.id not in emu.removed_guilds
    ]


def guild_member_permissions(emu: Emulator, guild: Guild) -> int:
    """The bot's permissions in a guild."""
    return guild.members[emu.bot_user.id].permissions()


@route("POST", "/channels/{channel_id}/typing")
async def typing(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Typing indicators are accepted and forgotten."""
    _channel(emu, call.params["channel_id"])
    return 204, None


@route("GET", "/channels/{channel_id}/threads/archived/public")
@route("GET", "/channels/{channel_id}/threads/archived/private")
@route("GET", "/channels/{channel_id}/users/@me/threads/archived/private")
async def archived_threads(emu: Emulator, call: Call) -> tuple[int, Any]:
    """A channel's archived threads, most recently archived first, by pages (``before`` an
    archive time, ``limit``), with ``has_more``. All sandbox threads are public."""
    parent = _channel(emu, call.params["channel_id"])
    if call.path.endswith("/private") or parent.guild is None:
        return 200, {"threads": [], "members": [], "has_more": False}
    archived = sorted(
        (c for c in parent.guild.channels if c.parent is parent and c.archived_at is not None),
        key=lambda c: c.archived_at or 0,
        reverse=True,
    )
    if "before" in call.query:
        before = datetime.fromisoformat(call.query["before"])
        archived = [c for c in archived if c.archived_at and c.archived_at < before]
    limit = max(2, min(100, int(call.query.get("limit", 50))))
    page = archived[:limit]
    return 200, {
        "threads": [c.payload() for c in page],
        "members": [],
        "has_more": len(archived) > limit,
    }


# -- guilds ---------------------------------------------------------------------------------


def _guild(emu: Emulator, guild_id: str) -> Guild:
    guild = emu.guild_by_id(parse_id(guild_id, 10004, "Guild"))
    if guild is None:
        raise ApiError(404, 10004, "Unknown Guild")
    if guild.id in emu.removed_guilds:
        raise ApiError(403, 50001, "Missing Access")
    return guild


@route("GET", "/guilds/{guild_id}")
async def get_guild(emu: Emulator, call: Call) -> tuple[int, Any]:
    """A guild (without its member list)."""
    data = _guild(emu, call.params["guild_id"]).payload(members=False)
    for key in ("members", "channels", "threads", "voice_states", "presences", "joined_at"):
        data.pop(key, None)
    return 200, data


@route("GET", "/guilds/{guild_id}/channels")
async def guild_channels(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The guild's channels (threads excluded, as Discord does)."""
    guild = _guild(emu, call.params["guild_id"])
    return 200, [c.payload() for c in guild.channels if c.kind != "thread"]


@route("GET", "/guilds/{guild_id}/roles")
async def guild_roles(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The guild's roles."""
    return 200, [r.payload() for r in _guild(emu, call.params["guild_id"]).roles]


@route("GET", "/guilds/{guild_id}/threads/active")
async def active_threads(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Every thread of the guild (none ever archive here)."""
    guild = _guild(emu, call.params["guild_id"])
    threads = [c.payload() for c in guild.active_threads()]
    return 200, {"threads": threads, "members": []}


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(emu: Emulator, call: Call) -> tuple[int, Any]:
    """One member."""
    guild = _guild(emu, call.params["guild_id"])
    member = guild.members.get(parse_id(call.params["user_id"], 10007, "Member"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    return 200, member.payload()


@route("GET", "/guilds/{guild_id}/members")
async def list_members(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Members by ascending id after ``after``; needs the privileged members intent."""
    if "members" in emu.refused_privileged:
        raise ApiError(403, 50001, "Missing Access")
    guild = _guild(emu, call.params["guild_id"])
    limit = max(1, min(1000, int(call.query.get("limit", 1))))
    after = int(call.query.get("after", 0))
    members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
    return 200, [m.payload() for m in members[:limit]]
