"""The scope option /rapport forget and /rapport export share: this server, or every server.

A DM has no "here": there everywhere is the only scope, and asking for "here" is explained.
"""

from __future__ import annotations

import discord
from discord import app_commands

from rapport.errors import UserFacingError
from rapport.i18n import Translation

HERE, EVERYWHERE = "here", "everywhere"
SCOPES = [
    app_commands.Choice(name="here", value=HERE),
    app_commands.Choice(name="everywhere", value=EVERYWHERE),
]


def everywhere(
    interaction: discord.Interaction, scope: str | None, no_here: str, t: Translation, **names: str
) -> bool:
    """Whether the command covers every server: asked for, or run in a DM. "here" in a DM is
    refused with `no_here`, whose {everywhere} is the option as the member would type it."""
    if interaction.guild_id is None and scope == HERE:
        option = f"`{t.pgettext('option name', 'scope')}:{t.pgettext('choice', EVERYWHERE)}`"
        raise UserFacingError(no_here, everywhere=option, **names)
    return interaction.guild_id is None or scope == EVERYWHERE
