"""REST v10 handlers for the routes a bot uses, answering with Discord's shapes and errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from rapport.sandbox.interactions import Interaction
from rapport.sandbox.server import ApiError, Call, Router
from rapport.sandbox.state import Channel, Message

if TYPE_CHECKING:
    from rapport.sandbox.emulator import Emulator

EPHEMERAL = 64
LOADING = 128
router = Router()


def route(method: str, template: str, *, auth: bool = True):  # noqa: ANN201
    """Register the decorated handler."""

    def register(handler):  # noqa: ANN001, ANN202
        router.add(method, template, handler, auth=auth)
        return handler

    return register


def _int(value: str, code: int = 10003, what: str = "Channel") -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(404, code, f"Unknown {what}") from None


def _channel(emu: Emulator, channel_id: str) -> Channel:
    channel = emu.channels.get(_int(channel_id))
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    return channel


def _message(emu: Emulator, channel: Channel, message_id: str) -> Message:
    message = emu.messages.get(_int(message_id, 10008, "Message"))
    if message is None or message.deleted or message.channel is not channel:
        raise ApiError(404, 10008, "Unknown Message")
    return message


def check_content(body: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
    """Refuse what Discord refuses: empty messages and content over 2000 characters."""
    content = body.get("content") or ""
    if len(content) > 2000:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            {
                "content": {
                    "_errors": [
                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                    ]
                }
            },
        )
    if not content.strip() and not (
        body.get("embeds") or files or body.get("components") or body.get("sticker_ids")
    ) and not body.get("poll"):
        raise ApiError(400, 50006, "Cannot send an empty message")


def apply_body(message: Message, body: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
    """Write a create/edit body onto a message (fields absent from an edit stay as they were)."""
    if "content" in body:
        message.content = body["content"] or ""
    if "embeds" in body:
        message.embeds = list(body["embeds"] or [])
    elif "embed" in body and body["embed"]:
        message.embeds = [body["embed"]]
    if "components" in body:
        message.components = list(body["components"] or [])
    if "flags" in body and body["flags"] is not None:
        message.flags = (message.flags & (EPHEMERAL | LOADING)) | (int(body["flags"]) & ~LOADING)
    if files:
        message.files = list(files)
    elif "attachments" in body and not body["attachments"]:
        message.files = []


async def post_bot_message(
    emu: Emulator,
    channel: Channel,
    body: dict[str, Any],
    files: list[tuple[str, bytes]],
    *,
    interaction: Interaction | None = None,
    ephemeral: bool = False,
    loading: bool = False,
) -> Message:
    """Create a message from the bot and dispatch it (unless only the invoker can see it)."""
    if not loading:
        check_content(body, files)
    reply_to = None
    reference = body.get("message_reference")
    if reference and reference.get("message_id"):
        reply_to = emu.messages.get(int(reference["message_id"]))
    message = Message(
        id=emu.snowflakes.make(),
        channel=channel,
        author=emu.bot_user,
        reply_to=reply_to,
        type=19 if reply_to else (20 if interaction else 0),
    )
    apply_body(message, body, files)
    message.flags |= (EPHEMERAL if ephemeral else 0) | (LOADING if loading else 0)
    mentioned = {u.id: u for u in _mentioned_users(emu, message.content)}
    message.mentions = list(mentioned.values())
    if interaction is not None:
        message.webhook_id = emu.application_id
        message.interaction = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.user.payload(),
            "authorizing_integration_owners": {},
            "application_id": str(emu.application_id),
        }
    emu.messages[message.id] = message
    if not message.ephemeral:
        channel.messages.append(message)
        await emu.dispatch_message("MESSAGE_CREATE", message)
    emu.messages_sent += 1
    return message


def _mentioned_users(emu: Emulator, content: str) -> list[Any]:
    import re

    found = []
    for raw in re.findall(r"<@!?(\d+)>", content):
        user = emu.users.get(int(raw))
        if user is not None:
            found.append(user)
    return found


async def edit_message(
    emu: Emulator, message: Message, body: dict[str, Any], files: list[tuple[str, bytes]]
) -> Message:
    """Apply an edit and dispatch MESSAGE_UPDATE for visible messages."""
    apply_body(message, body, files)
    message.flags &= ~LOADING
    content = message.content
    if len(content) > 2000:
        check_content({"content": content}, [])
    message.edited_at = datetime.now(UTC)
    if not message.ephemeral:
        await emu.dispatch_message("MESSAGE_UPDATE", message)
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
        "flags": (1 << 19) | (1 << 15),
        "summary": "",
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": len(emu.guilds),
        "integration_types_config": {"0": {}},
    }


@route("GET", "/users/{user_id}")
async def get_user(emu: Emulator, call: Call) -> tuple[int, Any]:
    """A user by id."""
    user = emu.users.get(_int(call.params["user_id"], 10013, "User"))
    if user is None:
        raise ApiError(404, 10013, "Unknown User")
    return 200, user.payload()


# -- application commands -------------------------------------------------------------------


def _command_list(emu: Emulator, call: Call) -> tuple[list[dict[str, Any]], int | None]:
    if _int(call.params["application_id"], 10002, "Application") != emu.application_id:
        raise ApiError(403, 50001, "Missing Access")
    guild_id = call.params.get("guild_id")
    if guild_id is None:
        return emu.global_commands, None
    gid = _int(guild_id, 10004, "Guild")
    if emu.guild_by_id(gid) is None:
        raise ApiError(404, 10004, "Unknown Guild")
    return emu.guild_commands.setdefault(gid, []), gid


def _stored_command(
    emu: Emulator, body: dict[str, Any], guild_id: int | None, old: list[dict[str, Any]]
) -> dict[str, Any]:
    kind = body.get("type", 1)
    previous = next((c for c in old if c["name"] == body["name"] and c["type"] == kind), None)
    command = {
        "default_member_permissions": None,
        "nsfw": False,
        "contexts": None,
        "integration_types": [0],
        "description": "",
        "options": [],
        **body,
        "id": previous["id"] if previous else str(emu.snowflakes.make()),
        "application_id": str(emu.application_id),
        "type": kind,
        "version": str(emu.snowflakes.make()),
    }
    if guild_id is not None:
        command["guild_id"] = str(guild_id)
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
    user = emu.users.get(_int(str((call.json or {}).get("recipient_id", "")), 10013, "User"))
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
    if channel.kind == "dm" and channel.recipient and channel.recipient.id in emu.refused_dms:
        raise ApiError(403, 50007, "Cannot send messages to this user")
    message = await post_bot_message(emu, channel, call.json or {}, call.files)
    return 200, message.payload()


@route("GET", "/channels/{channel_id}/messages")
async def history(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Up to ``limit`` messages before/after/around an id, newest first."""
    channel = _channel(emu, call.params["channel_id"])
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


@route("POST", "/channels/{channel_id}/typing")
async def typing(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Typing indicators are accepted and forgotten."""
    _channel(emu, call.params["channel_id"])
    return 204, None


@route("GET", "/channels/{channel_id}/threads/archived/public")
@route("GET", "/channels/{channel_id}/threads/archived/private")
async def archived_threads(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Threads never archive in the sandbox."""
    _channel(emu, call.params["channel_id"])
    return 200, {"threads": [], "members": [], "has_more": False}


# -- guilds ---------------------------------------------------------------------------------


def _guild(emu: Emulator, guild_id: str) -> Any:
    guild = emu.guild_by_id(_int(guild_id, 10004, "Guild"))
    if guild is None:
        raise ApiError(404, 10004, "Unknown Guild")
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
    threads = [c.payload() for c in guild.channels if c.kind == "thread"]
    return 200, {"threads": threads, "members": []}


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(emu: Emulator, call: Call) -> tuple[int, Any]:
    """One member."""
    guild = _guild(emu, call.params["guild_id"])
    member = guild.members.get(_int(call.params["user_id"], 10007, "Member"))
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


# -- interactions ---------------------------------------------------------------------------


def _interaction(emu: Emulator, token: str) -> Interaction:
    found = emu.interactions_by_token.get(token)
    if found is None or (not found.acknowledged and emu.expire_if_late(found)):
        raise ApiError(404, 10062, "Unknown interaction")
    return found


@route("POST", "/interactions/{interaction_id}/{token}/callback", auth=False)
async def callback(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The initial response: message (4), defer (5/6), update (7), choices (8), modal (9)."""
    inter = _interaction(emu, call.params["token"])
    if str(inter.id) != call.params["interaction_id"]:
        raise ApiError(404, 10062, "Unknown interaction")
    if inter.acknowledged:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    body = call.json or {}
    kind = int(body.get("type", 0))
    data = body.get("data") or {}
    reply = inter.reply
    ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
    component = inter.type == 3 or (inter.type == 5 and inter.message is not None)
    if kind == 4:
        if inter.type == 4:
            raise ApiError(400, 50035, "Invalid Form Body")
        inter.original = await post_bot_message(
            emu, inter.channel, data, call.files, interaction=inter, ephemeral=ephemeral
        )
    elif kind == 5:
        inter.original = await post_bot_message(
            emu, inter.channel, {}, [], interaction=inter, ephemeral=ephemeral, loading=True
        )
    elif kind in (6, 7):
        if not component or inter.message is None:
            raise ApiError(400, 40043, "This interaction type cannot be used with this callback")
        inter.original = inter.message
        if kind == 7:
            check_content({**_current(inter.message), **data}, call.files or inter.message.files)
            await edit_message(emu, inter.message, data, call.files)
    elif kind == 8:
        reply.choices = list(data.get("choices", []))
    elif kind == 9:
        reply.modal = data
    else:
        raise ApiError(400, 50035, "Invalid Form Body", {"type": {"_errors": []}})
    inter.acknowledged = True
    reply.type = kind
    reply.deferred = kind in (5, 6)
    reply.ephemeral = ephemeral or bool(inter.original and inter.original.ephemeral)
    reply.message = inter.original
    if not reply.deferred:
        inter.settled.set()
    if call.query.get("with_response") not in ("1", "true", "True"):
        return 204, None
    answer: dict[str, Any] = {
        "interaction": {
            "id": str(inter.id),
            "type": inter.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": reply.ephemeral,
        },
        "resource": {"type": kind},
    }
    if inter.original is not None and kind in (4, 5, 7):
        answer["interaction"]["response_message_id"] = str(inter.original.id)
        answer["resource"]["message"] = inter.original.payload()
    return 200, answer


def _current(message: Message) -> dict[str, Any]:
    return {"content": message.content, "embeds": message.embeds, "components": message.components}


def _followup_target(emu: Emulator, call: Call) -> Interaction:
    if _int(call.params["application_id"], 10015, "Webhook") != emu.application_id:
        raise ApiError(404, 10015, "Unknown Webhook")
    inter = _interaction(emu, call.params["token"])
    if not inter.acknowledged:
        raise ApiError(404, 10015, "Unknown Webhook")
    return inter


def _webhook_message(inter: Interaction, message_id: str) -> Message:
    if message_id == "@original":
        if inter.original is None:
            raise ApiError(404, 10008, "Unknown Message")
        return inter.original
    for message in inter.reply.followups:
        if str(message.id) == message_id and not message.deleted:
            return message
    raise ApiError(404, 10008, "Unknown Message")


@route("POST", "/webhooks/{application_id}/{token}", auth=False)
async def followup(emu: Emulator, call: Call) -> tuple[int, Any]:
    """A followup message after the initial response."""
    inter = _followup_target(emu, call)
    body = call.json or {}
    ephemeral = bool(int(body.get("flags") or 0) & EPHEMERAL)
    message = await post_bot_message(
        emu, inter.channel, body, call.files, interaction=inter, ephemeral=ephemeral
    )
    inter.reply.followups.append(message)
    inter.settled.set()
    if call.query.get("wait") in ("true", "1", "True"):
        return 200, message.payload()
    return 204, None


@route("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
async def get_webhook_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """The original response or a followup."""
    inter = _followup_target(emu, call)
    return 200, _webhook_message(inter, call.params["message_id"]).payload()


@route("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
async def edit_webhook_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Edit the original response (this is how a deferred answer arrives) or a followup."""
    inter = _followup_target(emu, call)
    message = _webhook_message(inter, call.params["message_id"])
    body = call.json or {}
    was_loading = bool(message.flags & LOADING)
    if was_loading:
        check_content(body, call.files)
    await edit_message(emu, message, body, call.files)
    if was_loading and not message.ephemeral:
        message.edited_at = None
    inter.settled.set()
    return 200, message.payload()


@route("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
async def delete_webhook_message(emu: Emulator, call: Call) -> tuple[int, Any]:
    """Delete the original response or a followup."""
    inter = _followup_target(emu, call)
    await emu.delete(_webhook_message(inter, call.params["message_id"]))
    inter.settled.set()
    await asyncio.sleep(0)
    return 204, None
