"""The digest DM as members see it, and its persistent buttons (custom ids, not callbacks).

Every component is a `discord.ui.DynamicItem`: its custom id carries what the click needs
(the guild, since the DM has none, and the digest id), so a button pressed after a restart
still works. Formats:

- ``rapport:<done|snooze|keep|fewer|stop>:<guild_id>:<digest_id>`` — buttons
- ``rapport:notabout:<guild_id>:<digest_id>`` — select, values are member ids
- ``rapport:elsewhere:<guild_id>:<digest_id>:<member_id>`` — "we talked elsewhere", one
  button per drifting line
- ``rapport:remind:<guild_id>:<channel_id>:<message_id>:<author_id>`` — select, values
  1h / 4h / tomorrow / week
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

import discord

from cogs._errors import answer_error
from cogs._l10n import command, for_interaction
from cogs._respond import reply_private
from rapport.i18n import ENGLISH, N_, Translation
from rapport.ids import is_id, parse_id
from rapport.nudges import Digest, describe, rules

log = logging.getLogger(__name__)

COLOUR = discord.Colour(0x5865F2)
ACTIONS = {
    "done": (N_("Done"), discord.ButtonStyle.success),
    "snooze": (N_("Snooze 1 week"), discord.ButtonStyle.secondary),
    "keep": (N_("Keep them coming"), discord.ButtonStyle.primary),
    "fewer": (N_("Fewer"), discord.ButtonStyle.secondary),
    "stop": (N_("Stop"), discord.ButtonStyle.danger),
}
REMIND_OPTIONS = (
    ("1h", N_("In 1 hour")),
    ("4h", N_("In 4 hours")),
    ("tomorrow", N_("Tomorrow morning")),
    ("week", N_("Next week")),
)


MAX_ELSEWHERE_BUTTONS = 5
"""One row of "talked elsewhere" buttons (Discord: five per row, five rows per message)."""

STALE = N_("That button isn't valid any more.")
PICK_SOMEONE = N_("Pick one of the people in the list.")


async def _refuse(interaction: discord.Interaction, text: str) -> None:
    await reply_private(interaction, for_interaction(interaction).gettext(text))


class DigestClicks(Protocol):
    """What answers the digest's components (the Nudges cog: an item never holds a service)."""

    async def on_digest_button(
        self, interaction: discord.Interaction, action: str, guild_id: int, digest_id: str
    ) -> None: ...

    async def on_not_about(
        self, interaction: discord.Interaction, guild_id: int, digest_id: str, other_id: int
    ) -> None: ...

    async def on_remind_choice(
        self,
        interaction: discord.Interaction,
        guild_id: int,
        channel_id: int,
        message_id: int,
        author_id: int,
        choice: str,
    ) -> None: ...

    async def on_talked_elsewhere(
        self, interaction: discord.Interaction, guild_id: int, digest_id: str, other_id: int
    ) -> None: ...


# The handler each bot's clicks go to, set by the cog that loads the components. Keyed by
# client, since discord.py builds DynamicItems from a custom id with nothing but the interaction.
_HANDLERS: weakref.WeakKeyDictionary[discord.Client, DigestClicks] = weakref.WeakKeyDictionary()


def answer_clicks(client: discord.Client, handler: DigestClicks | None) -> None:
    """Send the client's digest clicks to `handler` (None: nobody answers them any more)."""
    if handler is None:
        _HANDLERS.pop(client, None)
    else:
        _HANDLERS[client] = handler


async def _dispatch(
    interaction: discord.Interaction,
    item: discord.ui.Item[Any],
    call: Callable[[DigestClicks], Awaitable[None]],
) -> None:
    """Run the click through its handler; a failure takes the one error path."""
    handler = _HANDLERS.get(interaction.client)
    if handler is None:
        log.warning("a digest click arrived while no cog answers them; ignored")
        return
    try:
        await call(handler)
    except Exception as error:
        what = f"component {getattr(item, 'custom_id', '?')}"
        await answer_error(interaction, error, what=what)


class DigestButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"rapport:(?P<action>done|snooze|keep|fewer|stop):(?P<guild>[0-9]+):(?P<digest>[0-9a-f]+)",
):
    """Done, Snooze 1 week, and the keep / fewer / stop answers of the back-off question."""

    def __init__(
        self, action: str, guild_id: int, digest_id: str, t: Translation = ENGLISH
    ) -> None:
        label, style = ACTIONS[action]
        super().__init__(
            discord.ui.Button(
                label=t.gettext(label),
                style=style,
                custom_id=f"rapport:{action}:{guild_id}:{digest_id}",
            )
        )
        self.action, self.guild_id, self.digest_id = action, guild_id, digest_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DigestButton:
        return cls(match["action"], int(match["guild"]), match["digest"])

    async def callback(self, interaction: discord.Interaction) -> None:
        if not is_id(self.guild_id):  # a forged custom id
            await _refuse(interaction, STALE)
            return
        await _dispatch(
            interaction,
            self.item,
            lambda h: h.on_digest_button(interaction, self.action, self.guild_id, self.digest_id),
        )


class NotAboutSelect(
    discord.ui.DynamicItem[discord.ui.Select],
    template=r"rapport:notabout:(?P<guild>[0-9]+):(?P<digest>[0-9a-f]+)",
):
    """ "Not about…": never nudge me about this person again (a mute)."""

    def __init__(
        self,
        guild_id: int,
        digest_id: str,
        people: list[tuple[int, str]] | None = None,
        t: Translation = ENGLISH,
    ) -> None:
        options = [
            discord.SelectOption(
                label=t.gettext(N_("Not about {name}"), name=name)[:100], value=str(uid)
            )
            for uid, name in (people or [])
        ]
        super().__init__(
            discord.ui.Select(
                placeholder=t.gettext(N_("Don't nudge me about…")),
                custom_id=f"rapport:notabout:{guild_id}:{digest_id}",
                options=options,
                min_values=1,
                max_values=1,
            )
        )
        self.guild_id, self.digest_id = guild_id, digest_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> NotAboutSelect:
        return cls(int(match["guild"]), match["digest"])

    async def callback(self, interaction: discord.Interaction) -> None:
        if not is_id(self.guild_id):  # a forged custom id
            await _refuse(interaction, STALE)
            return
        values = self.item.values
        other = parse_id(values[0]) if len(values) == 1 else None
        if other is None:  # empty, several, non-numeric or out of range: not from our list
            await _refuse(interaction, PICK_SOMEONE)
            return
        await _dispatch(
            interaction,
            self.item,
            lambda h: h.on_not_about(interaction, self.guild_id, self.digest_id, other),
        )


class ElsewhereButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"rapport:elsewhere:(?P<guild>[0-9]+):(?P<digest>[0-9a-f]+):(?P<other>[0-9]+)",
):
    """ "We talked elsewhere": DMs, voice or a coffee the bot can't see reset the drifting clock."""

    def __init__(
        self, guild_id: int, digest_id: str, other_id: int, name: str = "", t: Translation = ENGLISH
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=t.gettext(N_("Talked with {name} elsewhere"), name=name)[:80],
                style=discord.ButtonStyle.secondary,
                custom_id=f"rapport:elsewhere:{guild_id}:{digest_id}:{other_id}",
            )
        )
        self.guild_id, self.digest_id, self.other_id = guild_id, digest_id, other_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ElsewhereButton:
        return cls(int(match["guild"]), match["digest"], int(match["other"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        if not (is_id(self.guild_id) and is_id(self.other_id)):  # a forged custom id
            await _refuse(interaction, STALE)
            return
        await _dispatch(
            interaction,
            self.item,
            lambda h: h.on_talked_elsewhere(
                interaction, self.guild_id, self.digest_id, self.other_id
            ),
        )


class RemindSelect(
    discord.ui.DynamicItem[discord.ui.Select],
    template=r"rapport:remind:(?P<guild>[0-9]+):(?P<channel>[0-9]+):(?P<message>[0-9]+):(?P<author>[0-9]+)",
):
    """When to be reminded to reply to a message."""

    def __init__(
        self,
        guild_id: int,
        channel_id: int,
        message_id: int,
        author_id: int,
        t: Translation = ENGLISH,
    ) -> None:
        super().__init__(
            discord.ui.Select(
                placeholder=t.gettext(N_("Remind me…")),
                custom_id=f"rapport:remind:{guild_id}:{channel_id}:{message_id}:{author_id}",
                options=[
                    discord.SelectOption(label=t.gettext(label), value=v)
                    for v, label in REMIND_OPTIONS
                ],
            )
        )
        self.ids = (guild_id, channel_id, message_id, author_id)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RemindSelect:
        return cls(*(int(match[k]) for k in ("guild", "channel", "message", "author")))

    async def callback(self, interaction: discord.Interaction) -> None:
        if not all(is_id(i) for i in self.ids):  # a forged custom id
            await _refuse(interaction, STALE)
            return
        values = self.item.values
        choice = values[0] if values else ""
        await _dispatch(
            interaction, self.item, lambda h: h.on_remind_choice(interaction, *self.ids, choice)
        )


DYNAMIC_ITEMS = (DigestButton, NotAboutSelect, ElsewhereButton, RemindSelect)


def render(
    digest: Digest,
    guild_name: str,
    name_of: Callable[[int], str],
    channel_of: Callable[[int], str],
    now: datetime,
    t: Translation = ENGLISH,
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The digest's embed (one line per item, jump links) and its persistent components."""
    lines = []
    jump = t.gettext(N_("Jump to it"))
    for n in digest.items:
        line = describe(n, name_of, now, channel_of, t)
        lines.append(f"• {line}" + (f" [{jump}]({n.url})" if n.url else ""))
    reminder = digest.items[0].kind == "reminder"
    embed = discord.Embed(
        title=t.gettext(N_("Your reminder") if reminder else N_("A few people worth a moment")),
        description="\n".join(lines),
        colour=COLOUR,
    )
    if reminder:
        return embed.set_footer(text=t.gettext(N_("From {server}"), server=guild_name)), None
    g, d = digest.guild_id, digest.digest_id
    view = discord.ui.View(timeout=None)
    view.add_item(DigestButton("done", g, d, t))
    view.add_item(DigestButton("snooze", g, d, t))
    people = [
        (p, name_of(p))
        for n in digest.items
        for p in (n.people or ((n.about_id,) if n.about_id is not None else ()))
    ]
    if people:
        view.add_item(NotAboutSelect(g, d, list(dict(people).items()), t))
    drifting = [n.about_id for n in digest.items if n.kind == rules.DRIFTING and n.about_id]
    for other in list(dict.fromkeys(drifting))[:MAX_ELSEWHERE_BUTTONS]:
        view.add_item(ElsewhereButton(g, d, other, name_of(other), t))
    if digest.ask_feedback:
        embed.add_field(
            name=t.gettext(N_("Are these digests useful?")),
            value=t.gettext(
                N_("You haven't acted on the last few. Keep them coming, get fewer, or stop?")
            ),
            inline=False,
        )
        for action in ("keep", "fewer", "stop"):
            view.add_item(DigestButton(action, g, d, t))
    footer = t.gettext(
        N_("From {server} · {settings} to change when and what"),
        server=guild_name,
        settings=command(t, "rapport settings").strip("`"),
    )
    embed.set_footer(text=footer)
    return embed, view


def remind_view(
    guild_id: int, channel_id: int, message_id: int, author_id: int, t: Translation = ENGLISH
) -> discord.ui.View:
    """The select a member picks a reminder time from."""
    view = discord.ui.View(timeout=None)
    view.add_item(RemindSelect(guild_id, channel_id, message_id, author_id, t))
    return view


# What a member reads after pressing a digest button, whichever process applies the click.
CLICK_REPLIES = {
    "done": N_("Nice — marked as done. Keep it up!"),
    "keep": N_("Great — they'll keep coming."),
    "fewer": N_("Got it — fewer digests from now on."),
    "stop": N_("Done — no more digests. {join} brings them back."),
    "notabout": N_("I won't nudge you about {name} again. {unmute} to undo."),
    "notabout_unnamed": N_("I won't nudge you about them again. {unmute} to undo."),
    # Relayed in a cluster: the process that answers can't name them or read your rhythm.
    "elsewhere": N_(
        "Noted — you talked with them outside Discord. That counts as contact: no drifting "
        "line about them until your usual gap passes again."
    ),
}


def click_reply(action: str, t: Translation = ENGLISH, **params: str) -> str:
    """The answer to a digest button, in the member's language."""
    return t.gettext(
        CLICK_REPLIES.get(action, N_("Got it.")),
        join=command(t, "rapport join"),
        unmute=command(t, "rapport unmute"),
        **params,
    )


def elsewhere_reply(name: str, until: datetime, t: Translation = ENGLISH) -> str:
    """What a member reads after "we talked elsewhere" (the button or the command)."""
    return t.gettext(
        N_(
            "Noted — you talked with {name} outside Discord. That counts as contact: no "
            "drifting line about {name} before {date}. Only you see this."
        ),
        name=name,
        date=discord.utils.format_dt(until, "D"),
    )


def snoozed_reply(until: datetime, t: Translation = ENGLISH) -> str:
    """The answer to Snooze 1 week."""
    stamp = discord.utils.format_dt(until, "D")
    return t.gettext(
        N_("Snoozed — no digests until {date}. {settings} to change more."),
        date=stamp,
        settings=command(t, "rapport settings"),
    )
