"""/rapport help: every command as a clickable mention, and what Rapport stores.

Mentions need the synced commands' ids, asked of Discord once (a sync keeps the ids of
unchanged names); without them help shows plain names.
"""

from __future__ import annotations

import logging

import discord

from cogs import _embeds as render
from cogs._respond import reply_private
from rapport.i18n import Translation

log = logging.getLogger(__name__)


class Help:
    """The help answer, with the synced command ids it fetched the first time."""

    def __init__(self, tree: discord.app_commands.CommandTree[discord.Client]) -> None:
        self.tree = tree
        self._command_ids: dict[str, int] = {}

    async def send(self, interaction: discord.Interaction, t: Translation) -> None:
        """Answer /rapport help privately (what an admin sees includes the admin commands)."""
        if "rapport" not in self._command_ids:
            # The first help asks Discord for the command ids: answer "thinking" first.
            await interaction.response.defer(ephemeral=True, thinking=True)
        ids = await self._mention_ids(interaction.guild)
        admin = bool(interaction.permissions.manage_guild)
        available = {c.qualified_name for c in self.tree.walk_commands()}
        for kind in (discord.AppCommandType.user, discord.AppCommandType.message):
            available.update(c.name for c in self.tree.walk_commands(type=kind))
        embed = render.help_embed(ids, available, admin=admin, t=t)
        await reply_private(interaction, embed=embed)

    async def _mention_ids(self, guild: discord.Guild | None) -> dict[str, int]:
        """Synced command ids by name, fetched once (a sync keeps the ids of unchanged names)."""
        if "rapport" not in self._command_ids:
            try:
                synced = await self.tree.fetch_commands()
                if not any(c.name == "rapport" for c in synced) and guild is not None:
                    synced = await self.tree.fetch_commands(guild=guild)
            except discord.HTTPException:
                log.warning("could not fetch the synced commands; /rapport help shows plain names")
                return {}
            self._command_ids = {
                c.name: c.id for c in synced if c.type is discord.AppCommandType.chat_input
            }
        return self._command_ids
