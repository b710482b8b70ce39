"""The rules every message the bot posts or edits goes through, wherever it comes from.

Channel sends, interaction responses and followups all create messages; Discord applies the same
limits to each (no empty message, 2000 characters), so they share one path here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.server import ApiError
from sandbox.state import Channel, Message, User

if TYPE_CHECKING:
    from sandbox.emulator import Emulator
    from sandbox.interactions import Invocation

EPHEMERAL = 64
LOADING = 128


def _form_error(field: str, code: str, message: str) -> ApiError:
    return ApiError(
        400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": code, "message": message}]}}
    )


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for field in embed.get("fields") or []:
        size += len(field.get("name") or "") + len(field.get("value") or "")
    return size


def check_content(body: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
    """Refuse what Discord refuses beyond the schema: empty, over 2000, embeds over 6000."""
    content = body.get("content") or ""
    if len(content) > 2000:
        raise _form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if sum(_embed_size(e) for e in embeds if isinstance(e, dict)) > 6000:
        raise _form_error(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    if (
        not content.strip()
        and not (body.get("embeds") or files or body.get("components") or body.get("sticker_ids"))
        and not body.get("poll")
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")


def apply_body(message: Message, body: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
    """Write a create/edit body onto a message (fields absent from an edit stay as they were)."""
    if "content" in body:
        message.content = body["content"] or ""
    if "embeds" in body:
        message.embeds = list(body["embeds"] or [])
    elif body.get("embed"):
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
    interaction: Invocation | None = None,
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
    message.mentions = [u for u in mentioned.values() if _may_ping(body, u.id)]
    if interaction is not None:
        message.webhook_id = emu.application_id
        message.interaction = interaction.metadata()
    emu.messages[message.id] = message
    if not message.ephemeral:
        channel.messages.append(message)
        await emu.dispatch_message("MESSAGE_CREATE", message)
    emu.messages_sent += 1
    return message


def _may_ping(body: dict[str, Any], user_id: int) -> bool:
    """Whether a bot message's allowed_mentions let a user mention in its content through (a
    mention it holds back is shown as a name and left out of `mentions`: nobody is pinged)."""
    allowed = body.get("allowed_mentions")
    if not isinstance(allowed, dict):
        return True
    return "users" in (allowed.get("parse") or ()) or str(user_id) in {
        str(u) for u in allowed.get("users") or ()
    }


def _mentioned_users(emu: Emulator, content: str) -> list[User]:
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
    message.edited_at = emu.clock()
    if not message.ephemeral:
        await emu.dispatch_message("MESSAGE_UPDATE", message)
    return message
