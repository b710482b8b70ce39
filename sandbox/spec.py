"""Request bodies checked against Discord's official OpenAPI description.

The emulator answers whatever the bot sends, but a body Discord would reject must not pass
silently: each one is validated against the operation's schema and violations are recorded.
The checking needs `jsonschema` (requirements-dev.txt): the tests always check, the demo checks
when it is installed (`schema_checking_available`), so `python bot.py --demo` runs on the
runtime requirements alone.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

DEFAULT_SPEC = Path(__file__).with_name("discord-openapi.json")
_BASE_URI = "urn:discord-openapi"


@dataclass(frozen=True)
class Violation:
    """A request body that does not match Discord's schema."""

    method: str
    path: str
    message: str


def _pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class Spec:
    """Validators for the request bodies of the operations the sandbox serves."""

    def __init__(self, path: Path | None = None) -> None:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.document: dict[str, Any] = json.loads((path or DEFAULT_SPEC).read_text("utf-8"))
        # Discord accepts snowflakes as JSON integers too (discord.py sends them so in
        # message_reference and allowed_mentions); the description only lists strings.
        schemas = self.document["components"]["schemas"]
        schemas["SnowflakeType"] = {
            "oneOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]
        }
        # The bundled description predates media channels (16, ChannelType.GuildMedia in
        # discord-api-types); discord.py offers them with forums in a channel option.
        kinds = schemas["ChannelTypes"]["oneOf"]
        if all(k.get("const") != 16 for k in kinds):
            kinds.append({"title": "GUILD_MEDIA", "const": 16})
        self._registry = Registry().with_resource(
            _BASE_URI, Resource.from_contents(self.document, default_specification=DRAFT202012)
        )
        # Longest literal templates first, so "/messages/@original" wins over "/messages/{id}".
        self._templates: list[tuple[re.Pattern[str], str]] = sorted(
            (
                (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"), t)
                for t in self.document["paths"]
            ),
            key=lambda item: (item[1].count("{"), -len(item[1])),
        )
        self._validators: dict[tuple[str, str], Draft202012Validator | None] = {}

    def template(self, path: str) -> str | None:
        """The OpenAPI path template matching a concrete path (without the /api/v10 prefix)."""
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return None

    def validator(self, method: str, template: str) -> Draft202012Validator | None:
        """The cached validator for an operation's JSON body, None when it takes no body."""
        key = (method.lower(), template)
        if key not in self._validators:
            operation = self.document["paths"].get(template, {}).get(key[0], {})
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                self._validators[key] = None
            else:
                ref = "/".join(
                    [
                        f"{_BASE_URI}#",
                        "paths",
                        _pointer(template),
                        key[0],
                        "requestBody/content",
                        _pointer("application/json"),
                        "schema",
                    ]
                )
                from jsonschema import Draft202012Validator

                self._validators[key] = Draft202012Validator({"$ref": ref}, registry=self._registry)
        return self._validators[key]

    def check(self, method: str, path: str, body: Any) -> list[Violation]:
        """Every way ``body`` breaks the schema of ``method path`` (empty when it conforms)."""
        template = self.template(path)
        if template is None:
            return [Violation(method, path, "no such operation in Discord's API description")]
        validator = self.validator(method, template)
        if validator is None:
            return []
        return [
            Violation(method, path, f"{error.json_path}: {_short(error.message)}")
            for error in validator.iter_errors(body)
        ]


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def schema_checking_available() -> bool:
    """Whether jsonschema is installed (a dev/test dependency), so requests can be checked."""
    return importlib.util.find_spec("jsonschema") is not None


@cache
def default_spec() -> Spec:
    """The bundled description, parsed once per process (several emulators share it)."""
    return Spec()
