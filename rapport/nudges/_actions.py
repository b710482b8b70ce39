"""What a member's clicks do to their nudge state: Done, the back-off answer, reminders,
"we talked elsewhere".

Handed the member states (`MemberStates`), the member service and the clock by
`rapport.nudges.service.NudgeService`, kept apart so the scan and the send protocol read on
their own. Snooze and "not about" are plain MemberService calls made by the cog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rapport.clock import Clock, epoch
from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.nudges import rules
from rapport.nudges.rules import RuleSettings
from rapport.nudges.state import DONE, MemberStates, reminder_due
from rapport.people.members import MemberService
from rapport.tracking.ledger import Ledger


class MemberActions:
    """Button and menu actions over the members' nudge states."""

    def __init__(
        self,
        states: MemberStates,
        members: MemberService,
        clock: Clock,
        ledger: Ledger,
        thresholds: Callable[[int], RuleSettings],
    ) -> None:
        self.states = states
        self.members = members
        self.clock = clock
        self.ledger = ledger
        self.thresholds = thresholds

    def digest_items(self, guild_id: int, member_id: int, digest_id: str) -> list[list[Any]] | None:
        """The items of one sent digest of the member's (None when it is not theirs)."""
        st = self.states.get(guild_id, member_id)
        if st is None:
            return None
        return next((d["items"] for d in st.digests if d["id"] == digest_id), None)

    async def done(self, guild_id: int, member_id: int, digest_id: str) -> bool:
        """The member says they acted on a digest: its open items count as acted on."""
        await self.states.ensure(guild_id)
        items = self.digest_items(guild_id, member_id, digest_id)
        if items is None:
            return False
        st = self.states.state(guild_id, member_id)
        for it in items:
            if not it[3]:
                it[3] = True
                it[4:] = [DONE]  # acted on by the member's word: the admin digest can't compare it
                st.totals["acted"] += 1
        self.states.touch(guild_id, member_id)
        return True

    async def talked_elsewhere(
        self, guild_id: int, member_id: int, other_id: int, digest_id: str | None = None
    ) -> datetime:
        """The member talked with that person off Discord just now: the pair's drifting clock
        starts again (for both sides), and a drifting line about them in that digest counts as
        acted on. Returns the earliest moment a drifting line about them can come back."""
        if other_id == member_id:
            raise UserFacingError(N_("That's you — pick someone you talked with."))
        now = self.clock()
        await self.states.ensure(guild_id)
        tracked = self.members.is_tracked
        if tracked(guild_id, member_id) and tracked(guild_id, other_id):
            # Someone who opted out is never recorded, not even in another member's choices.
            await self.members.talked_elsewhere(guild_id, member_id, other_id, now)
        items = self.digest_items(guild_id, member_id, digest_id) if digest_id else None
        st = self.states.get(guild_id, member_id)
        for it in items or ():
            if it[1] == rules.DRIFTING and it[2] == other_id and not it[3] and st is not None:
                it[3] = True
                st.totals["acted"] += 1
                self.states.touch(guild_id, member_id)
        pair = self.ledger.pair(guild_id, member_id, other_id, now=now)
        t = self.thresholds(guild_id)
        gap = (
            t.drift_after
            if pair is None
            else rules.drift_threshold(pair, t.drift_after, t.drift_min)
        )
        return now + gap

    async def feedback(self, guild_id: int, member_id: int, choice: str) -> None:
        """Answer the back-off question: keep, fewer (half the weekly cap), or stop."""
        await self.states.ensure(guild_id)
        st = self.states.state(guild_id, member_id)
        st.feedback = None
        st.reset_at = epoch(self.clock())
        self.states.touch(guild_id, member_id)
        if choice == "fewer":
            cap = self.members.preferences(guild_id, member_id).max_dms_per_week
            await self.members.configure(guild_id, member_id, max_dms_per_week=max(1, cap // 2))
        elif choice == "stop":
            await self.members.leave(guild_id, member_id)

    async def remind(
        self,
        guild_id: int,
        member_id: int,
        channel_id: int,
        message_id: int,
        author_id: int,
        message_at: datetime,
        choice: str,
    ) -> datetime:
        """Schedule a "remind me to reply"; returns when it is due."""
        await self.states.ensure(guild_id)
        now = self.clock()
        due = reminder_due(choice, now, self.members.preferences(guild_id, member_id).zone)
        st = self.states.state(guild_id, member_id)
        st.reminders = [r for r in st.reminders if r["message"] != message_id]
        st.reminders.append(
            {
                "id": epoch(now) * 1000 + len(st.reminders),
                "channel": channel_id,
                "message": message_id,
                "author": author_id,
                "at": epoch(message_at),
                "due": epoch(due),
            }
        )
        self.states.touch(guild_id, member_id)
        return due
