"""One relationship up close: what /rapport status member:@X shows the member, and their map.

Read for the member who asks, about their own side of each pair only: who usually starts, how
each side answers the other, the last contact, the usual gap, the cadence they chose and when
the silence would count as drifting. A figure the history can't support yet is None (the
answer says "not enough history yet"), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rapport.nudges import rules
from rapport.people.members import MemberService
from rapport.settings import parse_duration
from rapport.tracking import Answers, LedgerReads, PairView

MIN_ASKS = 3
"""Asks settled (answered, or past waiting) before an answer rate is shown."""
MIN_ANSWERS = 3
"""Answers before a typical answer time is shown."""
MAP_PEOPLE = 24
"""People on the map besides the member: names stay legible at this many."""
CLEAR_WORDS = frozenset({"off", "clear", "none", "0"})
CADENCE_MIN = timedelta(days=1)
CADENCE_MAX = timedelta(days=365)


class Standing(StrEnum):
    """Whether there is a relationship to show."""

    KNOWN = "known"
    NONE = "none"  # no interaction either way yet
    LEFT = "left"  # the other person left the server
    UNTRACKED = "untracked"  # the other person opted out of tracking


@dataclass(frozen=True, slots=True)
class Side:
    """How one side answers the other, as far as the history can tell.

    `settled`: the other's asks that were answered or are past waiting; those still inside
    the pending window count for neither. `typical`: the answer-time bucket (model.ANSWER_TIMES)
    of the middle answer.
    """

    answered: int
    settled: int
    typical: int | None

    @property
    def rate(self) -> float | None:
        """Answered share of the settled asks, or None with too few to tell."""
        return self.answered / self.settled if self.settled >= MIN_ASKS else None

    @property
    def time(self) -> int | None:
        """The typical answer-time bucket, or None with too few answers to tell."""
        return self.typical if self.answered >= MIN_ANSWERS else None


@dataclass(frozen=True, slots=True)
class Closeup:
    """The member's relationship with one other person, for their eyes only."""

    other_id: int
    standing: Standing
    pair: PairView | None = None
    you: Side | None = None
    they: Side | None = None
    drifting: bool = False
    drifts_at: datetime | None = None
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Tie:
    """One person on the member's map: the decayed strength, and whether it is drifting."""

    other_id: int
    weight: float
    drifting: bool


@dataclass(frozen=True, slots=True)
class EgoMap:
    """The member's strongest ties (at most MAP_PEOPLE) and how many people they have ties with.

    Only the member's own pairs: who their contacts talk to is other people's business.
    """

    member_id: int
    ties: tuple[Tie, ...]
    total: int


def _side(a: Answers, still_open: int) -> Side:
    answered = a.answered
    # Halved counts can undershoot the open items by a little: never below the answers.
    return Side(answered, max(answered, a.asked - still_open), a.typical())


class Relations:
    """Builds close-ups and maps from the ledger and the member's choices."""

    def __init__(self, members: MemberService, ledger: LedgerReads) -> None:
        self.members = members
        self.ledger = ledger

    def _drifting(self, pairs: list[PairView], now: datetime, muted: frozenset[int]) -> set[int]:
        """Who the member is drifting from, as /rapport status and the digests count it."""
        gid = pairs[0].guild_id if pairs else 0
        mid = pairs[0].member_id if pairs else 0

        def allowed(other: int) -> bool:
            return other not in muted and self.members.is_tracked(gid, other)

        n = self.members.guilds.policy(gid)  # the server's thresholds, else config.toml's
        found = rules.drifting(
            pairs,
            now,
            n.drift_after,
            allowed,
            n.drift_min,
            elsewhere=lambda other: self.members.elsewhere(gid, mid, other),
        )
        return {x.about_id for x in found if x.about_id is not None}

    def closeup(self, guild_id: int, member_id: int, other_id: int, now: datetime) -> Closeup:
        """The member's relationship with other_id at `now`."""
        if not self.members.is_tracked(guild_id, other_id):
            return Closeup(other_id, Standing.UNTRACKED)
        if self.ledger.has_left(guild_id, other_id):
            return Closeup(other_id, Standing.LEFT)
        pair = self.ledger.pair(guild_id, member_id, other_id, now=now)
        if pair is None:
            return Closeup(other_id, Standing.NONE)
        muted = self.members.preferences(guild_id, member_id).muted
        mine = self.ledger.pending_for(guild_id, member_id, now)
        theirs = self.ledger.pending_for(guild_id, other_id, now)
        open_to_me = sum(1 for p in mine if p.from_member_id == other_id and p.counted)
        open_to_them = sum(1 for p in theirs if p.from_member_id == member_id and p.counted)
        drifts_at = None
        if pair.last_contact is not None and pair.contact_days >= rules.MIN_CONTACT_DAYS:
            n = self.members.guilds.policy(guild_id)
            # A talk off Discord either of them told Rapport about restarts the clock.
            talked = self.members.elsewhere(guild_id, member_id, other_id)
            last = max(pair.last_contact, talked) if talked is not None else pair.last_contact
            drifts_at = last + rules.drift_threshold(pair, n.drift_after, n.drift_min)
        return Closeup(
            other_id,
            Standing.KNOWN,
            pair,
            _side(pair.answers_out, open_to_me),
            _side(pair.answers_in, open_to_them),
            other_id in self._drifting([pair], now, muted),
            drifts_at,
            other_id in muted,
        )

    def ego_map(self, guild_id: int, member_id: int, now: datetime) -> EgoMap:
        """The member's strongest ties at `now`, people who left or opted out left out."""
        pairs = [
            p
            for p in self.ledger.pairs_of(guild_id, member_id, now=now)
            if p.weight > 0 and not p.other_left and self.members.is_tracked(guild_id, p.other_id)
        ]
        muted = self.members.preferences(guild_id, member_id).muted
        drifting = self._drifting(pairs, now, muted)
        ties = tuple(Tie(p.other_id, p.weight, p.other_id in drifting) for p in pairs[:MAP_PEOPLE])
        return EgoMap(member_id, ties, len(pairs))


def parse_cadence(text: str) -> timedelta | None:
    """A cadence option: None for "off" (clear), else a duration of 1 day to 1 year.

    Raises ValueError for anything else (the cog turns it into a private, helpful answer).
    """
    if text.strip().lower() in CLEAR_WORDS:
        return None
    span = parse_duration(text)
    if not CADENCE_MIN <= span <= CADENCE_MAX:
        raise ValueError("a cadence is between 1 day and 365 days")
    return span


__all__ = [
    "MAP_PEOPLE",
    "Closeup",
    "EgoMap",
    "Relations",
    "Side",
    "Standing",
    "Tie",
    "parse_cadence",
]
