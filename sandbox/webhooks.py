"""Interaction responses and followups: the webhook side of an interaction.

Discord's timing rules live here: an answer after the deadline is an unknown interaction (10062),
a second initial response is refused (40060), and a "thinking" defer is filled by the first
followup or an edit of the original.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.interactions import Invocation
from sandbox.messages import (
    EPHEMERAL,
    LOADING,
    check_content,
    edit_message,
    post_bot_message,
)
from sandbox.rest import parse_id
from sandbox.server import ApiError, Call, route
from sandbox.state import Message

if TYPE_CHECKING:
    from sandbox.emulator import Emulator


#: An interaction token answers followups and edits for 15 minutes.
TOKEN_LIFETIME = timedelta(minutes=15)


def _interaction(emu: Emulator, token: str) -> Invocation:
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
    emu.first_responses.append(asyncio.get_running_loop().time() - inter.created)
    inter.acknowledged = True
    inter.acked.set()
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


def _followup_target(emu: Emulator, call: Call) -> Invocation:
    if parse_id(call.params["application_id"], 10015, "Webhook") != emu.application_id:
        raise ApiError(404, 10015, "Unknown Webhook")
    inter = _interaction(emu, call.params["token"])
    if not inter.acknowledged:
        raise ApiError(404, 10015, "Unknown Webhook")
    if inter.created_at is not None and emu.clock() - inter.created_at > TOKEN_LIFETIME:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return inter


def _webhook_message(inter: Invocation, message_id: str) -> Message:
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
    original = inter.original
    if original is not None and original.flags & LOADING and not inter.reply.followups:
        # Discord turns the first followup after a "thinking" defer into the original
        # response, keeping the defer's visibility.
        check_content(body, call.files)
        message = await edit_message(emu, original, body, call.files)
        message.flags = (message.flags & ~EPHEMERAL) | (original.flags & EPHEMERAL)
        message.edited_at = None
    else:
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
    return 204, None
