"""The aiohttp application: REST routing, Discord's error and rate-limit shapes, faults.

Every answer carries its bucket's rate-limit headers (sandbox/ratelimits.py); every
request is recorded, and bodies on the routes that carry bot output are checked against the spec.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox import cdn

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

#: Route templates whose request bodies are validated against Discord's OpenAPI description.
VALIDATED = re.compile(
    r"^/(channels/\{channel_id\}/messages|users/@me/channels|interactions/|webhooks/"
    r"|applications/\{application_id\}/(guilds/\{guild_id\}/)?commands)"
)


class ApiError(Exception):
    """An error answered in Discord's JSON shape."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Discord answers with."""
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            data["errors"] = self.errors
        return data


@dataclass
class RequestRecord:
    """One REST request as the bot sent it."""

    method: str
    path: str
    json: Any
    route: str | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """What a handler gets: the path parameters, query, decoded body and attached files."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[tuple[str, bytes]]


Handler = Callable[["Emulator", Call], Awaitable[tuple[int, Any]]]


class Router:
    """Method + Discord path template -> handler."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler, bool]] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        """Register a handler; ``auth`` False for webhook-token routes (no bot token)."""
        pattern = re.compile(
            "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        )
        self._routes.append((method, pattern, template, handler, auth))
        # Literal segments must win over parameters ("@original" over "{message_id}").
        self._routes.sort(key=lambda r: r[2].count("{"))

    def names(self) -> list[str]:
        """Every route as "METHOD /template", the names faults are set on."""
        return sorted(f"{m} {template}" for m, _, template, _, _ in self._routes)

    def match(self, method: str, path: str) -> tuple[str, dict[str, str], Handler, bool] | None:
        """The route for a request, with its path parameters."""
        for m, pattern, template, handler, auth in self._routes:
            found = pattern.match(path)
            if m == method and found:
                return template, found.groupdict(), handler, auth
        return None


ROUTER = Router()


def route(method: str, template: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    """Register the decorated handler on the emulator's router."""

    def register(handler: Handler) -> Handler:
        ROUTER.add(method, template, handler, auth=auth)
        return handler

    return register


def _json(body: Any, *, status: int, headers: dict[str, str]) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim before decoding.
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**headers, "Content-Type": "application/json"},
    )


#: Discord's upload limit for a bot without boosts (per request, every file together).
MAX_UPLOAD = 10 * 1024 * 1024


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    if not request.can_read_body:
        return None, []
    if request.content_length is not None and request.content_length > MAX_UPLOAD + 64 * 1024:
        raise ApiError(413, 40005, "Request entity too large")
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: list[tuple[str, bytes]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "payload_json":
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            else:
                files.append((part.filename or part.name or "file", await part.read()))  # type: ignore[union-attr]
        if sum(len(body) for _, body in files) > MAX_UPLOAD:
            raise ApiError(413, 40005, "Request entity too large")
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def build_app(emulator: Emulator, router: Router) -> web.Application:
    """The application serving REST under /api/v10 and the gateway at /gateway."""

    async def rest(request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        record = RequestRecord(method, path, None, query=dict(request.query))
        emulator.requests.append(record)
        found = router.match(method, path)
        headers: dict[str, str] = {}
        try:
            record.json, record.files = await _read_body(request)
            if found is None:
                emulator.unknown_routes.append(f"{method} {path}")
                raise ApiError(404, 0, "404: Not Found")
            template, params, handler, auth = found
            record.route = f"{method} {template}"
            header = request.headers.get("Authorization", "")
            if auth and header.removeprefix("Bot ") != emulator.token:
                raise ApiError(401, 0, "401: Unauthorized")
            delay = emulator.slow_routes.get(record.route, 0.0) + emulator.latency
            if delay:
                await asyncio.sleep(delay)
            verdict = emulator.ratelimits.take(record.route, params)
            headers = verdict.headers
            if verdict.retry_after is not None:
                body = verdict.body()
                emulator.check_rest(method, template, "response", body, status=429)
                return _json(body, status=429, headers=headers)
            if emulator.spec is not None and VALIDATED.match(template) and record.json is not None:
                emulator.violations.extend(emulator.spec.check(method, path, record.json))
            emulator.check_rest(method, template, "request", record.json)
            status, body = await handler(
                emulator, Call(method, path, params, dict(request.query), record.json, record.files)
            )
            failing = emulator.server_errors.get(record.route)
            if failing and failing[1] > 0:
                failing[1] -= 1
                raise ApiError(failing[0], 0, f"{failing[0]}: Internal Server Error")
        except ApiError as error:
            if found is not None:
                emulator.check_rest(method, found[0], "response", error.body(), status=error.status)
            return _json(error.body(), status=error.status, headers=headers)
        emulator.check_rest(method, template, "response", body, status=status)
        if status == 204:
            return web.Response(status=204, headers=headers)
        return _json(body, status=status, headers=headers)

    async def elsewhere(request: web.Request) -> web.Response:
        # Another API version or a stray URL is as unknown to the bot as a missing route.
        emulator.unknown_routes.append(f"{request.method} {request.path}")
        return _json({"code": 0, "message": "404: Not Found"}, status=404, headers={})

    # Room for an upload just over the limit, so Discord's own 413 answers it, not aiohttp's.
    app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
    app.router.add_route("*", "/api/v10/{tail:.*}", rest)
    app.router.add_get("/gateway", emulator.gateway.handle)
    app.router.add_get("/gateway/", emulator.gateway.handle)
    pictures = cdn.handler(emulator)
    for prefix in cdn.PREFIXES:
        app.router.add_get(prefix + "{tail:.*}", pictures)
    app.router.add_route("*", "/{tail:.*}", elsewhere)
    return app
