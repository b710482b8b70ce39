"""The card's small pictures: avatars and server icons from image bytes, or initials on a disc.

The bytes come from whoever draws the card (the cog reads them through discord.py's asset API);
anything Pillow can't open, or a picture too big to be an avatar, is drawn as initials instead,
so a broken download never breaks the card. Shapes are drawn at four times the size and scaled
down, which gives smooth edges without an antialiasing library.
"""

from __future__ import annotations

import io
import logging
import warnings
from functools import cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Color = tuple[int, int, int]

#: Disc colours for initials, picked by a stable key (a member id): white text reads on each.
PALETTE: tuple[Color, ...] = (
    (92, 107, 192),
    (0, 137, 123),
    (216, 67, 21),
    (123, 31, 162),
    (25, 118, 210),
    (194, 24, 91),
    (85, 139, 47),
    (109, 76, 65),
)
_LARGEST = 4096 * 4096  # Discord serves avatars and icons at 4096 px at most
SUPERSAMPLE = 4


def color_for(key: int) -> Color:
    """The disc colour for a key: the same member always gets the same colour."""
    return PALETTE[key % len(PALETTE)]


def initials(name: str) -> str:
    """One or two letters for a name: "Bob Marley" -> "BM", "さくら" -> "さ", "" -> "?".

    Two letters only for scripts with capitals (Latin, Greek, Cyrillic): elsewhere a second
    letter after the first word's reads as a different name.
    """
    words = [w for w in name.split() if any(ch.isalnum() for ch in w)]
    if not words:
        return "?"
    letters = [next(ch for ch in w if ch.isalnum()) for w in words]
    first = letters[0].upper()
    cased = first != letters[0].lower()
    if len(letters) > 1 and cased and letters[-1].upper() != letters[-1].lower():
        return first + letters[-1].upper()
    return first


@cache
def mask(size: int, radius: int | None = None) -> Image.Image:
    """An antialiased mask: a circle, or a square with rounded corners of `radius`."""
    big = size * SUPERSAMPLE
    out = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(out)
    if radius is None:
        draw.ellipse((0, 0, big - 1, big - 1), fill=255)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius * SUPERSAMPLE, fill=255)
    return out.resize((size, size), Image.Resampling.LANCZOS)


def picture(data: bytes | None, size: int, *, radius: int | None = None) -> Image.Image | None:
    """The image in `data` cropped square, scaled to `size` and shaped; None if unusable."""
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            if opened.width * opened.height > _LARGEST:
                raise ValueError(f"{opened.width}x{opened.height} is no avatar")
            opened.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a fraction
            image = opened.convert("RGBA")
    except (
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        log.info("an avatar or icon could not be read (%s): initials instead", exc)
        return None
    image = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    shape = mask(size, radius)
    alpha = image.getchannel("A")
    image.putalpha(Image.composite(alpha, Image.new("L", (size, size), 0), shape))
    return image


def disc(
    text: str, font: Font, size: int, color: Color, *, radius: int | None = None
) -> Image.Image:
    """Initials in white on a coloured circle (or rounded square), `size` pixels wide.

    `font` is the initials' font at SUPERSAMPLE times the size they appear: the disc is drawn
    large and scaled down, so small letters come out smooth rather than hinted to the pixel.
    """
    big = size * SUPERSAMPLE
    out = Image.new("RGBA", (big, big), (*color, 255))
    draw = ImageDraw.Draw(out)
    draw.text((big / 2, big / 2), text, font=font, fill=(255, 255, 255, 255), anchor="mm")
    out = out.resize((size, size), Image.Resampling.LANCZOS)
    out.putalpha(mask(size, radius))
    return out


__all__ = ["PALETTE", "SUPERSAMPLE", "color_for", "disc", "initials", "mask", "picture"]
