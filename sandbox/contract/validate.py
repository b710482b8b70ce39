"""Payloads checked against JSON Schemas generated from discord-api-types (the contract test).

The schemas under ``schemas/`` come from a pinned discord-api-types (the community-kept types
behind discord.js) via ``generate.mjs``; nothing here needs node. Every gateway dispatch and REST
answer the sandbox emits, and every REST body the bot sends, can be checked: a missing required
field, a wrong type or an unknown field is a violation, unless the field is a known extra (a field
real Discord sends that the types leave out), listed in ``KNOWN_EXTRAS`` with the reason.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).with_name("schemas")
_BASE_URI = "urn:discord-api-types"

Direction = Literal["request", "response"]

#: Fields Discord sends (or accepts) that discord-api-types does not declare. Each entry is a
#: context ("dispatch READY", "send IDENTIFY", "GET /gateway/bot response", or "*" for any) and
#: dotted paths from the payload's root, "*" standing for any array item or key.
KNOWN_EXTRAS: Mapping[str, tuple[str, ...]] = {
    # Discord's debugging trace rides on READY and RESUMED.
    "*": ("_trace",),
    # A bot's READY carries user-account leftovers, always empty for bots.
    "dispatch READY": (
        "session_type",
        "private_channels",
        "relationships",
        "presences",
        "guild_join_requests",
        "geo_ordered_rtc_regions",
        "user_settings",
        "auth",
    ),
    # discord.py sends a guild command the global-only fields too; Discord ignores them there.
    "PUT /applications/{application_id}/guilds/{guild_id}/commands request": (
        "*.contexts",
        "*.dm_permission",
        "*.integration_types",
    ),
    # discord.py's message edit (through an interaction webhook or not) carries tts; Discord
    # ignores it.
    "PATCH /webhooks/{application_id}/{token}/messages/{message_id} request": ("tts",),
    "PATCH /channels/{channel_id}/messages/{message_id} request": ("tts",),
}

#: Dispatches whose payload discord-api-types types as empty: only the extras may appear.
EMPTY_DISPATCHES = frozenset({"RESUMED"})


#: Where Discord accepts more in a request than discord-api-types types, and discord.py relies on
#: it (Discord's OpenAPI description, which also checks request bodies, accepts these): ids and
#: permissions as JSON integers (message_reference, allowed_mentions, an app command's
#: default_member_permissions), and null for a message's content and an app command's contexts
#: and integration_types. Answers get none of this: Discord always sends strings.
INTEGER_STRINGS = ("Snowflake", "Permissions")
NULLABLE_IN_REQUESTS = ("content", "contexts", "integration_types")


@dataclass(frozen=True)
class ContractViolation:
    """One way a payload breaks the shape discord-api-types gives it."""

    where: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}"


class Contract:
    """Validators for the payloads the sandbox and the bot exchange, built once per process."""

    def __init__(
        self, schemas: Path = SCHEMAS, extras: Mapping[str, Iterable[str]] = KNOWN_EXTRAS
    ) -> None:
        self.index: dict[str, Any] = json.loads((schemas / "index.json").read_text("utf-8"))
        document = json.loads((schemas / "discord-api-types.json").read_text("utf-8"))
        self.version: str = self.index["version"]
        self.extras = {where: [p.split(".") for p in paths] for where, paths in extras.items()}
        self._strict = _registry(document)
        self._lenient = _registry(_tolerant(document))
        self._validators: dict[tuple[str, bool], Draft7Validator] = {}
        #: How many payloads of each kind were checked ("dispatch MESSAGE_CREATE": 12, ...).
        self.checked: dict[str, int] = defaultdict(int)

    # -- what there is ----------------------------------------------------------------------

    @property
    def dispatches(self) -> frozenset[str]:
        """The gateway events with a schema."""
        return frozenset(self.index["dispatch"])

    @property
    def routes(self) -> frozenset[str]:
        """The REST routes with a contract, as "METHOD /template"."""
        return frozenset(self.index["rest"])

    # -- checks -----------------------------------------------------------------------------

    def check_dispatch(self, event: str, data: Any) -> list[ContractViolation]:
        """Every way a dispatch's ``d`` breaks its GatewayDispatchPayload variant."""
        where = f"dispatch {event}"
        if event in EMPTY_DISPATCHES:
            self.checked[where] += 1
            extra = sorted(set(data or {}) - {p[0] for p in self._extras_for(where)})
            if extra:
                return [ContractViolation(where, "$", f"unexpected fields {extra}")]
            return []
        name = self.index["dispatch"].get(event)
        if name is None:
            return [
                ContractViolation(where, "$", "no schema for this event (add it to generate.mjs)")
            ]
        return self._check(where, name, data, lenient=False)

    def check_send(self, op: str, data: Any) -> list[ContractViolation]:
        """Every way a gateway command the bot sends (IDENTIFY, RESUME, ...) breaks its type."""
        where = f"send {op}"
        name = self.index["send"].get(op)
        if name is None:
            return [ContractViolation(where, "$", "no schema for this gateway command")]
        return self._check(where, name, data, lenient=True)

    def check_rest(
        self, method: str, route: str, direction: Direction, body: Any, *, status: int = 200
    ) -> list[ContractViolation]:
        """Every way a REST body breaks its type.

        ``route`` is the sandbox's path template ("/channels/{channel_id}/messages");
        ``direction`` says whether the bot sent it (request) or the sandbox answered (response).
        Error answers (status 400 and up) are checked against RESTError / RESTRateLimit.
        """
        where = f"{method} {route} {direction}"
        if direction == "response" and status >= 400:
            kind = "rate_limit" if status == 429 else "error"
            return self._check(where, self.index["errors"][kind], body, lenient=False)
        entry = self.index["rest"].get(f"{method} {route}")
        if entry is None:
            return [
                ContractViolation(where, "$", "no contract for this route (add it to generate.mjs)")
            ]
        name = entry.get(direction)
        if name is None:
            if body is None or status == 204:
                return []
            return [ContractViolation(where, "$", "a body where Discord expects none")]
        if body is None and status == 204:
            return []
        return self._check(where, name, body, lenient=direction == "request")

    # -- internals --------------------------------------------------------------------------

    def _check(self, where: str, name: str, data: Any, *, lenient: bool) -> list[ContractViolation]:
        self.checked[where] += 1
        stripped = _strip(data, self._extras_for(where))
        errors = self._validator(name, lenient).iter_errors(stripped)
        return [
            ContractViolation(where, leaf.json_path, _short(leaf.message))
            for error in errors
            for leaf in _leaves(error)
        ]

    def _extras_for(self, where: str) -> list[list[str]]:
        return [*self.extras.get("*", []), *self.extras.get(where, [])]

    def _validator(self, name: str, lenient: bool) -> Draft7Validator:
        key = (name, lenient)
        if key not in self._validators:
            registry = self._lenient if lenient else self._strict
            self._validators[key] = Draft7Validator(
                {"$ref": f"{_BASE_URI}#/definitions/{name}"}, registry=registry
            )
        return self._validators[key]


def _tolerant(document: dict[str, Any]) -> dict[str, Any]:
    """The schemas for request bodies: what Discord accepts beyond the types (see above)."""
    lenient = copy.deepcopy(document)
    definitions = lenient["definitions"]
    for name in INTEGER_STRINGS:
        definitions[name] = {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]}
    for definition in definitions.values():
        properties = definition.get("properties", {})
        for name in NULLABLE_IN_REQUESTS:
            if name in properties:
                properties[name] = {"anyOf": [properties[name], {"type": "null"}]}
    # discord.py sends `limit` with every REQUEST_GUILD_MEMBERS, by user ids too (Discord
    # ignores it there).
    by_ids = definitions["GatewayRequestGuildMembersDataWithUserIds"]["properties"]
    by_ids.setdefault("limit", {"type": "number"})
    return lenient


def _registry(document: dict[str, Any]) -> Registry:
    return Registry().with_resource(
        _BASE_URI, Resource.from_contents(document, default_specification=DRAFT7)
    )


def _strip(data: Any, paths: list[list[str]]) -> Any:
    """A copy of ``data`` without the allowed extras (only copied where something goes)."""
    if not paths or not isinstance(data, dict | list):
        return data
    for path in paths:
        data = _strip_one(data, path)
    return data


def _strip_one(node: Any, path: list[str]) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        if head != "*":
            return node
        items = [_strip_one(item, rest) if rest else item for item in node]
        return items if any(a is not b for a, b in zip(items, node, strict=True)) else node
    if not isinstance(node, dict):
        return node
    keys = list(node) if head == "*" else [head] if head in node else []
    if not keys:
        return node
    out = dict(node)
    for key in keys:
        if rest:
            out[key] = _strip_one(node[key], rest)
        else:
            del out[key]
    return out


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors worth reading: inside a union, those of the branch that fits best.

    discord-api-types unions are mostly discriminated (interaction and channel ``type``,
    component ``type``) or nullable; a branch whose own type or discriminator already fails is
    the wrong branch, and among the rest the one with the fewest errors is the one meant.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    depth = len(error.absolute_path)
    best = min(_branches(error), key=lambda errors: _score(errors, depth))
    return [leaf for sub in best for leaf in _leaves(sub)]


def _branches(error: ValidationError) -> list[list[ValidationError]]:
    branches: dict[Any, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)
    return list(branches.values())


def _score(errors: list[ValidationError], depth: int) -> tuple[bool, int]:
    """(does the branch's own type or discriminator fail, how many errors), unions unfolded."""
    wrong, count = False, 0
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            nested = min(_score(b, depth) for b in _branches(error))
            wrong, count = wrong or nested[0], count + nested[1]
            continue
        level = len(error.absolute_path)
        wrong = wrong or (
            (error.validator == "type" and level == depth)
            or (error.validator in ("const", "enum") and level == depth + 1)
        )
        count += 1
    return wrong, count


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def default_contract() -> Contract:
    """The committed schemas, parsed once per process (every emulator shares them)."""
    return Contract()
