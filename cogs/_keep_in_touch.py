"""One relationship and its cadence: /rapport status member:@X [cadence:…] and "Keep in touch".

Both read or set how often the member wants to be in touch with one person; the close-up's
embed and texts are cogs._relations', the cadence is stored by the ledger.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import discord

from cogs import _relations
from cogs._respond import reply_private
from cogs._views import CadencePicker
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.relations import Closeup, Relations, Standing


class Cadences(Protocol):
    """Where a member's chosen cadence with someone is kept (rapport.tracking.Ledger)."""

    def set_cadence(
        self, guild_id: int, member_id: int, other_id: int, cadence: timedelta | None
    ) -> None:
        """Keep (or clear, with None) how often the member wants to be in touch with other."""


async def closeup(
    interaction: discord.Interaction,
    relations: Relations,
    cadences: Cadences,
    member: discord.User | None,
    cadence: str | None,
    now: datetime,
    t: Translation,
) -> None:
    """/rapport status member:@X [cadence:…]: one relationship, and the cadence chosen."""
    assert interaction.guild_id is not None  # the cog refused DMs
    gid, mid = interaction.guild_id, interaction.user.id
    other = _relations.checked_other(member, mid, cadence, t)
    span = _relations.read_cadence(cadence) if cadence is not None else None
    found = relations.closeup(gid, mid, other.id, now)
    if not isinstance(other, discord.Member):
        # Discord resolves someone no longer in the server as a plain user: without the
        # members intent that is how Rapport learns they left.
        found = Closeup(other.id, Standing.LEFT)
    note = None
    if cadence is not None and found.standing in (Standing.KNOWN, Standing.NONE):
        cadences.set_cadence(gid, mid, other.id, span)
        note = _relations.cadence_saved(other.display_name, span, t)
        found = relations.closeup(gid, mid, other.id, now)
    await _relations.send_closeup(interaction, found, other.display_name, note, t)


async def keep_in_touch(
    interaction: discord.Interaction, cadences: Cadences, user: discord.User, t: Translation
) -> None:
    """The "Keep in touch" menu: pick a cadence with this person from buttons."""
    assert interaction.guild_id is not None  # the menu is guild-only
    gid, mid = interaction.guild_id, interaction.user.id
    if user.bot:
        raise UserFacingError(N_("That's a bot — Rapport keeps you in touch with people."))
    if user.id == mid:
        raise UserFacingError(N_("That's you — pick someone else to keep in touch with."))
    name = user.display_name

    async def picked(cadence: timedelta | None, label: str) -> str:
        cadences.set_cadence(gid, mid, user.id, cadence)
        if cadence is None:
            return t.gettext(
                N_("Cleared — Rapport goes back to your usual rhythm with {name}."), name=name
            )
        return t.gettext(
            N_("Saved — Rapport will nudge you to keep in touch with {name}: {how}."),
            name=name,
            how=label.lower(),
        )

    view = CadencePicker(mid, picked, t=t)
    view.origin = interaction
    await reply_private(
        interaction,
        t.gettext(N_("How often do you want to keep in touch with {name}?"), name=name),
        view=view,
    )
