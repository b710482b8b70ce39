"""Discord's rate limits as the sandbox answers them: shared per-route buckets and the global limit.

Discord (docs: topics/rate-limits) groups similar routes into one bucket, named by the
`X-RateLimit-Bucket` hash, and counts each bucket separately per top-level resource in the path
(the major parameter: channel_id, guild_id, or webhook_id + token). Every answer carries the
bucket's Limit, Remaining, Reset and Reset-After; a request on an exhausted bucket gets a 429
with `retry_after` until the window resets. Apart from the buckets, a bot may make 50 requests a
second in all (interaction routes aside); past that, a 429 with `X-RateLimit-Global`.

Windows run on the sandbox's clock: a test that moves the clock past a window resets it, and a
test that wants to see a wait sets a small window (`Emulator.limit_bucket`), so discord.py's own
sleep on the headers or a 429 is all the real time that passes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Scope = Literal["user", "global", "shared"]

#: Routes that share a bucket, by bucket name (every other route has a bucket of its own).
#: Discord doesn't publish its grouping; these follow the groups bots observe in the headers:
#: reading messages, writing them, reactions, archived threads, a guild's members, one
#: interaction's webhook, the command registrations.
SHARED: dict[str, str] = {
    "GET /channels/{channel_id}/messages": "messages.read",
    "GET /channels/{channel_id}/messages/{message_id}": "messages.read",
    "POST /channels/{channel_id}/messages": "messages.write",
    "PATCH /channels/{channel_id}/messages/{message_id}": "messages.write",
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": "reactions",
    "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": "reactions",
    "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}": "reactions",
    "GET /channels/{channel_id}/threads/archived/public": "threads.archived",
    "GET /channels/{channel_id}/threads/archived/private": "threads.archived",
    "GET /channels/{channel_id}/users/@me/threads/archived/private": "threads.archived",
    "GET /guilds/{guild_id}/members": "guild.members",
    "GET /guilds/{guild_id}/members/{user_id}": "guild.members",
    "POST /webhooks/{application_id}/{token}": "interaction.webhook",
    "GET /webhooks/{application_id}/{token}/messages/{message_id}": "interaction.webhook",
    "PATCH /webhooks/{application_id}/{token}/messages/{message_id}": "interaction.webhook",
    "DELETE /webhooks/{application_id}/{token}/messages/{message_id}": "interaction.webhook",
    "GET /applications/{application_id}/commands": "commands",
    "PUT /applications/{application_id}/commands": "commands",
    "POST /applications/{application_id}/commands": "commands",
    "DELETE /applications/{application_id}/commands/{command_id}": "commands",
    "GET /applications/{application_id}/guilds/{guild_id}/commands": "commands.guild",
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": "commands.guild",
    "POST /applications/{application_id}/guilds/{guild_id}/commands": "commands.guild",
    "DELETE /applications/{application_id}/guilds/{guild_id}/commands/{command_id}": (
        "commands.guild"
    ),
}

#: Path parameters that make a bucket count separately (Discord's top-level resources);
#: an interaction's id and token play the webhook's part on the callback route.
MAJOR = ("channel_id", "guild_id", "application_id", "interaction_id", "token")

#: The interaction routes, which Discord exempts from the global limit.
INTERACTION_PREFIXES = ("POST /interactions/", "POST /webhooks/", "GET /webhooks/")
INTERACTION_PREFIXES += ("PATCH /webhooks/", "DELETE /webhooks/")

#: Requests a second a bot may make in all (Discord's global limit).
GLOBAL_PER_SECOND = 50


@dataclass
class Limit:
    """How many requests a bucket allows per window (seconds of the sandbox clock)."""

    limit: int = 50
    window: float = 1.0


@dataclass
class _Window:
    remaining: int
    resets_at: float


@dataclass
class Forced:
    """An injected 429: the next ``times`` requests get it, with ``retry_after`` and ``scope``."""

    retry_after: float
    times: int
    scope: Scope = "user"


@dataclass(frozen=True)
class Verdict:
    """The answer's rate-limit headers, and a 429's retry_after and scope when refused."""

    headers: dict[str, str]
    retry_after: float | None = None
    scope: Scope | None = None

    def body(self) -> dict[str, object]:
        """Discord's 429 body."""
        shared = self.scope == "shared"
        return {
            "message": "The resource is being rate limited."
            if shared
            else "You are being rate limited.",
            "retry_after": round(self.retry_after or 0.0, 3),
            "global": self.scope == "global",
        }


def bucket_of(route: str) -> str:
    """The bucket a route ("METHOD /template") counts against."""
    return SHARED.get(route, route)


def bucket_hash(bucket: str) -> str:
    """The X-RateLimit-Bucket value: one opaque string per bucket, whatever the resource."""
    return hashlib.sha1(bucket.encode()).hexdigest()[:16]


class RateLimits:
    """Per-bucket windows keyed by major parameter, the global window, and injected 429s."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.limits: dict[str, Limit] = {}
        self.default = Limit()
        self.global_per_second: int | None = GLOBAL_PER_SECOND
        self.global_window = 1.0
        #: False: nothing is counted (a clock frozen between jumps would never end a window);
        #: injected 429s still answer.
        self.counting = True
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global = _Window(0, 0.0)
        #: (route, scope) of every 429 answered, oldest first.
        self.refused: list[tuple[str, Scope]] = []
        #: Injected 429s, by route, and for every route (Emulator.rate_limit, rate_limit_globally).
        self.forced: dict[str, Forced] = {}
        self.forced_global = Forced(0.0, 0, "global")

    def set_global(self, limit: int | None, window: float = 1.0) -> None:
        """Allow ``limit`` requests per ``window`` seconds in all from now on (Discord: 50 a
        second; None: no global limit)."""
        self.global_per_second = limit
        self.global_window = window
        self._global = _Window(0, 0.0)

    def _now(self) -> float:
        return self._clock().timestamp()

    def limit(self, bucket: str) -> Limit:
        """The limit of a bucket (its name, or a route it contains)."""
        return self.limits.get(bucket_of(bucket), self.default)

    def take(self, route: str, params: dict[str, str]) -> Verdict:
        """Count one request on ``route`` and answer with its headers or a 429."""
        now, bucket = self._now(), bucket_of(route)
        major = "+".join(params[k] for k in MAJOR if k in params)
        limit = self.limit(bucket)
        window = self._windows.get((bucket, major))
        if window is None or now >= window.resets_at:
            window = self._windows[bucket, major] = _Window(limit.limit, now + limit.window)
        for forced in (self.forced_global, self.forced.get(route)):
            if forced is not None and forced.times > 0:
                forced.times -= 1
                return self._refuse(route, bucket, window, now, forced.retry_after, forced.scope)
        if not self.counting:
            return Verdict(self._headers(bucket, limit, _Window(limit.limit, now + 1.0), now))
        if self.global_per_second is not None and not route.startswith(INTERACTION_PREFIXES):
            if now >= self._global.resets_at:
                self._global = _Window(self.global_per_second, now + self.global_window)
            if self._global.remaining <= 0:
                return self._refuse(
                    route, bucket, window, now, self._global.resets_at - now, "global"
                )
            self._global.remaining -= 1
        if window.remaining <= 0:
            return self._refuse(route, bucket, window, now, window.resets_at - now, "user")
        window.remaining -= 1
        return Verdict(self._headers(bucket, limit, window, now))

    def _refuse(
        self, route: str, bucket: str, window: _Window, now: float, retry: float, scope: Scope
    ) -> Verdict:
        self.refused.append((route, scope))
        retry = max(retry, 0.001)
        if scope == "global":
            # Discord's global 429 carries no bucket: the limit is the bot's, not the route's.
            headers = {"X-RateLimit-Global": "true", "Via": "1.1 google"}
        else:
            headers = self._headers(bucket, self.limit(bucket), window, now)
            if scope == "user":
                headers["X-RateLimit-Remaining"] = "0"
        headers.update({"Retry-After": f"{retry:.3f}", "X-RateLimit-Scope": scope})
        return Verdict(headers, retry, scope)

    def _headers(self, bucket: str, limit: Limit, window: _Window, now: float) -> dict[str, str]:
        reset_after = max(window.resets_at - now, 0.0)
        return {
            "X-RateLimit-Limit": str(limit.limit),
            "X-RateLimit-Remaining": str(max(window.remaining, 0)),
            "X-RateLimit-Reset": f"{window.resets_at:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(bucket),
            # discord.py takes a 429 without Via for Cloudflare's ban, not Discord's answer.
            "Via": "1.1 google",
        }
