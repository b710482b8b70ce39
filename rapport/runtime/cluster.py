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
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport.clock import Clock
from rapport.errors import UserFacingError
from rapport.runtime.flush import FlushLoop
from rapport.settings.config import MAX_SHARDS, Settings
from rapport.store.base import Doc, Store

if TYPE_CHECKING:
    from rapport.nudges.service import NudgeService
    from rapport.people.members import MemberService
    from rapport.people.privacy import Privacy

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
        if low < 0 or high < low or high >= MAX_SHARDS:
            raise ValueError(
                f"“{part}” is not a range of shard numbers (low-high, from 0 to {MAX_SHARDS - 1})"
            )
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


def with_shards(settings: Settings, shards: str | None, shard_count: int | None) -> Settings:
    """Settings with the command line's shards applied over [discord]; ValueError says why not."""
    cfg = settings.discord
    count = cfg.shard_count if shard_count is None else shard_count
    ids = cfg.shard_ids if shards is None else parse_shards(shards)
    if count is not None and not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"--shard-count must be at least 1 and at most {MAX_SHARDS}, not {count}")
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
            f"last heartbeat {age.total_seconds():.0f} s ago "
            f"(limit {max_age.total_seconds():.0f} s): "
            "the gateway is down or the event loop is stuck"
        )
    shards = beat.get("shards")
    return True, f"healthy: heartbeat {age.total_seconds():.0f} s ago, shards {shards}"


# --- digest clicks for another process's guild -------------------------------------------------

RELAY_TABLE = "relayed_clicks"
RELAY_GUILD = 0
"""The pseudo-guild the relayed clicks of every guild live under (like the command-sync hash),
so an owner finds its clicks with one read per run, however many guilds it has."""
RELAY_EVERY = "5s"
"""How often an owner applies relayed clicks: the member's Stop or Snooze holds within that."""
SNOOZE = timedelta(weeks=1)

Apply = Callable[[Doc, datetime], Awaitable[bool]]


class ClickRelay:
    """Digest clicks received here for guilds another process owns, passed on through the store."""

    def __init__(
        self,
        store: Store,
        flusher: FlushLoop,
        owns: Callable[[int], bool],
        apply: Apply,
        clock: Clock,
    ) -> None:
        self.store = store
        self.flusher = flusher
        self.owns = owns
        self.apply = apply
        self.clock = clock

    async def forward(
        self,
        key: str,
        guild_id: int,
        member_id: int,
        action: str,
        digest_id: str,
        other_id: int = 0,
    ) -> None:
        """Record a click for the guild's owner (durable on return); `key` is unique per click."""
        click = {
            "guild": guild_id,
            "member": member_id,
            "action": action,
            "digest": digest_id,
            "other": other_id,
            "at": self.clock().timestamp(),
        }
        self.store.put(RELAY_TABLE, RELAY_GUILD, key, click)
        await self.flusher.flush()

    async def forward_forget(self, member_id: int, guild_ids: Sequence[int]) -> None:
        """Ask each guild's owner to forget the member there (durable on return): the owner
        holds the guild's state in memory, so only it can drop the member from it for good."""
        request = uuid.uuid4().hex[:12]
        at = self.clock().timestamp()
        for guild_id in guild_ids:
            self.store.put(
                RELAY_TABLE,
                RELAY_GUILD,
                f"forget:{request}:{guild_id}",
                {
                    "guild": guild_id,
                    "member": member_id,
                    "action": "forget",
                    "digest": "",
                    "other": 0,
                    "at": at,
                },
            )
        await self.flusher.flush()

    async def apply_owned(self) -> int:
        """Apply, oldest first, the relayed clicks of the guilds this process owns; how many."""
        clicks = await self.store.load(RELAY_TABLE, RELAY_GUILD)
        mine = sorted(
            ((key, c) for key, c in clicks.items() if self.owns(int(c["guild"]))),
            key=lambda kc: kc[1]["at"],
        )
        applied = 0
        now = self.clock()
        for key, click in mine:
            try:
                applied += await self.apply(click, now)
            except Exception:
                log.exception(
                    "a relayed %s click in guild %s failed", click["action"], click["guild"]
                )
            # Applied or not, once: a click that fails now would fail again.
            self.store.delete(RELAY_TABLE, RELAY_GUILD, key)
        if mine:
            log.info(
                "applied %d of %d digest click(s) relayed by the shard 0 process",
                applied,
                len(mine),
            )
        return applied


async def apply_click(
    nudges: NudgeService,
    members: MemberService,
    click: Doc,
    now: datetime,
    *,
    privacy: Privacy | None = None,
) -> bool:
    """Do what the Nudges cog does for a click, in the owning process; False when it no longer
    applies (the digest is not the member's any more, or the choice is unknown). A "forget"
    is a member's forget everywhere (`ClickRelay.forward_forget`)."""
    guild_id, member_id = int(click["guild"]), int(click["member"])
    digest_id, action = str(click["digest"]), str(click["action"])
    if action == "forget":
        return privacy is not None and await privacy.forget_if_held(guild_id, member_id)
    await members.ensure(guild_id)
    await nudges.ensure(guild_id)
    items = nudges.digest_items(guild_id, member_id, digest_id)
    if items is None:
        return False
    if action == "done":
        return await nudges.done(guild_id, member_id, digest_id)
    if action == "snooze":
        # A week from the click, not from when the owner got to it.
        left = datetime.fromtimestamp(float(click["at"]), UTC) + SNOOZE - now
        if left > timedelta(0):
            await members.snooze(guild_id, member_id, left)
        return True
    if action in ("keep", "fewer", "stop"):
        await nudges.feedback(guild_id, member_id, action)
        return True
    if action == "elsewhere":
        other = int(click.get("other", 0))
        if other not in {it[2] for it in items}:
            return False
        await nudges.talked_elsewhere(guild_id, member_id, other, digest_id)
        return True
    if action == "notabout":
        other = int(click.get("other", 0))
        if other not in {it[2] for it in items}:
            return False
        try:
            await members.mute(guild_id, member_id, other)
        except UserFacingError:
            return False
        return True
    return False
