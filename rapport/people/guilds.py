"""Per-guild settings that admins change with /rapport-admin, over the config's defaults.

One resolver, `GuildService.policy`, gives a guild's effective settings: each value is the
server's own choice when it made one, else config.toml's (`GuildPolicy.own` names the
server's). Every consumer (the nudge rules and planner, enrollment, tracking's channel
filter, the leaderboard's period, schedule and members) asks it, never the config directly.
Roles live in Discord: the `Roles` port (filled by the Discord glue) says who holds them.

Over 400 lines because the settings, their stored form, their one resolver and their checked
changes read together; what an admin may type for each value is apart (_server_values.py).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.people._server_values import (
    KUDOS_MAX,
    PERIODS,
    THRESHOLDS,
    check,
    clash,
)
from rapport.settings.config import Settings
from rapport.settings.timeparse import Schedule, parse_schedule, parse_timezone
from rapport.store.base import Doc, Store, decode_each

log = logging.getLogger(__name__)

TABLE = "guild_settings"
KEY = "settings"
SETTINGS = (
    "leaderboard",
    "leaderboard_channel",
    "leaderboard_period",
    "leaderboard_schedule",
    "teams",
    "staff_roles",
    "enrollment",
    "enrollment_role",
    "welcomer_role",
    "timezone",
    "track_only",
    "excluded_channels",
    "nudge_kinds",
    *THRESHOLDS,
    "kudos_max_per_day",
)
"""Every setting a server can choose, in the order /rapport-admin setup shows them."""
DEFAULT = "default"
"""What an admin types for a text setting to go back to config.toml's value."""
RESET_ALL = "all"


class Roles(Protocol):
    """Who holds a server's roles (Discord knows; the glue answers)."""

    def holders(self, guild_id: int, role_ids: Collection[int]) -> set[int]:
        """Members holding any of these roles (bots aside)."""
        ...

    def holds(self, guild_id: int, member_id: int, role_id: int) -> bool:
        """Whether a member holds a role (False when that can't be known)."""
        ...


class NoRoles:
    """Before the glue is attached (and in core tests): nobody holds any role."""

    def holders(self, guild_id: int, role_ids: Collection[int]) -> set[int]:
        """Nobody."""
        return set()

    def holds(self, guild_id: int, member_id: int, role_id: int) -> bool:
        """No one."""
        return False


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
    admin_digest_channel: int | None = None
    """Where the weekly admin digest is posted (/rapport-admin admin-digest); None: no channel."""
    admin_digest_dms: frozenset[int] = field(default_factory=frozenset)
    """Admins who asked for the admin digest by DM."""
    removed_at: int | None = None
    """When the bot was removed from the server (epoch seconds); None while it is there."""
    leaderboard: bool | None = None
    leaderboard_period: str | None = None
    leaderboard_schedule: str | None = None
    staff_roles: tuple[int, ...] | None = None
    enrollment_role: int | None = None
    track_only: frozenset[int] | None = None
    nudge_kinds: tuple[str, ...] | None = None
    drift_after: int | None = None
    """Seconds, like the other thresholds below."""
    drift_min: int | None = None
    unanswered_after: int | None = None
    stale_after: int | None = None
    share_after: int | None = None
    kudos_max_per_day: int | None = None

    def to_doc(self) -> Doc:
        """The stored form: ids, names, words and seconds only."""
        doc: Doc = {}
        for f in fields(self):
            if f.name == "guild_id":
                continue
            value = getattr(self, f.name)
            if isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = list(value)
            doc[f.name] = value
        return doc

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
            admin_digest_channel=doc.get("admin_digest_channel"),
            admin_digest_dms=frozenset(int(m) for m in doc.get("admin_digest_dms", ())),
            removed_at=doc.get("removed_at"),
            leaderboard=doc.get("leaderboard"),
            leaderboard_period=doc.get("leaderboard_period"),
            leaderboard_schedule=doc.get("leaderboard_schedule"),
            staff_roles=_tuple(doc.get("staff_roles")),
            enrollment_role=doc.get("enrollment_role"),
            track_only=frozenset(track) if (track := doc.get("track_only")) is not None else None,
            nudge_kinds=_tuple(doc.get("nudge_kinds")),
            **{name: doc.get(name) for name in THRESHOLDS},
            kudos_max_per_day=doc.get("kudos_max_per_day"),
        )


def _tuple(value: Any) -> tuple[Any, ...] | None:
    return tuple(value) if value is not None else None


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
    track_only: frozenset[int] | None = None
    """When set, only these channels (and their threads) are tracked."""
    leaderboard: bool = True
    leaderboard_period: str = "week"
    leaderboard_schedule: Schedule = field(default_factory=lambda: parse_schedule("0 9 * * mon"))
    staff_roles: frozenset[int] = frozenset()
    enrollment_role: int | None = None
    welcomer_role: int | None = None
    nudge_kinds: frozenset[str] = frozenset()
    drift_after: timedelta = timedelta(days=21)
    drift_min: timedelta = timedelta(days=7)
    unanswered_after: timedelta = timedelta(hours=24)
    stale_after: timedelta = timedelta(days=7)
    share_after: timedelta = timedelta(days=14)
    kudos_max_per_day: int = 5
    """Thanks one member may give in any 24 hours (/thanks); 0: kudos are off."""
    own: frozenset[str] = frozenset()
    """The settings this server chose itself; every other value is config.toml's."""

    def ignores_channel(
        self,
        channel_id: int,
        channel_name: str | None = None,
        parent_id: int | None = None,
        parent_name: str | None = None,
    ) -> bool:
        """Whether interactions in this channel (a thread: under this parent) are left untracked."""
        ids = (channel_id,) if parent_id is None else (channel_id, parent_id)
        if any(i in self.excluded_channels for i in ids):
            return True
        names = (channel_name, parent_name)
        if any(n is not None and n.lower() in self.ignored_channel_names for n in names):
            return True
        return self.track_only is not None and not any(i in self.track_only for i in ids)

    @property
    def filters_channels(self) -> bool:
        """Whether any channel is left untracked (tracking asks per message: keep it cheap)."""
        return bool(
            self.excluded_channels or self.ignored_channel_names or self.track_only is not None
        )

    @property
    def own_schedule(self) -> bool:
        """Whether the board follows this server's own schedule rather than config.toml's."""
        return "leaderboard_schedule" in self.own


class GuildService:
    """Loads, resolves and changes each guild's settings; staged to the store in batches."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._guilds: dict[int, GuildSettings] = {}
        self._dirty: set[int] = set()
        self._policies: dict[int, GuildPolicy] = {}  # tracking asks per event: resolve once
        self.roles: Roles = NoRoles()
        """Who holds the server's roles; the Discord glue attaches the real answer."""

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
        chosen = {name for name in SETTINGS if getattr(own, name) is not None}
        if not own.excluded_channels:
            chosen.discard("excluded_channels")
        return GuildPolicy(
            guild_id=guild_id,
            leaderboard_channel=own.leaderboard_channel or cfg.leaderboard.channel,
            enrollment=own.enrollment or cfg.nudges.enrollment,
            teams=own.teams if own.teams is not None else cfg.leaderboard.teams,
            zone=self._zone(guild_id, own.timezone),
            excluded_channels=own.excluded_channels | ids,
            ignored_channel_names=frozenset(names),
            track_only=own.track_only or None,
            leaderboard=cfg.leaderboard.enabled if own.leaderboard is None else own.leaderboard,
            leaderboard_period=(
                own.leaderboard_period
                if own.leaderboard_period in PERIODS
                else cfg.leaderboard.period
            ),
            leaderboard_schedule=self._schedule(guild_id, own.leaderboard_schedule),
            staff_roles=frozenset(own.staff_roles or ()),
            enrollment_role=own.enrollment_role,
            welcomer_role=own.welcomer_role,
            nudge_kinds=frozenset(
                own.nudge_kinds if own.nudge_kinds is not None else cfg.nudges.kinds
            ),
            **{name: self._threshold(guild_id, own, name) for name in THRESHOLDS},
            kudos_max_per_day=(
                own.kudos_max_per_day
                if type(own.kudos_max_per_day) is int and 0 <= own.kudos_max_per_day <= KUDOS_MAX
                else cfg.kudos.max_per_day
            ),
            own=frozenset(chosen),
        )

    def _threshold(self, guild_id: int, own: GuildSettings, name: str) -> timedelta:
        default: timedelta = getattr(self.settings.nudges, name)
        seconds = getattr(own, name)
        if seconds is None:
            return default
        if type(seconds) is not int or seconds <= 0:
            log.warning("guild %s has an unreadable stored %s; using the config's", guild_id, name)
            return default
        return timedelta(seconds=seconds)

    def _schedule(self, guild_id: int, text: str | None) -> Schedule:
        if text:
            try:
                return parse_schedule(text)
            except (TypeError, ValueError):
                log.warning(
                    "guild %s has an unreadable stored leaderboard schedule; using the config's",
                    guild_id,
                )
        return self.settings.schedule.leaderboard

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
        """Change settings, validating every value first (nothing changes on a bad one).

        A text value of "default" (and None) goes back to config.toml's value.
        """
        current = await self.ensure(guild_id)
        stored: dict[str, Any] = {}
        for name, value in changes.items():
            if value is None or (isinstance(value, str) and value.strip().lower() == DEFAULT):
                stored[name] = frozenset() if name == "excluded_channels" else None
            elif name == "timezone":
                try:
                    stored[name] = parse_timezone(value).key  # stored as parsed: stripped
                except ValueError:
                    raise UserFacingError(
                        N_("“{value}” isn't a time zone I know — try a name like Europe/Paris."),
                        value=value,
                    ) from None
            else:
                stored[name] = check(name, value)
        updated = replace(current, **stored)
        if set(stored) & set(THRESHOLDS):
            policy = self._resolve_settings(updated)
            clash({name: getattr(policy, name) for name in THRESHOLDS}, stored)
        self._set(updated)
        return updated

    @staticmethod
    def setting_names(names: Iterable[str]) -> list[str]:
        """The settings named (for a reset); "all" names every one; an unknown name is refused."""
        wanted = [n.strip().lower().replace("-", "_") for n in names if n.strip()]
        if RESET_ALL in wanted:
            return list(SETTINGS)
        unknown = [n for n in wanted if n not in SETTINGS]
        if unknown or not wanted:
            raise UserFacingError(
                N_(
                    "{option} takes setting names, comma-separated, from: {names} (or “all”); "
                    "got “{got}”."
                ),
                option="reset",
                names=", ".join(SETTINGS),
                got=", ".join(unknown) or "—",
            )
        return list(dict.fromkeys(wanted))

    def _resolve_settings(self, own: GuildSettings) -> GuildPolicy:
        """The policy these settings would give (to check a change before keeping it)."""
        before = self._guilds.get(own.guild_id)
        self._guilds[own.guild_id] = own
        try:
            return self._resolve(own.guild_id)
        finally:
            if before is None:
                self._guilds.pop(own.guild_id, None)
            else:
                self._guilds[own.guild_id] = before

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
