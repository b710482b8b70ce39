"""Leaderboard scoring: breadth over volume, no farming, fair teams, exclusions, stable ties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.leaderboard.scoring import (
    build_board,
    formula,
    previous_period,
    rank_members,
    render_text,
    score,
    sum_stats,
)
from rapport.settings.config import LeaderboardWeights
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts, PeriodStats

G, CH = 1, 500
WEEK = "2026-W47"
MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
W = LeaderboardWeights()


class Community:
    """A real Ledger fed messages the way the tracking cog would."""

    def __init__(self) -> None:
        self.ledger = Ledger(MemoryStore())
        self.next_id = 10_000

    def say(
        self,
        author: int,
        at: datetime,
        *,
        reply_to: tuple[int, int] | None = None,
        thanks: bool = False,
        link: bool = False,
    ) -> tuple[int, int]:
        """Post a message (optionally replying to (author, message)); returns (author, id)."""
        self.next_id += 1
        self.ledger.record_message(
            MessageFacts(
                G,
                CH,
                self.next_id,
                author,
                at,
                reply_to_id=reply_to[0] if reply_to else None,
                reply_to_message_id=reply_to[1] if reply_to else None,
                thanks=thanks,
                has_link=link,
            )
        )
        return author, self.next_id

    def react(self, actor: int, message: tuple[int, int], at: datetime) -> None:
        """A reaction, as the cog records it (once per emoji)."""
        self.ledger.record(Interaction(G, actor, message[0], CH, Kind.REACTION, message[1], at))

    def board(self, period: str = WEEK):
        """The week's board from the ledger's counters."""
        return build_board(period, self.ledger.period_stats(G, period), W)

    def score_of(self, member: int) -> float:
        """A member's score this week (0 when not on the board)."""
        found = {s.member_id: s.score for s in self.board().standings}
        return found.get(member, 0.0)


def t(minutes: float, day: int = 0) -> datetime:
    """A time in the test week."""
    return MONDAY + timedelta(days=day, minutes=minutes)


# ---- farming does not pay ---------------------------------------------------------------


def test_fifty_replies_to_one_person_score_below_five_replies_to_five_people() -> None:
    """Breadth beats volume: spamming one person ranks below answering five people once."""
    c = Community()
    bob_post = c.say(2, t(0))
    for i in range(50):
        c.say(1, t(1 + i), reply_to=bob_post)
    posts = [c.say(100 + p, t(0)) for p in range(5)]
    for i, post in enumerate(posts):
        c.say(3, t(1 + i), reply_to=post)
    board = c.board()
    assert [s.member_id for s in board.standings[:2]] == [3, 1]


def test_replies_past_the_daily_cap_add_nothing() -> None:
    """Fifty replies to one person in a day score exactly like three (the ledger's cap)."""
    spam, few = Community(), Community()
    for c, n in ((spam, 50), (few, 3)):
        post = c.say(2, t(0))
        for i in range(n):
            c.say(1, t(1 + i), reply_to=post)
    assert spam.score_of(1) == pytest.approx(few.score_of(1))
    assert spam.score_of(1) > 0


def test_a_week_of_spam_at_one_person_still_ranks_below_breadth() -> None:
    """Spamming the same person every day of the week still loses to five people once each."""
    c = Community()
    post = c.say(2, t(0))
    for day in range(7):
        for i in range(50):
            c.say(1, t(1 + i, day), reply_to=post)
    for p in range(5):
        c.say(3, t(1 + p), reply_to=c.say(100 + p, t(0)))
    assert c.score_of(3) > c.score_of(1)


def test_self_replies_earn_nothing() -> None:
    """Replying to yourself never puts you on the board."""
    c = Community()
    own = c.say(1, t(0))
    for i in range(30):
        c.say(1, t(1 + i), reply_to=own)
    assert c.score_of(1) == 0
    assert c.board().standings == ()


def test_a_reaction_storm_moves_nobody() -> None:
    """Hundreds of reactions change no score: reactions count nowhere on the board."""
    c = Community()
    post = c.say(2, t(0))
    c.say(3, t(1), reply_to=post)
    before = {s.member_id: s.score for s in c.board().standings}
    for i in range(200):
        c.react(1, post, t(2 + i / 10))
        c.react(4, post, t(2 + i / 10))
    assert {s.member_id: s.score for s in c.board().standings} == before


def test_thanks_spam_is_capped_and_damped() -> None:
    """Thanking one person thirty times in a day is worth no more than three thanks."""
    spam, few = Community(), Community()
    for c, n in ((spam, 30), (few, 3)):
        post = c.say(2, t(0))
        for i in range(n):
            c.say(1, t(1 + i), reply_to=post, thanks=True)
    assert spam.score_of(1) == pytest.approx(few.score_of(1))


def test_answering_within_48_hours_and_shares_that_draw_replies_count() -> None:
    """Answering a reply and sharing something that draws a reply both raise a score."""
    c = Community()
    share = c.say(1, t(0), link=True)
    reply = c.say(2, t(10), reply_to=share)
    baseline = c.score_of(1)
    c.say(1, t(30), reply_to=reply)
    st = c.ledger.period_stats(G, WEEK)[1]
    assert st.shares_drew == 1
    assert st.answered == st.inbound == 1
    assert c.score_of(1) > baseline


# ---- the score itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (PeriodStats(given=5, people=5), PeriodStats(given=21, people=1)),
        (PeriodStats(given=2, people=2), PeriodStats(given=9, people=1)),
        (PeriodStats(given=1, people=1, inbound=2, answered=2), PeriodStats(given=1, people=1)),
        (PeriodStats(thanks=4), PeriodStats(thanks=1)),
    ],
)
def test_score_prefers_breadth_answers_and_thanks(a: PeriodStats, b: PeriodStats) -> None:
    """The first member of each row must outscore the second."""
    assert score(a, W) > score(b, W)


def test_weights_come_from_the_config_and_show_in_the_formula() -> None:
    """With breadth weighted zero, volume decides; the one-line formula shows the weights."""
    volume = LeaderboardWeights(breadth=0.0)
    broad, busy = PeriodStats(given=3, people=3), PeriodStats(given=9, people=1)
    assert score(broad, W) > score(busy, W)
    assert score(busy, volume) > score(broad, volume)
    assert "0·people" in formula(volume)
    assert "3·people" in formula(W)
    assert "\n" not in formula(W)


def test_ties_are_broken_by_people_then_id_whatever_the_order() -> None:
    """Equal scores rank by more people, then lower id, independent of dict order."""
    stats = {
        30: PeriodStats(given=4, people=1),
        20: PeriodStats(given=1, people=1),
        10: PeriodStats(given=1, people=1),
    }
    forward = [s.member_id for s in rank_members(stats, LeaderboardWeights(replies=0.0))]
    backward = [
        s.member_id
        for s in rank_members(dict(reversed(stats.items())), LeaderboardWeights(replies=0.0))
    ]
    assert forward == backward == [10, 20, 30]
    assert [s.rank for s in rank_members(stats, W)] == [1, 2, 3]


# ---- exclusions ---------------------------------------------------------------------------


def test_excluded_members_are_nowhere_on_the_board() -> None:
    """Hidden or opted-out members are not ranked, not in a team's size, not in movement."""
    stats = {1: PeriodStats(given=9, people=9), 2: PeriodStats(given=1, people=1)}
    previous = {1: PeriodStats(given=9, people=9), 2: PeriodStats(given=2, people=1)}
    board = build_board(
        WEEK,
        stats,
        W,
        previous=previous,
        previous_key="2026-W46",
        teams={"Design": {1, 2, 3}},
        pairs={(1, 2): 2},
        excluded={1},
    )
    assert [s.member_id for s in board.standings] == [2]
    assert board.standings[0].movement() == "="
    (team,) = board.teams
    assert (team.size, team.active) == (2, 1)
    assert board.position(1) is None
    assert board.position(2) == (1, 1)


def test_members_without_a_score_are_not_ranked() -> None:
    """Someone who only received messages has no place on the board."""
    board = build_board(WEEK, {1: PeriodStats(inbound=5), 2: PeriodStats(given=1, people=1)}, W)
    assert [s.member_id for s in board.standings] == [2]


# ---- teams --------------------------------------------------------------------------------


def _flat(scores: dict[int, int]) -> dict[int, PeriodStats]:
    """Members whose score under BREADTH_ONLY is exactly the given number."""
    return {m: PeriodStats(people=p) for m, p in scores.items()}


BREADTH_ONLY = LeaderboardWeights(replies=0, breadth=1, responsiveness=0, thanks=0, shares=0)


def test_a_big_team_does_not_win_by_size() -> None:
    """Ten members at 5 lose to two members at 8: a team scores its members' mean."""
    big = dict.fromkeys(range(100, 110), 5)
    small = {1: 8, 2: 8}
    board = build_board(
        WEEK,
        _flat({**big, **small}),
        BREADTH_ONLY,
        teams={"Big": set(big), "Small": set(small)},
    )
    assert [t.name for t in board.teams] == ["Small", "Big"]
    assert board.teams[0].score == pytest.approx(8)
    assert board.teams[1].score == pytest.approx(5)


def test_idle_members_lower_the_mean_and_show_in_participation() -> None:
    """A team's idle members count in its mean; participation says how many took part."""
    board = build_board(
        WEEK,
        _flat({1: 6, 2: 6, 3: 5}),
        BREADTH_ONLY,
        teams={"Half": {1, 2, 8, 9}, "Full": {3}},
    )
    half = next(t for t in board.teams if t.name == "Half")
    assert half.score == pytest.approx(3)
    assert half.participation == pytest.approx(0.5)
    assert [t.name for t in board.teams] == ["Full", "Half"]


def test_equal_teams_rank_by_participation_then_name() -> None:
    """Teams with the same mean are ordered by participation, then by name."""
    board = build_board(
        WEEK,
        _flat({1: 4, 2: 4, 3: 8}),
        BREADTH_ONLY,
        teams={"Zeta": {1, 2}, "Alpha": {3, 4}, "Beta": {5, 6, 7, 8, 1, 2}},
    )
    assert [t.name for t in board.teams][:2] == ["Zeta", "Alpha"]


def test_most_connected_team_counts_cross_team_links_per_member() -> None:
    """Links between members of different teams make a team "most connected"; inner ones don't."""
    board = build_board(
        WEEK,
        _flat({1: 1, 2: 1, 3: 1, 4: 1}),
        BREADTH_ONLY,
        teams={"A": {1, 2}, "B": {3}, "C": {4, 5, 6, 7}},
        pairs={(1, 2): 2, (1, 3): 2, (2, 3): 1, (4, 5): 2},
    )
    assert board.most_connected is not None
    assert board.most_connected.name == "B"
    links = {t.name: t.cross_links for t in board.teams}
    assert links == {"A": 3, "B": 3, "C": 0}


# ---- movement -----------------------------------------------------------------------------


def test_movement_and_most_improved_compare_with_the_previous_period() -> None:
    """▲, ▼, = and new come from last period's ranking; the biggest gain is most improved."""
    previous = _flat({1: 9, 2: 5, 3: 4})
    now = _flat({1: 6, 2: 7, 3: 4, 4: 1})
    board = build_board(WEEK, now, BREADTH_ONLY, previous=previous, previous_key="2026-W46")
    moves = {s.member_id: s.movement() for s in board.standings}
    assert moves == {2: "▲1", 1: "▼1", 3: "=", 4: "new"}
    assert board.most_improved is not None
    assert board.most_improved.member_id == 2


@pytest.mark.parametrize(
    ("period", "before"),
    [
        ("2026-W48", "2026-W47"),
        ("2026-W01", "2025-W52"),
        ("2021-W01", "2020-W53"),
        ("2026-11", "2026-10"),
        ("2026-01", "2025-12"),
        ("all", None),
    ],
)
def test_previous_period(period: str, before: str | None) -> None:
    """The period before a week or month, across year ends; none before "all"."""
    assert previous_period(period) == before


def test_all_time_adds_the_months_up() -> None:
    """The all-time board sums each member's monthly counters."""
    total = sum_stats([{1: PeriodStats(given=2, people=1)}, {1: PeriodStats(given=3, people=2)}])
    assert total[1] == PeriodStats(given=5, people=3)


def test_render_text_shows_names_movement_teams_and_the_formula() -> None:
    """The terminal rendering lists each member by name with movement, teams and the formula."""
    board = build_board(
        WEEK,
        _flat({1: 5, 2: 3}),
        BREADTH_ONLY,
        previous=_flat({2: 9}),
        previous_key="2026-W46",
        teams={"Design": {1, 2}},
    )
    text = render_text(board, {1: "Ana", 2: "Bob"})
    assert "Ana" in text
    assert "Bob" in text
    assert "▼1" in text
    assert "new" in text
    assert "Design" in text
    assert board.formula in text
