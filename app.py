"""The composition root's Discord half: endpoints, then the bot built on the core's services.

`rapport.compose` builds settings -> store -> services (the core may not import discord);
this module points discord.py at the configured endpoints and builds the bot that loads the
cogs. bot.py, the demo (sandbox/demo.py), the tests and the benchmarks all start a bot through
here, and this is the only module that writes discord.py's endpoint globals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import discord
import yarl

from cogs._bot import RapportBot
from rapport.clock import Clock, system_clock
from rapport.compose import build_services
from rapport.settings.config import Settings
from rapport.store.base import Store

DISCORD_API = "https://discord.com"


def point_discord_at(
    api_base: str, gateway_url: str | None = None, cdn_base: str | None = None
) -> None:
    """Set discord.py's REST base (and gateway URL and CDN base, when given) for every client
    in the process. Avatars and icons are read from the CDN base (discord.py's `Asset.BASE`)."""
    discord.http.Route.BASE = f"{api_base.rstrip('/')}/api/v10"
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    if cdn_base:
        discord.Asset.BASE = cdn_base.rstrip("/")


async def configure_endpoints(settings: Settings) -> None:
    """Point discord.py's REST, gateway and CDN at api_base/gateway_url/cdn_base (a proxy, or
    the sandbox).

    A plain client never asks REST for the gateway URL, so both are set before connecting.
    """
    base = settings.discord.api_base.rstrip("/")
    gateway = settings.discord.gateway_url
    if not gateway and base != DISCORD_API:
        headers = {"Authorization": f"Bot {settings.discord.token}"}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.get(f"{base}/api/v10/gateway/bot", headers=headers) as answer,
        ):
            answer.raise_for_status()
            gateway = (await answer.json())["url"]
    point_discord_at(base, gateway, settings.discord.cdn_base)


@contextmanager
def endpoints_restored() -> Iterator[None]:
    """Put discord.py's endpoints back as they were on exit (a process running several bots)."""
    saved = (
        discord.http.Route.BASE,
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
        discord.Asset.BASE,
    )
    try:
        yield
    finally:
        discord.http.Route.BASE = saved[0]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(saved[1]))
        discord.Asset.BASE = saved[2]


async def start_bot(
    settings: Settings, store: Store, clock: Clock = system_clock, **options: Any
) -> RapportBot:
    """Build the bot on the core's services and log in (endpoints configured first).

    The caller connects and closes it. `options` go to discord.py (tests shorten
    guild_ready_timeout, for example).
    """
    await configure_endpoints(settings)
    bot = RapportBot(build_services(settings, store, clock), **options)
    try:
        await bot.login(settings.discord.token)  # runs setup_hook too
    except BaseException:
        await bot.close()
        raise
    return bot


__all__ = [
    "DISCORD_API",
    "configure_endpoints",
    "endpoints_restored",
    "point_discord_at",
    "start_bot",
]
