"""A member's right to see and to erase what Rapport holds about them.

`export` gathers every record that names the member in one guild (their relationships as actor
and as target, the items waiting on them and on others, their settings, their nudge outcomes,
the thanks they gave and received); `forget` erases the ledger's share of it, stops tracking
them and clears the nudge state and their kudos, so nobody is nudged about them again.
`forget_everywhere` does that in every guild the store holds: here for the guilds this process
owns, and through `hand_over` (the cluster's relay, set by rapport.compose) for the guilds other
processes own and hold in memory. `export_everywhere` gathers one export per guild that holds
anything about the member, each kept apart, from the guilds this process owns (the others hold
their newest state in their own memory, so they are named for the member to ask there).
docs/privacy.md is the statement members read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rapport.clock import Clock, iso
from rapport.people.kudos import KudosService
from rapport.people.members import MemberService
from rapport.store.base import Store

log = logging.getLogger(__name__)

HandOver = Callable[[int, Sequence[int]], Awaitable[None]]
"""(member id, guild ids): pass a forget on to the processes that own those guilds."""

EXPORT_FORMAT = "rapport-export/1"
EVERYWHERE_FORMAT = "rapport-export-everywhere/1"
NOT_STORED = (
    "Rapport never stores what anyone wrote: no message text, attachments or reactions' "
    "emoji. It keeps ids, times and counts only."
)


class LedgerShare(Protocol):
    """The ledger's side of privacy (rapport.tracking.Ledger): what it holds about a member."""

    def guild_ids(self) -> set[int]:
        """The guilds held in memory."""

    def knows(self, guild_id: int, member_id: int) -> bool:
        """Whether any aggregate or pending item here names the member."""

    def export_member(self, guild_id: int, member_id: int) -> dict[str, Any]:
        """Everything the ledger holds about the member here, as JSON-able values."""

    def forget_member(self, guild_id: int, member_id: int) -> None:
        """Erase the member from every aggregate and pending item here."""


class NudgeState(Protocol):
    """The part of the nudge service privacy needs (rapport.nudges.service.NudgeService)."""

    def member_outcomes(self, guild_id: int, member_id: int) -> dict[str, int]:
        """How many nudges were sent to the member and how many they acted on."""

    def forget_member(self, guild_id: int, member_id: int) -> None:
        """Drop every nudge record for or about the member."""

    def holds_member(self, guild_id: int, member_id: int) -> bool:
        """Whether the member has nudge state of their own here."""

    async def forget_claims(self, guild_id: int, member_id: int) -> int:
        """Drop the store claims that name the member (their digests' send-once claims)."""


@dataclass(frozen=True, slots=True)
class Everywhere:
    """What a forget everywhere did: guilds erased here, guilds handed to their owners."""

    forgotten: int
    handed_over: int


@dataclass(frozen=True, slots=True)
class EverywhereExport:
    """An export from every guild this process owns, and how many guilds it had to leave out."""

    data: dict[str, Any]
    elsewhere: int


class Privacy:
    """Export and erase one member's data across the ledger, their settings and nudges."""

    def __init__(
        self,
        ledger: LedgerShare,
        members: MemberService,
        clock: Clock,
        nudges: NudgeState | None = None,
        kudos: KudosService | None = None,
    ) -> None:
        self.ledger = ledger
        self.members = members
        self.clock = clock
        self.nudges = nudges
        self.kudos = kudos
        # Set by rapport.compose: the store (to list every guild), which guilds this process
        # owns, how a guild's state is loaded, the relay to the other processes of a cluster.
        self.store: Store | None = None
        self.owns: Callable[[int], bool] = lambda _guild_id: True
        self.open_guild: Callable[[int], Awaitable[object]] | None = None
        self.hand_over: HandOver | None = None
        self.purge_soon: Callable[[], object] = lambda: None
        """Set by rapport.compose: no store file keeps what a forget deleted (FlushLoop)."""

    async def export(self, guild_id: int, member_id: int) -> dict[str, Any]:
        """Everything stored about the member in this guild, as JSON-able values."""
        await self.members.ensure(guild_id)
        own = self.members.get(guild_id, member_id)
        prefs = self.members.preferences(guild_id, member_id)
        settings = own.to_doc()
        settings["snoozed_until"] = iso(own.snoozed_until)
        settings["dms_closed_at"] = iso(own.dms_closed_at)
        out: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "exported_at": self.clock().isoformat(),
            "guild_id": guild_id,
            "member_id": member_id,
            "not_stored": NOT_STORED,
            "settings": settings,
            "effective_settings": {
                "enrolled": prefs.enrolled,
                "tracked": prefs.tracked,
                "timezone": prefs.zone.key,
                "digest_hour": "any" if prefs.digest_hour is None else prefs.digest_hour,
                "quiet_hours": "off" if prefs.quiet_hours is None else str(prefs.quiet_hours),
                "max_dms_per_week": prefs.max_dms_per_week,
                "kinds": sorted(prefs.kinds),
                "on_leaderboard": prefs.on_leaderboard,
            },
            "ledger": self.ledger.export_member(guild_id, member_id),
            "nudges": None,
            "kudos": None,
        }
        if self.nudges is not None:
            out["nudges"] = self.nudges.member_outcomes(guild_id, member_id)
        if self.kudos is not None:
            await self.kudos.ensure(guild_id)
            out["kudos"] = self.kudos.export_member(guild_id, member_id)
        return out

    async def forget(self, guild_id: int, member_id: int) -> None:
        """Erase the member from every aggregate and pending item, and stop tracking them.

        What remains is one settings record saying "do not track", which is what keeps the
        promise; `MemberService.track` undoes it for the future.
        """
        await self.members.ensure(guild_id)
        self.ledger.forget_member(guild_id, member_id)
        self.members.forget_about(guild_id, member_id)
        await self.members.opt_out(guild_id, member_id)
        guilds = self.members.guilds
        if member_id in (dms := guilds.get(guild_id).admin_digest_dms):
            # An admin's "admin digest by DM" choice names them: it goes too.
            await guilds.update(guild_id, admin_digest_dms=dms - {member_id})
        if self.nudges is not None:
            self.nudges.forget_member(guild_id, member_id)
        if self.kudos is not None:
            await self.kudos.ensure(guild_id)
            self.kudos.forget_member(guild_id, member_id)
        self.purge_soon()
        if self.nudges is not None:
            # Durable now, so the purge after the next flush takes them out of every file too.
            await self.nudges.forget_claims(guild_id, member_id)

    def holds(self, guild_id: int, member_id: int) -> bool:
        """Whether anything in this guild is by or about the member (in memory here)."""
        return (
            self.members.mentions(guild_id, member_id)
            or self.ledger.knows(guild_id, member_id)
            or (self.nudges is not None and self.nudges.holds_member(guild_id, member_id))
            or (
                self.kudos is not None
                and any(self.kudos.export_member(guild_id, member_id).values())
            )
        )

    async def forget_if_held(self, guild_id: int, member_id: int) -> bool:
        """Forget the member in a guild this process owns, if it holds anything about them
        (a guild they were never in gets no record of them, not even "don't track")."""
        await self._open(guild_id)
        if not self.holds(guild_id, member_id):
            return False
        await self.forget(guild_id, member_id)
        return True

    async def _every_guild(self) -> tuple[list[int], list[int]]:
        """Every guild that runs Rapport, stored or held: (this process's, other processes')."""
        guilds = set(self.ledger.guild_ids())
        if self.store is not None:
            guilds |= await self.store.guild_ids()
        guilds = {g for g in guilds if g > 0}  # 0 holds process-wide records, no member data
        mine = sorted(g for g in guilds if self.owns(g))
        return mine, sorted(guilds - set(mine))

    async def _open(self, guild_id: int) -> None:
        if self.open_guild is not None:
            await self.open_guild(guild_id)
        await self.members.ensure(guild_id)

    async def export_everywhere(self, member_id: int) -> EverywhereExport:
        """The member's export from every guild this process owns that holds anything about
        them, one entry per guild; a guild they were never in is not named."""
        mine, theirs = await self._every_guild()
        guilds = []
        for guild_id in mine:
            await self._open(guild_id)
            if self.holds(guild_id, member_id):
                guilds.append(await self.export(guild_id, member_id))
        data = {
            "format": EVERYWHERE_FORMAT,
            "exported_at": self.clock().isoformat(),
            "member_id": member_id,
            "not_stored": NOT_STORED,
            "guilds": guilds,
        }
        return EverywhereExport(data, len(theirs))

    async def forget_everywhere(self, member_id: int) -> Everywhere:
        """Forget the member in every guild that runs Rapport: the ones stored, the ones held.

        Guilds another process of the cluster owns are handed to it (it holds their state in
        memory and would write it back); it forgets them within its relay interval, or when
        it next starts.
        """
        mine, theirs = await self._every_guild()
        forgotten = 0
        for guild_id in mine:
            forgotten += await self.forget_if_held(guild_id, member_id)
        if theirs and self.hand_over is not None:
            await self.hand_over(member_id, theirs)
        log.info(
            "forgot a member everywhere on request: %d guild(s) here, %d handed over",
            forgotten,
            len(theirs) if self.hand_over is not None else 0,
        )
        return Everywhere(forgotten, len(theirs) if self.hand_over is not None else 0)
