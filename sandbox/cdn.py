"""Discord's CDN, as far as a bot reads it: avatars, server icons and default avatars.

discord.py builds picture URLs from `Asset.BASE` (app.py points it here, as it points REST):
`/avatars/{user_id}/{hash}.png?size=64`, `/guilds/{guild_id}/users/{user_id}/avatars/...`,
`/icons/{guild_id}/{hash}.png`, `/embed/avatars/{index}.png`. Like Discord's, the answer is the
picture in the format the extension names (png, jpg, webp, gif) at the size asked (a power of two,
16 to 4096; drawn at 1024 at most here, to stay quick), 400 for another size, 404 for an id or a
hash that isn't current (a changed avatar's old URL). Pictures are identicons drawn from the
owner and the hash with Pillow: the same URL always gives the same bytes.

Faults: `Emulator.cdn_error(status, times)` answers the next requests with that status, and
`Emulator.cdn_delay` holds every answer (a slow CDN). Every request is kept in
`Emulator.cdn_requests`, so a test can count downloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
#: Discord's default avatars: blurple, grey, green, yellow, red, pink.
DEFAULT_COLORS = ((88, 101, 242), (117, 126, 138), (59, 165, 93), (250, 166, 26), (237, 66, 69), (235, 69, 158))  # fmt: skip
_LARGEST_DRAWN = 1024


def picture_hash(kind: str, owner_id: int, version: int = 0) -> str:
    """A picture hash as Discord writes them (32 hex digits), the same for the same inputs."""
    return hashlib.md5(f"{kind}:{owner_id}:{version}".encode(), usedforsecurity=False).hexdigest()


def identicon(seed: str, size: int) -> Image.Image:
    """A symmetric 5x5 pattern in one colour on a light ground, drawn from the seed."""
    digest = hashlib.sha256(seed.encode()).digest()
    color = (40 + digest[0] % 176, 40 + digest[1] % 176, 40 + digest[2] % 176)
    grid = Image.new("RGB", (5, 5), (240, 240, 240))
    for row in range(5):
        for col in range(3):
            if digest[3 + row * 3 + col] % 2:
                grid.putpixel((col, row), color)
                grid.putpixel((4 - col, row), color)
    inner = max(size * 5 // 6 // 5 * 5, 5)
    out = Image.new("RGB", (size, size), (240, 240, 240))
    out.paste(grid.resize((inner, inner), Image.Resampling.NEAREST), ((size - inner) // 2,) * 2)
    return out


def default_avatar(index: int, size: int) -> Image.Image:
    """Discord's default avatar look: a white disc on one of six colours."""
    out = Image.new("RGB", (size, size), DEFAULT_COLORS[index % len(DEFAULT_COLORS)])
    ImageDraw.Draw(out).ellipse((size // 4, size // 4, size * 3 // 4, size * 3 // 4), fill="white")
    return out


def encode(image: Image.Image, extension: str) -> bytes:
    """The picture in the format an extension names."""
    out = io.BytesIO()
    image.save(out, format=FORMATS[extension])
    return out.getvalue()


def _size(request: web.Request) -> int:
    raw = request.query.get("size", "1024")
    size = int(raw) if raw.isdigit() else 0
    if size < 16 or size > 4096 or size & (size - 1):
        raise web.HTTPBadRequest(text="invalid size")
    return min(size, _LARGEST_DRAWN)


def _split(name: str) -> tuple[str, str]:
    stem, _, extension = name.rpartition(".")
    if extension not in FORMATS or not stem:
        raise web.HTTPNotFound()
    return stem, extension


def _picture(emulator: Emulator, path: str, size: int) -> tuple[Image.Image, str] | None:
    """The picture a CDN path names at `size`, or None (an old hash, nobody by that id)."""
    kind, *parts = path.strip("/").split("/")
    if kind == "guilds" and len(parts) == 5 and parts[1] == "users" and parts[3] == "avatars":
        kind, parts = "avatars", [parts[2], parts[4]]  # a server avatar: served as the user's
    if len(parts) != 2:
        return None
    stem, extension = _split(parts[1])
    if kind == "embed" and parts[0] == "avatars":
        return (default_avatar(int(stem), size), extension) if stem.isdigit() else None
    owner = int(parts[0]) if parts[0].isdigit() else 0
    if kind == "avatars":
        user = emulator.users.get(owner)
        current = None if user is None else user.avatar
    elif kind == "icons":
        guild = emulator.guild_by_id(owner)
        current = None if guild is None else guild.icon
    else:
        return None
    if current is None or current != stem:
        return None
    return identicon(f"{kind}:{owner}:{stem}", size), extension


def handler(emulator: Emulator) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The CDN's one handler (server.build_app registers it for the PREFIXES)."""

    async def cdn(request: web.Request) -> web.StreamResponse:
        emulator.cdn_requests.append(request.path_qs)
        if emulator.cdn_delay:
            await asyncio.sleep(emulator.cdn_delay)
        failing = emulator.cdn_errors
        if failing[1] > 0:
            failing[1] -= 1
            return web.Response(status=failing[0], text=f"{failing[0]}: CDN fault")
        found = _picture(emulator, request.path, _size(request))
        if found is None:
            raise web.HTTPNotFound()
        image, extension = found
        return web.Response(
            body=encode(image, extension), content_type=f"image/{FORMATS[extension].lower()}"
        )

    return cdn


PREFIXES = ("/avatars/", "/icons/", "/embed/avatars/", "/guilds/")

__all__ = ["PREFIXES", "default_avatar", "handler", "identicon", "picture_hash"]
