"""One way to answer an interaction privately, whether or not it was already answered."""

from __future__ import annotations

from typing import Any

import discord

DMS_CLOSED_NOTE = "rapport_dms_closed_note"
"""interaction.extras key: a note the next private answer carries (see RapportTree)."""


async def reply_private(
    interaction: discord.Interaction, content: str | None = None, **kwargs: Any
) -> None:
    """Answer ephemerally; after a defer or a first answer, use the followup webhook instead."""
    kwargs.setdefault("ephemeral", True)
    note = interaction.extras.pop(DMS_CLOSED_NOTE, None)
    if note:
        # The member's DMs refused their last digest: this answer tells them (issue 12).
        content = f"{content}\n\n{note}" if content else note
    if interaction.response.is_done():
        await interaction.followup.send(content, **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)
