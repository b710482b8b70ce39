"""Interactions: a member's command, click or form on the wire, and the bot's answer to it.

The Invoker sends INTERACTION_CREATE to the one session that owns the guild and waits the way a
Discord client does: for the initial response within the deadline, then for a deferred answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.options import (
    CommandError,
    build_options,
    find_command,
    modal_submission,
    resolved_member,
)
from sandbox.state import Channel, Guild, Member, Message, User

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

UNKNOWN_INTERACTION = "10062 Unknown interaction"


@dataclass(eq=False)
class Reply:
    """The bot's answer to one interaction; followups keep arriving after it is returned."""

    type: int | None = None
    message: Message | None = None
    deferred: bool = False
    ephemeral: bool = False
    followups: list[Message] = field(default_factory=list)
    error: str | None = None
    choices: list[dict[str, Any]] = field(default_factory=list)
    modal: dict[str, Any] | None = None

    @property
    def content(self) -> str:
        """The response message's content ("" when there is none)."""
        return self.message.content if self.message else ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The response message's embeds."""
        return self.message.embeds if self.message else []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The response message's components."""
        return self.message.components if self.message else []

    @property
    def files(self) -> list[tuple[str, bytes]]:
        """The response message's attachments as (filename, bytes)."""
        return self.message.files if self.message else []

    @property
    def text(self) -> str:
        """Response and followups' text (content and embeds), for assertions."""
        parts = [self.message.text] if self.message else []
        parts += [m.text for m in self.followups]
        return "\n".join(p for p in parts if p)


@dataclass(eq=False)
class Invocation:
    """One interaction in flight: who, where, and how far the bot has answered it.

    Named apart from discord.Interaction and from rapport.tracking.model.Interaction (one
    member's act toward another, which the ledger records).
    """

    id: int
    token: str
    type: int
    user: User
    member: Member | None
    guild: Guild | None
    channel: Channel
    created: float
    data: dict[str, Any]
    message: Message | None = None
    #: For a modal submission, the interaction whose answer opened the modal.
    opened_by: Invocation | None = None
    #: When it was created on the sandbox's clock (its token lives 15 minutes of that clock).
    created_at: datetime | None = None
    acknowledged: bool = False
    expired: bool = False
    original: Message | None = None
    reply: Reply = field(default_factory=Reply)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def metadata(self) -> dict[str, Any]:
        """What a message answering this interaction says about it (interaction_metadata)."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "user": self.user.payload(),
            "authorizing_integration_owners": {},
        }
        # APIMessageInteractionMetadata: a component's answer names the clicked message, a
        # modal's the interaction that opened it.
        if self.type == 3 and self.message is not None:
            data["interacted_message_id"] = str(self.message.id)
        if self.type == 5:
            opener = self.opened_by.metadata() if self.opened_by else {**data, "type": 2}
            opener.pop("triggering_interaction_metadata", None)
            data["triggering_interaction_metadata"] = opener
        return data

    def payload(self, application_id: int) -> dict[str, Any]:
        """The INTERACTION_CREATE payload."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "application_id": str(application_id),
            "type": self.type,
            "data": self.data,
            "channel": self.channel.payload(),
            "channel_id": str(self.channel.id),
            "token": self.token,
            "version": 1,
            "app_permissions": str((1 << 53) - 1),
            "locale": self.user.locale,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if self.guild is not None and self.member is not None:
            member = self.member.payload()
            member["permissions"] = str(self.member.permissions())
            data.update(
                guild_id=str(self.guild.id),
                guild={
                    "id": str(self.guild.id),
                    "locale": self.guild.preferred_locale,
                    "features": [],
                },
                guild_locale=self.guild.preferred_locale,
                member=member,
                authorizing_integration_owners={"0": str(self.guild.id)},
                context=0,
            )
        else:
            data.update(
                user=self.user.payload(),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if self.message is not None:
            data["message"] = self.message.payload()
        return data


class Invoker:
    """Turns a member's command, click or form into INTERACTION_CREATE and waits for the answer."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.by_token: dict[str, Invocation] = {}

    def definition(
        self, member: Member, guild: Guild | None, name: str, kind: int
    ) -> dict[str, Any]:
        """The synced command as the member's client would offer it, or CommandError."""
        pools = [self.emu.guild_commands.get(guild.id, [])] if guild else []
        pools.append(self.emu.global_commands)
        for pool in pools:
            found = find_command(pool, name, kind)
            if found is not None:
                break
        else:
            raise CommandError(f"no synced command {name!r} of type {kind}")
        contexts = found.get("contexts") or [0, 1, 2]
        if found.get("dm_permission") is False and found.get("contexts") is None:
            contexts = [0]
        if (0 if guild else 1) not in contexts:
            where = "a guild" if guild else "a DM"
            raise CommandError(f"/{name} cannot be used in {where} (contexts {contexts})")
        required = found.get("default_member_permissions")
        if guild is not None and required is not None:
            in_guild = guild.members.get(member.id)
            have = in_guild.permissions() if in_guild else 0
            if int(required) & ~have:
                raise CommandError(f"{member.name} lacks the permissions /{name} requires")
        return found

    def where(
        self, member: Member, guild: Guild | None, channel: Channel | None
    ) -> tuple[Channel, Member | None]:
        """Where the member invokes: the given channel, the guild's first text channel, or DM."""
        if guild is None:
            return channel or self.emu.dm_channel(member.user), None
        if channel is None:
            channel = next(c for c in guild.channels if c.kind == "text")
        in_guild = guild.members.get(member.id)
        if in_guild is None:
            raise CommandError(f"{member.name} is not a member of {guild.name}")
        return channel, in_guild

    async def invoke(
        self,
        kind: int,
        member: Member,
        guild: Guild | None,
        channel: Channel,
        data: dict[str, Any],
        *,
        message: Message | None = None,
        opened_by: Invocation | None = None,
    ) -> Reply:
        """Deliver one interaction and wait for its answer (see the module docstring)."""
        loop = asyncio.get_running_loop()
        inter = Invocation(
            id=self.emu.snowflakes.make(),
            token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(60),
            type=kind,
            user=member.user,
            member=guild.members.get(member.id) if guild else None,
            guild=guild,
            channel=channel,
            created=loop.time(),
            created_at=self.emu.clock(),
            data=data,
            message=message,
            opened_by=opened_by,
        )
        self.by_token[inter.token] = inter
        payload = inter.payload(self.emu.application_id)
        owners = [
            s
            for s in self.emu.gateway.sessions.values()
            if s.resumable and s.owns(guild.id if guild else None)
        ]
        if not owners:
            inter.reply.error = "no connected bot owns this guild"
            return inter.reply
        # Discord delivers an interaction once, to one connection of the owning shard.
        target = owners[:1]
        await self.emu.gateway.dispatch(
            "INTERACTION_CREATE",
            lambda _: payload,
            guild_id=guild.id if guild else None,
            sessions=target,
        )
        try:
            await asyncio.wait_for(inter.acked.wait(), self.emu.interaction_timeout)
        except TimeoutError:
            self.expire_if_late(inter, force=True)
            return inter.reply
        if not inter.settled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inter.settled.wait(), self.emu.deferred_timeout)
        return inter.reply

    def expire_if_late(self, inter: Invocation, *, force: bool = False) -> bool:
        """Expire an unanswered interaction once its time is up; True when it is expired."""
        late = asyncio.get_running_loop().time() - inter.created >= self.emu.interaction_timeout
        if not inter.acknowledged and (late or force) and not inter.expired:
            inter.expired = True
            inter.reply.error = UNKNOWN_INTERACTION
        return inter.expired

    async def slash(
        self,
        member: Member,
        guild: Guild | None,
        command: str,
        options: Mapping[str, Any],
        *,
        channel: Channel | None = None,
    ) -> Reply:
        """``member`` runs ``/command`` ("group sub" for subcommands); waits for the answer."""
        name, *path = command.lstrip("/").split()
        definition = self.definition(member, guild, name, 1)
        wire, resolved = build_options(definition, path, options)
        where, _ = self.where(member, guild, channel)
        data: dict[str, Any] = {
            "id": definition["id"],
            "name": name,
            "type": 1,
            "options": wire,
        }
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in definition:
            data["guild_id"] = definition["guild_id"]
        return await self.invoke(2, member, guild, where, data)

    async def autocomplete(
        self,
        member: Member,
        guild: Guild | None,
        command: str,
        options: Mapping[str, Any],
        focused: str,
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while ``member`` types option ``focused``."""
        name, *path = command.lstrip("/").split()
        definition = self.definition(member, guild, name, 1)
        wire, resolved = build_options(definition, path, options, focused=focused)
        where, _ = self.where(member, guild, None)
        data: dict[str, Any] = {"id": definition["id"], "name": name, "type": 1, "options": wire}
        if "guild_id" in definition:
            data["guild_id"] = definition["guild_id"]
        if resolved:
            data["resolved"] = resolved
        reply = await self.invoke(4, member, guild, where, data)
        return reply.choices

    async def user_menu(
        self, member: Member, guild: Guild | None, name: str, target: Member
    ) -> Reply:
        """``member`` runs the user context-menu command ``name`` on ``target``."""
        definition = self.definition(member, guild, name, 2)
        resolved: dict[str, Any] = {"users": {str(target.id): target.user.payload()}}
        if target.guild is not None:
            resolved["members"] = {str(target.id): resolved_member(target)}
        data = {
            "id": definition["id"],
            "name": name,
            "type": 2,
            "target_id": str(target.id),
            "resolved": resolved,
        }
        if "guild_id" in definition:
            data["guild_id"] = definition["guild_id"]
        where, _ = self.where(member, guild, None)
        return await self.invoke(2, member, guild, where, data)

    async def message_menu(
        self, member: Member, guild: Guild | None, name: str, target: Message
    ) -> Reply:
        """``member`` runs the message context-menu command ``name`` on ``target``."""
        definition = self.definition(member, guild, name, 3)
        data = {
            "id": definition["id"],
            "name": name,
            "type": 3,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target.payload()}},
        }
        if "guild_id" in definition:
            data["guild_id"] = definition["guild_id"]
        return await self.invoke(2, member, guild, target.channel, data)

    async def click(
        self,
        member: Member,
        message: Message,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
    ) -> Reply:
        """``member`` presses a button (or picks ``values`` in a select) on a bot message."""
        if message.author is not self.emu.bot_user:
            raise CommandError("only the bot's messages have clickable components")
        component = message.find_component(custom_id)
        if component is None:
            raise CommandError(f"no component {custom_id!r} on the message: {message.custom_ids()}")
        if component.get("disabled"):
            raise CommandError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        guild = message.channel.guild
        return await self.invoke(3, member, guild, message.channel, data, message=message)

    async def submit_modal(
        self, member: Member, reply: Reply, values: Mapping[str, Any], *, guild: Guild | None
    ) -> Reply:
        """``member`` fills and submits the modal the bot answered with in ``reply``."""
        if reply.modal is None:
            raise CommandError("the bot did not answer with a modal")
        origin = next((i for i in self.by_token.values() if i.reply is reply), None)
        if origin is None:
            raise CommandError("unknown reply")
        data = modal_submission(reply.modal, values)
        return await self.invoke(
            5, member, guild, origin.channel, data, message=origin.message, opened_by=origin
        )


__all__ = ["CommandError", "Invocation", "Invoker", "Reply"]
