"""Leaderboard scores from the ledger's per-period counters: pure functions, no I/O.

The score rewards breadth and answering over volume, so it resists farming:

- replies, thanks and shares that drew a reply enter through a square root (the fiftieth
  reply to anyone adds almost nothing), on top of the ledger's cap per pair per day;
- distinct people engaged count linearly and weigh most (a second account or a friend only
  adds one person);
- responsiveness is a share (answered within 48 h / inbound), so it cannot grow with volume;
- self-replies never reach the ledger and reactions count nowhere.

A team's score is the mean over all its eligible members, idle ones included, so a big team
does not win by size and participation matters; it is shown with its participation rate.
Movement compares with the previous period's ranking, recomputed from that period's counters
with today's exclusions (no snapshot to keep or to go stale).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Container, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from rapport.i18n import ENGLISH, N_, Translation
from rapport.people.kudos import Thanked
from rapport.settings.config import LeaderboardWeights
from rapport.tracking.model import PeriodStats

ALL = "all"
"""The period key of the all-time board: every month the ledger still keeps, summed."""


def score(stats: PeriodStats, weights: LeaderboardWeights) -> float:
    """One member's score for one period (see `formula`)."""
    responsiveness = stats.answered / stats.inbound if stats.inbound else 0.0
    return (
        weights.replies * math.sqrt(stats.given)
        + weights.breadth * stats.people
        + weights.responsiveness * min(responsiveness, 1.0)
        + weights.thanks * math.sqrt(stats.thanks)
        + weights.shares * math.sqrt(stats.shares_drew)
    )


def _w(x: float) -> str:
    return f"{x:g}"


FORMULA = N_(
    "score = {replies}·√replies + {people}·people + {answered}·answered-within-48h share"
    " + {thanks}·√thanks + {shares}·√shares that drew a reply"
    " (replies and thanks capped per person per day; reactions don't count)"
)


def formula(weights: LeaderboardWeights, t: Translation = ENGLISH) -> str:
    """The score in one line, for the README, the embed footer and /leaderboard."""
    return t.gettext(
        FORMULA,
        replies=_w(weights.replies),
        people=_w(weights.breadth),
        answered=_w(weights.responsiveness),
        thanks=_w(weights.thanks),
        shares=_w(weights.shares),
    )


def previous_period(period: str) -> str | None:
    """The period before "2026-W48" ("2026-W47") or "2026-11" ("2026-10"); None for all."""
    if period == ALL:
        return None
    if "-W" in period:
        iso_year, iso_week = period.split("-W")
        monday = date.fromisocalendar(int(iso_year), int(iso_week), 1) - timedelta(days=7)
        y, w, _ = monday.isocalendar()
        return f"{y}-W{w:02d}"
    year, month = (int(x) for x in period.split("-"))
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year}-{month:02d}"


def sum_stats(periods: Collection[Mapping[int, PeriodStats]]) -> dict[int, PeriodStats]:
    """Add several periods' counters member by member (the all-time board).

    `people` adds up per period, so someone engaged in two months counts twice: the
    all-time board rewards keeping in touch over time, which is what it is for.
    """
    out: dict[int, list[int]] = {}
    for per in periods:
        for mid, st in per.items():
            acc = out.setdefault(mid, [0] * 6)
            for i, v in enumerate(
                (st.given, st.people, st.inbound, st.answered, st.thanks, st.shares_drew)
            ):
                acc[i] += v
    return {mid: PeriodStats(*acc) for mid, acc in out.items()}


@dataclass(frozen=True, slots=True)
class Standing:
    """One member's place on a board; `previous_rank` None means not ranked last period."""

    member_id: int
    rank: int
    score: float
    stats: PeriodStats
    previous_rank: int | None = None
    previous_score: float = 0.0

    def movement(self, has_previous: bool = True) -> str:
        """ "▲2", "▼1", "=" or "new" since the previous period ("" when there is none)."""
        if not has_previous:
            return ""
        if self.previous_rank is None:
            return "new"
        delta = self.previous_rank - self.rank
        if delta > 0:
            return f"▲{delta}"
        if delta < 0:
            return f"▼{-delta}"
        return "="


@dataclass(frozen=True, slots=True)
class TeamStanding:
    """A team's place: mean score over its eligible members, and how many took part."""

    name: str
    rank: int
    score: float
    size: int
    active: int
    cross_links: int = 0

    @property
    def participation(self) -> float:
        """The share of the team's members with a score this period."""
        return self.active / self.size if self.size else 0.0


@dataclass(frozen=True, slots=True)
class Board:
    """Everything a leaderboard shows for one period, ids only (the cog adds names).

    `standings` are the rows shown: the service's boards hold the top rows only (building
    100,000 of them per request was most of its cost); `build_board`'s hold everyone."""

    period: str
    previous: str | None
    standings: tuple[Standing, ...]
    teams: tuple[TeamStanding, ...] = ()
    most_improved: Standing | None = None
    most_connected: TeamStanding | None = None
    formula: str = ""
    weights: LeaderboardWeights | None = None
    most_thanked: tuple[Thanked, ...] = ()
    """The period's most thanked members (kudos received), beside the engagement board."""

    def formula_in(self, t: Translation) -> str:
        """The score formula in the language of `t`."""
        return formula(self.weights, t) if self.weights is not None else self.formula

    def top(self, n: int) -> tuple[Standing, ...]:
        """The first n standings."""
        return self.standings[:n]

    def position(self, member_id: int) -> tuple[int, int] | None:
        """(rank, out of how many) of a member among the standings held, or None."""
        for s in self.standings:
            if s.member_id == member_id:
                return s.rank, len(self.standings)
        return None


def rank_members(
    stats: Mapping[int, PeriodStats],
    weights: LeaderboardWeights,
    excluded: Collection[int] = frozenset(),
) -> list[Standing]:
    """Members with a positive score, best first; ties go to more people, then more answered,
    then the lower id, so the order never depends on dict order."""
    scored = [(score(st, weights), mid, st) for mid, st in stats.items() if mid not in excluded]
    scored = [row for row in scored if row[0] > 0]
    scored.sort(key=lambda r: (-round(r[0], 9), -r[2].people, -r[2].answered, r[1]))
    return [Standing(mid, i, sc, st) for i, (sc, mid, st) in enumerate(scored, start=1)]


def _teams(
    teams: Mapping[str, Collection[int]],
    scores: Mapping[int, float],
    pairs: Mapping[tuple[int, int], int],
    excluded: Container[int],
) -> list[TeamStanding]:
    members = {name: frozenset(m for m in ids if m not in excluded) for name, ids in teams.items()}
    members = {name: ids for name, ids in members.items() if ids}
    links = dict.fromkeys(members, 0)
    teams_of: dict[int, set[str]] = {}
    for name, ids in members.items():
        for m in ids:
            teams_of.setdefault(m, set()).add(name)
    for (a, b), directions in pairs.items():
        ta, tb = teams_of.get(a), teams_of.get(b)
        # Cross-team: each side counts the link for its teams the other side isn't in.
        if ta and tb and ta != tb:
            for name in ta ^ tb:
                links[name] += directions
    rows = []
    for name, ids in members.items():
        total = sum(scores.get(m, 0.0) for m in ids)
        active = sum(1 for m in ids if scores.get(m, 0.0) > 0)
        rows.append((total / len(ids), active / len(ids), name, len(ids), active))
    rows.sort(key=lambda r: (-round(r[0], 9), -r[1], r[2]))
    return [
        TeamStanding(name, i, mean, size, active, links[name])
        for i, (mean, _, name, size, active) in enumerate(rows, start=1)
    ]


def build_board(
    period: str,
    stats: Mapping[int, PeriodStats],
    weights: LeaderboardWeights,
    *,
    previous: Mapping[int, PeriodStats] | None = None,
    previous_key: str | None = None,
    teams: Mapping[str, Collection[int]] | None = None,
    pairs: Mapping[tuple[int, int], int] | None = None,
    excluded: Collection[int] = frozenset(),
) -> Board:
    """Rank members and teams for one period, with movement against the previous period.

    `excluded` (opted out, hidden, bots, not in the server) are left out everywhere: not
    ranked, not in a team's size, not in cross-team links, not in the previous ranking.
    """
    excluded = frozenset(excluded)
    before: dict[int, tuple[int, float]] | None = None
    if previous is not None:
        before = {s.member_id: (s.rank, s.score) for s in rank_members(previous, weights, excluded)}
    now = rank_members(stats, weights, excluded)
    standings = (
        tuple(
            Standing(s.member_id, s.rank, s.score, s.stats, *before.get(s.member_id, (None, 0.0)))
            for s in now
        )
        if before is not None
        else tuple(now)
    )
    improved = [s for s in standings if s.previous_rank is not None and s.score > s.previous_score]
    most_improved = (
        max(improved, key=lambda s: (round(s.score - s.previous_score, 9), -s.rank))
        if improved
        else None
    )
    return assemble_board(
        period,
        standings,
        weights,
        previous_key=previous_key if previous is not None else None,
        most_improved=most_improved,
        teams=teams,
        scores={s.member_id: s.score for s in standings},
        pairs=pairs,
        excluded=excluded,
    )


def assemble_board(
    period: str,
    standings: tuple[Standing, ...],
    weights: LeaderboardWeights,
    *,
    previous_key: str | None,
    most_improved: Standing | None,
    teams: Mapping[str, Collection[int]] | None,
    scores: Mapping[int, float],
    pairs: Mapping[tuple[int, int], int] | None,
    excluded: Container[int],
) -> Board:
    """The board around the standings it shows (movement filled in) and the most improved:
    teams (from everyone's `scores`, the excluded left out) and the most connected. Shared by
    `build_board` and the service's kept rankings, so both agree."""
    team_rows = _teams(teams, scores, pairs or {}, excluded) if teams else []
    connected = [t for t in team_rows if t.cross_links]
    most_connected = (
        max(connected, key=lambda t: (t.cross_links / t.size, t.cross_links, -t.rank))
        if connected
        else None
    )
    return Board(
        period=period,
        previous=previous_key,
        standings=standings,
        teams=tuple(team_rows),
        most_improved=most_improved,
        most_connected=most_connected,
        formula=formula(weights),
        weights=weights,
    )


def period_label(period: str, t: Translation = ENGLISH) -> str:
    """How a period reads to people: "week 48 of 2026 (Nov 23 – 29)", "November 2026"."""
    if period == ALL:
        return t.gettext(N_("all time"))
    if "-W" in period:
        year, week = (int(x) for x in period.split("-W"))
        monday = date.fromisocalendar(year, week, 1)
        sunday = monday + timedelta(days=6)
        return t.gettext(
            N_("week {week} of {year} ({days})"),
            week=week,
            year=year,
            days=t.date_range(monday, sunday),
        )
    year, month = (int(x) for x in period.split("-"))
    return t.date(date(year, month, 1), "yMMMM")


def improvement(s: Standing, t: Translation = ENGLISH) -> str:
    """How far the most improved member came: "3.2 → 7.9" (the embed and the card say this)."""
    return f"{t.number(s.previous_score, 1)} → {t.number(s.score, 1)}"


def connections(team: TeamStanding, t: Translation = ENGLISH, *, name: str | None = None) -> str:
    """The most connected team's line, "Design · 5 links with other teams" (embed and card);
    `name` is the team's name as the caller shows it (escaped for Markdown, say)."""
    return t.ngettext(
        "{team} · {n} link with other teams",
        "{team} · {n} links with other teams",
        team.cross_links,
        team=team.name if name is None else name,
    )


def _name(names: Mapping[int, str] | None, member_id: int) -> str:
    return (names or {}).get(member_id) or f"member {member_id}"


def render_text(board: Board, names: Mapping[int, str] | None = None, top: int = 10) -> str:
    """The board as plain text, for the terminal (the demo) and logs."""
    has_prev = board.previous is not None
    lines = [f"Leaderboard — {period_label(board.period)}"]
    if not board.standings:
        lines.append("  nobody has a score yet")
    for s in board.top(top):
        move = s.movement(has_prev)
        lines.append(
            f"  {s.rank:>2}. {_name(names, s.member_id):<24} {s.score:6.1f}  {move}".rstrip()
        )
    if board.teams:
        lines.append("Teams (mean score · participation):")
        for t in board.teams:
            lines.append(
                f"  {t.rank:>2}. {t.name:<24} {t.score:6.1f}  "
                f"{t.active}/{t.size} taking part ({t.participation:.0%})"
            )
    if board.most_improved is not None:
        s = board.most_improved
        lines.append(
            f"Most improved: {_name(names, s.member_id)} "
            f"({s.previous_score:.1f} → {s.score:.1f}, {s.movement(has_prev)})"
        )
    if board.most_connected is not None:
        t = board.most_connected
        lines.append(f"Most connected team: {t.name} ({t.cross_links} links with other teams)")
    lines.append(board.formula)
    return "\n".join(lines)


__all__ = [
    "ALL",
    "Board",
    "Standing",
    "TeamStanding",
    "assemble_board",
    "build_board",
    "connections",
    "formula",
    "improvement",
    "period_label",
    "previous_period",
    "rank_members",
    "render_text",
    "score",
    "sum_stats",
]
