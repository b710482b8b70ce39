"""One way to answer an interaction privately, whether or not it was already answered."""

from __future__ import annotations

from typing import Any

import discord


async def reply_private(
    interaction: discord.Interaction, content: str | None = None, **kwargs: Any
) -> None:
    """Answer ephemerally; after a defer or a first answer, use the followup webhook instead."""
    kwargs.setdefault("ephemeral", True)
    if interaction.response.is_done():
        await interaction.followup.send(content, **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)
