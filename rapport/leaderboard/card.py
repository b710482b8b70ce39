"""The leaderboard card: the standings drawn with Pillow as PNG bytes (no Discord here).

The card is opaque with its own dark background and light text (contrast above 12:1), so it
reads the same in Discord's dark and light themes. Its words come from the catalogs, in the
server's language, drawn in whichever font has their glyphs (rapport/leaderboard/fonts.py:
DejaVu Sans, Noto Sans CJK JP; emoji left out); movement arrows are drawn as shapes.

The header shows the server's name and icon, each row the member's avatar; pictures arrive as
image bytes (the cog reads them from Discord), and whatever is missing or unreadable is drawn
as initials on a coloured disc (rapport/leaderboard/pictures.py). Below the teams, the "most
improved" and "most connected team" rows show the same facts in the same words as the post's
embed (`improvement`, `connections`)."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Mapping

from PIL import Image, ImageDraw

from rapport.i18n import ENGLISH, N_, Translation
from rapport.leaderboard.fonts import (
    draw_text,
    fit,
    font,
    font_for,
    printable,
    text_width,
)
from rapport.leaderboard.pictures import SUPERSAMPLE, color_for, disc, initials, picture
from rapport.leaderboard.scoring import Board, Standing, connections, improvement, period_label

WIDTH = 720
PAD = 24
HEADER = 100
ROW = 40
SECTION = 44
HIGHLIGHT_GAP = 16
HIGHLIGHT_ROW = 44
FOOTER = 40
NAME_SIZE = 18
AVATAR = 28
ICON = 60
TILE_AVATAR = 24

BG = (24, 26, 33)
ZEBRA = (33, 36, 45)
RULE = (52, 57, 70)
TEXT = (241, 243, 246)
MUTED = (168, 175, 189)
GOLD = (242, 193, 78)
UP = (96, 206, 132)
DOWN = (240, 108, 108)

_RANK_RIGHT = PAD + 26
_AVATAR_X = PAD + 36
_NAME_X = _AVATAR_X + AVATAR + 12
_SCORE_RIGHT = WIDTH - PAD - 96
_MOVE_X = WIDTH - PAD - 80
_ICON_RADIUS = 16


def _highlights(board: Board) -> int:
    return (board.most_improved is not None) + (board.most_connected is not None)


def card_size(rows: int, teams: int, highlights: int = 0) -> tuple[int, int]:
    """The card's (width, height) for so many member rows, team rows and highlight tiles."""
    height = HEADER + max(rows, 1) * ROW + FOOTER
    if teams:
        height += SECTION + teams * ROW
    if highlights:
        height += HIGHLIGHT_GAP + highlights * HIGHLIGHT_ROW
    return WIDTH, height


def row_top(index: int) -> int:
    """The top y of member row `index` (0-based)."""
    return HEADER + index * ROW


def team_row_top(rows: int, index: int) -> int:
    """The top y of team row `index` below `rows` member rows."""
    return HEADER + max(rows, 1) * ROW + SECTION + index * ROW


def icon_box() -> tuple[int, int, int, int]:
    """Where the server's icon sits in the header (left, top, right, bottom)."""
    top = (HEADER - ICON) // 2 - 4
    return PAD, top, PAD + ICON, top + ICON


def avatar_box(index: int) -> tuple[int, int, int, int]:
    """Where the avatar of member row `index` sits (left, top, right, bottom)."""
    top = row_top(index) + (ROW - AVATAR) // 2
    return _AVATAR_X, top, _AVATAR_X + AVATAR, top + AVATAR


def highlights_top(rows: int, teams: int) -> int:
    """The top y of the highlight tiles (most improved, most connected team)."""
    return HEADER + max(rows, 1) * ROW + (SECTION + teams * ROW if teams else 0)


def _movement(
    draw: ImageDraw.ImageDraw, x: int, mid: int, move: str, t: Translation = ENGLISH
) -> None:
    """Draw ▲n / ▼n as a triangle and a number, "new" and "=" as text, centred on `mid`."""
    small = font(15)
    if move.startswith(("▲", "▼")):
        up = move[0] == "▲"
        color = UP if up else DOWN
        tri = (
            [(x, mid + 5), (x + 12, mid + 5), (x + 6, mid - 6)]
            if up
            else [(x, mid - 5), (x + 12, mid - 5), (x + 6, mid + 6)]
        )
        draw.polygon(tri, fill=color)
        draw.text((x + 17, mid), move[1:], font=small, fill=color, anchor="lm")
    elif move == "new":
        draw_text(draw, (x, mid), t.gettext(N_("new")), 15, fill=GOLD, anchor="lm")
    elif move:
        draw.text((x, mid), move, font=small, fill=MUTED, anchor="lm")


def _face(
    name: str, key: int, data: bytes | None, size: int, *, radius: int | None = None
) -> Image.Image:
    """The picture in `data`, or the name's initials on a disc coloured by `key`."""
    found = picture(data, size, radius=radius)
    if found is not None:
        return found
    letters = initials(printable(name, size // 2))
    big = size // 2 * SUPERSAMPLE
    return disc(letters, font_for(letters, big, bold=True), size, color_for(key), radius=radius)


def _header(
    image: Image.Image, server: str | None, icon: bytes | None, period: str, t: Translation
) -> None:
    draw = ImageDraw.Draw(image)
    x = PAD
    if server is None:
        title, subtitle = t.gettext(N_("Rapport leaderboard")), period
    else:
        title = server
        subtitle = t.gettext(N_("Leaderboard — {period}"), period=period)
        face = _face(server, zlib.crc32(server.encode()), icon, ICON, radius=_ICON_RADIUS)
        image.paste(face, icon_box()[:2], face)
        x = PAD + ICON + 16
    draw_text(draw, (x, 46), fit(title, 26, WIDTH - PAD - x, bold=True), 26, bold=True, fill=TEXT,
          anchor="ls")  # fmt: skip
    draw_text(draw, (x, 72), fit(subtitle, 15, WIDTH - PAD - x), 15, fill=MUTED, anchor="ls")
    draw.line((PAD, HEADER - 8, WIDTH - PAD, HEADER - 8), fill=RULE, width=1)


def _rank(draw: ImageDraw.ImageDraw, mid: int, rank: int, *, medal: bool) -> None:
    color = GOLD if medal and rank <= 3 else MUTED
    draw.text((_RANK_RIGHT, mid), f"{rank}.", font=font(17), fill=color, anchor="rm")


def _member_row(
    image: Image.Image,
    y: int,
    s: Standing,
    name: str,
    avatar: bytes | None,
    has_prev: bool,
    t: Translation,
) -> None:
    draw = ImageDraw.Draw(image)
    mid = y + ROW // 2
    _rank(draw, mid, s.rank, medal=True)
    face = _face(name, s.member_id, avatar, AVATAR)
    image.paste(face, (_AVATAR_X, y + (ROW - AVATAR) // 2), face)
    text = fit(name, NAME_SIZE, _SCORE_RIGHT - _NAME_X - 70)
    draw_text(draw, (_NAME_X, mid), text, NAME_SIZE, fill=TEXT, anchor="lm")
    draw.text((_SCORE_RIGHT, mid), t.number(s.score, 1), font=font(17), fill=TEXT, anchor="rm")
    _movement(draw, _MOVE_X, mid, s.movement(has_prev), t)


def _highlight_rows(
    image: Image.Image,
    y: int,
    board: Board,
    name_of: Callable[[int], str],
    avatars: Mapping[int, bytes],
    t: Translation,
) -> None:
    """The most improved member and the most connected team, one row each in a panel."""
    draw = ImageDraw.Draw(image)
    rows: list[tuple[str, Callable[[int, int], None]]] = []
    has_prev = board.previous is not None

    def improved(x: int, mid: int) -> None:
        assert s is not None
        name = name_of(s.member_id)
        face = _face(name, s.member_id, avatars.get(s.member_id), TILE_AVATAR)
        image.paste(face, (x, mid - TILE_AVATAR // 2), face)
        x += TILE_AVATAR + 10
        change = f" · {improvement(s, t)}"
        room = WIDTH - PAD - 14 - x - 60 - text_width(change, 16)
        shown = fit(name, 16, room)
        draw_text(draw, (x, mid), shown, 16, fill=TEXT, anchor="lm")
        x += int(text_width(shown, 16))
        draw_text(draw, (x, mid), change, 16, fill=MUTED, anchor="lm")
        _movement(draw, x + int(text_width(change, 16)) + 10, mid, s.movement(has_prev), t)

    def connected(x: int, mid: int) -> None:
        assert best is not None
        face = _face(best.name, zlib.crc32(best.name.encode()), None, TILE_AVATAR, radius=7)
        image.paste(face, (x, mid - TILE_AVATAR // 2), face)
        x += TILE_AVATAR + 10
        line, room = connections(best, t), WIDTH - PAD - 14 - x
        size = 16 if text_width(line, 16) <= room else 14  # a long team name: smaller first
        draw_text(draw, (x, mid), fit(line, size, room), size, fill=TEXT, anchor="lm")

    if (s := board.most_improved) is not None:
        rows.append((t.gettext(N_("Most improved")), improved))
    if (best := board.most_connected) is not None:
        rows.append((t.gettext(N_("Most connected team")), connected))
    label_width = min(max(text_width(label, 14) for label, _ in rows), 220)
    draw.rounded_rectangle((PAD, y, WIDTH - PAD, y + len(rows) * HIGHLIGHT_ROW), 10, fill=ZEBRA)
    for i, (label, draw_value) in enumerate(rows):
        mid = y + i * HIGHLIGHT_ROW + HIGHLIGHT_ROW // 2
        if i:
            draw.line((PAD + 14, mid - HIGHLIGHT_ROW // 2, WIDTH - PAD - 14,
                       mid - HIGHLIGHT_ROW // 2), fill=RULE)  # fmt: skip
        draw_text(draw, (PAD + 14, mid), fit(label, 14, label_width), 14, fill=GOLD, anchor="lm")
        draw_value(PAD + 14 + int(label_width) + 20, mid)


def render_card(
    board: Board,
    names: Mapping[int, str],
    *,
    top: int = 10,
    server: str | None = None,
    icon: bytes | None = None,
    avatars: Mapping[int, bytes] | None = None,
    t: Translation = ENGLISH,
) -> bytes:
    """The standings as PNG bytes: the server (name and icon) on top, members with avatars
    and movement, the teams, then the most improved member and the most connected team.

    `icon` and `avatars` (member id -> image bytes) are optional: initials stand in.
    """
    avatars = avatars or {}
    shown = board.top(top)
    size = card_size(len(shown), len(board.teams), _highlights(board))
    image = Image.new("RGB", size, BG)
    draw = ImageDraw.Draw(image)
    _header(image, server, icon, period_label(board.period, t), t)
    has_prev = board.previous is not None

    def name_of(member_id: int) -> str:
        return names.get(member_id, t.gettext(N_("member {id}"), id=member_id))

    if not shown:
        draw_text(draw, (PAD, row_top(0) + ROW // 2), t.gettext(N_("Nobody has a score yet.")),
              NAME_SIZE, fill=MUTED, anchor="lm")  # fmt: skip
    for i, s in enumerate(shown):
        y = row_top(i)
        if i % 2 == 0:
            draw.rectangle((0, y, WIDTH, y + ROW - 1), fill=ZEBRA)
        _member_row(image, y, s, name_of(s.member_id), avatars.get(s.member_id), has_prev, t)
    if board.teams:
        head = team_row_top(len(shown), 0) - SECTION
        draw_text(draw, (PAD, head + 26), t.gettext(N_("Teams · mean score · taking part")), 16,
              fill=MUTED, anchor="lm")  # fmt: skip
        for i, team in enumerate(board.teams):
            y = team_row_top(len(shown), i)
            if i % 2 == 0:
                draw.rectangle((0, y, WIDTH, y + ROW - 1), fill=ZEBRA)
            mid = y + ROW // 2
            _rank(draw, mid, team.rank, medal=False)
            face = _face(team.name, zlib.crc32(team.name.encode()), None, AVATAR, radius=8)
            image.paste(face, (_AVATAR_X, mid - AVATAR // 2), face)
            text = fit(team.name, NAME_SIZE, _SCORE_RIGHT - _NAME_X - 70)
            draw_text(draw, (_NAME_X, mid), text, NAME_SIZE, fill=TEXT, anchor="lm")
            draw.text((_SCORE_RIGHT, mid), t.number(team.score, 1), font=font(17), fill=TEXT,
                      anchor="rm")  # fmt: skip
            draw_text(draw, (_MOVE_X, mid), t.percent(team.participation), 15, fill=MUTED,
                  anchor="lm")  # fmt: skip
    if _highlights(board):
        y = highlights_top(len(shown), len(board.teams)) + HIGHLIGHT_GAP
        _highlight_rows(image, y, board, name_of, avatars, t)
    draw_text(draw, (PAD, size[1] - FOOTER // 2),
          t.gettext(N_("Breadth and answering count more than volume.")), 13, fill=MUTED,
          anchor="lm")  # fmt: skip
    out = io.BytesIO()
    # zlib level 6: within 2 % of optimize=True in size, several times faster to encode.
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


__all__ = [
    "WIDTH",
    "avatar_box",
    "card_size",
    "font",
    "highlights_top",
    "icon_box",
    "printable",
    "render_card",
    "row_top",
    "team_row_top",
]
