"""/rapport export: the member's own data as a JSON file, from this server or every server.

`scope:everywhere` (the only scope a DM has) puts each server's export apart in one file; the
gathering is the core's (rapport/people/privacy.py). Only the asking member's data is in it.
"""

from __future__ import annotations

import io
import json
from typing import Any

import discord

from cogs._forget import EVERYWHERE, HERE
from cogs._l10n import command
from cogs._respond import reply_private
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.people import Privacy

EXPORTED_HERE = N_(
    "Everything Rapport holds about you in this server (ids, times and counts — never message text)."
)
EXPORTED_EVERYWHERE = N_(
    "Everything Rapport holds about you in every server that runs it, each server apart (ids, "
    "times and counts — never message text)."
)
EXPORTED_ELSEWHERE = N_(
    "Some servers are served by another Rapport process: run {export} in each of them for "
    "what it holds there."
)


async def send_export(
    interaction: discord.Interaction, privacy: Privacy, scope: str | None, t: Translation
) -> None:
    """Gather the member's data (here, or everywhere; in a DM: everywhere) and send the file."""
    member_id = interaction.user.id
    guild_id = interaction.guild_id
    if guild_id is None and scope == HERE:
        raise UserFacingError(
            N_(
                "In a DM there is no “here”: run {export} in the server, or use {everywhere} "
                "for what every server that runs Rapport holds about you."
            ),
            export=command(t, "rapport export"),
            everywhere=f"`{t.pgettext('option name', 'scope')}:{t.pgettext('choice', EVERYWHERE)}`",
        )
    # Gathering and uploading the file can take longer than Discord's 3 s to answer.
    await interaction.response.defer(ephemeral=True, thinking=True)
    data: dict[str, Any]
    if guild_id is not None and scope != EVERYWHERE:
        data = await privacy.export(guild_id, member_id)
        name, text = f"rapport-export-{guild_id}-{member_id}.json", t.gettext(EXPORTED_HERE)
    else:
        everywhere = await privacy.export_everywhere(member_id)
        data = everywhere.data
        name, text = f"rapport-export-{member_id}.json", t.gettext(EXPORTED_EVERYWHERE)
        if everywhere.elsewhere:
            text += " " + t.gettext(EXPORTED_ELSEWHERE, export=command(t, "rapport export"))
    blob = json.dumps(data, indent=2, sort_keys=True).encode()
    await reply_private(interaction, text, file=discord.File(io.BytesIO(blob), filename=name))
