"""Buttons and selects on Rapport's private answers; each works for the member who asked only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import discord

from cogs._errors import answer_error
from rapport.i18n import ENGLISH, N_, Translation

log = logging.getLogger(__name__)

PAGE_PREV = "rapport:page:prev"
PAGE_NEXT = "rapport:page:next"
FORGET_CONFIRM = "rapport:forget:confirm"
FORGET_CANCEL = "rapport:forget:cancel"
CADENCE_SELECT = "rapport:cadence"

CADENCES: dict[str, tuple[str, timedelta | None]] = {
    "weekly": (N_("Weekly"), timedelta(weeks=1)),
    "2w": (N_("Every 2 weeks"), timedelta(weeks=2)),
    "monthly": (N_("Monthly"), timedelta(days=30)),
    "quarterly": (N_("Quarterly"), timedelta(days=91)),
    "clear": (N_("Clear (use what Rapport learned)"), None),
}


class OwnedView(discord.ui.View):
    """A view whose components answer only the member it was shown to."""

    def __init__(self, owner_id: int, *, timeout: float, t: Translation = ENGLISH) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.t = t
        self.message: discord.InteractionMessage | None = None
        self.origin: discord.Interaction | None = None

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse anyone but the owner, privately."""
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            self.t.gettext(N_("These buttons belong to someone else's private answer.")),
            ephemeral=True,
        )
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        """A failing button or select answers as a failing command does (cogs/_errors.py)."""
        what = f"component {getattr(item, 'custom_id', '?')}"
        await answer_error(interaction, error, what=what)

    def disable_all(self) -> None:
        """Grey out every component (after a choice, or when time is up)."""
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True

    async def on_timeout(self) -> None:
        """Grey the components out so a late click isn't met with "interaction failed"."""
        if self.origin is None:
            return
        self.disable_all()
        try:
            await self.origin.edit_original_response(view=self)
        except discord.HTTPException:
            log.debug("could not disable an expired view (message gone or token expired)")


class Pages(OwnedView):
    """Previous / next buttons over a list of embeds."""

    def __init__(
        self,
        owner_id: int,
        pages: Sequence[discord.Embed],
        *,
        timeout: float = 600,
        t: Translation = ENGLISH,
    ):
        super().__init__(owner_id, timeout=timeout, t=t)
        self.pages = list(pages)
        self.index = 0
        self.prev.label = t.gettext(N_("Previous"))
        self.next.label = t.gettext(N_("Next"))
        self._sync()

    def _sync(self) -> None:
        self.prev.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def _show(self, interaction: discord.Interaction, step: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, custom_id=PAGE_PREV)
    async def prev(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Show the previous page."""
        await self._show(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, custom_id=PAGE_NEXT)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Show the next page."""
        await self._show(interaction, +1)


class ConfirmForget(OwnedView):
    """The one step between a forget (a member's, or an admin's) and deleting the data."""

    def __init__(
        self,
        owner_id: int,
        on_confirm: Callable[[], Awaitable[str]],
        *,
        timeout: float = 120,
        t: Translation = ENGLISH,
        confirm: str = N_("Forget me"),
    ) -> None:
        super().__init__(owner_id, timeout=timeout, t=t)
        self.on_confirm = on_confirm
        self.confirm.label = t.gettext(confirm)
        self.cancel.label = t.gettext(N_("Cancel"))

    @discord.ui.button(
        label="Forget me", style=discord.ButtonStyle.danger, custom_id=FORGET_CONFIRM
    )
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Delete the data, then say what happened."""
        self.stop()
        self.disable_all()
        # Erasing someone from a big server's pairs can take a second: acknowledge first,
        # then edit the same private message.
        await interaction.response.defer()
        text = await self.on_confirm()
        await interaction.edit_original_response(content=text, view=self)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id=FORGET_CANCEL)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Leave everything as it is."""
        self.stop()
        self.disable_all()
        await interaction.response.edit_message(
            content=self.t.gettext(N_("Nothing was deleted.")), view=self
        )


class CadencePicker(OwnedView):
    """Choose how often to keep in touch with one person."""

    def __init__(
        self,
        owner_id: int,
        on_pick: Callable[[timedelta | None, str], Awaitable[str]],
        *,
        timeout: float = 300,
        t: Translation = ENGLISH,
    ) -> None:
        super().__init__(owner_id, timeout=timeout, t=t)
        self.on_pick = on_pick
        self.pick.placeholder = t.gettext(N_("How often?"))
        # New options: the decorator's are shared by every instance of the class.
        self.pick.options = [
            discord.SelectOption(label=t.gettext(label), value=key)
            for key, (label, _) in CADENCES.items()
        ]

    @discord.ui.select(
        custom_id=CADENCE_SELECT,
        placeholder="How often?",
        options=[
            discord.SelectOption(label=label, value=key) for key, (label, _) in CADENCES.items()
        ],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        """Save the cadence and confirm it in place."""
        label, cadence = CADENCES[select.values[0]]
        text = await self.on_pick(cadence, self.t.gettext(label))
        self.stop()
        self.disable_all()
        await interaction.response.edit_message(content=text, view=self)
