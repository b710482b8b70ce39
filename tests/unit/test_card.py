"""The leaderboard card: a valid, opaque PNG of the expected size with every listed name drawn."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops, ImageDraw

from rapport.leaderboard import card
from rapport.leaderboard.card import (
    NAME_SIZE,
    WIDTH,
    card_size,
    font,
    printable,
    render_card,
    row_top,
    team_row_top,
)
from rapport.leaderboard.scoring import build_board
from rapport.settings.config import LeaderboardWeights
from rapport.tracking.model import PeriodStats

NAMES = {
    1: "Ana",
    2: "Bob Marley",
    3: "Chidi",
    4: "Dörte",
    5: "Eleanor",
    6: "Fatima",
    7: "Gus",
    8: "Hyun",
    9: "Ines",
    10: "Jules",
    11: "Kai",
    12: "Lena",
}
TEAMS = {"Design": {1, 2, 3}, "Support": {4, 5, 6, 7}}


def board(teams: dict[str, set[int]] = TEAMS):
    """Twelve members with distinct scores, teams, movement against a previous week."""
    stats = {m: PeriodStats(given=m, people=m) for m in NAMES}
    previous = {m: PeriodStats(given=13 - m, people=13 - m) for m in list(NAMES)[:8]}
    return build_board(
        "2026-W47",
        stats,
        LeaderboardWeights(),
        previous=previous,
        previous_key="2026-W46",
        teams=teams,
    )


def ink_width(text: str) -> int:
    """How wide the name's ink is when drawn alone in the card's name font."""
    alone = Image.new("L", (WIDTH, 60))
    ImageDraw.Draw(alone).text((10, 10), text, font=font(NAME_SIZE), fill=255)
    box = alone.getbbox()
    assert box is not None
    return box[2] - box[0]


def test_card_is_a_valid_opaque_png_of_the_expected_size() -> None:
    """Ten rows and two teams give a 720-pixel-wide RGB PNG of the computed height."""
    png = render_card(board(), NAMES, top=10)
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.mode == "RGB"
    assert image.size == card_size(10, 2) == (WIDTH, 84 + 10 * 36 + 32 + 44 + 2 * 36)


def test_every_listed_name_is_drawn_in_its_row() -> None:
    """Blanking one name changes exactly that row, over the width the font gives the name."""
    b = board()
    full = Image.open(io.BytesIO(render_card(b, NAMES, top=10))).convert("RGB")
    shown = b.top(10)
    assert len(shown) == 10
    for i, standing in enumerate(shown):
        name = NAMES[standing.member_id]
        blank = Image.open(
            io.BytesIO(render_card(b, {**NAMES, standing.member_id: ""}, top=10))
        ).convert("RGB")
        box = ImageChops.difference(full, blank).getbbox()
        assert box is not None, f"{name} was not drawn"
        left, top, right, bottom = box
        assert row_top(i) <= top, f"{name} is outside row {i}"
        assert bottom <= row_top(i + 1), f"{name} is outside row {i}"
        assert abs((right - left) - ink_width(printable(name))) <= 1, name


def test_team_names_are_drawn_below_the_members() -> None:
    """Each team's name is drawn in its own row of the team section."""
    b = board()
    full = Image.open(io.BytesIO(render_card(b, NAMES, top=10))).convert("RGB")
    for i, team in enumerate(b.teams):
        other = board({("X" * 12 if t == team.name else t): ids for t, ids in TEAMS.items()})
        changed = Image.open(io.BytesIO(render_card(other, NAMES, top=10))).convert("RGB")
        box = ImageChops.difference(full, changed).getbbox()
        assert box is not None
        assert team_row_top(10, i) <= box[1]
        assert box[3] <= team_row_top(10, i + 1)


def test_an_empty_board_still_renders() -> None:
    """With nobody scored the card says so and keeps a one-row height."""
    empty = build_board("2026-W47", {}, LeaderboardWeights())
    image = Image.open(io.BytesIO(render_card(empty, {}, top=10)))
    assert image.size == card_size(0, 0)


@pytest.fixture
def bundled_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend the machine has no DejaVu Sans nor the CJK font: only Pillow's own font is left."""
    monkeypatch.setattr(card, "_PREFERRED", "no-such-font.ttf")
    monkeypatch.setattr(card, "cjk_font_path", lambda: None)
    caches = (card.font, card._has_glyph, card.cjk_font, card._cjk_has_glyph)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.mark.parametrize("name", ["Dörte", "Łukasz", "Zoë", "Straße", "Ana"])
def test_every_character_drawn_has_a_glyph(name: str) -> None:
    """Whatever the font, the card draws no missing-glyph boxes."""
    drawn = printable(name)
    assert all(card._has_glyph(NAME_SIZE, c) for c in drawn)


@pytest.mark.usefixtures("bundled_font")
def test_without_system_fonts_accents_become_base_letters() -> None:
    """With only Pillow's ASCII font, "Dörte" is drawn as "Dorte" and the card still renders."""
    assert printable("Dörte") == "Dorte"
    assert printable("Straße") == "Strasse"
    assert printable("\ue000") == "?"
    png = render_card(board(), {**NAMES, 4: "Dörte"}, top=10)
    assert Image.open(io.BytesIO(png)).size == card_size(10, 2)


def test_japanese_names_and_words_are_drawn_with_the_cjk_font() -> None:
    """A Japanese name is drawn as itself (the CJK font), never as "?" boxes."""
    assert card.cjk_font_path() is not None, "noto-cjk-sans-jp-regular is in requirements.txt"
    assert printable("さくら") == "さくら"
    assert card.font_for("さくら", NAME_SIZE) is card.cjk_font(NAME_SIZE)
    assert card.font_for("Ana", NAME_SIZE) is card.font(NAME_SIZE)


def test_a_japanese_card_draws_the_japanese_name() -> None:
    """Blanking a Japanese name changes its row: it was drawn, in the CJK font."""
    b = board()
    first = b.top(1)[0].member_id
    names = {**NAMES, first: "さくら"}
    full = Image.open(io.BytesIO(render_card(b, names, top=10))).convert("RGB")
    blank = Image.open(io.BytesIO(render_card(b, {**names, first: ""}, top=10))).convert("RGB")
    box = ImageChops.difference(full, blank).getbbox()
    assert box is not None
    assert row_top(0) <= box[1]
    assert box[3] <= row_top(1)
