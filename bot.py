"""Rapport's entry point: command line -> config -> logging -> store -> services -> bot -> run.

The parts are composed by rapport/compose.py (the core: store, services, schedules) and app.py
(endpoints and the bot); this file is the command line around them.

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

from app import start_bot
from cogs._bot import RapportBot
from rapport.compose import open_configured_store
from rapport.errors import StartupConfigError, StoreError
from rapport.runtime.cluster import check_heartbeat, heartbeat_path, keep_heartbeat, with_shards
from rapport.settings.config import ConfigError, Settings, describe, load_settings
from rapport.store.base import Store

log = logging.getLogger("rapport")

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


class RedactPayloads(logging.Filter):
    """Keep message text out of logs: discord.py logs whole gateway payloads and HTTP bodies at
    DEBUG (message content, links, file names). Their structured arguments become a summary:
    a gateway payload keeps its op, event name and sequence; other bodies only their length."""

    LIMIT = 80

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("discord") and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(self._summary(arg) for arg in args)
        return True

    @classmethod
    def _summary(cls, arg: object) -> object:
        if isinstance(arg, dict):
            if "op" in arg:
                kept = {key: arg.get(key) for key in ("op", "t", "s") if key in arg}
                return f"{kept} (payload redacted)"
            return f"<{len(arg)} fields redacted>"
        if isinstance(arg, list | tuple | set):
            return f"<{len(arg)} items redacted>"
        if isinstance(arg, str | bytes | bytearray) and (
            len(arg) > cls.LIMIT or arg.lstrip()[:1] in ("{", "[", b"{", b"[")
        ):
            return f"<{len(arg)} characters redacted>"
        if isinstance(arg, str | bytes | bytearray | int | float | bool | type(None)):
            return arg
        text = str(arg)  # aiohttp messages, forms and the like: their text may hold content
        return text if len(text) <= cls.LIMIT else f"<{type(arg).__name__} redacted>"


def setup_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """discord.py's logging setup to stdout; discord.http quieter; optional JSON lines; message
    text redacted from discord.py's payload logging. Returns the handler it installed."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.addFilter(RedactPayloads())
    formatter = JsonFormatter() if settings.logging.format == "json" else None
    discord.utils.setup_logging(handler=handler, formatter=formatter, level=settings.logging.level)
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


async def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    try:
        store = await open_configured_store(settings)
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    try:
        code = await serve(settings, store)
    finally:
        saved = await close_store(store)
    return code if saved else 1


async def close_store(store: Store) -> bool:
    """Close the store; a last write that fails (disk full) is one clear line, not a traceback."""
    try:
        await store.close()
    except (OSError, StoreError) as exc:
        log.error("could not save the last changes while stopping (%s); they are lost", exc)
        return False
    return True


async def serve(settings: Settings, store: Store) -> int:
    """Log in, connect and run until stopped; the exit code (the caller closes the store)."""
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
    except StoreError as exc:  # a stored document Rapport can't read: named, nothing written
        storage = settings.storage
        where = storage.path if storage.backend == "tinydb" else f"schema {storage.schema}"
        log.error("The store %s can't be used: %s", where, exc)
        return 1
    except StartupConfigError as exc:
        log.error("Configuration problem: %s", exc)
        return EXIT_CONFIG
    except aiohttp.ClientError as exc:
        log.error(
            "Configuration problem: discord.api_base = %s: could not reach Discord there (%s: %s). "
            "Check the URL (and gateway_url), or the network.",
            settings.discord.api_base,
            type(exc).__name__,
            exc,
        )
        return EXIT_CONFIG
    finally:
        if bot is not None and not bot.is_closed():
            await bot.close()


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
