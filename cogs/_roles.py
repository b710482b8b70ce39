"""The core's Roles port: who holds a server's roles, from discord.py's member cache.

Role holders are known for members in the cache (the Server Members intent fills it). Without
that intent Discord still sends a member's roles with each of their messages and commands, so
the roles of members seen that way are remembered (until they speak or act again); a member
neither cached nor seen holds no role as far as Rapport can tell, so an enrollment role never
enrolls someone it can't see, and a staff role hides only the members it knows.
"""

from __future__ import annotations

from collections.abc import Collection

import discord
from discord.ext import commands

#: Members whose roles are remembered from their messages and commands, at most (oldest go).
SEEN_LIMIT = 100_000


class DiscordRoles:
    """Answers `rapport.people.Roles` from the bot's guild cache and the members it has seen."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._seen: dict[tuple[int, int], frozenset[int]] = {}
        add = getattr(bot, "add_sync_listener", None)
        if add is not None and not bot.intents.members:
            # Inline, so a command's own roles are known before its handler runs.
            add("message", lambda message: self.remember(message.author))
            add("interaction", lambda interaction: self.remember(interaction.user))

    def remember(self, member: discord.abc.User) -> None:
        """Keep the roles Discord sent with a member (their message or command)."""
        if not isinstance(member, discord.Member) or member.bot:
            return
        key = (member.guild.id, member.id)
        self._seen.pop(key, None)
        if len(self._seen) >= SEEN_LIMIT:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = frozenset(role.id for role in member.roles)

    def holders(self, guild_id: int, role_ids: Collection[int]) -> set[int]:
        """Members holding any of these roles, bots aside."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return set()
        out: set[int] = set()
        for role_id in role_ids:
            role = guild.get_role(role_id)
            if role is not None:
                out.update(m.id for m in role.members if not m.bot)
        wanted = set(role_ids)
        out.update(m for (g, m), roles in self._seen.items() if g == guild_id and roles & wanted)
        return out

    def holds(self, guild_id: int, member_id: int, role_id: int) -> bool:
        """Whether the member holds the role (cached, or as last seen)."""
        guild = self.bot.get_guild(guild_id)
        member = guild.get_member(member_id) if guild is not None else None
        if member is not None:
            return member.get_role(role_id) is not None
        return role_id in self._seen.get((guild_id, member_id), ())
