"""The leaderboard card: the standings drawn with Pillow as PNG bytes (no Discord here).

The card is opaque with its own dark background and light text (contrast above 12:1), so it
reads the same in Discord's dark and light themes. It uses DejaVu Sans when the machine has it
(most Linux images; wide Latin, Greek and Cyrillic coverage) and otherwise the font Pillow
ships (`ImageFont.load_default(size=...)`, ASCII only), so it renders anywhere. Text the first
font can't draw (Japanese, Chinese, Korean) is drawn with Noto Sans CJK JP, which the
`noto-cjk-sans-jp-regular` package in requirements.txt installs. Characters no font has are
drawn as their base letter ("ö" -> "o") or "?", never as empty boxes; movement arrows are
drawn as shapes. Its words come from the catalogs, in the server's language.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from rapport.i18n import ENGLISH, N_, Translation
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


def cjk_font_path() -> str | None:
    """Where the Japanese-capable font is, when its package is installed."""
    try:
        from noto_cjk_sans_jp_regular import FONT_PATH
    except ImportError:
        return None
    return str(FONT_PATH)


@cache
def cjk_font(size: int) -> Font | None:
    """Noto Sans CJK JP at a size (None without the font package)."""
    path = cjk_font_path()
    if path is None:
        return None
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return None


def _draws(f: Font, ch: str) -> bool:
    missing = f.getmask("\ue000")
    mask = f.getmask(ch)
    return ch.isspace() or (mask.size, bytes(mask)) != (missing.size, bytes(missing))


@cache
def _has_glyph(size: int, ch: str) -> bool:
    """Whether the main font draws `ch` as itself rather than its missing-glyph box."""
    return _draws(font(size), ch)


@cache
def _cjk_has_glyph(size: int, ch: str) -> bool:
    f = cjk_font(size)
    return f is not None and _draws(f, ch)


def font_for(text: str, size: int) -> Font:
    """The font that draws the text: the main one, or the CJK one when only it has the glyphs."""
    main = font(size)
    if all(_has_glyph(size, ch) for ch in text):
        return main
    cjk = cjk_font(size)
    if cjk is not None and any(_cjk_has_glyph(size, ch) for ch in text):
        return cjk
    return main


def printable(text: str, size: int = 18) -> str:
    """The text as the card draws it: unknown characters as base letters, else "?"."""
    if font_for(text, size) is not font(size):
        return "".join(ch if _cjk_has_glyph(size, ch) else "?" for ch in text)
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


def _text(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, **kwargs: object
) -> None:
    """Draw text in the font that has its glyphs (what it can't draw replaced first)."""
    shown = printable(text, size)
    draw.text(xy, shown, font=font_for(shown, size), **kwargs)  # type: ignore[arg-type]


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
    text = printable(text, size)
    f = font_for(text, size)
    if f.getlength(text) <= width:
        return text
    while text and f.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _movement(
    draw: ImageDraw.ImageDraw, x: int, y: int, move: str, t: Translation = ENGLISH
) -> None:
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
    elif move == "new":
        _text(draw, (x, mid), t.gettext(N_("new")), 15, fill=GOLD, anchor="lm")
    elif move:
        draw.text((x, mid), move, font=small, fill=MUTED, anchor="lm")


def render_card(
    board: Board,
    names: Mapping[int, str],
    *,
    top: int = 10,
    title: str | None = None,
    t: Translation = ENGLISH,
) -> bytes:
    """The standings (top members with movement, then teams) as PNG bytes."""
    shown = board.top(top)
    size = card_size(len(shown), len(board.teams))
    image = Image.new("RGB", size, BG)
    draw = ImageDraw.Draw(image)
    _text(draw, (PAD, 22), title or t.gettext(N_("Rapport leaderboard")), 26, fill=TEXT)
    _text(draw, (PAD, 56), period_label(board.period, t), 15, fill=MUTED)
    score_font = font(17)
    has_prev = board.previous is not None
    if not shown:
        _text(draw, (PAD, row_top(0) + ROW // 2), t.gettext(N_("Nobody has a score yet.")),
              NAME_SIZE, fill=MUTED, anchor="lm")  # fmt: skip
    for i, s in enumerate(shown):
        y = row_top(i)
        if i % 2 == 0:
            draw.rectangle((0, y, WIDTH, y + ROW - 1), fill=ZEBRA)
        mid = y + ROW // 2
        draw.text((PAD, mid), f"{s.rank}.", font=score_font,
                  fill=GOLD if s.rank <= 3 else MUTED, anchor="lm")  # fmt: skip
        name = names.get(s.member_id, t.gettext(N_("member {id}"), id=s.member_id))
        text = _fit(name, NAME_SIZE, _SCORE_RIGHT - _NAME_X - 70)
        _text(draw, (_NAME_X, mid), text, NAME_SIZE, fill=TEXT, anchor="lm")
        draw.text((_SCORE_RIGHT, mid), t.number(s.score, 1), font=score_font, fill=TEXT,
                  anchor="rm")  # fmt: skip
        _movement(draw, _MOVE_X, y, s.movement(has_prev), t)
    if board.teams:
        head = team_row_top(len(shown), 0) - SECTION
        _text(draw, (PAD, head + 26), t.gettext(N_("Teams · mean score · taking part")), 16,
              fill=MUTED, anchor="lm")  # fmt: skip
        for i, team in enumerate(board.teams):
            y = team_row_top(len(shown), i)
            if i % 2 == 0:
                draw.rectangle((0, y, WIDTH, y + ROW - 1), fill=ZEBRA)
            mid = y + ROW // 2
            draw.text((PAD, mid), f"{team.rank}.", font=score_font, fill=MUTED, anchor="lm")
            text = _fit(team.name, NAME_SIZE, _SCORE_RIGHT - _NAME_X - 70)
            _text(draw, (_NAME_X, mid), text, NAME_SIZE, fill=TEXT, anchor="lm")
            draw.text((_SCORE_RIGHT, mid), t.number(team.score, 1), font=score_font, fill=TEXT,
                      anchor="rm")  # fmt: skip
            _text(draw, (_MOVE_X, mid), t.percent(team.participation), 15, fill=MUTED,
                  anchor="lm")  # fmt: skip
    _text(draw, (PAD, size[1] - FOOTER // 2),
          t.gettext(N_("Breadth and answering count more than volume.")), 13, fill=MUTED,
          anchor="lm")  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


__all__ = ["WIDTH", "card_size", "font", "printable", "render_card", "row_top", "team_row_top"]
