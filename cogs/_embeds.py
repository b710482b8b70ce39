"""How member and admin answers look: plain values in, embeds and short texts out.

Nothing here calls a service or Discord; the cogs gather the values and send what this renders.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

import discord
from discord import app_commands

from rapport.people.members import Preferences
from rapport.settings.config import NUDGE_KINDS
from rapport.tracking.model import PairView, PendingItem

COLOUR = discord.Colour.teal()
PAGE_LINES = 14
EMBED_TEXT = 3800

TRACKED = (
    "**What Rapport notices:** who replies to, mentions, reacts to, thanks or answers the threads "
    "of whom, and when; links and files you share (not what they are). Ids, times and counts only.\n"
    "**What it never stores:** what anyone wrote — no message text, ever."
)
PRIVACY_SHORT = (
    "Rapport stores who interacted with whom and when — never what anyone wrote. Everything it "
    "tells you about yourself is private (only you see it); admins see server totals only. "
    "`/rapport export` sends you all it holds about you; `/rapport forget` deletes it, removes "
    "you from everyone else's picture and stops tracking you."
)
ABOUT = (
    "Rapport helps you keep up the relationships you build here. If you ask for it, it sends you "
    "a short private digest now and then: replies you haven't answered, people you're drifting "
    "from, thanks worth returning, a nudge to share or to welcome someone new."
)

# (subcommand path, what it does) in the order /rapport help lists them.
MEMBER_COMMANDS = (
    ("rapport join", "start getting digests by DM"),
    ("rapport leave", "stop the digests (tracking continues until you forget)"),
    ("rapport status", "your relationships, unanswered items and leaderboard place"),
    ("rapport settings", "time zone, digest hour, quiet hours, how many DMs, which nudges"),
    ("rapport snooze", "pause digests for a while (3d, 2w … up to 90 days; off resumes)"),
    ("rapport mute", "never be nudged about someone"),
    ("rapport unmute", "allow nudges about them again"),
    ("rapport export", "a JSON file of everything Rapport holds about you"),
    ("rapport forget", "delete it all and stop tracking you"),
    ("rapport track", "let Rapport track you again after forget"),
    ("leaderboard", "this period's team leaderboard"),
)
ADMIN_COMMANDS = (
    ("rapport-admin setup", "leaderboard channel, enrollment, teams, default time zone"),
    ("rapport-admin exclude-channel", "stop tracking a channel"),
    ("rapport-admin include-channel", "track it again"),
    ("rapport-admin backfill", "read recent history so Rapport starts with a picture"),
    ("rapport-admin stats", "server totals and anything that needs fixing"),
    ("rapport-admin sync", "re-sync Rapport's commands"),
)
# Context menus cannot be mentioned; help says where to find them.
MENUS = (
    (
        "Keep in touch",
        "Right-click a member → Apps → **Keep in touch** — how often to stay in touch.",
    ),
    (
        "Remind me to reply",
        "Right-click a message → Apps → **Remind me to reply** — a DM reminder.",
    ),
)


def when(at: datetime | None) -> str:
    """A time as Discord renders it for each reader ("3 days ago")."""
    return "never" if at is None else f"<t:{int(at.timestamp())}:R>"


def days(span: timedelta | None) -> str:
    """A gap in whole days, readable ("~5 days", "a day")."""
    if span is None:
        return "no usual rhythm yet"
    n = max(1, round(span / timedelta(days=1)))
    return "a day" if n == 1 else f"~{n} days"


def mention(name: str, command_ids: Mapping[str, int]) -> str:
    """A clickable command mention, or the plain name when Discord gave no id."""
    top = name.split()[0]
    found = command_ids.get(top)
    return f"</{name}:{found}>" if found else f"`/{name}`"


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone_choices(current: str) -> list[app_commands.Choice[str]]:
    """Up to 25 IANA zones containing what was typed (any case), names starting with it first."""
    typed = current.strip().lower().replace(" ", "_")
    found = [z for z in _zones() if typed in z.lower()]
    found.sort(key=lambda z: (not z.lower().startswith(typed), z))
    return [app_commands.Choice(name=z, value=z) for z in found[:25]]


def hour_choices(current: str) -> list[app_commands.Choice[str]]:
    """The hours 0–23, and “any”, that start with what was typed."""
    typed = current.strip().lower()
    values = ["any", *(str(h) for h in range(24))]
    return [
        app_commands.Choice(name=v if v == "any" else f"{int(v):02d}:00", value=v)
        for v in values
        if v.startswith(typed)
    ][:25]


def kind_choices(current: str) -> list[app_commands.Choice[str]]:
    """Complete the last of the comma-separated nudge kinds typed so far (or offer "all")."""
    *done, last = [k.strip().lower() for k in current.split(",")]
    chosen = [k for k in done if k]
    prefix = ", ".join(chosen)
    out = [] if chosen or not "all".startswith(last) else ["all"]
    out += [
        f"{prefix}, {k}" if prefix else k
        for k in NUDGE_KINDS
        if k not in chosen and k.startswith(last)
    ]
    return [app_commands.Choice(name=v, value=v) for v in out][:25]


# --- member answers -------------------------------------------------------------------------


def settings_text(prefs: Preferences, now: datetime) -> str:
    """A member's effective settings, one per line."""
    hour = "any hour" if prefs.digest_hour is None else f"{prefs.digest_hour:02d}:00"
    quiet = "off" if prefs.quiet_hours is None else str(prefs.quiet_hours)
    snoozed = f"until {when(prefs.snoozed_until)}" if prefs.snoozed(now) else "no"
    lines = [
        f"**Digests:** {'on' if prefs.enrolled else 'off'}",
        f"**Time zone:** {prefs.zone.key}",
        f"**Digest hour:** {hour}",
        f"**Quiet hours:** {quiet}",
        f"**Max DMs per week:** {prefs.max_dms_per_week}",
        f"**Nudges about:** {', '.join(sorted(prefs.kinds)) or 'nothing'}",
        f"**On the leaderboard:** {'yes' if prefs.on_leaderboard else 'no'}",
        f"**Snoozed:** {snoozed}",
        f"**Muted:** {len(prefs.muted)} member(s)",
    ]
    if not prefs.tracked:
        lines.append("**Tracking:** off (you asked to be forgotten; `/rapport track` resumes it)")
    if prefs.unreadable:
        lines.append(unreadable_note(prefs))
    return "\n".join(lines)


def unreadable_note(prefs: Preferences) -> str:
    """How a member repairs stored choices Rapport could not read (defaults stand in)."""
    names = ", ".join(prefs.unreadable)
    return (
        f"⚠️ Your saved {names} could not be read, so the server's default is used. "
        f"Set it again with `/rapport settings` to fix it."
    )


def settings_embed(prefs: Preferences, now: datetime, *, changed: bool) -> discord.Embed:
    """The answer to /rapport settings."""
    title = "Saved — your settings now" if changed else "Your Rapport settings"
    return discord.Embed(title=title, description=settings_text(prefs, now), colour=COLOUR)


def welcome_embed(
    prefs: Preferences, now: datetime, preview: Sequence[str] | None, *, dms_closed: bool
) -> discord.Embed:
    """The answer to /rapport join: what is tracked, the settings, a first digest preview."""
    embed = discord.Embed(
        title="You're in — Rapport will DM you a short digest",
        description=TRACKED,
        colour=COLOUR,
    )
    embed.add_field(name="Your settings", value=settings_text(prefs, now), inline=False)
    if preview is None:
        first = "Nothing yet — Rapport needs a little history first. Your first digest comes when there is something worth a nudge."
    else:
        first = _fit([f"• {line}" for line in preview], 1000)
    embed.add_field(name="Your first digest would say", value=first, inline=False)
    if dms_closed:
        embed.add_field(
            name="Your DMs were closed",
            value="Your last digest couldn't be delivered. Open DMs from server members "
            "(Server menu → Privacy Settings → Direct Messages) and Rapport will try again.",
            inline=False,
        )
    embed.set_footer(text="Change anything with /rapport settings · /rapport leave stops the DMs")
    return embed


def _fit(lines: Sequence[str], limit: int) -> str:
    """As many whole lines as fit in `limit` characters (a cut link would not open)."""
    out: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + 1
        if size > limit:
            break
        out.append(line)
    return "\n".join(out) or lines[0][:limit]


def reciprocity(pair: PairView) -> str:
    """Who usually starts the exchanges between the member and the other person."""
    total = pair.started_out + pair.started_in
    if total == 0:
        return "no exchanges started yet"
    share = pair.started_out / total
    if share >= 2 / 3:
        return "you usually start"
    if share <= 1 / 3:
        return "they usually start"
    return "both of you start"


@dataclass(frozen=True, slots=True)
class Picture:
    """Everything /rapport status shows one member, already read from the services."""

    drifting: Sequence[PairView]
    pending: Sequence[PendingItem]
    strongest: Sequence[PairView]
    position: tuple[int, int] | None
    on_leaderboard: bool
    outcomes: Mapping[str, int] | None


_PENDING_VERB = {
    "reply": "replied to you",
    "mention": "mentioned you",
    "thread": "answered your thread",
    "thanks": "thanked you",
}


def status_pages(picture: Picture, name: Callable[[int], str]) -> list[discord.Embed]:
    """The member's picture as pages of at most PAGE_LINES lines each."""
    sections: list[tuple[str, list[str]]] = []
    sections.append(
        (
            "Waiting for your answer",
            [
                f"**{name(p.from_member_id)}** {_PENDING_VERB.get(str(p.kind), 'reached out')} "
                f"{when(p.at)} — [jump]({p.jump_url})"
                for p in picture.pending
            ]
            or ["Nothing — you're all caught up."],
        )
    )
    sections.append(
        (
            "Drifting apart",
            [
                f"**{name(p.other_id)}** — last contact {when(p.last_contact)} "
                f"({'you asked for' if p.cadence_override else 'you used to talk'} "
                f"every {days(p.cadence)})"
                for p in picture.drifting
            ]
            or ["No one — your usual rhythms are holding."],
        )
    )
    sections.append(("Leaderboard", [_position_line(picture)]))
    sections.append(("Nudges", [_outcomes_line(picture.outcomes)]))
    sections.append(
        (
            "Strongest relationships",
            [
                f"**{name(p.other_id)}** — {sum(p.counts_out.values())} out, "
                f"{sum(p.counts_in.values())} in, {reciprocity(p)}"
                for p in picture.strongest
            ]
            or ["None yet — reply, mention or thank someone and it starts here."],
        )
    )
    return _paginate(sections)


def _position_line(picture: Picture) -> str:
    if not picture.on_leaderboard:
        return "Hidden — you chose not to be shown (`/rapport settings leaderboard:True`)."
    if picture.position is None:
        return "Not on this period's board yet."
    rank, total = picture.position
    return f"#{rank} of {total} this period."


def _outcomes_line(outcomes: Mapping[str, int] | None) -> str:
    if outcomes is None:
        return "No nudge history is available yet."
    sent, acted = outcomes.get("sent", 0), outcomes.get("acted_on", 0)
    return f"{sent} nudge(s) sent, {acted} acted on."


def _paginate(sections: Iterable[tuple[str, list[str]]]) -> list[discord.Embed]:
    """Cut the sections into embeds; a section split across pages repeats its title."""
    pages: list[list[str]] = [[]]
    size = 0
    for title, lines in sections:
        for i, line in enumerate(lines):
            header = f"__**{title}**__" if i == 0 else f"__**{title}** (cont.)__"
            add = [header, line] if i == 0 or not pages[-1] else [line]
            full = len(pages[-1]) + len(add) > PAGE_LINES or size + len(line) > EMBED_TEXT
            if pages[-1] and full:
                pages.append([])
                size = 0
                add = [header, line]
            pages[-1].extend(add)
            size += sum(len(a) + 1 for a in add)
    total = len(pages)
    embeds = []
    for n, lines in enumerate(pages, start=1):
        embed = discord.Embed(
            title="Your Rapport picture", description="\n".join(lines), colour=COLOUR
        )
        if total > 1:
            embed.set_footer(text=f"Page {n} of {total} · only you can see this")
        else:
            embed.set_footer(text="Only you can see this")
        embeds.append(embed)
    return embeds


def help_embed(
    command_ids: Mapping[str, int], available: Collection[str], *, admin: bool
) -> discord.Embed:
    """What Rapport does, each command in this build as a clickable mention, and the privacy terms.

    `available` holds the qualified names of the commands and menus the bot has, so help never
    links a command another part of Rapport didn't ship.
    """

    def listed(commands: Sequence[tuple[str, str]]) -> str:
        return "\n".join(
            f"{mention(n, command_ids)} — {what}" for n, what in commands if n in available
        )

    # The command list goes in the description: a field holds only 1024 characters.
    members = [listed(MEMBER_COMMANDS), *(how for n, how in MENUS if n in available)]
    commands = "\n".join(m for m in members if m)
    embed = discord.Embed(
        title="Rapport", description=f"{ABOUT}\n\n**Commands**\n{commands}", colour=COLOUR
    )
    if admin:
        embed.add_field(name="For admins", value=listed(ADMIN_COMMANDS) or "—", inline=False)
    embed.add_field(name="Privacy", value=PRIVACY_SHORT, inline=False)
    return embed


FORGET_WARNING = (
    "This deletes everything Rapport holds about you in this server — your relationships, "
    "the items waiting on you, your place in everyone else's picture and the leaderboard — "
    "and stops tracking you. It can't be undone. `/rapport export` first if you want a copy."
)
FORGOTTEN = (
    "Done. Everything about you is deleted and Rapport no longer tracks you here; nobody will "
    "be nudged about you. `/rapport track` lets it track you again from now on."
)


# --- admin answers --------------------------------------------------------------------------


def guild_settings_embed(lines: Sequence[str], *, changed: bool) -> discord.Embed:
    """The answer to /rapport-admin setup."""
    title = (
        "Saved — this server's Rapport settings" if changed else "This server's Rapport settings"
    )
    return discord.Embed(title=title, description="\n".join(lines), colour=COLOUR)


def stats_embed(rows: Sequence[tuple[str, str]], problems: Sequence[str]) -> discord.Embed:
    """Server totals and what needs fixing; never one member's data."""
    embed = discord.Embed(title="Rapport in this server", colour=COLOUR)
    embed.description = "\n".join(f"**{label}:** {value}" for label, value in rows)
    embed.add_field(
        name="Needs attention" if problems else "Health",
        value="\n".join(f"• {p}" for p in problems)[:1024] if problems else "All good.",
        inline=False,
    )
    return embed
