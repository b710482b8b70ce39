"""The kept rankings give exactly the boards and ranks of a full rescoring, on random worlds.

`full_board` is the service's board as it was computed before the rankings (#14): every
member's counters summed and scored for each request. The service must agree with it after
any mix of events, staged flushes, forgetting, retention, hidden members, staff roles, members
who left, teams and periods.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rapport.compose import build_services
from rapport.leaderboard import ranking as ranking_module
from rapport.leaderboard.ranking import Ranking
from rapport.leaderboard.scoring import ALL, Board, build_board, previous_period, sum_stats
from rapport.leaderboard.service import LeaderboardService, current_period
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.settings.config import Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, PeriodStats

G = 1
START = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)


class Staff:
    """Who holds the staff role: a set the test changes."""

    def __init__(self) -> None:
        self.held: set[int] = set()

    def holders(self, guild_id: int, role_ids: Collection[int]) -> set[int]:
        return set(self.held)

    def holds(self, guild_id: int, member_id: int, role_id: int) -> bool:
        return member_id in self.held


def full_board(
    s: LeaderboardService,
    period: str,
    teams: Mapping[str, Collection[int]] | None = None,
    keep: Callable[[int], bool] | None = None,
) -> Board:
    """The board as the service computed it before the kept rankings (thanked aside)."""
    weights = s.settings.leaderboard.weights
    previous: Mapping[int, PeriodStats] | None = None
    before: str | None = None
    if period == ALL:
        months = [p for p in s.ledger.periods(G) if "-W" not in p]
        stats = sum_stats([s.ledger.period_stats(G, p) for p in months])
        pairs: dict[tuple[int, int], int] = {}
        if teams:
            for p in months:
                for pair, n in s.ledger.pair_counts(G, p).items():
                    pairs[pair] = max(pairs.get(pair, 0), n)
    else:
        stats = s.ledger.period_stats(G, period)
        before = previous_period(period)
        previous = s.ledger.period_stats(G, before) if before else None
        pairs = dict(s.ledger.pair_counts(G, period)) if teams else {}
    hidden = {m for m in s.members.known(G) if not s.members.preferences(G, m).on_leaderboard}
    staff = s.guilds.policy(G).staff_roles
    hidden = hidden | s.guilds.roles.holders(G, staff) if staff else hidden
    out = set(hidden)
    if keep is not None:  # everyone `keep` refuses, team members without counters too
        seen = set(stats) | set(previous or ()) | set().union(*(teams or {}).values())
        out |= {m for m in seen if not keep(m)}
    return build_board(
        period,
        stats,
        weights,
        previous=previous,
        previous_key=before,
        teams=teams,
        pairs=pairs,
        excluded=out,
    )


class World:
    """A guild with random members talking over months, and a board service over it."""

    def __init__(self, seed: int, members: int = 30) -> None:
        self.rng = random.Random(seed)
        self.store = MemoryStore()
        self.settings = Settings()
        self.ledger = Ledger(self.store)
        self.guilds = GuildService(self.store, self.settings)
        self.staff = Staff()
        self.guilds.roles = self.staff
        self.members = MemberService(self.store, self.settings, self.guilds, lambda: self.now)
        self.service = LeaderboardService(
            self.store, self.settings, self.ledger, self.members, self.guilds, lambda: self.now
        )
        self.ids = [100 + i for i in range(members)]
        self.now = START
        self.mid = 10_000

    def talk(self, events: int, days: int) -> None:
        """Random replies, mentions and thanks over the next `days` days (some out of order)."""
        rng = self.rng
        for _ in range(events):
            a, b = rng.sample(self.ids, 2)
            at = self.now + timedelta(minutes=rng.randrange(days * 24 * 60))
            if rng.random() < 0.1:  # history read late: days back
                at -= timedelta(days=rng.randrange(1, 20))
            self.mid += 10
            ask = MessageFacts(G, 9, self.mid, b, at)
            self.ledger.record_message(ask)
            answer = MessageFacts(
                G,
                9,
                self.mid + 1,
                a,
                at + timedelta(minutes=rng.choice((1, 30, 3000))),
                reply_to_id=b if rng.random() < 0.8 else None,
                reply_to_message_id=self.mid,
                mentions=frozenset({b}) if rng.random() < 0.3 else frozenset(),
                thanks=rng.random() < 0.2,
            )
            self.ledger.record_message(answer)
        self.now += timedelta(days=days)

    async def shuffle_choices(self) -> None:
        """Some members hide, come back, opt out, return; the staff changes."""
        rng = self.rng
        for m in rng.sample(self.ids, 4):
            await self.members.configure(G, m, on_leaderboard=rng.random() < 0.5)
        m = rng.choice(self.ids)
        await (self.members.opt_out(G, m) if rng.random() < 0.5 else self.members.track(G, m))
        self.staff.held = set(rng.sample(self.ids, 2))

    def show(self, top: int) -> None:
        """Boards show `top` rows from now on."""
        board = replace(self.settings.leaderboard, top=top)
        self.settings = self.service.settings = replace(self.settings, leaderboard=board)

    def check(self) -> None:
        """Every period's board and every member's rank agree with the full rescoring."""
        rng = self.rng
        periods = set(self.ledger.periods(G)) | {ALL}
        periods |= {current_period(k, self.now, UTC) for k in ("week", "month")}
        teams = {
            "red": set(rng.sample(self.ids, 10)),
            "blue": set(rng.sample(self.ids, 10)),
            "green": set(rng.sample(self.ids, 5)),
        }
        still_here = set(rng.sample(self.ids, len(self.ids) - 5))
        for period in sorted(periods):
            for team_map, keep in (
                (None, None),
                (teams, still_here.__contains__),
                ({"red": teams["red"]}, lambda m: m in teams["red"] and m in still_here),
            ):
                full = full_board(self.service, period, team_map, keep)
                for top in (1, 4, len(self.ids) + 1):  # rows shown: a few, or everyone
                    self.show(top)
                    fast = self.service.board(G, period, team_map, keep=keep, thanked=False)
                    assert fast == replace(full, standings=full.standings[:top]), (period, top)
            whole = full_board(self.service, period)
            for m in [*self.ids, 1]:
                assert self.service.position(G, m, period) == whole.position(m), (period, m)


@pytest.mark.parametrize("seed", range(6))
async def test_kept_rankings_match_a_full_rescoring(seed: int) -> None:
    w = World(seed)
    await w.guilds.update(G, staff_roles=[5])
    w.check()  # nothing yet
    w.talk(300, 40)
    w.check()
    for step in range(6):
        await w.shuffle_choices()
        w.talk(w.rng.randrange(1, 120), w.rng.choice((1, 3, 10)))
        if step % 2:
            w.ledger.stage()  # a flush takes the changed rows out of the segments
        w.check()
    w.ledger.forget_member(G, w.rng.choice(w.ids))
    w.check()
    w.talk(50, 2)
    w.ledger.stage()
    w.check()


async def loop_turns(work: Awaitable[Any]) -> int:
    """Await `work`; how many times the event loop turned meanwhile (a build in steps lets it)."""
    turns = 0
    done = False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    await work
    done = True
    await tick
    return turns


async def test_retention_and_a_reload_keep_the_rankings_right() -> None:
    w = World(11)
    w.talk(400, 200)
    w.check()
    w.now += timedelta(days=300)
    w.talk(100, 5)
    w.ledger.stage()  # nothing left in the segments' own changed sets
    w.check()
    months = len(w.ledger.periods(G))
    w.ledger.prune(w.now, timedelta(days=365))
    assert len(w.ledger.periods(G)) < months  # the oldest months' counters went
    w.check()
    w.ledger.stage()
    await w.store.flush()
    again = Ledger(w.store)
    await again.load_guild(G)
    w.service.ledger = again.reads
    w.ledger = again
    w.check()
    w.talk(60, 3)
    w.check()


async def test_rankings_built_in_slices_match_a_full_rescoring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("rapport.leaderboard.ranking.STEP", 7)  # many steps, a yield after each
    monkeypatch.setattr("rapport.leaderboard.ranking.SLICE", 0)
    w = World(5, members=60)
    w.talk(800, 70)
    await w.service.warm(G, w.now)
    week = current_period("week", w.now, UTC)
    built = {p for g, p in w.service._rankings.kept}
    due = w.service.due_period(G, w.now)
    assert {ALL, week, previous_period(week), due, previous_period(due)} <= built
    before = {p: w.service._rankings.kept[(G, p)] for p in built}
    w.check()
    assert all(
        w.service._rankings.kept[(G, p)] is r for p, r in before.items()
    )  # used, not rebuilt
    w.talk(40, 1)
    w.check()


async def test_loading_a_guild_leaves_the_rankings_to_after_the_nudge_scan() -> None:
    """A guild's rankings are not built as it loads (that was beside the first nudge scan)
    but by the scan job, after the scan."""
    store = MemoryStore()
    services = build_services(Settings(), store, lambda: START)
    services.ledger.record_message(MessageFacts(G, 9, 50, 101, START - timedelta(days=1)))
    reply = MessageFacts(G, 9, 51, 102, START - timedelta(days=1), reply_to_id=101)
    services.ledger.record_message(reply)
    await services.open_guild(G)
    await asyncio.sleep(0)
    kept = services.leaderboard._rankings.kept
    assert not kept
    assert not services.leaderboard._rankings.building
    services.scheduler.start()
    try:
        assert await services.scheduler.run("send_due_digests")
    finally:
        services.scheduler.shutdown()
    assert (G, ALL) in kept


async def test_a_board_asked_for_before_the_warm_up_builds_its_rankings_beside_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ready` builds the rankings a board reads in short steps (the loop turns meanwhile),
    once even when asked twice at the same time, and the board then matches a full rescoring."""
    monkeypatch.setattr("rapport.leaderboard.ranking.STEP", 7)
    monkeypatch.setattr("rapport.leaderboard.ranking.SLICE", 0)
    w = World(3, members=60)
    w.talk(800, 70)
    await w.service.warm_later(G)
    assert not w.service._rankings.kept
    period = w.service.due_period(G, w.now)
    builds = 0
    real = ranking_module.build_ranking

    async def counted(*args: Any) -> Ranking:
        nonlocal builds
        builds += 1
        return await real(*args)

    monkeypatch.setattr(ranking_module, "build_ranking", counted)
    turns = await loop_turns(asyncio.gather(w.service.ready(G, period), w.service.ready(G, period)))
    assert builds == 2  # the period and the one before, each once
    assert turns > 10
    assert {(G, period), (G, previous_period(period))} <= w.service._rankings.kept.keys()
    w.show(5)
    assert w.service.board(G, period, thanked=False) == replace(
        full_board(w.service, period), standings=full_board(w.service, period).standings[:5]
    )


async def test_a_rank_asked_for_before_the_warm_up_builds_its_ranking_beside_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/rapport status's rank (`rank`) before the warm-up: the one ranking it reads is built
    in short steps (the loop turns meanwhile), and every rank matches a full rescoring."""
    monkeypatch.setattr("rapport.leaderboard.ranking.STEP", 7)
    monkeypatch.setattr("rapport.leaderboard.ranking.SLICE", 0)
    w = World(4, members=60)
    w.talk(800, 70)
    await w.service.warm_later(G)
    first: tuple[int, int] | None = None

    async def rank_first() -> None:
        nonlocal first
        first = await w.service.rank(G, w.ids[0], ALL)

    turns = await loop_turns(rank_first())
    assert turns > 10
    assert set(w.service._rankings.kept) == {(G, ALL)}
    whole = full_board(w.service, ALL)
    assert first == whole.position(w.ids[0])
    for m in w.ids:
        assert await w.service.rank(G, m, ALL) == whole.position(m), m
