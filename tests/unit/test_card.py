"""The leaderboard card: a valid, opaque PNG of the expected size with every listed name drawn,
the server's name and icon, members' avatars (initials when there are none) and the highlights."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops, ImageDraw

from rapport.leaderboard import card, fonts
from rapport.leaderboard.card import (
    AVATAR,
    HEADER,
    HIGHLIGHT_GAP,
    HIGHLIGHT_ROW,
    ICON,
    NAME_SIZE,
    WIDTH,
    avatar_box,
    card_size,
    font,
    highlights_top,
    icon_box,
    printable,
    render_card,
    row_top,
    team_row_top,
)
from rapport.leaderboard.pictures import color_for, initials, picture
from rapport.leaderboard.scoring import build_board, connections, improvement
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


def board(teams: dict[str, set[int]] = TEAMS, pairs: dict[tuple[int, int], int] | None = None):
    """Twelve members with distinct scores, teams, movement against a previous week (Gus and
    Hyun scored more than the week before: Hyun is the most improved)."""
    stats = {m: PeriodStats(given=m, people=m) for m in NAMES}
    previous = {m: PeriodStats(given=13 - m, people=13 - m) for m in list(NAMES)[:8]}
    return build_board(
        "2026-W47",
        stats,
        LeaderboardWeights(),
        previous=previous,
        previous_key="2026-W46",
        teams=teams,
        pairs=pairs,
    )


def png_of(color: tuple[int, int, int], size: int = 64) -> bytes:
    """A plain square picture, as Discord's CDN would send an avatar."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


#: Every member with a plain grey avatar, so only the text changes between two renders.
AVATARS = {m: png_of((128, 128, 128)) for m in NAMES}


def opened(png: bytes) -> Image.Image:
    """The card as an RGB image."""
    return Image.open(io.BytesIO(png)).convert("RGB")


def changed_box(a: bytes, b: bytes) -> tuple[int, int, int, int]:
    """Where two cards differ (they must)."""
    box = ImageChops.difference(opened(a), opened(b)).getbbox()
    assert box is not None, "the two cards are the same"
    return box


def ink_width(text: str) -> int:
    """How wide the name's ink is when drawn alone in the card's name font."""
    alone = Image.new("L", (WIDTH, 60))
    ImageDraw.Draw(alone).text((10, 10), text, font=font(NAME_SIZE), fill=255)
    box = alone.getbbox()
    assert box is not None
    return box[2] - box[0]


def test_card_is_a_valid_opaque_png_of_the_expected_size() -> None:
    """Ten rows, two teams and one highlight give a 720-pixel-wide RGB PNG of the computed height."""
    png = render_card(board(), NAMES, top=10)
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.mode == "RGB"
    assert image.size == card_size(10, 2, 1) == (WIDTH, 100 + 10 * 40 + 40 + 44 + 2 * 40 + 16 + 44)


def test_every_listed_name_is_drawn_in_its_row() -> None:
    """Blanking one name changes exactly that row, over the width the font gives the name."""
    b = board()
    rows = (0, 0, WIDTH, row_top(10))  # the most improved is named in the highlights too
    full = opened(render_card(b, NAMES, top=10, avatars=AVATARS)).crop(rows)
    shown = b.top(10)
    assert len(shown) == 10
    for i, standing in enumerate(shown):
        name = NAMES[standing.member_id]
        blanked = {**NAMES, standing.member_id: ""}
        blank = opened(render_card(b, blanked, top=10, avatars=AVATARS)).crop(rows)
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
    image = Image.open(io.BytesIO(render_card(empty, {}, top=10, server="Rapport Test")))
    assert image.size == card_size(0, 0)


@pytest.fixture
def bundled_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend the machine has no DejaVu Sans nor the CJK font: only Pillow's own font is left."""
    monkeypatch.setattr(fonts, "_PREFERRED", "no-such-font.ttf")
    monkeypatch.setattr(fonts, "_PREFERRED_BOLD", "no-such-font.ttf")
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    caches = (fonts._font, fonts._has_glyph, fonts.cjk_font, fonts._cjk_has_glyph)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.mark.parametrize("name", ["Dörte", "Łukasz", "Zoë", "Straße", "Ana"])
def test_every_character_drawn_has_a_glyph(name: str) -> None:
    """Whatever the font, the card draws no missing-glyph boxes."""
    drawn = printable(name)
    assert all(fonts._has_glyph(NAME_SIZE, c) for c in drawn)


@pytest.mark.usefixtures("bundled_font")
def test_without_system_fonts_accents_become_base_letters() -> None:
    """With only Pillow's ASCII font, "Dörte" is drawn as "Dorte" and the card still renders."""
    assert printable("Dörte") == "Dorte"
    assert printable("Straße") == "Strasse"
    assert printable("\ue000") == "?"
    png = render_card(board(), {**NAMES, 4: "Dörte"}, top=10)
    assert Image.open(io.BytesIO(png)).size == card_size(10, 2, 1)


def test_japanese_names_and_words_are_drawn_with_the_cjk_font() -> None:
    """A Japanese name is drawn as itself (the CJK font), never as "?" boxes."""
    assert fonts.cjk_font_path() is not None, "noto-cjk-sans-jp-regular is in requirements.txt"
    assert printable("さくら") == "さくら"
    assert fonts.font_for("さくら", NAME_SIZE) is fonts.cjk_font(NAME_SIZE)
    assert fonts.font_for("Ana", NAME_SIZE) is fonts.font(NAME_SIZE)


def test_a_japanese_card_draws_the_japanese_name() -> None:
    """Blanking a Japanese name changes its row: it was drawn, in the CJK font."""
    b = board()
    first = b.top(1)[0].member_id
    names = {**NAMES, first: "さくら"}
    box = changed_box(
        render_card(b, names, top=10, avatars=AVATARS),
        render_card(b, {**names, first: ""}, top=10, avatars=AVATARS),
    )
    assert row_top(0) <= box[1]
    assert box[3] <= row_top(1)


def test_the_header_shows_the_servers_name_and_icon() -> None:
    """The server's name is the title and its icon sits beside it; both stay in the header."""
    b = board()
    red = png_of((220, 20, 20), 128)
    with_icon = render_card(b, NAMES, server="Rapport Test", icon=red)
    inside = opened(with_icon).crop(icon_box())
    assert inside.getpixel((ICON // 2, ICON // 2)) == (220, 20, 20)
    renamed = render_card(b, NAMES, server="Another Place", icon=red)
    assert changed_box(with_icon, renamed)[3] <= HEADER
    without = render_card(b, NAMES, server="Rapport Test")
    assert changed_box(with_icon, without)[3] <= HEADER


def test_a_server_without_an_icon_gets_its_initials() -> None:
    """No icon: the server's initials on a coloured square, like Discord's server list."""
    png = render_card(board(), NAMES, server="Rapport Test")
    inside = opened(png).crop(icon_box())
    colours = {c for _, c in inside.getcolors(ICON * ICON) or []}
    assert (255, 255, 255) in colours  # the letters
    assert any(c != card.BG for c in colours)  # the square
    assert initials("Rapport Test") == "RT"


def test_each_row_shows_the_members_avatar() -> None:
    """A member's avatar is drawn in their own row, round, at the avatar's place."""
    b = board()
    first = b.top(1)[0].member_id
    png = render_card(b, NAMES, avatars={first: png_of((20, 200, 20))})
    face = opened(png).crop(avatar_box(0))
    assert face.getpixel((AVATAR // 2, AVATAR // 2)) == (20, 200, 20)
    assert face.getpixel((0, 0)) != (20, 200, 20)  # a corner is outside the circle
    second = opened(png).crop(avatar_box(1))
    assert second.getpixel((AVATAR // 2, AVATAR // 2)) != (20, 200, 20)


@pytest.mark.parametrize("data", [None, b"", b"not a picture", png_of((1, 2, 3))[:40]])
def test_a_missing_or_broken_avatar_becomes_initials(data: bytes | None) -> None:
    """No avatar, or bytes that are no image: initials on the member's colour, never an error."""
    b = board()
    first = b.top(1)[0].member_id
    avatars = {} if data is None else {first: data}
    face = opened(render_card(b, NAMES, avatars=avatars)).crop(avatar_box(0))
    colours = {c for _, c in face.getcolors(AVATAR * AVATAR) or []}
    assert color_for(first) in colours
    assert (255, 255, 255) in colours


def test_a_picture_too_large_for_an_avatar_is_refused() -> None:
    """An image bigger than Discord ever serves is not decoded: initials instead."""
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, format="PNG")
    assert picture(out.getvalue(), AVATAR) is None
    assert picture(png_of((9, 9, 9), 4096), AVATAR) is not None


@pytest.mark.parametrize(
    ("name", "letters"),
    [
        ("Bob Marley", "BM"),
        ("ana", "A"),
        ("Jean-Luc Picard", "JP"),
        ("さくら", "さ"),
        ("محمد علي", "م"),
        ("  ", "?"),
        ("(Lee)", "L"),
    ],
)
def test_initials(name: str, letters: str) -> None:
    """One or two letters; two only for scripts with capitals."""
    assert initials(name) == letters


def highlight_row(index: int, b) -> tuple[int, int]:
    """The top and bottom of highlight row `index` on a card of board `b`."""
    top = highlights_top(len(b.top(10)), len(b.teams)) + HIGHLIGHT_GAP + index * HIGHLIGHT_ROW
    return top, top + HIGHLIGHT_ROW


def test_the_most_improved_member_is_named_below_the_teams() -> None:
    """The most improved member's row names them with the change the post's embed gives."""
    b = board()
    improved = b.most_improved
    assert improved is not None
    assert improvement(improved) == "17.2 → 26.8"
    assert b.most_connected is None
    png = render_card(b, NAMES, avatars=AVATARS)
    assert opened(png).size == card_size(10, 2, 1)
    blanked = {**NAMES, improved.member_id: ""}
    rows = (0, row_top(10), WIDTH, card_size(10, 2, 1)[1])
    box = ImageChops.difference(
        opened(png).crop(rows), opened(render_card(b, blanked, avatars=AVATARS)).crop(rows)
    ).getbbox()
    assert box is not None
    top, bottom = highlight_row(0, b)
    assert top - row_top(10) <= box[1]
    assert box[3] <= bottom - row_top(10)


def test_the_most_connected_team_is_named_below_the_most_improved() -> None:
    """Links between Design and Support make a most connected team, with its own row."""
    b = board(pairs={(1, 4): 3, (2, 5): 1})
    best = b.most_connected
    assert best is not None
    assert connections(best) == f"{best.name} · {best.cross_links} links with other teams"
    png = render_card(b, NAMES)
    assert opened(png).size == card_size(10, 2, 2)
    renamed = {("Zeta" if t == best.name else t): ids for t, ids in TEAMS.items()}
    other = render_card(board(renamed, pairs={(1, 4): 3, (2, 5): 1}), NAMES)
    below = (0, highlights_top(10, 2), WIDTH, card_size(10, 2, 2)[1])
    box = ImageChops.difference(opened(png).crop(below), opened(other).crop(below)).getbbox()
    assert box is not None
    top, bottom = highlight_row(1, b)
    assert top - below[1] <= box[1]
    assert box[3] <= bottom - below[1]


@pytest.mark.parametrize(
    ("name", "drawn"),
    [
        ("Ana 🌸", "Ana"),
        ("🔥 Kai 🔥", "Kai"),
        ("👩‍💻", "?"),
        ("محمد", "محمد"),
        ("مجتمع المطورين 🚀", "مجتمع المطورين"),
        ("さくら 🌸", "さくら"),
        ("Łukasz", "Łukasz"),
    ],
)
def test_emoji_are_left_out_and_other_scripts_kept(name: str, drawn: str) -> None:
    """No installed font draws emoji: they are left out (a name of only emoji reads "?")."""
    assert printable(name) == drawn
