"""Per-guild settings that admins change with /rapport-admin, over the config's defaults."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.settings.config import Settings
from rapport.settings.timeparse import parse_timezone
from rapport.store.base import Doc, Store, decode_each

log = logging.getLogger(__name__)

TABLE = "guild_settings"
KEY = "settings"
ENROLLMENT_MODES = ("opt-in", "opt-out")


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """What an admin chose for one server; None means "the config's default"."""

    guild_id: int
    leaderboard_channel: str | int | None = None
    enrollment: str | None = None
    teams: tuple[str | int, ...] | None = None
    timezone: str | None = None
    excluded_channels: frozenset[int] = field(default_factory=frozenset)
    welcomer_role: int | None = None
    removed_at: int | None = None
    """When the bot was removed from the server (epoch seconds); None while it is there."""

    def to_doc(self) -> Doc:
        """The stored form: ids and names only."""
        return {
            "leaderboard_channel": self.leaderboard_channel,
            "enrollment": self.enrollment,
            "teams": list(self.teams) if self.teams is not None else None,
            "timezone": self.timezone,
            "excluded_channels": sorted(self.excluded_channels),
            "welcomer_role": self.welcomer_role,
            "removed_at": self.removed_at,
        }

    @classmethod
    def from_doc(cls, guild_id: int, doc: Doc) -> GuildSettings:
        """Read the stored form back (unknown fields from newer code are ignored)."""
        teams = doc.get("teams")
        return cls(
            guild_id=guild_id,
            leaderboard_channel=doc.get("leaderboard_channel"),
            enrollment=doc.get("enrollment"),
            teams=tuple(teams) if teams is not None else None,
            timezone=doc.get("timezone"),
            excluded_channels=frozenset(int(c) for c in doc.get("excluded_channels", ())),
            welcomer_role=doc.get("welcomer_role"),
            removed_at=doc.get("removed_at"),
        )


@dataclass(frozen=True, slots=True)
class GuildPolicy:
    """A guild's effective settings: the admin's choices over the config's defaults."""

    guild_id: int
    leaderboard_channel: str | int
    enrollment: str
    teams: tuple[str | int, ...]
    zone: ZoneInfo
    excluded_channels: frozenset[int]
    ignored_channel_names: frozenset[str]

    def ignores_channel(self, channel_id: int, channel_name: str | None = None) -> bool:
        """Whether interactions in this channel are left untracked."""
        if channel_id in self.excluded_channels:
            return True
        return channel_name is not None and channel_name.lower() in self.ignored_channel_names


class GuildService:
    """Loads, resolves and changes each guild's settings; staged to the store in batches."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._guilds: dict[int, GuildSettings] = {}
        self._dirty: set[int] = set()
        self._policies: dict[int, GuildPolicy] = {}  # tracking asks per event: resolve once

    async def ensure(self, guild_id: int) -> GuildSettings:
        """Load a guild's settings once (cheap afterwards)."""
        found = self._guilds.get(guild_id)
        if found is None:
            docs = await self.store.load(TABLE, guild_id)
            decoded = decode_each(
                TABLE,
                guild_id,
                {KEY: docs.get(KEY, {})},
                lambda _, d: GuildSettings.from_doc(guild_id, d),
            )
            found = decoded[KEY]
            self._guilds[guild_id] = found
            self._policies.pop(guild_id, None)
        return found

    def get(self, guild_id: int) -> GuildSettings:
        """A loaded guild's settings (defaults if it was never loaded or changed)."""
        return self._guilds.get(guild_id) or GuildSettings(guild_id)

    def policy(self, guild_id: int) -> GuildPolicy:
        """The effective settings of a guild (cached until they change)."""
        found = self._policies.get(guild_id)
        if found is None:
            found = self._policies[guild_id] = self._resolve(guild_id)
        return found

    def _resolve(self, guild_id: int) -> GuildPolicy:
        own = self.get(guild_id)
        cfg = self.settings
        ids = {c for c in cfg.tracking.ignore_channels if isinstance(c, int)}
        names = {c.lower().lstrip("#") for c in cfg.tracking.ignore_channels if isinstance(c, str)}
        return GuildPolicy(
            guild_id=guild_id,
            leaderboard_channel=own.leaderboard_channel or cfg.leaderboard.channel,
            enrollment=own.enrollment or cfg.nudges.enrollment,
            teams=own.teams if own.teams is not None else cfg.leaderboard.teams,
            zone=self._zone(guild_id, own.timezone),
            excluded_channels=own.excluded_channels | ids,
            ignored_channel_names=frozenset(names),
        )

    def _zone(self, guild_id: int, name: str | None) -> ZoneInfo:
        """The guild's time zone; a stored name that can't be read falls back to the config's."""
        if name:
            try:
                return parse_timezone(name)
            except (TypeError, ValueError):
                log.warning(
                    "guild %s has an unreadable stored time zone; using %s until an admin sets "
                    "it again with /rapport-admin setup",
                    guild_id,
                    self.settings.nudges.timezone,
                )
        return self.settings.nudges.zone

    async def update(self, guild_id: int, **changes: Any) -> GuildSettings:
        """Change settings, validating every value first (nothing changes on a bad one)."""
        current = await self.ensure(guild_id)
        if (mode := changes.get("enrollment")) is not None and mode not in ENROLLMENT_MODES:
            raise UserFacingError(
                N_("Enrollment must be one of: {modes}."), modes=", ".join(ENROLLMENT_MODES)
            )
        if (name := changes.get("timezone")) is not None:
            try:
                changes["timezone"] = parse_timezone(name).key  # stored as parsed: stripped
            except ValueError:
                raise UserFacingError(
                    N_("“{value}” isn't a time zone I know — try a name like Europe/Paris."),
                    value=name,
                ) from None
        updated = replace(current, **changes)
        self._set(updated)
        return updated

    async def exclude_channels(
        self, guild_id: int, channel_ids: Iterable[int], *, exclude: bool = True
    ) -> GuildSettings:
        """Stop (or resume) tracking interactions in these channels."""
        current = await self.ensure(guild_id)
        ids = frozenset(channel_ids)
        excluded = current.excluded_channels | ids if exclude else current.excluded_channels - ids
        updated = replace(current, excluded_channels=excluded)
        self._set(updated)
        return updated

    def _set(self, updated: GuildSettings) -> None:
        self._guilds[updated.guild_id] = updated
        self._policies.pop(updated.guild_id, None)
        self._dirty.add(updated.guild_id)

    def removed(self, guild_id: int) -> bool:
        """Whether the bot was removed from this server (nothing is sent, posted or planned)."""
        found = self._guilds.get(guild_id)
        return found is not None and found.removed_at is not None

    async def mark_removed(self, guild_id: int, at: datetime) -> None:
        """The bot was removed from the server (GUILD_DELETE without `unavailable`)."""
        current = await self.ensure(guild_id)
        if current.removed_at is None:
            self._set(replace(current, removed_at=int(at.timestamp())))

    async def mark_returned(self, guild_id: int) -> None:
        """The bot is back in the server: everything resumes, nothing was deleted yet."""
        current = await self.ensure(guild_id)
        if current.removed_at is not None:
            self._set(replace(current, removed_at=None))

    def removed_before(self, cutoff: datetime) -> list[int]:
        """Loaded servers the bot was removed from before `cutoff` (their data is due to go)."""
        t = cutoff.timestamp()
        return [
            g for g, s in self._guilds.items() if s.removed_at is not None and s.removed_at <= t
        ]

    def forget_guild(self, guild_id: int) -> None:
        """Drop a guild's settings from memory (after the bot left it and its data was deleted)."""
        self._guilds.pop(guild_id, None)
        self._policies.pop(guild_id, None)
        self._dirty.discard(guild_id)

    def stage(self) -> int:
        """Put changed guild settings into the store; returns how many."""
        for guild_id in self._dirty:
            self.store.put(TABLE, guild_id, KEY, self.get(guild_id).to_doc())
        count = len(self._dirty)
        self._dirty.clear()
        return count
