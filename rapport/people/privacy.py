"""A member's right to see and to erase what Rapport holds about them, in one guild.

`export` gathers every record that names the member (their relationships as actor and as
target, the items waiting on them and on others, their settings, their nudge outcomes);
`forget` erases the ledger's share of it, stops tracking them and clears the nudge state and
the thanks they gave and received, so nobody is nudged about them again. docs/privacy.md is the statement members read.
"""

from __future__ import annotations

from typing import Any, Protocol

from rapport.clock import Clock, iso
from rapport.people.kudos import KudosService
from rapport.people.members import MemberService
from rapport.tracking.ledger import Ledger

EXPORT_FORMAT = "rapport-export/1"
NOT_STORED = (
    "Rapport never stores what anyone wrote: no message text, attachments or reactions' "
    "emoji. It keeps ids, times and counts only."
)


class NudgeState(Protocol):
    """The part of the nudge service privacy needs (rapport.nudges.service.NudgeService)."""

    def member_outcomes(self, guild_id: int, member_id: int) -> dict[str, int]:
        """How many nudges were sent to the member and how many they acted on."""

    def forget_member(self, guild_id: int, member_id: int) -> None:
        """Drop every nudge record for or about the member."""


class Privacy:
    """Export and erase one member's data across the ledger, their settings and nudges."""

    def __init__(
        self,
        ledger: Ledger,
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
        await self.members.opt_out(guild_id, member_id)
        if self.nudges is not None:
            self.nudges.forget_member(guild_id, member_id)
        if self.kudos is not None:
            await self.kudos.ensure(guild_id)
            self.kudos.forget_member(guild_id, member_id)
