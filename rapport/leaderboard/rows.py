"""What a board shows beyond the kept order (`ranking`): who is left out, who gained the most,
the top rows and the most improved with their movement, the links between teams."""

from __future__ import annotations

import asyncio
from bisect import bisect_left, insort
from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import compress, repeat
from math import inf
from operator import sub
from typing import TYPE_CHECKING

from rapport.leaderboard.scoring import ALL, Standing
from rapport.tracking import LedgerReads

if TYPE_CHECKING:
    from rapport.leaderboard.ranking import Key, Ranking, Token


class Excluded:
    """Who a board leaves out: `hidden` (opted out, hidden, staff) and, when `keep` is given,
    everyone it refuses (left the server, not in the team). `keep` is asked lazily, only of
    the members a board walks past: asked of everyone, it was most of a board's cost."""

    __slots__ = ("hidden", "keep")

    def __init__(self, hidden: Collection[int], keep: Callable[[int], bool] | None) -> None:
        self.hidden = hidden
        self.keep = keep

    def __contains__(self, member_id: object) -> bool:
        if member_id in self.hidden:
            return True
        return self.keep is not None and isinstance(member_id, int) and not self.keep(member_id)


Gain = tuple[float, "Key"]
"""A member's place among those who gained: (-gain rounded, their key in the ranking now)."""
LEADERS = 256
"""The most gained kept in order: a board's most improved is the first of them not excluded."""


class Gains:
    """Those who gained the most score since the period before, best first (ties: the better
    placed now), kept on the ranking they measure, so a board's most improved is the first of
    them not excluded: a pass over every member was 28 ms of one loop step at 100,000 (#14).
    Every member whose gain sorts at or before `bound` is in `top` (None: all who gained);
    when all of those are excluded (a small team's board), `best` makes the pass."""

    __slots__ = ("before", "bound", "held", "token", "top")

    def __init__(self, before: Ranking, token: Token) -> None:
        self.before = before
        self.token = token
        self.top: list[Gain] = []
        self.held: dict[int, Gain] = {}
        self.bound: Gain | None = None

    def gains(self, now: Ranking, members: Sequence[int], floor: float = 0.0) -> list[Gain]:
        """The gains of those of `members` ranked in both periods who gained more than
        `floor` (the differences taken in C, so a build's pass costs ~0.1 µs a member)."""
        diffs = list(
            map(
                sub,
                map(now.score_of.get, members, repeat(-inf)),
                map(self.before.score_of.get, members, repeat(inf)),
            )
        )
        key_of = now.key_of
        return [
            (-round(diffs[i], 9), key_of[members[i]])
            for i in compress(range(len(diffs)), map(floor.__lt__, diffs))
        ]

    def floor(self) -> float:
        """Below this gain a member sorts after `bound` (a margin for the rounding)."""
        return 0.0 if self.bound is None else max(0.0, -self.bound[0] - 1e-6)

    def scan(self, now: Ranking, members: Sequence[int]) -> None:
        """Take in `members` not seen yet, a step of a build (`done` ends it)."""
        self.top += self.gains(now, members, self.floor())
        if len(self.top) > 2 * LEADERS:
            self._trim()

    def done(self) -> None:
        """End a build: `top` in order, at most `LEADERS` of it."""
        self.top.sort()
        if len(self.top) > LEADERS:
            self._trim()
        self.held = {entry[1][3]: entry for entry in self.top}

    def _trim(self) -> None:
        top = self.top
        top.sort()
        for entry in top[LEADERS:]:
            self.held.pop(entry[1][3], None)
        del top[LEADERS:]
        self.bound = top[-1]  # all dropped sort after it

    @property
    def eroded(self) -> bool:
        """Whether so few are left in `top` that a rebuild is worth it."""
        return self.bound is not None and len(self.top) < LEADERS // 2

    def update(self, token: Token, members: Collection[int], now: Ranking) -> None:
        """Re-place `members` (their score now or before may have changed)."""
        top, held, bound = self.top, self.held, self.bound
        for mid in members:
            old = held.pop(mid, None)
            if old is not None:
                del top[bisect_left(top, old)]
        for entry in self.gains(now, list(members), self.floor()):
            if bound is None or entry <= bound:
                insort(top, entry)
                held[entry[1][3]] = entry
        if len(top) > 2 * LEADERS:
            self._trim()
        self.token = token

    def best(self, now: Ranking, out: Excluded) -> int | None:
        """The most improved not excluded; `out` is asked only of those who would win."""
        hidden, keep = out.hidden, out.keep
        for _, key in self.top:
            mid = key[3]
            if mid not in hidden and (keep is None or keep(mid)):
                return mid
        if self.bound is None:
            return None
        found: Gain | None = None  # past the kept ones: everyone else's gains
        for entry in self.gains(now, list(now.score_of)):
            if entry > self.bound and (found is None or entry < found):
                mid = entry[1][3]
                if mid not in hidden and (keep is None or keep(mid)):
                    found = entry
        return None if found is None else found[1][3]


def shown(
    now: Ranking, prior: Ranking | None, gains: Gains | None, out: Excluded, top: int
) -> tuple[tuple[Standing, ...], Standing | None]:
    """A board's `top` rows and its most improved (`gains`: `now`'s over `prior`), with
    movement against `prior`: the only standings built (100,000 per request were most of a
    board's cost)."""
    improved = None if gains is None else gains.best(now, out)
    wanted = () if improved is None else (improved,)
    first, ranks = now.ranks(out, top, wanted)
    rows = dict.fromkeys([*first, *wanted])
    ranks.update((m, i) for i, m in enumerate(first, start=1))
    was = {} if prior is None else prior.ranks(out, 0, rows)[1]
    standings = {
        m: Standing(
            m,
            ranks[m],
            now.score_of[m],
            now.stats[m],
            was.get(m),
            prior.score_of[m] if prior is not None and m in was else 0.0,
        )
        for m in rows
    }
    best = None if improved is None else standings[improved]
    return tuple(standings[m] for m in first), best


def team_links(
    ledger: LedgerReads, guild_id: int, period: str, teams: Mapping[str, Collection[int]] | None
) -> dict[tuple[int, int], int]:
    """Who engaged with whom among the teams' members in a period (all time: the most in any
    month), for the most connected team; nothing for one team (no cross-team links)."""
    pairs: dict[tuple[int, int], int] = {}
    for p, among in _link_periods(ledger, guild_id, period, teams):
        _most(pairs, ledger.pair_counts(guild_id, p, among))
    return pairs


async def team_links_built(
    ledger: LedgerReads, guild_id: int, period: str, teams: Mapping[str, Collection[int]] | None
) -> dict[tuple[int, int], int]:
    """`team_links` read beside the loop, some members' pairs at a time (three teams of 5,000
    were one ~50 ms step at 100,000 members)."""
    pairs: dict[tuple[int, int], int] = {}
    for p, among in _link_periods(ledger, guild_id, period, teams):
        for part in ledger.pair_count_parts(guild_id, p, among):
            _most(pairs, part)
            await asyncio.sleep(0)
    return pairs


def _link_periods(
    ledger: LedgerReads, guild_id: int, period: str, teams: Mapping[str, Collection[int]] | None
) -> list[tuple[str, set[int]]]:
    if not teams or len(teams) < 2:  # one team has no cross-team links to count
        return []
    among: set[int] = set().union(*teams.values())  # links count between teams only
    if period != ALL:
        return [(period, among)]
    return [(p, among) for p in ledger.periods(guild_id) if "-W" not in p]


def _most(pairs: dict[tuple[int, int], int], more: Mapping[tuple[int, int], int]) -> None:
    for pair, n in more.items():
        if n > pairs.get(pair, 0):
            pairs[pair] = n


__all__ = ["LEADERS", "Excluded", "Gain", "Gains", "shown", "team_links", "team_links_built"]
