"""What /rapport status shows a member: assembled here, rendered by the members cog.

One plain view per member: who they are drifting from, what awaits their answer, their strongest
ties, their place on the leaderboard (when they show on it), the thanks they received and what
came of their nudges.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rapport.clock import from_epoch
from rapport.nudges import rules
from rapport.nudges.service import NudgeService
from rapport.people.kudos import KudosService, Received
from rapport.people.members import MemberService
from rapport.settings.config import Settings
from rapport.tracking import LedgerReads
from rapport.tracking.model import PairView, PendingItem

STRONGEST = 30
SHOWN = 10
ELSEWHERE_SHOWN = timedelta(days=90)
"""How far back status lists the member's own "talked elsewhere" records."""

Position = Callable[[int, int, str], "Awaitable[tuple[int, int] | None]"]
"""(guild, member, period kind) -> (rank, out of how many): the leaderboard's, handed in."""


@dataclass(frozen=True, slots=True)
class Picture:
    """Everything /rapport status shows one member, already read from the services."""

    drifting: Sequence[PairView]
    pending: Sequence[PendingItem]
    strongest: Sequence[PairView]
    position: tuple[int, int] | None
    on_leaderboard: bool
    outcomes: Mapping[str, int] | None
    board_on: bool = True
    """Whether the server runs a leaderboard at all (/rapport-admin setup leaderboard)."""
    thanks: Received | None = None
    elsewhere: Sequence[tuple[int, datetime]] = field(default_factory=tuple)
    """(person, when) the member said they talked with off Discord lately, newest first."""


class Status:
    """Builds a member's picture from the ledger, their choices, nudges and the leaderboard."""

    def __init__(
        self,
        settings: Settings,
        members: MemberService,
        ledger: LedgerReads,
        nudges: NudgeService,
        position: Position,
        kudos: KudosService | None = None,
    ) -> None:
        self.settings = settings
        self.members = members
        self.ledger = ledger
        self.nudges = nudges
        self.position = position
        self.kudos = kudos

    async def picture(self, guild_id: int, member_id: int, now: datetime) -> Picture:
        """The member's own picture at `now` (for their eyes only)."""
        prefs = self.members.preferences(guild_id, member_id)
        pairs = self.ledger.pairs_of(guild_id, member_id, now=now)
        by_other = {p.other_id: p for p in pairs}

        def allowed(other: int) -> bool:
            return other not in prefs.muted and self.members.is_tracked(guild_id, other)

        policy = self.members.guilds.policy(guild_id)
        drifting = rules.drifting(
            pairs,
            now,
            policy.drift_after,
            allowed,
            policy.drift_min,  # as the digests and the close-up count it
            elsewhere=lambda other: self.members.elsewhere(guild_id, member_id, other),
        )
        drifting.sort(key=lambda n: -n.strength)
        own = self.members.get(guild_id, member_id)
        elsewhere = [
            (other, from_epoch(at))
            for other, at in own.elsewhere
            if now - from_epoch(at) < ELSEWHERE_SHOWN
            and allowed(other)
            and not self.ledger.has_left(guild_id, other)
        ][:SHOWN]
        position = None
        if prefs.on_leaderboard and policy.leaderboard:
            position = await self.position(guild_id, member_id, policy.leaderboard_period)
        return Picture(
            # A talk off Discord counts as the last contact when it is later.
            drifting=[
                replace(by_other[n.about_id], last_contact=n.at)
                for n in drifting[:SHOWN]
                if n.about_id in by_other
            ],
            pending=self.ledger.pending_for(guild_id, member_id, now)[-SHOWN * 2 :],
            strongest=pairs[:STRONGEST],
            position=position,
            on_leaderboard=prefs.on_leaderboard,
            outcomes=self.nudges.member_outcomes(guild_id, member_id),
            board_on=policy.leaderboard,
            thanks=None if self.kudos is None else self.kudos.received(guild_id, member_id, now),
            elsewhere=elsewhere,
        )


__all__ = ["Picture", "Position", "Status"]
