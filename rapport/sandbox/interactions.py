"""Interactions: what a member's click or command looks like on the wire, and the bot's answer.

Option values are typed from the definitions the bot synced, as a Discord client would type
them, so a command that was never synced, or an option it does not declare, fails the scenario.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.sandbox.state import Channel, Guild, Member, Message, Role, User

UNKNOWN_INTERACTION = "10062 Unknown interaction"
OPTION_TYPES = {
    "SUB_COMMAND": 1,
    "SUB_COMMAND_GROUP": 2,
    "STRING": 3,
    "INTEGER": 4,
    "BOOLEAN": 5,
    "USER": 6,
    "CHANNEL": 7,
    "ROLE": 8,
    "MENTIONABLE": 9,
    "NUMBER": 10,
}


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
class Interaction:
    """One interaction in flight: who, where, and how far the bot has answered it."""

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
    acknowledged: bool = False
    expired: bool = False
    original: Message | None = None
    reply: Reply = field(default_factory=Reply)
    settled: asyncio.Event = field(default_factory=asyncio.Event)

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
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if self.guild is not None and self.member is not None:
            member = self.member.payload()
            member["permissions"] = str(self.member.permissions())
            data.update(
                guild_id=str(self.guild.id),
                guild={"id": str(self.guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
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


class CommandError(LookupError):
    """A scenario invoked a command or option the bot never synced."""


def find_command(
    commands: Sequence[dict[str, Any]], name: str, kind: int
) -> dict[str, Any] | None:
    """The synced definition with this name and type."""
    return next((c for c in commands if c["name"] == name and c.get("type", 1) == kind), None)


def build_options(
    definition: dict[str, Any],
    path: Sequence[str],
    options: Mapping[str, Any],
    *,
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Wire options for ``path`` (subcommand names) and ``options``, plus resolved data."""
    resolved: dict[str, dict[str, Any]] = {}
    if path:
        sub = next(
            (o for o in definition.get("options", []) if o["name"] == path[0] and o["type"] in (1, 2)),
            None,
        )
        if sub is None:
            raise CommandError(f"/{definition['name']} has no subcommand {path[0]!r}")
        inner, resolved = build_options(sub, path[1:], options, focused=focused)
        return [{"name": sub["name"], "type": sub["type"], "options": inner}], resolved
    declared = {o["name"]: o for o in definition.get("options", [])}
    for name in options:
        if name not in declared:
            raise CommandError(f"/{definition['name']} has no option {name!r}")
    missing = [
        n for n, o in declared.items() if o.get("required") and n not in options and n != focused
    ]
    if missing and focused is None:
        raise CommandError(f"/{definition['name']} needs option(s) {missing}")
    wire: list[dict[str, Any]] = []
    for name, value in options.items():
        kind = declared[name]["type"]
        option: dict[str, Any] = {"name": name, "type": kind, "value": _wire_value(kind, value)}
        if name == focused:
            option["value"] = str(value)
            option["focused"] = True
        else:
            _resolve(value, resolved)
        wire.append(option)
    return wire, resolved


def _wire_value(kind: int, value: Any) -> Any:
    if kind in (6, 7, 8, 9):
        return str(value.id)
    if kind == 4:
        return int(value)
    if kind == 10:
        return float(value)
    if kind == 5:
        return bool(value)
    return str(value)


def _resolve(value: Any, resolved: dict[str, dict[str, Any]]) -> None:
    """Add a USER/CHANNEL/ROLE value to ``resolved`` as Discord does."""
    if isinstance(value, Member):
        resolved.setdefault("users", {})[str(value.id)] = value.user.payload()
        if value.guild is not None:
            member = value.payload(with_user=False)
            member["permissions"] = str(value.permissions())
            resolved.setdefault("members", {})[str(value.id)] = member
    elif isinstance(value, User):
        resolved.setdefault("users", {})[str(value.id)] = value.payload()
    elif isinstance(value, Channel):
        channel = value.payload()
        channel["permissions"] = str((1 << 53) - 1)
        resolved.setdefault("channels", {})[str(value.id)] = channel
    elif isinstance(value, Role):
        resolved.setdefault("roles", {})[str(value.id)] = value.payload()


def modal_submission(modal: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The MODAL_SUBMIT data for a modal the bot showed, filled with ``values`` by custom_id."""

    def fill(item: dict[str, Any]) -> dict[str, Any]:
        if item.get("type") == 18:  # label wrapping one input
            return {"type": 18, "id": item.get("id"), "component": fill(item["component"])}
        if item.get("type") == 1:
            return {"type": 1, "components": [fill(c) for c in item.get("components", [])]}
        custom_id = item.get("custom_id", "")
        if item.get("type") == 4:
            return {"type": 4, "custom_id": custom_id, "value": values.get(custom_id, "")}
        return {"type": item.get("type"), "custom_id": custom_id, "values": values.get(custom_id, [])}

    return {
        "custom_id": modal["custom_id"],
        "components": [fill(c) for c in modal.get("components", [])],
    }
