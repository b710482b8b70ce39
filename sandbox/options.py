"""Command options and form fields as a Discord client types them, from the synced definitions.

A command that was never synced, or an option it does not declare, fails the scenario at once:
a test cannot invoke something no member could.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.state import Channel, Member, Role, User


class CommandError(LookupError):
    """A scenario invoked a command or option the bot never synced."""


def find_command(commands: Sequence[dict[str, Any]], name: str, kind: int) -> dict[str, Any] | None:
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
            (
                o
                for o in definition.get("options", [])
                if o["name"] == path[0] and o["type"] in (1, 2)
            ),
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


def resolved_member(member: Member) -> dict[str, Any]:
    """A member as interaction data resolves it: no user, deaf or mute, plus permissions.

    (APIInteractionDataResolvedGuildMember in discord-api-types.)
    """
    data = member.payload(with_user=False)
    del data["deaf"], data["mute"]
    data["permissions"] = str(member.permissions())
    return data


def resolved_channel(channel: Channel) -> dict[str, Any]:
    """A channel as interaction data resolves it: partial, with permissions.

    (APIInteractionDataResolvedChannel in discord-api-types.)
    """
    full = channel.payload()
    data = {k: full[k] for k in ("id", "type", "name")}
    data["permissions"] = str((1 << 53) - 1)
    if channel.kind == "thread":
        data.update(parent_id=full["parent_id"], thread_metadata=full["thread_metadata"])
    return data


def _resolve(value: Any, resolved: dict[str, dict[str, Any]]) -> None:
    """Add a USER/CHANNEL/ROLE value to ``resolved`` as Discord does."""
    if isinstance(value, Member):
        resolved.setdefault("users", {})[str(value.id)] = value.user.payload()
        # Someone no longer in the server resolves as a user only, as Discord answers.
        if value.guild is not None and value.guild.members.get(value.id) is value:
            resolved.setdefault("members", {})[str(value.id)] = resolved_member(value)
    elif isinstance(value, User):
        resolved.setdefault("users", {})[str(value.id)] = value.payload()
    elif isinstance(value, Channel):
        resolved.setdefault("channels", {})[str(value.id)] = resolved_channel(value)
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
        return {
            "type": item.get("type"),
            "custom_id": custom_id,
            "values": values.get(custom_id, []),
        }

    return {
        "custom_id": modal["custom_id"],
        "components": [fill(c) for c in modal.get("components", [])],
    }
