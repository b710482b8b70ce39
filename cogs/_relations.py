"""How one relationship and the member's map look in Discord: /rapport status member, /rapport map.

Plain values in (rapport.relations), an embed, short texts and the PNG file out; the members cog
gathers the values and sends them. Nothing here calls a service.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterable
from datetime import timedelta

import discord
from discord import app_commands

from cogs._embeds import COLOUR, reciprocity, when
from cogs._l10n import localised_path
from cogs._respond import reply_private
from rapport.errors import UserFacingError
from rapport.i18n import ENGLISH, N_, Translation
from rapport.nudges.rules import rhythm
from rapport.relations import Closeup, EgoMap, Side, Standing, parse_cadence, render_map

log = logging.getLogger(__name__)

MAP_FILE = "rapport-map.png"

# What the middle answer took, per answer-time bucket (rapport.tracking.ANSWER_TIMES).
_TIMES = (
    N_("under 15 minutes"),
    N_("15 minutes to an hour"),
    N_("1 to 4 hours"),
    N_("4 to 12 hours"),
    N_("12 to 24 hours"),
    N_("1 to 3 days"),
    N_("over 3 days"),
)
# Suggestions for the cadence option: what "Keep in touch" offers, as durations.
CADENCE_SUGGESTIONS = (
    ("1w", N_("Weekly")),
    ("2w", N_("Every 2 weeks")),
    ("30d", N_("Monthly")),
    ("91d", N_("Quarterly")),
    ("off", N_("Clear (use what Rapport learned)")),
)


def standing_text(closeup: Closeup, name: str, t: Translation = ENGLISH) -> str | None:
    """What to say instead of the close-up when there is none to show (None: there is one)."""
    if closeup.standing is Standing.LEFT:
        return t.gettext(
            N_("{name} has left the server — Rapport shows nothing about people who left."),
            name=name,
        )
    if closeup.standing is Standing.UNTRACKED:
        return t.gettext(
            N_("{name} opted out of tracking — Rapport keeps nothing about them."), name=name
        )
    if closeup.standing is Standing.NONE:
        return t.gettext(
            N_(
                "You and {name} haven't interacted yet (replies, mentions, reactions, thread "
                "answers or thanks), so there's nothing to show."
            ),
            name=name,
        )
    return None


def _answers(side: Side | None, t: Translation) -> str:
    """One side's answer rate and typical answer time, or why they are not known yet."""
    if side is None or side.rate is None:
        return t.gettext(N_("Not enough history yet."))
    rate = t.gettext(
        N_("{rate} answered ({answered} of {asked})"),
        rate=t.percent(side.rate),
        answered=t.number(side.answered),
        asked=t.number(side.settled),
    )
    if side.time is None:
        return t.gettext(
            N_("{rate} · answer time: not enough history yet"),
            rate=rate,
        )
    return t.gettext(N_("{rate} · typically {time}"), rate=rate, time=t.gettext(_TIMES[side.time]))


def closeup_embed(closeup: Closeup, name: str, t: Translation = ENGLISH) -> discord.Embed:
    """The member's relationship with one person, as one private embed."""
    pair = closeup.pair
    assert pair is not None  # standing_text answered the other cases
    embed = discord.Embed(title=t.gettext(N_("You and {name}"), name=name), colour=COLOUR)
    starts = t.gettext(
        N_("{who} (you started {mine}, they started {theirs})"),
        who=reciprocity(pair, t),
        mine=t.number(pair.started_out),
        theirs=t.number(pair.started_in),
    )
    embed.add_field(name=t.gettext(N_("Who usually starts")), value=starts, inline=False)
    last = when(pair.last_contact, t)
    if pair.last_message_url:
        last += f" — [{t.gettext(N_('jump'))}]({pair.last_message_url})"
    embed.add_field(name=t.gettext(N_("Last contact")), value=last, inline=True)
    gap = (
        rhythm(pair.usual_gap, t)
        if pair.usual_gap is not None
        else t.gettext(N_("Not enough history yet."))
    )
    embed.add_field(name=t.gettext(N_("Usual gap")), value=gap, inline=True)
    if pair.cadence_override is not None:
        cadence = t.gettext(
            N_("every {span} (your choice)"), span=t.duration(pair.cadence_override)
        )
    else:
        cadence = t.gettext(
            N_("None chosen — {command} sets one."),
            command=f"`/{localised_path(t, 'rapport status')} "
            f"{t.pgettext('option name', 'member')}:… {t.pgettext('option name', 'cadence')}:2w`",
        )
    embed.add_field(name=t.gettext(N_("Your cadence")), value=cadence, inline=False)
    embed.add_field(
        name=t.gettext(N_("You answer {name}"), name=name),
        value=_answers(closeup.you, t),
        inline=False,
    )
    embed.add_field(
        name=t.gettext(N_("{name} answers you"), name=name),
        value=_answers(closeup.they, t),
        inline=False,
    )
    embed.add_field(name=t.gettext(N_("Drifting")), value=_drift(closeup, t), inline=False)
    foot = t.gettext(
        N_("Only you see this. Answers count messages that called for one, seen live.")
    )
    if closeup.muted:
        foot = t.gettext(N_("You muted nudges about {name}."), name=name) + " " + foot
    embed.set_footer(text=foot)
    return embed


def _drift(closeup: Closeup, t: Translation) -> str:
    if closeup.drifting:
        return t.gettext(N_("Yes — it has been quiet longer than your rhythm allows."))
    if closeup.drifts_at is None:
        return t.gettext(
            N_("Not enough history yet (it takes contact on 3 days, both ways, to tell).")
        )
    return t.gettext(
        N_("No — it would count as drifting after {when} without contact."),
        when=f"<t:{int(closeup.drifts_at.timestamp())}:D>",
    )


def checked_other(
    member: discord.User | discord.Member | None,
    caller_id: int,
    cadence: str | None,
    t: Translation = ENGLISH,
) -> discord.User | discord.Member:
    """The person the close-up is about, or a private, helpful refusal."""
    if member is None:
        raise UserFacingError(
            N_("Pick the member the cadence is for: {example}"),
            example=f"`/{localised_path(t, 'rapport status')} "
            f"{t.pgettext('option name', 'member')}:@… "
            f"{t.pgettext('option name', 'cadence')}:{cadence}`",
        )
    if member.bot:
        raise UserFacingError(
            N_("{name} is a bot — Rapport keeps track of people, not bots."),
            name=member.display_name,
        )
    if member.id == caller_id:
        raise UserFacingError(N_("That's you — pick someone else to see your relationship."))
    return member


def read_cadence(text: str) -> timedelta | None:
    """The cadence option as a span (None: clear it), or a private, helpful refusal."""
    try:
        return parse_cadence(text)
    except ValueError:
        raise UserFacingError(
            N_(
                "“{value}” isn't a cadence I understand — a duration from 1 day to 365 "
                "days, like 1w, 2w or 30d, or “off” to clear it."
            ),
            value=text[:100],
        ) from None


async def send_closeup(
    interaction: discord.Interaction,
    closeup: Closeup,
    name: str,
    note: str | None,
    t: Translation = ENGLISH,
) -> None:
    """Answer with the close-up, or say plainly why there is none."""
    text = standing_text(closeup, name, t)
    if text is not None:
        await reply_private(interaction, f"{note}\n\n{text}" if note else text)
        return
    await reply_private(interaction, note, embed=closeup_embed(closeup, name, t))


async def send_map(interaction: discord.Interaction, data: EgoMap, t: Translation) -> None:
    """Answer (after a defer) with the member's map attached, privately."""
    guild = interaction.guild
    names = await names_of(guild, [x.other_id for x in data.ties]) if guild else {}
    title = t.gettext(
        N_("Your relationships in {server}"), server=guild.name if guild else "Discord"
    )
    file = await map_file(data, names, title=title, you=interaction.user.display_name, t=t)
    await reply_private(
        interaction,
        t.gettext(
            N_(
                "Closest ties in the middle, thicker lines for stronger ties, drifting ones "
                "dashed. Only you see this."
            )
        ),
        file=file,
    )


def cadence_saved(name: str, span: timedelta | None, t: Translation = ENGLISH) -> str:
    """The note above the close-up after the member chose (or cleared) a cadence."""
    if span is None:
        return t.gettext(
            N_("Cleared — Rapport goes back to your usual rhythm with {name}."), name=name
        )
    return t.gettext(
        N_("Saved — Rapport will nudge you when {name} and you go quieter than every {span}."),
        name=name,
        span=t.duration(span),
    )


def cadence_choices(current: str, t: Translation = ENGLISH) -> list[app_commands.Choice[str]]:
    """The cadence option's suggestions, in the member's language, filtered by what was typed."""
    typed = current.strip().lower()
    return [
        app_commands.Choice(name=f"{value} — {t.gettext(label)}", value=value)
        for value, label in CADENCE_SUGGESTIONS
        if typed in value or typed in t.gettext(label).lower()
    ]


async def map_file(
    data: EgoMap, names: dict[int, str], *, title: str, you: str, t: Translation = ENGLISH
) -> discord.File:
    """The map as an attachment, drawn off the event loop."""
    png = await asyncio.to_thread(render_map, data, names, title=title, you=you, t=t)
    return discord.File(io.BytesIO(png), filename=MAP_FILE)


async def names_of(guild: discord.Guild, ids: Iterable[int]) -> dict[int, str]:
    """Display names, from the cache or asked of Discord (members who left are skipped)."""
    out: dict[int, str] = {}
    for mid in ids:
        member = guild.get_member(mid)
        if member is None:
            try:
                member = await guild.fetch_member(mid)
            except discord.NotFound:
                continue
            except discord.HTTPException as exc:
                log.info("could not look up member %s for a map: %s", mid, exc)
                break
        out[mid] = member.display_name
    return out
