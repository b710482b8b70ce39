"""The core's Roles port: who holds a server's roles, from discord.py's member cache.

Role holders are known only for members in the cache (the Server Members intent fills it);
a member the cache lacks holds no role as far as Rapport can tell, so an enrollment role
never enrolls someone it can't see, and a staff role hides only the members it knows.
"""

from __future__ import annotations

from collections.abc import Collection

from discord.ext import commands


class DiscordRoles:
    """Answers `rapport.people.Roles` from the bot's guild cache."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

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
        return out

    def holds(self, guild_id: int, member_id: int, role_id: int) -> bool:
        """Whether the cached member holds the role."""
        guild = self.bot.get_guild(guild_id)
        member = guild.get_member(member_id) if guild is not None else None
        return member is not None and member.get_role(role_id) is not None
