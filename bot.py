"""Rapport's entry point and composition root: config -> logging -> store -> services -> bot -> run.

python bot.py --config config.toml      run the bot (token from DISCORD_TOKEN or the config)
python bot.py --check-config FILE       validate a config and print the effective settings
python bot.py --demo [--seed N]         the real bot against the local emulator, no token needed
python bot.py --shards 0-3 --shard-count 8 ...   run these shards only (one process of a cluster)
python bot.py --health                  exit 0 when the running bot's heartbeat is fresh (Docker)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl

from cogs._bot import RapportBot
from rapport.clock import Clock, system_clock
from rapport.compose import Services
from rapport.errors import StoreError
from rapport.leaderboard.service import LeaderboardService
from rapport.nudges.service import NudgeService
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.runtime.cluster import (
    RELAY_EVERY,
    ClickRelay,
    apply_click,
    check_heartbeat,
    heartbeat_path,
    keep_heartbeat,
    ownership,
    with_shards,
)
from rapport.runtime.flush import FlushLoop
from rapport.runtime.retention import Retention
from rapport.runtime.scheduler import JobScheduler
from rapport.settings.config import ConfigError, Settings, describe, load_settings
from rapport.settings.timeparse import parse_schedule
from rapport.store import Store, open_store
from rapport.tracking.backfill import BackfillService
from rapport.tracking.ledger import Ledger

log = logging.getLogger("rapport")

DISCORD_API = "https://discord.com"
EXIT_CONFIG = 2

MISSING_TOKEN = """\
No Discord bot token is set.
  1. Open https://discord.com/developers/applications, create an application, and add a Bot.
  2. Copy the bot's token and export it:  export DISCORD_TOKEN=...   (or set [discord] token)
  3. Invite the bot with the URL in the README (scopes: bot applications.commands).
To see Rapport work without a token, run:  python bot.py --demo"""


def privileged_intents_message(settings: Settings) -> str:
    """Say which Developer Portal toggles to switch on, or which config keys to turn off."""
    wanted = []
    if settings.discord.message_content:
        wanted.append(("Message Content Intent", "message_content"))
    if settings.discord.members_intent:
        wanted.append(("Server Members Intent", "members_intent"))
    toggles = " and ".join(f"“{name}”" for name, _ in wanted) or "the privileged intents"
    keys = " / ".join(f"[discord] {key} = false" for _, key in wanted)
    return (
        f"Discord refused the privileged intents (close code 4014). In the Developer Portal, "
        f"open your application -> Bot -> Privileged Gateway Intents and switch on {toggles}; "
        f"or set {keys} in the config to run without them (thanks and shares need message content)."
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(settings: Settings) -> None:
    """discord.py's logging setup to stdout; discord.http quieter; optional JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = JsonFormatter() if settings.logging.format == "json" else None
    discord.utils.setup_logging(handler=handler, formatter=formatter, level=settings.logging.level)
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def configure_endpoints(settings: Settings) -> None:
    """Point discord.py's REST and gateway at api_base/gateway_url (a proxy, or the sandbox).

    A plain client never asks REST for the gateway URL, so both are set before connecting.
    """
    base = settings.discord.api_base.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    gateway = settings.discord.gateway_url
    if not gateway and base != DISCORD_API:
        headers = {"Authorization": f"Bot {settings.discord.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/api/v10/gateway/bot", headers=headers) as answer,
        ):
            answer.raise_for_status()
            gateway = (await answer.json())["url"]
    if gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def build_services(settings: Settings, store: Store, clock: Clock = system_clock) -> Services:
    """Compose the core's services around one store."""
    flusher = FlushLoop(store, settings.storage.flush_interval.total_seconds())
    scheduler = JobScheduler(settings.nudges.zone, clock=clock)
    guilds = GuildService(store, settings)
    members = MemberService(store, settings, guilds, clock)
    ledger = Ledger(store, half_life=settings.tracking.half_life)
    leaderboard = LeaderboardService(store, settings, ledger, members, guilds, clock)
    flusher.add_stager(leaderboard.stage)
    backfill = BackfillService(store, ledger, clock)
    for service in (ledger, members, guilds, backfill):
        flusher.add_stager(service.stage)
    nudges = NudgeService(store, settings, members, ledger, flusher, clock)
    # In a cluster, this process scans only its shards' guilds (clicks may load others).
    nudges.owns = ownership(settings)
    flusher.add_stager(nudges.stage)
    scheduler.add("send_due_digests", nudges.scan, settings.schedule.nudge_scan)
    retention = Retention(ledger, flusher, settings.tracking.retain, clock)
    scheduler.add("apply_retention", retention.apply_retention, settings.schedule.retention)
    services = Services(
        settings=settings,
        store=store,
        flusher=flusher,
        scheduler=scheduler,
        clock=clock,
        guilds=guilds,
        members=members,
        ledger=ledger,
        leaderboard=leaderboard,
        backfill=backfill,
        nudges=nudges,
    )
    services.guild_loaders.append(nudges.ensure)
    services.guild_loaders.append(leaderboard.ensure)
    if settings.discord.shard_ids:
        # Digest clicks reach the shard 0 process whoever owns the guild: relay them.
        relay = ClickRelay(
            store, flusher, nudges.owns, partial(apply_click, nudges, members), clock
        )
        scheduler.add("apply_relayed_clicks", relay.apply_owned, parse_schedule(RELAY_EVERY))
        services.relay = relay
    return services


async def open_configured_store(settings: Settings) -> Store:
    """Open the configured backend (refusing an unreadable or newer store)."""
    storage = settings.storage
    store = open_store(
        storage.backend,
        path=Path(storage.path),
        dsn=storage.dsn,
        schema=storage.schema,
    )
    await store.open()
    return store


async def start_bot(
    settings: Settings, store: Store, clock: Clock = system_clock, **options: Any
) -> RapportBot:
    """Build the bot and log in (endpoints configured); the caller connects and closes it."""
    await configure_endpoints(settings)
    bot = RapportBot(build_services(settings, store, clock), **options)
    try:
        await bot.login(settings.discord.token)  # runs setup_hook too
    except BaseException:
        await bot.close()
        raise
    return bot


async def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    try:
        store = await open_configured_store(settings)
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    bot: RapportBot | None = None
    try:
        bot = await start_bot(settings, store)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda s=sig: _shutdown(bot, s))
        beats = asyncio.create_task(
            keep_heartbeat(heartbeat_path(settings), partial(heartbeat, bot)), name="heartbeat"
        )
        try:
            await bot.connect()
        finally:
            beats.cancel()
            await asyncio.gather(beats, return_exceptions=True)
        return 0
    except discord.PrivilegedIntentsRequired:
        log.error("%s", privileged_intents_message(settings))
        return 1
    except discord.LoginFailure:
        log.error("Discord refused the token. Check DISCORD_TOKEN (or [discord] token).")
        return 1
    finally:
        if bot is not None and not bot.is_closed():
            await bot.close()
        await store.close()


def heartbeat(bot: RapportBot) -> dict[str, Any] | None:
    """What the health check reads: only while every shard of this process is connected."""
    if not bot.is_ready() or bot.is_closed():
        return None
    shards = bot.shards
    if not shards or any(info.is_closed() for info in shards.values()):
        return None
    return {
        "at": datetime.now(UTC).timestamp(),
        "pid": os.getpid(),
        "shards": sorted(shards),
        "shard_count": bot.shard_count,
        "guilds": len(bot.guilds),
        "latency_ms": round(bot.latency * 1000) if bot.latency == bot.latency else None,
    }


def _shutdown(bot: RapportBot, sig: signal.Signals) -> None:
    log.info("received %s; shutting down", sig.name)
    asyncio.get_running_loop().create_task(bot.close())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description="Rapport, the relationship bot.")
    parser.add_argument("--config", type=Path, help="TOML config (default: config.toml if present)")
    parser.add_argument("--check-config", type=Path, metavar="FILE", help="validate and print FILE")
    parser.add_argument("--demo", action="store_true", help="run against the local emulator")
    parser.add_argument("--seed", type=int, default=7, help="the demo community's seed")
    parser.add_argument(
        "--migrate-store",
        nargs=2,
        metavar=("SRC", "DST"),
        help="copy and verify a whole store, e.g. tinydb:data/rapport.json postgres:postgresql://...",
    )
    parser.add_argument("--force", action="store_true", help="--migrate-store into a non-empty DST")
    cluster = parser.add_argument_group("cluster (overrides [discord] shard_ids / shard_count)")
    # The environment too, so Docker's HEALTHCHECK finds the same process's heartbeat.
    cluster.add_argument(
        "--shards",
        metavar="IDS",
        default=os.environ.get("RAPPORT_SHARDS") or None,
        help='this process\'s shards: "0-3", "0,2,4" (env RAPPORT_SHARDS)',
    )
    cluster.add_argument(
        "--shard-count",
        type=int,
        metavar="N",
        default=os.environ.get("RAPPORT_SHARD_COUNT") or None,
        help="shards in the whole cluster (env RAPPORT_SHARD_COUNT)",
    )
    parser.add_argument(
        "--health", action="store_true", help="exit 0 if the running bot's heartbeat is fresh"
    )
    return parser.parse_args(argv)


def apply_shards_or_exit(settings: Settings, args: argparse.Namespace) -> Settings:
    """The command line's shards over the config's, or a clear message and exit status 2."""
    if args.shards is None and args.shard_count is None:
        return settings
    try:
        return with_shards(settings, args.shards, args.shard_count)
    except ValueError as exc:
        print(f"Cluster options: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def load_or_exit(path: Path | None) -> Settings:
    """Load settings, or print every problem and exit with status 2 (no traceback)."""
    try:
        return load_settings(path, os.environ)
    except ConfigError as exc:
        print(f"Configuration problems:\n{exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.check_config is not None:
        settings = apply_shards_or_exit(load_or_exit(args.check_config), args)
        print(describe(settings))
        print(f"{args.check_config}: OK")
        return 0
    if args.migrate_store:
        from rapport.store.migrate import run as migrate_store

        return asyncio.run(migrate_store(*args.migrate_store, force=args.force))
    if args.demo:
        from sandbox.demo import run_demo  # imported late: only the demo needs the emulator

        return asyncio.run(run_demo(seed=args.seed))
    path = args.config or (Path("config.toml") if Path("config.toml").exists() else None)
    settings = apply_shards_or_exit(load_or_exit(path), args)
    if args.health:
        healthy, why = check_heartbeat(heartbeat_path(settings), datetime.now(UTC))
        print(why, file=sys.stdout if healthy else sys.stderr)
        return 0 if healthy else 1
    setup_logging(settings)
    if not settings.discord.token:
        print(MISSING_TOKEN, file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(run(settings))


if __name__ == "__main__":
    sys.exit(main())
