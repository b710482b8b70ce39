"""The card's lettering: which font draws a text, and what to draw when none can.

DejaVu Sans when the machine has it (most Linux images; wide Latin, Greek, Cyrillic and Arabic
coverage, shaped right to left by Pillow's raqm layout), otherwise the font Pillow ships
(`ImageFont.load_default(size=...)`, ASCII only), so a card renders anywhere. Text the first font
can't draw (Japanese, Chinese, Korean) is drawn with Noto Sans CJK JP, which the
`noto-cjk-sans-jp-regular` package in requirements.txt installs. Emoji, which no installed font
draws, are left out ("Ana 🌸" reads "Ana"); other characters no font has are drawn as their base
letter ("ö" -> "o") or "?", never as empty boxes.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from PIL import ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


_PREFERRED = "DejaVuSans.ttf"
_PREFERRED_BOLD = "DejaVuSans-Bold.ttf"
_SPELLED = {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D",
            "đ": "d", "Œ": "OE", "œ": "oe", "–": "-", "—": "-", "’": "'", "“": '"', "”": '"'}  # fmt: skip
#: Symbols, modifiers, joiners and variation selectors: what emoji are made of.
_EMOJI_PARTS = frozenset({"So", "Sk", "Cf", "Mn", "Me"})


def font(size: int, *, bold: bool = False) -> Font:
    """The card's font at a size: DejaVu Sans (bold) if installed, else Pillow's own (cached)."""
    return _font(size, bold)


@cache
def _font(size: int, bold: bool) -> Font:
    try:
        return ImageFont.truetype(_PREFERRED_BOLD if bold else _PREFERRED, size)
    except OSError:
        return _font(size, False) if bold else ImageFont.load_default(size=size)


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


def _needs_cjk(text: str, size: int) -> bool:
    """Whether the CJK font draws the text: the main one lacks a glyph only it has."""
    missing = [ch for ch in text if not _has_glyph(size, ch)]
    return bool(missing) and any(_cjk_has_glyph(size, ch) for ch in missing)


def font_for(text: str, size: int, *, bold: bool = False) -> Font:
    """The font that draws the text: the main one, or the CJK one when only it has the glyphs."""
    cjk = cjk_font(size) if _needs_cjk(text, size) else None
    return cjk if cjk is not None else font(size, bold=bold)


def _emoji_part(ch: str) -> bool:
    return unicodedata.category(ch) in _EMOJI_PARTS


#: Joiners and variation selectors: fonts may "draw" them (as nothing), but they only glue emoji.
_GLUE = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def _tidy(drawn: str, original: str) -> str:
    """Spaces left by emoji removed; "?" when nothing drawable was left of a real name."""
    if len(drawn) != len(original):
        drawn = " ".join(drawn.split())
    return drawn or ("?" if original.strip() else original)


def printable(text: str, size: int = 18) -> str:
    """The text as the card draws it: emoji left out, unknown characters as base letters or "?"."""
    if _needs_cjk(text, size):
        kept = "".join(
            ch if _cjk_has_glyph(size, ch) else "?"
            for ch in text
            if ch not in _GLUE and (_cjk_has_glyph(size, ch) or not _emoji_part(ch))
        )
        return _tidy(kept, text)
    out = []
    for ch in text:
        if ch in _GLUE:
            continue
        if _has_glyph(size, ch):
            out.append(ch)
            continue
        if _emoji_part(ch):
            continue
        plain = _SPELLED.get(ch) or "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        )
        out.append(plain if plain and all(_has_glyph(size, c) for c in plain) else "?")
    return _tidy("".join(out), text)


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    text: str,
    size: int,
    *,
    bold: bool = False,
    **kwargs: object,
) -> None:
    """Draw text in the font that has its glyphs (what it can't draw replaced first).

    Text in the CJK font sits on the main font's baseline (its own middle is lower), and is
    thickened by a stroke when bold is asked for (it has no bold face).
    """
    shown = printable(text, size)
    chosen = font_for(shown, size, bold=bold)
    main = font(size, bold=bold)
    anchor = str(kwargs.get("anchor", "la"))
    if chosen is not main and anchor.endswith("m") and isinstance(main, ImageFont.FreeTypeFont):
        ascent, descent = main.getmetrics()
        xy = (xy[0], round(xy[1] + (ascent - descent) / 2))
        kwargs["anchor"] = anchor[0] + "s"
    if chosen is not main and bold:
        kwargs.setdefault("stroke_width", max(size // 26, 1) * 0.6)
        kwargs.setdefault("stroke_fill", kwargs.get("fill"))
    draw.text(xy, shown, font=chosen, **kwargs)  # type: ignore[arg-type]


def text_width(text: str, size: int, *, bold: bool = False) -> float:
    """How wide the text is drawn, in pixels."""
    shown = printable(text, size)
    return font_for(shown, size, bold=bold).getlength(shown)


def fit(text: str, size: int, width: float, *, bold: bool = False) -> str:
    """The text as drawable, shortened with an ellipsis until it fits `width` pixels."""
    text = printable(text, size)
    f = font_for(text, size, bold=bold)
    if f.getlength(text) <= width:
        return text
    while text and f.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


__all__ = [
    "Font",
    "cjk_font",
    "cjk_font_path",
    "draw_text",
    "fit",
    "font",
    "font_for",
    "printable",
    "text_width",
]
