"""A period's members kept in the board's order, so a board or a rank needs no full rescoring.

At 100,000 members, scoring and sorting everyone took about a minute per /leaderboard or
/rapport status, on the event loop (#14). A `Ranking` holds every member with counters in one
period, those with a positive score sorted by `rank_members`' order (score, more people, more
answered, lower id), before anyone is excluded: exclusions change per request (who hid, who
left the server, the staff roles), the counters only as events fold in. The service brings a
ranking up to date from the ledger's changed members (`LedgerReads.period_changes`): each one is
re-read and moved, the rest stay put.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from bisect import bisect_left, insort
from collections.abc import Collection, Iterable, Mapping

from rapport.leaderboard.scoring import Standing, score
from rapport.settings.config import LeaderboardWeights
from rapport.tracking import LedgerReads
from rapport.tracking.model import PeriodStats

Key = tuple[float, int, int, int]
"""A member's place in the order: (-score rounded, -people, -answered, member id)."""
Token = tuple[int, int]
SLICE = 2_000
"""Members per slice of a ranking built beside the loop (~10 ms at 100,000 members)."""


class Ranking:
    """One period's members in the board's order, exclusions aside."""

    __slots__ = ("key_of", "keys", "score_of", "stats", "token", "weights")

    def __init__(
        self, weights: LeaderboardWeights, token: Token, stats: Mapping[int, PeriodStats]
    ) -> None:
        self.weights = weights
        self.token = token
        self.stats: dict[int, PeriodStats] = dict(stats)
        self.key_of: dict[int, Key] = {}
        self.score_of: dict[int, float] = {}
        for mid, st in self.stats.items():
            self._place(mid, st)
        self.keys: list[Key] = sorted(self.key_of.values())

    def add(self, stats: Mapping[int, PeriodStats]) -> list[Key]:
        """Take in members not held yet, a slice of a build; returns their keys, sorted (the
        caller merges the slices into `keys`)."""
        self.stats.update(stats)
        place = self._place
        return sorted(k for k in (place(mid, st) for mid, st in stats.items()) if k is not None)

    def _place(self, mid: int, st: PeriodStats) -> Key | None:
        sc = score(st, self.weights)
        if sc <= 0:
            return None
        key = (-round(sc, 9), -st.people, -st.answered, mid)
        self.key_of[mid] = key
        self.score_of[mid] = sc
        return key

    def update(
        self, token: Token, members: Collection[int], stats: Mapping[int, PeriodStats]
    ) -> None:
        """Re-place `members` with their counters now (`stats`; absent: no counters left)."""
        resort = len(members) > len(self.keys) // 8
        keys = self.keys
        for mid in members:
            old = self.key_of.pop(mid, None)
            if old is not None:
                del self.score_of[mid]
                if not resort:
                    del keys[bisect_left(keys, old)]
            st = stats.get(mid)
            if st is None:
                self.stats.pop(mid, None)
                continue
            self.stats[mid] = st
            key = self._place(mid, st)
            if key is not None and not resort:
                insort(keys, key)
        if resort:
            self.keys = sorted(self.key_of.values())
        self.token = token

    def ranked(self, excluded: Collection[int]) -> Iterable[tuple[int, int, float]]:
        """(member id, rank, score) of everyone not excluded, best first."""
        rank = 0
        score_of = self.score_of
        for key in self.keys:
            mid = key[3]
            if mid in excluded:
                continue
            rank += 1
            yield mid, rank, score_of[mid]

    def standings(
        self, excluded: Collection[int], before: Mapping[int, tuple[int, float]] | None
    ) -> tuple[Standing, ...]:
        """The board's standings, with movement against `before` (member -> rank, score)."""
        stats = self.stats
        if before is None:
            return tuple(
                Standing(mid, rank, sc, stats[mid]) for mid, rank, sc in self.ranked(excluded)
            )
        none = (None, 0.0)
        return tuple(
            Standing(mid, rank, sc, stats[mid], *before.get(mid, none))
            for mid, rank, sc in self.ranked(excluded)
        )

    def position(self, member_id: int, excluded: Collection[int]) -> tuple[int, int] | None:
        """(rank, out of how many) with `excluded` left out, or None when not ranked;
        counts the excluded ranked above instead of walking the order."""
        key = self.key_of.get(member_id)
        if key is None or member_id in excluded:
            return None
        key_of = self.key_of
        out = [k for k in (key_of.get(m) for m in excluded) if k is not None]
        above = sum(1 for k in out if k < key)
        return bisect_left(self.keys, key) + 1 - above, len(self.keys) - len(out)


class Rankings:
    """The kept rankings by (guild, period); the least recently used go past `KEPT`."""

    KEPT = 32
    """A guild's current week, month, all time, the periods before them, the post's period."""

    def __init__(self) -> None:
        self.kept: dict[tuple[int, str], Ranking] = {}

    def keep(self, guild_id: int, period: str, ranking: Ranking) -> None:
        """Keep a ranking as the most recently used."""
        key = (guild_id, period)
        self.kept.pop(key, None)
        self.kept[key] = ranking
        while len(self.kept) > self.KEPT:
            del self.kept[next(iter(self.kept))]

    def get(
        self, ledger: LedgerReads, guild_id: int, period: str, weights: LeaderboardWeights
    ) -> Ranking:
        """The period's ranking, brought up to date with what the ledger changed since.

        Built in full the first time (unless built beside the loop first), then only the
        members whose counters changed are re-read, so a board costs what it shows.
        """
        found = self.kept.get((guild_id, period))
        token, changed = ledger.period_changes(
            guild_id, None if found is None or found.weights != weights else found.token
        )
        if found is None or changed is None:
            members = ledger.period_members(guild_id, period)
            found = Ranking(weights, token, ledger.period_stats_of(guild_id, period, members))
        elif changed:
            found.update(token, changed, ledger.period_stats_of(guild_id, period, changed))
        else:
            found.token = token
        self.keep(guild_id, period, found)
        return found


async def build_ranking(
    ledger: LedgerReads, guild_id: int, period: str, weights: LeaderboardWeights
) -> Ranking:
    """A period's ranking built in slices of `SLICE` members, then merged in slices, yielding
    to the loop between them (built at once, a big guild's blocks it for seconds). Changes
    folded in meanwhile are after its token: the first use re-places those members."""
    token, _ = ledger.period_changes(guild_id, None)
    everyone: set[int] = set()
    for part in ledger.period_member_parts(guild_id, period):
        everyone.update(part)
        await asyncio.sleep(0)
    members = list(everyone)
    ranking = Ranking(weights, token, {})
    runs: list[list[Key]] = []
    for start in range(0, len(members), SLICE):
        await asyncio.sleep(0)
        some = members[start : start + SLICE]
        runs.append(ranking.add(ledger.period_stats_of(guild_id, period, some)))
    merged = heapq.merge(*runs)
    keys: list[Key] = []
    while True:
        await asyncio.sleep(0)
        n = len(keys)
        keys.extend(itertools.islice(merged, SLICE * 4))
        if len(keys) == n:
            break
    ranking.keys = keys
    return ranking


__all__ = ["Ranking", "Rankings", "build_ranking"]
