"""One relationship up close and the member's map, in the core: figures, privacy, the drawing."""

from __future__ import annotations

import io
import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from rapport.compose import Services, build_services
from rapport.relations import MAP_PEOPLE, EgoMap, Relations, Standing, Tie, parse_cadence
from rapport.relations.drawing import SIZE, positions, render_map
from rapport.settings import Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.model import MessageFacts, time_snowflake

G, ANA, SAM = 1, 10, 20
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def say(services: Services, author: int, at: datetime, channel: int = 7, **kw: object) -> None:
    services.ledger.record_message(
        MessageFacts(G, channel, time_snowflake(at) + author, author, at, **kw)  # type: ignore[arg-type]
    )


async def world() -> tuple[Services, Relations]:
    services = build_services(Settings(), MemoryStore(), lambda: NOW)
    await services.members.ensure(G)
    return services, Relations(services.members, services.ledger.reads)


async def test_open_asks_count_neither_way_until_they_settle() -> None:
    """A mention still inside its waiting window is not yet answered nor unanswered."""
    services, relations = await world()
    for day in (9, 7, 5):
        at = NOW - timedelta(days=day)
        say(services, SAM, at, mentions=frozenset({ANA}))
        say(services, ANA, at + timedelta(minutes=10), reply_to_id=SAM)
    say(services, SAM, NOW - timedelta(hours=1), mentions=frozenset({ANA}))
    you = relations.closeup(G, ANA, SAM, NOW).you
    assert you is not None
    assert (you.answered, you.settled) == (3, 3)
    assert you.rate == 1.0
    assert you.time == 0  # under 15 minutes


@pytest.mark.parametrize(("asks", "shown"), [(2, False), (3, True)])
async def test_an_answer_rate_needs_three_settled_asks(asks: int, shown: bool) -> None:
    """Under three settled asks the rate is unknown rather than 100 % of one or two."""
    services, relations = await world()
    for day in range(asks):
        at = NOW - timedelta(days=20 - day)
        say(services, SAM, at, mentions=frozenset({ANA}))
        say(services, ANA, at + timedelta(hours=2), reply_to_id=SAM)
    you = relations.closeup(G, ANA, SAM, NOW).you
    assert you is not None
    assert (you.rate is not None) is shown
    assert (you.time is not None) is shown


async def test_no_closeup_of_someone_who_left_or_opted_out() -> None:
    """Someone who left or opted out is named as such, with nothing of the pair in the answer."""
    services, relations = await world()
    say(services, SAM, NOW - timedelta(days=1), mentions=frozenset({ANA}))
    assert relations.closeup(G, ANA, SAM, NOW).standing is Standing.KNOWN
    assert relations.closeup(G, ANA, 99, NOW).standing is Standing.NONE
    services.ledger.member_left(G, SAM)
    left = relations.closeup(G, ANA, SAM, NOW)
    assert left.standing is Standing.LEFT
    assert left.pair is None
    await services.members.opt_out(G, SAM)
    assert relations.closeup(G, ANA, SAM, NOW).standing is Standing.UNTRACKED


async def test_the_map_holds_the_members_own_ties_strongest_first_at_most_24() -> None:
    """Only the caller's pairs, the strongest 24, no one who opted out; drifting ones marked."""
    services, relations = await world()
    others = list(range(100, 130))
    for i, other in enumerate(others):
        for k in range(i + 1):  # later people: more contact
            at = NOW - timedelta(hours=i + 1, minutes=k)
            say(services, other, at, mentions=frozenset({ANA}))
    say(services, 500, NOW - timedelta(hours=1), mentions=frozenset({501}))  # not Ana's
    # Sam and Ana talked every 3 days, a month ago: drifting.
    for day in (45, 42, 39, 36):
        at = NOW - timedelta(days=day)
        say(services, SAM, at, mentions=frozenset({ANA}))
        say(services, ANA, at + timedelta(hours=1), reply_to_id=SAM)
    await services.members.opt_out(G, others[-1])
    data = relations.ego_map(G, ANA, NOW)
    ids = [tie.other_id for tie in data.ties]
    assert len(ids) == MAP_PEOPLE
    assert data.total == len(others)  # 29 still tracked, and Sam
    assert others[-1] not in ids
    assert ids[0] == others[-2]
    assert 500 not in ids
    assert 501 not in ids
    weights = [tie.weight for tie in data.ties]
    assert weights == sorted(weights, reverse=True)
    assert [t.other_id for t in data.ties if t.drifting] == ([SAM] if SAM in ids else [])
    drifting = relations.ego_map(G, SAM, NOW).ties
    assert [(t.other_id, t.drifting) for t in drifting] == [(ANA, True)]


def ring_ties(n: int) -> tuple[Tie, ...]:
    return tuple(Tie(i, float(n - i), False) for i in range(n))


@pytest.mark.parametrize("n", [1, 5, 6, 14, 24])
def test_nodes_never_crowd_and_stronger_ties_sit_no_farther_out(n: int) -> None:
    """Nodes stay apart (room for a name), and a stronger tie is never farther from the middle."""
    where = positions(ring_ties(n))
    centre = (SIZE / 2, 96 + SIZE / 2)
    points = [where[i] for i in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            assert math.dist(points[a], points[b]) > 100
    radii = [math.dist(centre, p) for p in points]
    assert radii == sorted(radii, key=lambda r: round(r, 6))
    assert positions(ring_ties(n)) == where  # the same data draws the same map


@pytest.mark.parametrize("n", range(2, MAP_PEOPLE + 1))
def test_no_line_to_an_outer_person_runs_through_an_inner_node(n: int) -> None:
    """Rings are turned (and a part-full ring placed) so lines pass clear of inner nodes."""
    where = positions(ring_ties(n))
    cx, cy = SIZE / 2, 96 + SIZE / 2
    for (ox, oy), (ix, iy) in itertools.permutations(where.values(), 2):
        if math.dist((ix, iy), (cx, cy)) >= math.dist((ox, oy), (cx, cy)) - 1:
            continue  # not inside the line's reach
        dx, dy = ox - cx, oy - cy
        s = max(0.0, min(1.0, ((ix - cx) * dx + (iy - cy) * dy) / (dx * dx + dy * dy)))
        assert math.dist((ix, iy), (cx + s * dx, cy + s * dy)) > 25


def test_the_map_is_a_png_with_names_in_any_script() -> None:
    """The drawing is a PNG of the map's size; a Japanese name changes the picture (it is drawn)."""
    data = EgoMap(ANA, (Tie(1, 3.0, False), Tie(2, 1.0, True)), 2)
    latin = render_map(data, {1: "Bob", 2: "Sam"}, title="Your relationships in Guild")
    japanese = render_map(data, {1: "Bob", 2: "佐藤"}, title="Your relationships in Guild")
    image = Image.open(io.BytesIO(latin))
    assert image.format == "PNG"
    assert image.width == SIZE
    assert latin != japanese
    empty = render_map(EgoMap(ANA, (), 0), {}, title="Your relationships in Guild")
    assert Image.open(io.BytesIO(empty)).size == image.size


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("1w", timedelta(weeks=1)),
        ("2w", timedelta(weeks=2)),
        ("30d", timedelta(days=30)),
        ("365d", timedelta(days=365)),
        ("off", None),
        ("Clear", None),
    ],
)
def test_a_cadence_is_a_duration_of_a_day_to_a_year_or_off(
    text: str, span: timedelta | None
) -> None:
    """The cadence option reads durations from 1 day to 365 days, and "off"."""
    assert parse_cadence(text) == span


@pytest.mark.parametrize("text", ["fortnightly", "12h", "366d", "0d", ""])
def test_a_cadence_outside_a_day_to_a_year_is_refused(text: str) -> None:
    """Anything else is refused (the command answers privately what it accepts)."""
    with pytest.raises(ValueError, match=r"."):
        parse_cadence(text)
