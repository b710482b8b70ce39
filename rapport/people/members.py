"""Each member's choices — enrollment, tracking, when and about what to be nudged — and their rules.

Members choose for themselves; what they leave unset follows their guild, then the config.
Every change is validated here, so a slash command and a button get the same clear refusal.
Over 400 lines because the stored choices, their resolution into Preferences and the
validated changes are one room: each new choice touches all three together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rapport import i18n
from rapport.clock import Clock, epoch, from_epoch
from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.people.guilds import GuildService
from rapport.settings.config import NUDGE_KINDS, Settings
from rapport.settings.timeparse import QuietHours, parse_quiet_hours, parse_timezone
from rapport.store.base import Doc, Store, decode_stream

log = logging.getLogger(__name__)

TABLE = "member_settings"
MAX_SNOOZE = timedelta(days=90)
MAX_DMS_PER_WEEK = 14
ANY_HOUR = "any"
MAX_ELSEWHERE = 100
"""The "talked elsewhere" times a member keeps, newest first (one per person)."""
_NO_ONE: frozenset[int] = frozenset()
_NOBODY: dict[int, MemberSettings] = {}  # shared empty guild, so the per-event check builds nothing


@dataclass(frozen=True, slots=True)
class MemberSettings:
    """One member's own choices; None means "as the server decides"."""

    member_id: int
    enrolled: bool | None = None
    tracked: bool = True
    timezone: str | None = None
    digest_hour: int | str | None = None
    quiet_hours: str | None = None
    max_dms_per_week: int | None = None
    kinds: tuple[str, ...] | None = None
    on_leaderboard: bool = True
    snoozed_until: datetime | None = None
    muted: frozenset[int] = field(default_factory=frozenset)
    dms_closed_at: datetime | None = None
    # The member's language override (a shipped catalog; None = automatic) and the locale of
    # their last interaction, which their DMs follow.
    language: str | None = None
    locale: str | None = None
    enrolled_at: datetime | None = None
    dms_closed_told: bool = False
    # When the member last talked with someone off Discord (DMs, voice, in person), as they
    # told Rapport: (other member id, epoch seconds), newest first. Resets the drifting clock
    # of that pair; never an interaction (the ledger and the leaderboard never see it).
    elsewhere: tuple[tuple[int, int], ...] = ()

    def talked_elsewhere(self, other_id: int) -> datetime | None:
        """When the member said they last talked with `other_id` off Discord."""
        return next((from_epoch(at) for o, at in self.elsewhere if o == other_id), None)

    def to_doc(self) -> Doc:
        """The stored form: flags, ids and times only."""
        return {
            "enrolled": self.enrolled,
            "tracked": self.tracked,
            "timezone": self.timezone,
            "digest_hour": self.digest_hour,
            "quiet_hours": self.quiet_hours,
            "max_dms_per_week": self.max_dms_per_week,
            "kinds": list(self.kinds) if self.kinds is not None else None,
            "on_leaderboard": self.on_leaderboard,
            "snoozed_until": None if self.snoozed_until is None else epoch(self.snoozed_until),
            "muted": sorted(self.muted),
            "dms_closed_at": None if self.dms_closed_at is None else epoch(self.dms_closed_at),
            "language": self.language,
            "locale": self.locale,
            "enrolled_at": None if self.enrolled_at is None else epoch(self.enrolled_at),
            "dms_closed_told": self.dms_closed_told,
            "elsewhere": {str(o): at for o, at in self.elsewhere},
        }

    @classmethod
    def from_doc(cls, member_id: int, doc: Doc) -> MemberSettings:
        """Read the stored form back."""
        kinds = doc.get("kinds")
        snoozed, closed = doc.get("snoozed_until"), doc.get("dms_closed_at")
        muted, elsewhere = doc.get("muted"), doc.get("elsewhere")
        return cls(
            member_id=member_id,
            enrolled=doc.get("enrolled"),
            tracked=doc.get("tracked", True),
            timezone=doc.get("timezone"),
            digest_hour=doc.get("digest_hour"),
            quiet_hours=doc.get("quiet_hours"),
            max_dms_per_week=doc.get("max_dms_per_week"),
            kinds=tuple(kinds) if kinds is not None else None,
            on_leaderboard=doc.get("on_leaderboard", True),
            snoozed_until=None if snoozed is None else from_epoch(snoozed),
            # Most members mute nobody and talked elsewhere with nobody: no generator, no sort
            # for them (a start decodes every member's settings).
            muted=frozenset(map(int, muted)) if muted else _NO_ONE,
            dms_closed_at=None if closed is None else from_epoch(closed),
            language=doc.get("language"),
            locale=doc.get("locale"),
            enrolled_at=None if doc.get("enrolled_at") is None else from_epoch(doc["enrolled_at"]),
            dms_closed_told=bool(doc.get("dms_closed_told", False)),
            elsewhere=tuple(
                sorted(
                    ((int(o), int(at)) for o, at in elsewhere.items()),
                    key=lambda e: -e[1],
                )
            )
            if elsewhere
            else (),
        )


@dataclass(frozen=True, slots=True)
class Preferences:
    """A member's effective settings, resolved over their guild and the config."""

    member_id: int
    enrolled: bool
    tracked: bool
    zone: ZoneInfo
    digest_hour: int | None
    quiet_hours: QuietHours | None
    max_dms_per_week: int
    kinds: frozenset[str]
    on_leaderboard: bool
    snoozed_until: datetime | None
    muted: frozenset[int]
    dms_closed: bool
    unreadable: tuple[str, ...] = ()
    """Stored choices that could not be read (the defaults stand in until the member resets them)."""
    language: str | None = None
    enrolled_at: datetime | None = None

    def snoozed(self, now: datetime) -> bool:
        """Whether digests are paused at `now`."""
        return self.snoozed_until is not None and now < self.snoozed_until


class MemberService:
    """Reads and changes member settings, one guild at a time, staged to the store in batches."""

    def __init__(
        self, store: Store, settings: Settings, guilds: GuildService, clock: Clock
    ) -> None:
        self.store = store
        self.settings = settings
        self.guilds = guilds
        self.clock = clock
        self._members: dict[int, dict[int, MemberSettings]] = {}
        self._dirty: set[tuple[int, int]] = set()
        self._reported: set[tuple[int, int, tuple[str, ...]]] = set()

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's member settings (and the guild's own) once."""
        await self.guilds.ensure(guild_id)
        if guild_id not in self._members:
            self._members[guild_id] = await decode_stream(
                self.store,
                TABLE,
                guild_id,
                lambda key, doc: MemberSettings.from_doc(int(key), doc),
                int,
            )

    def get(self, guild_id: int, member_id: int) -> MemberSettings:
        """A member's own settings (all defaults when they never chose anything)."""
        found = self._members.get(guild_id, {}).get(member_id)
        return found if found is not None else MemberSettings(member_id)

    def known(self, guild_id: int) -> list[int]:
        """Every member who has settings of their own in this guild."""
        return list(self._members.get(guild_id, {}))

    def off_leaderboard(self, guild_id: int) -> set[int]:
        """Members kept off the board by their own choice (hidden, or not tracked at all): what
        `preferences(...).on_leaderboard` says of each, without resolving everyone's settings."""
        return {
            m
            for m, own in self._members.get(guild_id, {}).items()
            if not (own.on_leaderboard and own.tracked)
        }

    def preferences(self, guild_id: int, member_id: int) -> Preferences:
        """Resolve a member's effective settings.

        Never raises on a stored choice it cannot read (written by an older version, or edited
        by hand): the default stands in, the choice is named in `unreadable` for the member,
        and it is logged once. One member's bad value must never break server-wide features.
        """
        own = self.get(guild_id, member_id)
        policy = self.guilds.policy(guild_id)
        cfg = self.settings.nudges
        unreadable: list[str] = []
        enrolled = policy.enrollment == "opt-out" if own.enrolled is None else own.enrolled
        if enrolled and policy.enrollment_role is not None:
            # Only holders of the server's enrollment role get digests (opt-in or opt-out).
            enrolled = self.guilds.roles.holds(guild_id, member_id, policy.enrollment_role)
        zone = policy.zone
        if own.timezone is not None:
            try:
                zone = parse_timezone(own.timezone)
            except (TypeError, ValueError):
                unreadable.append("timezone")
        hour = cfg.digest_hour
        if own.digest_hour is not None:
            try:
                hour = _validate("digest_hour", own.digest_hour)
                hour = None if hour == ANY_HOUR else hour
            except UserFacingError:
                unreadable.append("digest_hour")
                hour = cfg.digest_hour
        quiet = cfg.quiet_hours
        if own.quiet_hours is not None:
            try:
                quiet = parse_quiet_hours(own.quiet_hours)
            except (TypeError, ValueError):
                unreadable.append("quiet_hours")
        most = own.max_dms_per_week
        if most is not None and (type(most) is not int or not 0 <= most <= MAX_DMS_PER_WEEK):
            unreadable.append("max_dms_per_week")
            most = None
        if unreadable:
            self._report(guild_id, member_id, unreadable)
        return Preferences(
            member_id=member_id,
            enrolled=enrolled and own.tracked,
            tracked=own.tracked,
            zone=zone,
            digest_hour=hour,
            quiet_hours=quiet,
            max_dms_per_week=cfg.max_dms_per_week if most is None else most,
            kinds=frozenset(own.kinds if own.kinds is not None else policy.nudge_kinds)
            & policy.nudge_kinds,
            on_leaderboard=own.on_leaderboard and own.tracked,
            snoozed_until=own.snoozed_until,
            muted=own.muted,
            dms_closed=own.dms_closed_at is not None,
            unreadable=tuple(unreadable),
            language=own.language,
            enrolled_at=own.enrolled_at,
        )

    def _report(self, guild_id: int, member_id: int, names: list[str]) -> None:
        """Log an unreadable stored choice once per process (reads happen on every scan)."""
        key = (guild_id, member_id, tuple(names))
        if key not in self._reported:
            self._reported.add(key)
            log.warning(
                "member %s in guild %s has unreadable stored settings (%s); the defaults stand "
                "in until the member sets them again with /rapport settings",
                member_id,
                guild_id,
                ", ".join(names),
            )

    def is_tracked(self, guild_id: int, member_id: int) -> bool:
        """Whether this member's interactions may be recorded (cheap: called per event)."""
        found = self._members.get(guild_id, _NOBODY).get(member_id)
        return found is None or found.tracked

    def enrolled_members(self, guild_id: int, candidates: Iterable[int] = ()) -> list[int]:
        """Who gets digests: members with settings, plus `candidates` under opt-out enrollment."""
        ids = set(self.known(guild_id))
        if self.guilds.policy(guild_id).enrollment == "opt-out":
            ids.update(candidates)
        return sorted(m for m in ids if self.preferences(guild_id, m).enrolled)

    # --- changes ---------------------------------------------------------------------------

    async def _change(self, guild_id: int, member_id: int, **changes: Any) -> MemberSettings:
        await self.ensure(guild_id)
        updated = replace(self.get(guild_id, member_id), **changes)
        self._members[guild_id][member_id] = updated
        self._dirty.add((guild_id, member_id))
        return updated

    async def enroll(self, guild_id: int, member_id: int) -> MemberSettings:
        """Start digests (and tracking, if the member had opted out).

        Where the server set an enrollment role, only its holders may join.
        """
        await self.ensure(guild_id)
        role = self.guilds.policy(guild_id).enrollment_role
        if role is not None and not self.guilds.roles.holds(guild_id, member_id, role):
            raise UserFacingError(
                N_(
                    "In this server, Rapport's digests are for members with the {role} role. "
                    "Ask an admin if you'd like it."
                ),
                role=f"<@&{role}>",
            )
        since = self.get(guild_id, member_id).enrolled_at
        if not self.preferences(guild_id, member_id).enrolled or since is None:
            since = self.clock()
        return await self._change(
            guild_id, member_id, enrolled=True, tracked=True, dms_closed_at=None, enrolled_at=since
        )

    async def leave(self, guild_id: int, member_id: int) -> MemberSettings:
        """Stop digests; tracking carries on unless the member asks to be forgotten."""
        return await self._change(guild_id, member_id, enrolled=False)

    async def configure(self, guild_id: int, member_id: int, **options: Any) -> MemberSettings:
        """Change any of: timezone, digest_hour, quiet_hours, max_dms_per_week, kinds, on_leaderboard.

        Every value is checked before anything changes; a bad one raises UserFacingError.
        """
        changes: dict[str, Any] = {}
        for name, value in options.items():
            if value is None:
                continue
            changes[name] = _validate(name, value)
        kinds = changes.get("kinds")
        allowed = self.guilds.policy(guild_id).nudge_kinds
        if kinds is not None and set(kinds) != set(NUDGE_KINDS) and set(kinds) - allowed:
            # "all" means all the server sends; naming a kind it doesn't send would do nothing.
            raise UserFacingError(
                N_("This server doesn't send {kinds} nudges; choose from: {allowed}."),
                kinds=", ".join(k for k in kinds if k not in allowed),
                allowed=", ".join(k for k in NUDGE_KINDS if k in allowed) or "—",
            )
        return await self._change(guild_id, member_id, **changes)

    async def snooze(self, guild_id: int, member_id: int, duration: timedelta) -> MemberSettings:
        """Pause digests for a while (up to 90 days)."""
        if duration <= timedelta(0) or duration > MAX_SNOOZE:
            raise UserFacingError(N_("Snooze for between 1 minute and 90 days, e.g. 3d, 2w or 1h."))
        return await self._change(guild_id, member_id, snoozed_until=self.clock() + duration)

    async def unsnooze(self, guild_id: int, member_id: int) -> MemberSettings:
        """Resume digests now."""
        return await self._change(guild_id, member_id, snoozed_until=None)

    async def mute(self, guild_id: int, member_id: int, other_id: int) -> MemberSettings:
        """Never nudge this member about that person."""
        if other_id == member_id:
            raise UserFacingError(
                N_("You can't mute yourself — Rapport never nudges you about you.")
            )
        muted = self.get(guild_id, member_id).muted | {other_id}
        return await self._change(guild_id, member_id, muted=muted)

    async def unmute(self, guild_id: int, member_id: int, other_id: int) -> MemberSettings:
        """Allow nudges about that person again."""
        current = self.get(guild_id, member_id)
        if other_id not in current.muted:
            raise UserFacingError(N_("That member isn't muted."))
        return await self._change(guild_id, member_id, muted=current.muted - {other_id})

    async def talked_elsewhere(
        self, guild_id: int, member_id: int, other_id: int, at: datetime
    ) -> MemberSettings:
        """Record that the member talked with that person off Discord at `at` (a reset of the
        pair's drifting clock, not an interaction)."""
        if other_id == member_id:
            raise UserFacingError(N_("That's you — pick someone you talked with."))
        own = self.get(guild_id, member_id)
        kept = [(o, t) for o, t in own.elsewhere if o != other_id]
        entries = ((other_id, epoch(at)), *kept)[:MAX_ELSEWHERE]
        return await self._change(guild_id, member_id, elsewhere=entries)

    def elsewhere(self, guild_id: int, member_id: int, other_id: int) -> datetime | None:
        """When the pair last talked off Discord, as either of them told Rapport."""
        times = [
            t
            for t in (
                self.get(guild_id, member_id).talked_elsewhere(other_id),
                self.get(guild_id, other_id).talked_elsewhere(member_id),
            )
            if t is not None
        ]
        return max(times, default=None)

    def forget_about(self, guild_id: int, member_id: int) -> None:
        """Drop what other members recorded about this one ("talked elsewhere"); their mutes
        stay theirs."""
        for other, own in self._members.get(guild_id, {}).items():
            if other != member_id and any(o == member_id for o, _ in own.elsewhere):
                kept = tuple(e for e in own.elsewhere if e[0] != member_id)
                self._members[guild_id][other] = replace(own, elsewhere=kept)
                self._dirty.add((guild_id, other))

    def mentions(self, guild_id: int, member_id: int) -> bool:
        """Whether anything here is about the member: their own settings, or another's record."""
        per = self._members.get(guild_id, {})
        return member_id in per or any(
            any(o == member_id for o, _ in own.elsewhere) for own in per.values()
        )

    async def opt_out(self, guild_id: int, member_id: int) -> MemberSettings:
        """Stop tracking and nudging this member and drop every choice they made.

        Only the fact "don't track this member" is kept (their data is deleted by the caller).
        """
        await self.ensure(guild_id)
        forgotten = MemberSettings(member_id, enrolled=False, tracked=False)
        self._members[guild_id][member_id] = forgotten
        self._dirty.add((guild_id, member_id))
        return forgotten

    async def track(self, guild_id: int, member_id: int) -> MemberSettings:
        """Undo an opt-out, for interactions from now on."""
        return await self._change(guild_id, member_id, tracked=True)

    async def seen_locale(self, guild_id: int, member_id: int, locale: str | None) -> None:
        """Remember the locale of the member's latest interaction (their DMs follow it)."""
        await self.ensure(guild_id)
        if locale and self.get(guild_id, member_id).locale != locale:
            await self._change(guild_id, member_id, locale=locale)

    async def dms_closed(self, guild_id: int, member_id: int, closed: bool) -> MemberSettings:
        """Record that this member's DMs refused us (50007), or that they reopened them."""
        return await self._change(
            guild_id,
            member_id,
            dms_closed_at=self.clock() if closed else None,
            dms_closed_told=False,
        )

    async def tell_dms_closed(self, guild_id: int, member_id: int) -> bool:
        """True once after a digest bounced off the member's closed DMs: their next command's
        answer says so (whichever command it is)."""
        await self.ensure(guild_id)
        own = self.get(guild_id, member_id)
        if own.dms_closed_at is None or own.dms_closed_told:
            return False
        await self._change(guild_id, member_id, dms_closed_told=True)
        return True

    def forget_guild(self, guild_id: int) -> None:
        """Drop a guild's member settings from memory."""
        self._members.pop(guild_id, None)
        self._dirty = {key for key in self._dirty if key[0] != guild_id}

    def stage(self) -> int:
        """Put changed member settings into the store; returns how many."""
        for guild_id, member_id in self._dirty:
            doc = self.get(guild_id, member_id).to_doc()
            self.store.put(TABLE, guild_id, str(member_id), doc)
        count = len(self._dirty)
        self._dirty.clear()
        return count


def _validate(name: str, value: Any) -> Any:
    """One option's value in stored form, or a UserFacingError saying what is expected."""
    if name == "timezone":
        try:
            zone = parse_timezone(value)
        except ValueError:
            raise UserFacingError(
                N_("“{value}” isn't a time zone I know — try a name like Europe/Paris."),
                value=value,
            ) from None
        return zone.key  # the name as parsed: stripped of spaces, tabs and the like
    if name == "digest_hour":
        if isinstance(value, str) and value.strip().lower() == ANY_HOUR:
            return ANY_HOUR
        try:
            hour = int(value)
        except (TypeError, ValueError):
            hour = -1
        if not 0 <= hour <= 23:
            raise UserFacingError(N_("digest_hour is an hour from 0 to 23, or “any”."))
        return hour
    if name == "quiet_hours":
        try:
            parsed = parse_quiet_hours(value)
        except ValueError:
            raise UserFacingError(
                N_("“{value}” isn't a quiet-hours range — use a span like 22:00-08:00, or “off”."),
                value=value,
            ) from None
        return "off" if parsed is None else str(parsed)
    if name == "max_dms_per_week":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_DMS_PER_WEEK
        ):
            raise UserFacingError(
                N_("max_dms_per_week is a number from 0 to {max}."), max=MAX_DMS_PER_WEEK
            )
        return value
    if name == "kinds":
        kinds = tuple(dict.fromkeys(k.strip().lower() for k in value if k.strip()))
        unknown = [k for k in kinds if k not in NUDGE_KINDS]
        if unknown or not kinds:
            raise UserFacingError(
                N_("Nudge kinds are any of: {kinds} (got {got})."),
                kinds=", ".join(NUDGE_KINDS),
                got=", ".join(unknown) or "—",
            )
        return kinds
    if name == "on_leaderboard":
        return bool(value)
    if name == "language":
        if value == i18n.AUTO:
            return None
        if value not in i18n.shipped():
            raise UserFacingError(
                N_("Languages are any of: {languages}, or “auto”."),
                languages=", ".join(i18n.shipped()),
            )
        return value
    raise UserFacingError(N_("There is no setting called {name}."), name=name)
