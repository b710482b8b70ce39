"""Avatars and the server's icon for the leaderboard card, read through discord.py's asset API.

Kept by URL in a bounded LRU: the URL holds the picture's hash, which changes when a member
changes their avatar, so a kept picture is never stale and the weekly post downloads only what
changed. A picture that can't be had (no avatar, 404, 5xx, a timeout) is left out and the card
draws initials: the board is never held up by an avatar. A 404 is remembered (that URL will not
come back); a 5xx or a timeout is tried again next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable

import aiohttp
import discord

log = logging.getLogger(__name__)

#: Pixels asked of the CDN (powers of two): a little over twice what the card draws.
AVATAR_SIZE = 64
ICON_SIZE = 128
_GONE = b""


class Avatars:
    """Pictures by URL, at most `limit` kept, each read within `timeout` seconds."""

    def __init__(self, *, limit: int = 2048, timeout: float = 5.0, parallel: int = 8) -> None:
        self.limit = limit
        self.timeout = timeout
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._parallel = asyncio.Semaphore(parallel)

    def __len__(self) -> int:
        return len(self._kept)

    async def read(self, asset: discord.Asset | None, size: int) -> bytes | None:
        """The picture as PNG bytes at `size`, from the cache or the CDN; None if it can't be had."""
        if asset is None:
            return None
        asset = asset.replace(size=size, format="png")
        url = asset.url
        if (kept := self._kept.get(url)) is not None:
            self._kept.move_to_end(url)
            return kept or None
        try:
            async with self._parallel, asyncio.timeout(self.timeout):
                data = await asset.read()
        except discord.NotFound:
            data = _GONE
        except (discord.DiscordException, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("could not read %s for the leaderboard card: %r", url, exc)
            return None
        self._kept[url] = data
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return data or None

    async def for_card(
        self, guild: discord.Guild, members: Iterable[discord.Member | discord.User]
    ) -> tuple[bytes | None, dict[int, bytes]]:
        """The server's icon and each member's avatar (read together); those missing left out.

        A member without an avatar of their own gets initials rather than Discord's default
        picture, which looks the same for everyone.
        """
        people = list(members)
        found = await asyncio.gather(
            self.read(guild.icon, ICON_SIZE),
            *(self.read(_own_avatar(m), AVATAR_SIZE) for m in people),
        )
        icon, avatars = found[0], found[1:]
        return icon, {m.id: data for m, data in zip(people, avatars, strict=True) if data}


def _own_avatar(member: discord.Member | discord.User) -> discord.Asset | None:
    """The avatar the member chose (their server one first), None when they chose none."""
    if isinstance(member, discord.Member) and member.guild_avatar is not None:
        return member.guild_avatar
    return member.avatar


__all__ = ["AVATAR_SIZE", "ICON_SIZE", "Avatars"]
