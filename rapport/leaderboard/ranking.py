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
from collections.abc import Collection, Mapping
from time import perf_counter
from typing import TYPE_CHECKING

from rapport.collector import collector_paused
from rapport.leaderboard.rows import Gains
from rapport.leaderboard.scoring import score
from rapport.settings.config import LeaderboardWeights
from rapport.tracking import LedgerReads
from rapport.tracking.model import PeriodStats

if TYPE_CHECKING:
    from rapport.leaderboard.rows import Excluded

Key = tuple[float, int, int, int]
"""A member's place in the order: (-score rounded, -people, -answered, member id)."""
Token = tuple[int, int]
Ranks = tuple[list[int], dict[int, int]]
SLICE = 0.005
"""Seconds of work between two yields of a ranking built beside the loop."""
STEP = 250
"""Members read (or keys merged, x 8) between two looks at the clock while building."""


class Ranking:
    """One period's members in the board's order, exclusions aside."""

    __slots__ = ("gains", "key_of", "keys", "score_of", "stats", "token", "weights")

    def __init__(
        self, weights: LeaderboardWeights, token: Token, stats: Mapping[int, PeriodStats]
    ) -> None:
        self.weights = weights
        self.token = token
        self.stats: dict[int, PeriodStats] = dict(stats)
        self.key_of: dict[int, Key] = {}
        self.score_of: dict[int, float] = {}
        self.gains: Gains | None = None
        for mid, st in self.stats.items():
            self._place(mid, st)
        self.keys: list[Key] = sorted(self.key_of.values())

    def add(self, stats: Mapping[int, PeriodStats]) -> list[Key]:
        """Take in members not held yet, a step of a build; returns the keys of those ranked
        (the caller sorts and merges them into `keys`)."""
        self.stats.update(stats)
        place = self._place
        return [k for k in (place(mid, st) for mid, st in stats.items()) if k is not None]

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

    def ranks(self, out: Excluded, first: int, members: Collection[int] = ()) -> Ranks:
        """The first `first` members not excluded, best first, and the ranks of `members`
        (those ranked and not excluded): walks the order only as far as the last of them, so
        a board's rows cost what the board shows, not the whole period."""
        key_of = self.key_of
        last = max((k for m in members if (k := key_of.get(m)) is not None), default=None)
        hidden, keep = out.hidden, out.keep
        top: list[int] = []
        found: dict[int, int] = {}
        rank = 0
        for key in self.keys:
            if rank >= first and (last is None or key > last):
                break
            mid = key[3]
            if mid in hidden or (keep is not None and not keep(mid)):
                continue
            rank += 1
            if rank <= first:
                top.append(mid)
            if mid in members:
                found[mid] = rank
        return top, found

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
        self.building: dict[tuple[int, str], asyncio.Task[None]] = {}
        self.gaining: dict[tuple[int, str], asyncio.Task[None]] = {}

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

    async def built(
        self, ledger: LedgerReads, guild_id: int, period: str, weights: LeaderboardWeights
    ) -> None:
        """Have the period's ranking kept: built beside the loop (`build_ranking`), or the
        build under way joined, so two requests never build one ranking twice."""
        key = (guild_id, period)
        if key in self.kept:  # the next use brings it up to date
            return
        task = self.building.get(key)
        if task is None:
            build = self._build(ledger, guild_id, period, weights)
            task = self.building[key] = asyncio.get_running_loop().create_task(build)
        await asyncio.shield(task)  # a request given up on leaves the build to the others

    async def _build(
        self, ledger: LedgerReads, guild_id: int, period: str, weights: LeaderboardWeights
    ) -> None:
        try:
            with collector_paused():  # full collections over the rankings built so far stall it
                ranking = await build_ranking(ledger, guild_id, period, weights)
            self.keep(guild_id, period, ranking)
        finally:
            del self.building[(guild_id, period)]

    def gains(self, ledger: LedgerReads, guild_id: int, now: Ranking, before: Ranking) -> Gains:
        """`now`'s gains over `before` (both just brought up to date), brought up to date in
        turn: built in full the first time (unless built beside the loop first), then only
        the members whose counters changed are re-placed."""
        found = now.gains
        changed: set[int] | None = None
        if found is not None and found.before is before:
            token, changed = ledger.period_changes(guild_id, found.token)
        if found is None or changed is None:
            found = now.gains = Gains(before, now.token)
            members = list(now.score_of)
            for start in range(0, len(members), STEP):
                found.scan(now, members[start : start + STEP])
            found.done()
        elif changed:
            found.update(token, changed, now)
        else:
            found.token = token
        return found

    async def gains_built(
        self,
        ledger: LedgerReads,
        guild_id: int,
        period: str,
        before: str,
        weights: LeaderboardWeights,
    ) -> None:
        """Have the period's gains over `before` kept (both rankings kept first): built beside
        the loop, or the build under way joined, like `built`."""
        now, prior = self.kept.get((guild_id, period)), self.kept.get((guild_id, before))
        if now is None or prior is None:  # dropped meanwhile: the board builds them at once
            return
        if now.gains is not None and now.gains.before is prior and not now.gains.eroded:
            return
        key = (guild_id, period)
        task = self.gaining.get(key)
        if task is None:
            build = self._build_gains(ledger, guild_id, period, before, weights)
            task = self.gaining[key] = asyncio.get_running_loop().create_task(build)
        await asyncio.shield(task)

    async def _build_gains(
        self,
        ledger: LedgerReads,
        guild_id: int,
        period: str,
        before: str,
        weights: LeaderboardWeights,
    ) -> None:
        try:
            now = self.get(ledger, guild_id, period, weights)
            prior = self.get(ledger, guild_id, before, weights)
            with collector_paused():
                gains = await build_gains(now, prior)
            if self.kept.get((guild_id, period)) is now:  # not rebuilt meanwhile
                now.gains = gains
        finally:
            del self.gaining[(guild_id, period)]


async def build_ranking(
    ledger: LedgerReads, guild_id: int, period: str, weights: LeaderboardWeights
) -> Ranking:
    """A period's ranking built beside the loop: members read and placed `STEP` at a time,
    the sorted runs then merged, yielding whenever `SLICE` seconds of work went by (built at
    once, a big guild's blocks the loop for seconds). Changes folded in meanwhile are after
    its token: the first use re-places those members."""
    token, _ = ledger.period_changes(guild_id, None)
    everyone: set[int] = set()
    for part in ledger.period_member_parts(guild_id, period):
        everyone.update(part)
        await asyncio.sleep(0)
    members = list(everyone)
    ranking = Ranking(weights, token, {})
    runs: list[list[Key]] = []
    run: list[Key] = []
    end = perf_counter() + SLICE
    for start in range(0, len(members), STEP):
        some = members[start : start + STEP]
        run += ranking.add(ledger.period_stats_of(guild_id, period, some))
        if perf_counter() > end:
            runs.append(sorted(run))
            run = []
            await asyncio.sleep(0)
            end = perf_counter() + SLICE
    runs.append(sorted(run))
    merged = heapq.merge(*runs)
    keys: list[Key] = []
    await asyncio.sleep(0)
    end = perf_counter() + SLICE
    while True:
        n = len(keys)
        keys.extend(itertools.islice(merged, STEP * 8))
        if len(keys) == n:
            break
        if perf_counter() > end:
            await asyncio.sleep(0)
            end = perf_counter() + SLICE
    ranking.keys = keys
    return ranking


async def build_gains(now: Ranking, before: Ranking) -> Gains:
    """`now`'s gains over `before` built beside the loop, `STEP` members at a time, yielding
    whenever `SLICE` seconds of work went by; members re-placed meanwhile are after the token
    of `now`: the first use re-places them."""
    gains = Gains(before, now.token)
    members = list(now.score_of)
    end = perf_counter() + SLICE
    for start in range(0, len(members), STEP):
        gains.scan(now, members[start : start + STEP])
        if perf_counter() > end:
            await asyncio.sleep(0)
            end = perf_counter() + SLICE
    gains.done()
    return gains


__all__ = [
    "Ranking",
    "Rankings",
    "build_gains",
    "build_ranking",
]
