"""/rapport export, forget and track: a member's rights over what Rapport holds about them.

A mixin of the Members cog (Discord allows one /rapport group, so the commands live in its
class); the core is rapport/people/privacy.py, the confirm before forgetting is cogs._forget's.
Export's `scope:everywhere` (the only scope a DM has) puts each server's export apart in one
file. Only the asking member's data is in it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from cogs import _forget, _scope
from cogs._l10n import command
from cogs._respond import reply_private
from rapport.i18n import N_, Translation
from rapport.people import MemberService, Privacy

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

NO_HERE = N_(
    "In a DM there is no “here”: run {export} in the server, or use {everywhere} for what every "
    "server that runs Rapport holds about you."
)

TRACKED_AGAIN = N_(
    "Tracking is back on from now (nothing from before returns). {join} starts digests too."
)


async def send_export(
    interaction: discord.Interaction, privacy: Privacy, scope: str | None, t: Translation
) -> None:
    """Gather the member's data (here, or everywhere; in a DM: everywhere) and send the file."""
    member_id = interaction.user.id
    guild_id = interaction.guild_id
    everywhere = _scope.everywhere(
        interaction, scope, NO_HERE, t, export=command(t, "rapport export")
    )
    # Gathering and uploading the file can take longer than Discord's 3 s to answer.
    await interaction.response.defer(ephemeral=True, thinking=True)
    data: dict[str, Any]
    if guild_id is not None and not everywhere:
        data = await privacy.export(guild_id, member_id)
        name, text = f"rapport-export-{guild_id}-{member_id}.json", t.gettext(EXPORTED_HERE)
    else:
        gathered = await privacy.export_everywhere(member_id)
        data = gathered.data
        name, text = f"rapport-export-{member_id}.json", t.gettext(EXPORTED_EVERYWHERE)
        if gathered.elsewhere:
            text += " " + t.gettext(EXPORTED_ELSEWHERE, export=command(t, "rapport export"))
    blob = json.dumps(data, indent=2, sort_keys=True).encode()
    await reply_private(interaction, text, file=discord.File(io.BytesIO(blob), filename=name))


class PrivacyCommands:
    """/rapport export, forget and track, for the Members cog."""

    members: MemberService
    privacy: Privacy
    _t: Callable[[discord.Interaction], Translation]
    _ids: Callable[[discord.Interaction], tuple[int, int]]

    @app_commands.command(name="export")
    @app_commands.describe(scope="This server, or every server that runs Rapport (DMs: everywhere)")
    @app_commands.choices(scope=_scope.SCOPES)
    async def export(
        self, interaction: discord.Interaction, scope: app_commands.Choice[str] | None = None
    ) -> None:
        """Get a JSON file of everything Rapport stores about you, here or everywhere."""
        value = scope.value if scope is not None else None
        await send_export(interaction, self.privacy, value, self._t(interaction))

    @app_commands.command(name="forget")
    @app_commands.describe(scope="This server, or every server that runs Rapport (DMs: everywhere)")
    @app_commands.choices(scope=_scope.SCOPES)
    async def forget(
        self, interaction: discord.Interaction, scope: app_commands.Choice[str] | None = None
    ) -> None:
        """Delete everything Rapport holds about you (here or everywhere) and stop tracking you."""
        value = scope.value if scope is not None else None
        await _forget.ask_member(interaction, self.privacy, value, self._t(interaction))

    @app_commands.command(name="track")
    async def track(self, interaction: discord.Interaction) -> None:
        """Let Rapport track your interactions again, from now on."""
        gid, mid = self._ids(interaction)
        await self.members.track(gid, mid)
        t = self._t(interaction)
        await reply_private(interaction, t.gettext(TRACKED_AGAIN, join=command(t, "rapport join")))
