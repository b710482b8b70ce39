"""One process of a cluster: which shards it runs, which guilds it owns, and its heartbeat.

A bot in thousands of guilds runs as several processes sharing PostgreSQL, each a set of
Discord shards (``--shards 0-3 --shard-count 8``). Discord puts a guild on shard
``(guild_id >> 22) % shard_count``; a process tracks and schedules only the guilds of its own
shards, and the database's claims keep two processes from ever sending the same thing.

The heartbeat is a small JSON file the running bot rewrites while its gateway connections are
up; ``python bot.py --health`` (Docker's HEALTHCHECK) reads it, so "healthy" means connected
and not stuck, not merely "the process exists".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rapport.config import Settings

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "heartbeat.json"
HEARTBEAT_EVERY = timedelta(seconds=30)
HEARTBEAT_MAX_AGE = timedelta(seconds=90)
"""Three missed beats: long enough for a gateway RESUME, short enough to notice a stuck loop."""


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord delivers a guild's events on."""
    return (guild_id >> 22) % shard_count


def owns(guild_id: int, shard_ids: Iterable[int] | None, shard_count: int | None) -> bool:
    """Whether a process running `shard_ids` of `shard_count` owns the guild (all, unsharded)."""
    if not shard_count or not shard_ids:
        return True
    return shard_of(guild_id, shard_count) in set(shard_ids)


def ownership(settings: Settings) -> Callable[[int], bool]:
    """The predicate "this process owns that guild" for the configured shards."""
    ids = frozenset(settings.discord.shard_ids or ())
    count = settings.discord.shard_count
    return lambda guild_id: owns(guild_id, ids, count)


def parse_shards(text: str) -> tuple[int, ...]:
    """Shard ids from "0-3", "0,2,4", "5" or a mix ("0-1,4"); sorted, without repeats."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            raise ValueError(
                f"“{part or text}” is not a shard list; expected e.g. 0-3, 0,2,4 or 5"
            ) from None
        if low < 0 or high < low:
            raise ValueError(f"“{part}” is not a range of shard numbers (low-high, from 0)")
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


def with_shards(settings: Settings, shards: str | None, shard_count: int | None) -> Settings:
    """Settings with the command line's shards applied over [discord]; ValueError says why not."""
    cfg = settings.discord
    count = cfg.shard_count if shard_count is None else shard_count
    ids = cfg.shard_ids if shards is None else parse_shards(shards)
    if count is not None and count < 1:
        raise ValueError(f"--shard-count must be at least 1, not {count}")
    if ids and count is None:
        raise ValueError(
            "--shards needs the total number of shards: add --shard-count N "
            "(or set [discord] shard_count)"
        )
    if ids and count is not None and max(ids) >= count:
        too_big = [str(i) for i in ids if i >= count]
        which = (
            f"shard {too_big[0]} is" if len(too_big) == 1 else f"shards {', '.join(too_big)} are"
        )
        raise ValueError(
            f"{which} not below the shard count {count} (shards are numbered 0 to {count - 1})"
        )
    part = dataclasses.replace(cfg, shard_count=count, shard_ids=tuple(ids) if ids else None)
    return dataclasses.replace(settings, discord=part)


# --- heartbeat ---------------------------------------------------------------------------------


def heartbeat_path(settings: Settings) -> Path:
    """In the data directory (the container's volume), one file per set of shards.

    Processes of a cluster sharing a data directory each keep their own heartbeat.
    """
    directory = Path(settings.storage.path).parent
    cfg = settings.discord
    if not cfg.shard_ids or not cfg.shard_count:
        return directory / HEARTBEAT_FILE
    ids = "_".join(str(i) for i in cfg.shard_ids)
    return directory / f"heartbeat-shards-{ids}-of-{cfg.shard_count}.json"


def write_heartbeat(path: Path, beat: dict[str, Any]) -> None:
    """Replace the heartbeat file atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(beat))
    os.replace(tmp, path)


async def keep_heartbeat(
    path: Path,
    beat: Callable[[], dict[str, Any] | None],
    every: timedelta = HEARTBEAT_EVERY,
) -> None:
    """Rewrite the heartbeat every `every` while `beat()` returns one (None: not healthy now).

    While unhealthy it looks again every second, so the first beat follows READY closely.
    """
    try:
        while True:
            current = beat()
            if current is None:
                await asyncio.sleep(min(1.0, every.total_seconds()))
                continue
            try:
                await asyncio.to_thread(write_heartbeat, path, current)
            except OSError as exc:
                log.warning("could not write the heartbeat %s: %s", path, exc)
            await asyncio.sleep(every.total_seconds())
    finally:
        # A stopped bot is not healthy, whatever the last beat said.
        clear_heartbeat(path)


def clear_heartbeat(path: Path) -> None:
    """Remove the heartbeat (the bot stopped); a missing file is fine."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def check_heartbeat(
    path: Path, now: datetime, max_age: timedelta = HEARTBEAT_MAX_AGE
) -> tuple[bool, str]:
    """(healthy, why) from the heartbeat file: present, readable and younger than `max_age`."""
    try:
        beat = json.loads(path.read_text())
        at = datetime.fromtimestamp(float(beat["at"]), UTC)
    except FileNotFoundError:
        return False, f"no heartbeat at {path}: the bot is not running or not connected yet"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return False, f"unreadable heartbeat {path}: {exc}"
    age = now - at
    if age > max_age:
        return False, (
            f"last heartbeat {age.total_seconds():.0f} s ago (limit {max_age.total_seconds():.0f} s): "
            "the gateway is down or the event loop is stuck"
        )
    shards = beat.get("shards")
    return True, f"healthy: heartbeat {age.total_seconds():.0f} s ago, shards {shards}"
