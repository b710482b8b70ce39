"""The leaderboard card: the standings drawn with Pillow as PNG bytes (no Discord here).

The card is opaque with its own dark background and light text (contrast above 12:1), so it
reads the same in Discord's dark and light themes. It uses DejaVu Sans when the machine has it
(most Linux images; wide Latin, Greek and Cyrillic coverage) and otherwise the font Pillow
ships (`ImageFont.load_default(size=...)`, ASCII only), so it renders anywhere. Characters the
font lacks are drawn as their base letter ("ö" -> "o") or "?", never as empty boxes; movement
arrows are drawn as shapes.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from rapport.leaderboard.scoring import Board, period_label

WIDTH = 720
PAD = 24
HEADER = 84
ROW = 36
SECTION = 44
FOOTER = 32
NAME_SIZE = 18

BG = (24, 26, 33)
ZEBRA = (33, 36, 45)
TEXT = (241, 243, 246)
MUTED = (168, 175, 189)
GOLD = (242, 193, 78)
UP = (96, 206, 132)
DOWN = (240, 108, 108)

_NAME_X = PAD + 52
_SCORE_RIGHT = WIDTH - PAD - 96
_MOVE_X = WIDTH - PAD - 80

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


_PREFERRED = "DejaVuSans.ttf"
_SPELLED = {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D",
            "đ": "d", "Œ": "OE", "œ": "oe", "–": "-", "—": "-", "’": "'", "“": '"', "”": '"'}  # fmt: skip


@cache
def font(size: int) -> Font:
    """The card's font at a size: DejaVu Sans if installed, else Pillow's own (cached)."""
    try:
        return ImageFont.truetype(_PREFERRED, size)
    except OSError:
        return ImageFont.load_default(size=size)


@cache
def _has_glyph(size: int, ch: str) -> bool:
    """Whether the font draws `ch` as itself rather than its missing-glyph box."""
    f = font(size)
    missing = f.getmask("\ue000")
    mask = f.getmask(ch)
    return ch.isspace() or (mask.size, bytes(mask)) != (missing.size, bytes(missing))


def printable(text: str, size: int = 18) -> str:
    """The text as the card draws it: unknown characters as base letters, else "?"."""
    out = []
    for ch in text:
        if _has_glyph(size, ch):
            out.append(ch)
            continue
        plain = _SPELLED.get(ch) or "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        )
        out.append(plain if plain and all(_has_glyph(size, c) for c in plain) else "?")
    return "".join(out)


def card_size(rows: int, teams: int) -> tuple[int, int]:
    """The card's (width, height) for so many member rows and team rows."""
    height = HEADER + max(rows, 1) * ROW + FOOTER
    if teams:
        height += SECTION + teams * ROW
    return WIDTH, height


def row_top(index: int) -> int:
    """The top y of member row `index` (0-based)."""
    return HEADER + index * ROW


def team_row_top(rows: int, index: int) -> int:
    """The top y of team row `index` below `rows` member rows."""
    return HEADER + max(rows, 1) * ROW + SECTION + index * ROW


def _fit(text: str, size: int, width: float) -> str:
    """The text as drawable, shortened with an ellipsis until it fits `width` pixels."""
    f = font(size)
    text = printable(text, size)
    if f.getlength(text) <= width:
        return text
    while text and f.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _movement(draw: ImageDraw.ImageDraw, x: int, y: int, move: str) -> None:
    """Draw ▲n / ▼n as a triangle and a number, "new" and "=" as text."""
    small = font(15)
    mid = y + ROW // 2
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
    elif move:
        draw.text((x, mid), move, font=small, fill=GOLD if move == "new" else MUTED, anchor="lm")


def render_card(
    board: Board, names: Mapping[int, str], *, top: int = 10, title: str = "Rapport leaderboard"
) -> bytes:
    """The standings (top members with movement, then teams) as PNG bytes."""
    shown = board.top(top)
    size = card_size(len(shown), len(board.teams))
    image = Image.new("RGB", size, BG)
    draw = ImageDraw.Draw(image)
    draw.text((PAD, 22), title, font=font(26), fill=TEXT)
    draw.text((PAD, 56), printable(period_label(board.period), 15), font=font(15), fill=MUTED)
    name_font, score_font = font(NAME_SIZE), font(17)
    has_prev = board.previous is not None
    if not shown:
        draw.text((PAD, row_top(0) + ROW // 2), "Nobody has a score yet.", font=name_font,
                  fill=MUTED, anchor="lm")  # fmt: skip
    for i, s in enumerate(shown):
        y = row_top(i)
        if i % 2 == 0:
            draw.rectangle((0, y, WIDTH, y + ROW - 1), fill=ZEBRA)
        mid = y + ROW // 2
        draw.text((PAD, mid), f"{s.rank}.", font=score_font,
                  fill=GOLD if s.rank <= 3 else MUTED, anchor="lm")  # fmt: skip
        name = names.get(s.member_id, f"member {s.member_id}")
        text = _fit(name, NAME_SIZE, _SCORE_RIGHT - _NAME_X - 70)
        draw.text((_NAME_X, mid), text, font=name_font, fill=TEXT, anchor="lm")
        draw.text((_SCORE_RIGHT, mid), f"{s.score:.1f}", font=score_font, fill=TEXT, anchor="rm")
        _movement(draw, _MOVE_X, y, s.movement(has_prev))
    if board.teams:
        head = team_row_top(len(shown), 0) - SECTION
        draw.text((PAD, head + 26), "Teams · mean score · taking part", font=font(16),
                  fill=MUTED, anchor="lm")  # fmt: skip
        for i, t in enumerate(board.teams):
            y = team_row_top(len(shown), i)
            if i % 2 == 0:
                draw.rectangle((0, y, WIDTH, y + ROW - 1), fill=ZEBRA)
            mid = y + ROW // 2
            draw.text((PAD, mid), f"{t.rank}.", font=score_font, fill=MUTED, anchor="lm")
            text = _fit(t.name, NAME_SIZE, _SCORE_RIGHT - _NAME_X - 70)
            draw.text((_NAME_X, mid), text, font=name_font, fill=TEXT, anchor="lm")
            draw.text((_SCORE_RIGHT, mid), f"{t.score:.1f}", font=score_font, fill=TEXT,
                      anchor="rm")  # fmt: skip
            draw.text((_MOVE_X, mid), f"{t.participation:.0%}", font=font(15), fill=MUTED,
                      anchor="lm")  # fmt: skip
    draw.text((PAD, size[1] - FOOTER // 2), "Breadth and answering count more than volume.",
              font=font(13), fill=MUTED, anchor="lm")  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


__all__ = ["WIDTH", "card_size", "font", "printable", "render_card", "row_top", "team_row_top"]
