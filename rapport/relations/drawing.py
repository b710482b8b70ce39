"""The member's relationship map drawn with Pillow as PNG bytes (no Discord here).

The member sits in the middle; each person they have a tie with sits on one of three rings,
the strongest on the inner ring (4), then 8, then 12, so the distance says how close the tie
is and no two names collide. A line joins the member to each person, thicker for a stronger
tie; a drifting tie is a dashed amber line to an amber node. Only the member's own ties are
drawn: lines between their contacts would tell them about other people's relationships.

The layout is polar coordinates of the rings, strongest first from the top, clockwise, so
the same data always draws the same picture. It is drawn at twice the size and scaled down,
for smooth lines and circles. The colours and fonts are the leaderboard card's (dark
background, light text, DejaVu Sans with Noto Sans CJK JP for Japanese), so names in any
script stay legible, and its words come from the catalogs in the member's language.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

from PIL import Image, ImageDraw

from rapport.i18n import ENGLISH, N_, Translation
from rapport.leaderboard.card import BG, GOLD, MUTED, TEXT
from rapport.leaderboard.fonts import Font, fit, font_for, printable
from rapport.relations.closeup import EgoMap, Tie

SIZE = 880
"""Width of the map in pixels (the height adds the title and the legend)."""
RINGS = (4, 8, 12)
TOP, BOTTOM = 96, 76
TIE = (92, 200, 196)
DRIFT = (240, 160, 64)
NAME_SIZE = 17
_S = 2  # drawn at twice the size, then scaled down (anti-aliasing)


def _rings(ties: tuple[Tie, ...]) -> list[tuple[Tie, int, int, int]]:
    """(tie, ring, place on the ring, people on the ring), strongest on the inner ring."""
    out = []
    start = 0
    for ring, size in enumerate(RINGS):
        chunk = ties[start : start + size]
        out += [(tie, ring, i, len(chunk)) for i, tie in enumerate(chunk)]
        start += size
    return out


def _clear(angle: float, inside: list[tuple[float, float]]) -> float:
    """How far (pixels) a line from the middle at `angle` passes from the nodes inside it."""
    return min(
        (r * math.sin(min(abs((angle - a + math.pi) % (2 * math.pi) - math.pi), 1.5))
         for a, r in inside),
        default=math.inf,
    )  # fmt: skip


def _spread(inside: list[tuple[float, float]], n: int) -> list[float]:
    """Angles of n places turned so their lines keep farthest from the nodes inside.

    A line from the middle that passes right by an inner node would read as a tie of that
    person. 64 candidate turns per step; the first best one wins.
    """
    step = 2 * math.pi / n
    turn = max(
        (step * j / 64 for j in range(64)),
        key=lambda t: min(_clear(t + k * step, inside) for k in range(n)),
    )
    return [turn + k * step for k in range(n)]


def _angles(inside: list[tuple[float, float]], n: int, slots: int) -> list[float]:
    """Angles (clockwise from the top) of the n people of a ring that holds up to `slots`.

    A ring that isn't full may sit better on the full ring's places, leaving the worst empty:
    whichever keeps its lines clearer of the inner nodes (evenly spread when equal).
    """
    even = _spread(inside, n)
    if not inside or n == slots:
        return even
    grid = sorted(_spread(inside, slots), key=lambda a: -_clear(a, inside))[:n]
    if min(_clear(a, inside) for a in grid) <= min(_clear(a, inside) for a in even):
        return even
    return sorted(a % (2 * math.pi) for a in grid)


def positions(ties: tuple[Tie, ...], size: int = SIZE) -> dict[int, tuple[float, float]]:
    """Where each person's node sits (pixels, centre of the map at size/2, size/2 + TOP)."""
    cx, cy = size / 2, TOP + size / 2
    placed = _rings(ties)
    used = max((ring for _, ring, _, _ in placed), default=0) + 1
    radius = (size / 2 - 80) / used  # fewer people: wider rings, never a small knot
    out = {}
    inside: list[tuple[float, float]] = []  # (angle, radius) of the rings already placed
    angles: list[float] = []
    for tie, ring, i, n in placed:
        r = radius * (ring + 1)
        if i == 0:
            angles = _angles(inside, n, RINGS[ring])
            inside += [(a, r) for a in angles]
        # Strongest first, clockwise from the top (y grows downwards).
        x, y = math.cos(angles[i] - math.pi / 2), math.sin(angles[i] - math.pi / 2)
        out[tie.other_id] = (cx + r * x, cy + r * y)
    return out


def _fit(text: str, size: int, width: float) -> tuple[str, Font]:
    """The text as drawable, shortened with an ellipsis to `width` pixels, and its font."""
    shown = fit(text, size, width)
    return shown, font_for(shown, size)


def _dashed(
    draw: ImageDraw.ImageDraw,
    a: tuple[float, float],
    b: tuple[float, float],
    fill: tuple[int, int, int],
    width: int,
) -> None:
    """A dashed line from a to b."""
    length = math.dist(a, b)
    dash, gap = 14 * _S, 10 * _S
    dx, dy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    at = 0.0
    while at < length:
        end = min(at + dash, length)
        draw.line(
            [(a[0] + dx * at, a[1] + dy * at), (a[0] + dx * end, a[1] + dy * end)],
            fill=fill,
            width=width,
        )
        at = end + gap


def _label(
    draw: ImageDraw.ImageDraw,
    centre: tuple[float, float],
    text: str,
    size: int,
    colour: tuple[int, int, int],
) -> None:
    """A name on a dark pill, so a line passing behind it never hides a letter."""
    shown, f = _fit(text, size * _S, 150 * _S)
    left, top, right, bottom = draw.textbbox(centre, shown, font=f, anchor="mm")
    pad = 5 * _S
    draw.rounded_rectangle(
        (left - pad, top - pad, right + pad, bottom + pad), radius=8 * _S, fill=BG
    )
    draw.text(centre, shown, font=f, fill=colour, anchor="mm")


def render_map(
    data: EgoMap,
    names: Mapping[int, str],
    *,
    title: str,
    you: str | None = None,
    t: Translation = ENGLISH,
) -> bytes:
    """The member's map as PNG bytes: `names` by member id, `title` above it."""
    width, height = SIZE * _S, (TOP + SIZE + BOTTOM) * _S
    image = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(image)
    where = {k: (x * _S, y * _S) for k, (x, y) in positions(data.ties).items()}
    centre = (width / 2, (TOP + SIZE / 2) * _S)
    strongest = max((tie.weight for tie in data.ties), default=1.0) or 1.0
    # Lines first (weakest first, so strong lines lie on top), then nodes, then names.
    for tie in sorted(data.ties, key=lambda x: x.weight):
        line = round((1.5 + 8 * math.sqrt(tie.weight / strongest)) * _S)
        if tie.drifting:
            _dashed(draw, centre, where[tie.other_id], DRIFT, max(line, 3 * _S))
        else:
            draw.line([centre, where[tie.other_id]], fill=TIE, width=line)
    for tie in data.ties:
        x, y = where[tie.other_id]
        r = 11 * _S
        draw.ellipse(
            (x - r, y - r, x + r, y + r),
            fill=DRIFT if tie.drifting else TIE,
            outline=BG,
            width=3 * _S,
        )
    r = 30 * _S
    draw.ellipse(
        (centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r),
        fill=GOLD,
        outline=BG,
        width=3 * _S,
    )
    for tie in data.ties:
        x, y = where[tie.other_id]
        name = names.get(tie.other_id) or t.gettext(N_("member {id}"), id=tie.other_id)
        _label(draw, (x, y + 27 * _S), name, NAME_SIZE, DRIFT if tie.drifting else TEXT)
    _label(draw, (centre[0], centre[1] + 48 * _S), you or t.gettext(N_("You")), NAME_SIZE + 2, GOLD)
    _texts(draw, data, title, width, height, t)
    image = image.resize((width // _S, height // _S), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _texts(
    draw: ImageDraw.ImageDraw, data: EgoMap, title: str, width: int, height: int, t: Translation
) -> None:
    """The title, what the map shows, and the legend."""
    pad = 28 * _S
    shown, f = _fit(title, 26 * _S, width - 2 * pad)
    draw.text((pad, 24 * _S), shown, font=f, fill=TEXT)
    if not data.ties:
        sub = t.gettext(
            N_("No ties yet — reply to, mention or thank someone and they appear here.")
        )
    else:
        sub = t.ngettext(
            "Your {n} strongest tie, closest in the middle.",
            "Your {n} strongest ties, closest in the middle.",
            len(data.ties),
        )
        if data.total > len(data.ties):
            sub += " " + t.ngettext("({n} person in all.)", "({n} people in all.)", data.total)
    shown, f = _fit(sub, 15 * _S, width - 2 * pad)
    draw.text((pad, 62 * _S), shown, font=f, fill=MUTED)
    y = height - 42 * _S
    x: float = pad
    draw.line([(x, y), (x + 46 * _S, y)], fill=TIE, width=8 * _S)
    x += 58 * _S
    text = printable(t.gettext(N_("thicker line: a stronger tie")), 15 * _S)
    f = font_for(text, 15 * _S)
    draw.text((x, y), text, font=f, fill=MUTED, anchor="lm")
    x += f.getlength(text) + 36 * _S
    _dashed(draw, (x, y), (x + 46 * _S, y), DRIFT, 4 * _S)
    x += 58 * _S
    text = printable(t.gettext(N_("dashed amber: drifting apart")), 15 * _S)
    draw.text((x, y), text, font=font_for(text, 15 * _S), fill=MUTED, anchor="lm")


__all__ = ["RINGS", "positions", "render_map"]
