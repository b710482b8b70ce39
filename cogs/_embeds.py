"""How member and admin answers look: plain values in, embeds and short texts out.

Nothing here calls a service or Discord; the cogs gather the values and send what this renders.

Over 400 lines because it is every answer's look in one place, so one word and one style hold
across commands; nothing in it has behaviour of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

import discord
from discord import app_commands

from cogs._kudos_render import received_lines
from cogs._l10n import command, localised_path
from rapport import i18n
from rapport.i18n import ENGLISH, N_, Translation
from rapport.nudges import Picture
from rapport.nudges.rules import rhythm
from rapport.people import Preferences
from rapport.settings import NUDGE_KINDS
from rapport.tracking import PairView

COLOUR = discord.Colour.teal()
PAGE_LINES = 14
EMBED_TEXT = 3800

TRACKED = N_(
    "**What Rapport notices:** who replies to, mentions, reacts to, thanks or answers the threads "
    "of whom, and when; links and files you share (not what they are). Ids, times and counts only.\n"
    "**What it never stores:** what anyone wrote — no message text, ever."
)
PRIVACY_SHORT = N_(
    "Rapport stores who interacted with whom and when — never what anyone wrote. Everything it "
    "tells you about yourself is private (only you see it); admins see server totals only. "
    "{export} sends you all it holds about you; {forget} deletes it, removes "
    "you from everyone else's picture and stops tracking you."
)
ABOUT = N_(
    "Rapport helps you keep up the relationships you build here. If you ask for it, it sends you "
    "a short private digest now and then: replies you haven't answered, people you're drifting "
    "from, thanks worth returning, a nudge to share or to welcome someone new."
)

# (subcommand path, what it does) in the order /rapport help lists them.
MEMBER_COMMANDS = (
    ("rapport join", N_("start getting digests by DM")),
    ("rapport leave", N_("stop the digests (tracking continues until you forget)")),
    (
        "rapport status",
        N_("your relationships, unanswered items, leaderboard place and thanks received"),
    ),
    ("rapport map", N_("a picture of your relationships, drifting ties marked")),
    (
        "rapport settings",
        N_("time zone, digest hour, quiet hours, how many DMs, which nudges, language"),
    ),
    ("rapport snooze", N_("pause digests for a while (3d, 2w … up to 90 days; off resumes)")),
    ("rapport mute", N_("never be nudged about someone")),
    ("rapport unmute", N_("allow nudges about them again")),
    (
        "rapport talked-elsewhere",
        N_("you talked with someone outside Discord: no drifting nudge about them for a while"),
    ),
    ("rapport export", N_("a JSON file of everything Rapport holds about you")),
    (
        "rapport forget",
        N_("delete it all and stop tracking you (scope:everywhere: every server, also from a DM)"),
    ),
    ("rapport track", N_("let Rapport track you again after forget")),
    ("leaderboard", N_("this period's team leaderboard")),
    ("thanks", N_("thank someone for everyone to see (or privately); it's credited to them")),
)
ADMIN_COMMANDS = (
    (
        "rapport-admin setup",
        N_(
            "every server setting and where it comes from: the board, enrollment, roles, "
            "channels, nudges"
        ),
    ),
    ("rapport-admin exclude-channel", N_("stop tracking a channel")),
    ("rapport-admin include-channel", N_("track it again")),
    ("rapport-admin backfill", N_("read recent history so Rapport starts with a picture")),
    ("rapport-admin stats", N_("server totals and anything that needs fixing")),
    ("rapport-admin forget", N_("delete what Rapport holds about someone, e.g. who left")),
    ("rapport-admin sync", N_("re-sync Rapport's commands")),
)
# Context menus cannot be mentioned; help says where to find them.
MENUS = (
    (
        "Keep in touch",
        N_("Right-click a member → Apps → **{menu}** — how often to stay in touch."),
    ),
    (
        "Remind me to reply",
        N_("Right-click a message → Apps → **{menu}** — a DM reminder."),
    ),
    (
        "Thank the author",
        N_("Right-click a message → Apps → **{menu}** — thank its author publicly."),
    ),
)


def when(at: datetime | None, t: Translation = ENGLISH) -> str:
    """A time as Discord renders it for each reader ("3 days ago")."""
    return t.gettext(N_("never")) if at is None else f"<t:{int(at.timestamp())}:R>"


def days(span: timedelta | None, t: Translation = ENGLISH) -> str:
    """A usual gap, readable ("~5 days", "~3 weeks")."""
    if span is None:
        return t.gettext(N_("no usual rhythm yet"))
    return t.duration(max(span, timedelta(days=1)), approximate=True)


def mention(name: str, command_ids: Mapping[str, int], t: Translation = ENGLISH) -> str:
    """A clickable command mention, or the plain name when Discord gave no id."""
    top = name.split()[0]
    found = command_ids.get(top)
    # Discord shows a mention in the reader's language; a plain name is written in it here.
    return f"</{name}:{found}>" if found else command(t, name)


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone_choices(current: str) -> list[app_commands.Choice[str]]:
    """Up to 25 IANA zones containing what was typed (any case), names starting with it first."""
    typed = current.strip().lower().replace(" ", "_")
    found = [z for z in _zones() if typed in z.lower()]
    found.sort(key=lambda z: (not z.lower().startswith(typed), z))
    return [app_commands.Choice(name=z, value=z) for z in found[:25]]


def hour_choices(current: str, t: Translation = ENGLISH) -> list[app_commands.Choice[str]]:
    """The hours 0–23, and “any”, that start with what was typed (or its translation)."""
    typed = current.strip().lower()
    any_hour = t.gettext(N_("any hour"))
    values = ["any", *(str(h) for h in range(24))]
    return [
        app_commands.Choice(name=any_hour if v == "any" else f"{int(v):02d}:00", value=v)
        for v in values
        if v.startswith(typed) or (v == "any" and any_hour.lower().startswith(typed))
    ][:25]


def kind_choices(current: str) -> list[app_commands.Choice[str]]:
    """Complete the last of the comma-separated nudge kinds typed so far (or offer "all")."""
    *done, last = [k.strip().lower() for k in current.split(",")]
    chosen = list(dict.fromkeys(k for k in done if k))  # typed twice is chosen once
    prefix = ", ".join(chosen)
    out = [] if chosen or not "all".startswith(last) else ["all"]
    out += [
        f"{prefix}, {k}" if prefix else k
        for k in NUDGE_KINDS
        if k not in chosen and k.startswith(last)
    ]
    # Discord refuses a choice over 100 characters: offer none rather than break the menu.
    return [app_commands.Choice(name=v, value=v) for v in out if len(v) <= 100][:25]


# --- member answers -------------------------------------------------------------------------


KIND_NAMES = {
    "drifting": N_("drifting"),
    "unanswered": N_("unanswered"),
    "thanks": N_("thanks"),
    "share": N_("share"),
    "welcome": N_("welcome"),
}


def settings_text(prefs: Preferences, now: datetime, t: Translation = ENGLISH) -> str:
    """A member's effective settings, one per line."""
    yes, no = t.gettext(N_("yes")), t.gettext(N_("no"))
    on, off = t.gettext(N_("on")), t.gettext(N_("off"))
    hour = t.gettext(N_("any hour")) if prefs.digest_hour is None else f"{prefs.digest_hour:02d}:00"
    quiet = off if prefs.quiet_hours is None else str(prefs.quiet_hours)
    snoozed = (
        t.gettext(N_("until {when}"), when=when(prefs.snoozed_until, t))
        if prefs.snoozed(now)
        else no
    )
    kinds = [t.gettext(KIND_NAMES.get(k, k)) for k in sorted(prefs.kinds)]
    language = (
        i18n.language_name(prefs.language)
        if prefs.language
        else t.gettext(N_("automatic ({language})"), language=t.display_name())
    )
    lines = [
        t.gettext(N_("**Digests:** {value}"), value=on if prefs.enrolled else off),
        t.gettext(N_("**Time zone:** {value}"), value=prefs.zone.key),
        t.gettext(N_("**Digest hour:** {value}"), value=hour),
        t.gettext(N_("**Quiet hours:** {value}"), value=quiet),
        t.gettext(N_("**Max DMs per week:** {value}"), value=prefs.max_dms_per_week),
        t.gettext(
            N_("**Nudges about:** {value}"), value=", ".join(kinds) or t.gettext(N_("nothing"))
        ),
        t.gettext(N_("**On the leaderboard:** {value}"), value=yes if prefs.on_leaderboard else no),
        t.gettext(N_("**Snoozed:** {value}"), value=snoozed),
        t.ngettext("**Muted:** {n} member", "**Muted:** {n} members", len(prefs.muted)),
        t.gettext(N_("**Language:** {value}"), value=language),
    ]
    if not prefs.tracked:
        lines.append(
            t.gettext(
                N_("**Tracking:** off (you asked to be forgotten; {track} resumes it)"),
                track=command(t, "rapport track"),
            )
        )
    if prefs.unreadable:
        lines.append(unreadable_note(prefs, t))
    return "\n".join(lines)


def unreadable_note(prefs: Preferences, t: Translation = ENGLISH) -> str:
    """How a member repairs stored choices Rapport could not read (defaults stand in)."""
    return t.gettext(
        N_(
            "⚠️ Your saved {names} could not be read, so the server's default is used. "
            "Set it again with {settings} to fix it."
        ),
        names=", ".join(prefs.unreadable),
        settings=command(t, "rapport settings"),
    )


def settings_embed(
    prefs: Preferences, now: datetime, *, changed: bool, t: Translation = ENGLISH
) -> discord.Embed:
    """The answer to /rapport settings."""
    title = N_("Saved — your settings now") if changed else N_("Your Rapport settings")
    return discord.Embed(
        title=t.gettext(title), description=settings_text(prefs, now, t), colour=COLOUR
    )


def welcome_embed(
    prefs: Preferences,
    now: datetime,
    preview: Sequence[str] | None,
    *,
    dms_closed: bool,
    t: Translation = ENGLISH,
) -> discord.Embed:
    """The answer to /rapport join: what is tracked, the settings, a first digest preview."""
    embed = discord.Embed(
        title=t.gettext(N_("You're in — Rapport will DM you a short digest")),
        description=t.gettext(TRACKED),
        colour=COLOUR,
    )
    embed.add_field(
        name=t.gettext(N_("Your settings")), value=settings_text(prefs, now, t), inline=False
    )
    if preview is None:
        first = t.gettext(
            N_(
                "Nothing yet — Rapport needs a little history first. Your first digest comes "
                "when there is something worth a nudge."
            )
        )
        title = N_("Your digests")
    else:
        # What Rapport sees now, not a digest: the first never repeats these lines and holds at
        # most the last 3 days' unanswered items.
        ahead = t.gettext(N_("Your digests will bring what's new from here on."))
        first = _fit([f"• {line}" for line in preview], 1000 - len(ahead) - 2) + f"\n*{ahead}*"
        title = N_("Here's what Rapport sees for you right now")
    embed.add_field(name=t.gettext(title), value=first, inline=False)
    if dms_closed:
        embed.add_field(
            name=t.gettext(N_("Your DMs were closed")),
            value=t.gettext(
                N_(
                    "Your last digest couldn't be delivered. Open DMs from server members "
                    "(Server menu → Privacy Settings → Direct Messages) and Rapport will try again."
                )
            ),
            inline=False,
        )
    embed.set_footer(
        text=t.gettext(
            N_("Change anything with {settings} · {leave} stops the DMs"),
            settings=command(t, "rapport settings").strip("`"),
            leave=command(t, "rapport leave").strip("`"),
        )
    )
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


def reciprocity(pair: PairView, t: Translation = ENGLISH) -> str:
    """Who usually starts the exchanges between the member and the other person."""
    total = pair.started_out + pair.started_in
    if total == 0:
        return t.gettext(N_("no exchanges started yet"))
    share = pair.started_out / total
    if share >= 2 / 3:
        return t.gettext(N_("you usually start"))
    if share <= 1 / 3:
        return t.gettext(N_("they usually start"))
    return t.gettext(N_("both of you start"))


_PENDING = {
    "reply": N_("**{name}** replied to you {when} — [jump]({url})"),
    "mention": N_("**{name}** mentioned you {when} — [jump]({url})"),
    "thread": N_("**{name}** answered your thread {when} — [jump]({url})"),
    "thanks": N_("**{name}** thanked you {when} — [jump]({url})"),
}
_PENDING_OTHER = N_("**{name}** reached out {when} — [jump]({url})")


def status_pages(
    picture: Picture, name: Callable[[int], str], t: Translation = ENGLISH
) -> list[discord.Embed]:
    """The member's picture as pages of at most PAGE_LINES lines each."""
    sections: list[tuple[str, list[str]]] = []
    sections.append(
        (
            t.gettext(N_("Waiting for your answer")),
            [
                t.gettext(
                    _PENDING.get(str(p.kind), _PENDING_OTHER),
                    name=name(p.from_member_id),
                    when=when(p.at, t),
                    url=p.jump_url,
                )
                for p in picture.pending
            ]
            or [t.gettext(N_("Nothing — you're all caught up."))],
        )
    )
    sections.append(
        (
            t.gettext(N_("Drifting apart")),
            [
                t.gettext(
                    N_("**{name}** — last contact {when} (you used to talk {rhythm})"),
                    name=name(p.other_id),
                    when=when(p.last_contact, t),
                    rhythm=rhythm(p.cadence, t),
                )
                if p.cadence and not p.cadence_override
                else t.gettext(
                    N_("**{name}** — last contact {when} (you asked for every {gap})")
                    if p.cadence_override
                    else N_("**{name}** — last contact {when} (you used to talk every {gap})"),
                    name=name(p.other_id),
                    when=when(p.last_contact, t),
                    gap=days(p.cadence, t),
                )
                for p in picture.drifting
            ]
            or [t.gettext(N_("No one — your usual rhythms are holding."))],
        )
    )
    if picture.elsewhere:
        sections.append(
            (
                t.gettext(N_("Talked elsewhere")),
                [
                    t.gettext(
                        N_("**{name}** — {when}, outside Discord (as you told Rapport)"),
                        name=name(other),
                        when=when(at, t),
                    )
                    for other, at in picture.elsewhere
                ],
            )
        )
    sections.append((t.gettext(N_("Leaderboard")), [_position_line(picture, t)]))
    sections.append((t.gettext(N_("Thanks received")), received_lines(picture.thanks, name, t)))
    sections.append((t.gettext(N_("Nudges")), [_outcomes_line(picture.outcomes, t)]))
    sections.append(
        (
            t.gettext(N_("Strongest relationships")),
            [
                t.gettext(
                    N_("**{name}** — {sent} out, {received} in, {who_starts}"),
                    name=name(p.other_id),
                    sent=t.number(sum(p.counts_out.values())),
                    received=t.number(sum(p.counts_in.values())),
                    who_starts=reciprocity(p, t),
                )
                for p in picture.strongest
            ]
            or [t.gettext(N_("None yet — reply, mention or thank someone and it starts here."))],
        )
    )
    return _paginate(sections, t)


def _position_line(picture: Picture, t: Translation) -> str:
    if not picture.board_on:
        return t.gettext(N_("The leaderboard is turned off in this server."))
    if not picture.on_leaderboard:
        return t.gettext(
            N_("Hidden — you chose not to be shown ({command})."),
            command=f"`/{localised_path(t, 'rapport settings')} "
            f"{t.pgettext('option name', 'leaderboard')}:True`",
        )
    if picture.position is None:
        return t.gettext(N_("Not on this period's board yet."))
    rank, total = picture.position
    return t.gettext(N_("#{rank} of {total} this period."), rank=rank, total=total)


def _outcomes_line(outcomes: Mapping[str, int] | None, t: Translation) -> str:
    if outcomes is None:
        return t.gettext(N_("No nudge history is available yet."))
    sent, acted = outcomes.get("sent", 0), outcomes.get("acted_on", 0)
    return t.ngettext(
        "{n} nudge sent, {acted} acted on.",
        "{n} nudges sent, {acted} acted on.",
        sent,
        acted=t.number(acted),
    )


def _paginate(
    sections: Iterable[tuple[str, list[str]]], t: Translation = ENGLISH
) -> list[discord.Embed]:
    """Cut the sections into embeds; a section split across pages repeats its title."""
    pages: list[list[str]] = [[]]
    size = 0
    for title, lines in sections:
        for i, line in enumerate(lines):
            cont = t.gettext(N_("{title} (cont.)"), title=f"**{title}**")
            header = f"__**{title}**__" if i == 0 else f"__{cont}__"
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
            title=t.gettext(N_("Your Rapport picture")), description="\n".join(lines), colour=COLOUR
        )
        if total > 1:
            embed.set_footer(
                text=t.gettext(
                    N_("Page {page} of {total} · only you can see this"), page=n, total=total
                )
            )
        else:
            embed.set_footer(text=t.gettext(N_("Only you can see this")))
        embeds.append(embed)
    return embeds


def help_embed(
    command_ids: Mapping[str, int],
    available: Collection[str],
    *,
    admin: bool,
    t: Translation = ENGLISH,
) -> discord.Embed:
    """What Rapport does, each command in this build as a clickable mention, and the privacy terms.

    `available` holds the qualified names of the commands and menus the bot has, so help never
    links a command another part of Rapport didn't ship.
    """

    def listed(commands: Sequence[tuple[str, str]]) -> str:
        return "\n".join(
            f"{mention(n, command_ids, t)} — {t.gettext(what)}"
            for n, what in commands
            if n in available
        )

    # The command list goes in the description: a field holds only 1024 characters.
    menus = [t.gettext(how, menu=t.pgettext("menu name", n)) for n, how in MENUS if n in available]
    members = [listed(MEMBER_COMMANDS), *menus]
    commands = "\n".join(m for m in members if m)
    heading = t.gettext(N_("Commands"))
    embed = discord.Embed(
        title="Rapport",
        description=f"{t.gettext(ABOUT)}\n\n**{heading}**\n{commands}",
        colour=COLOUR,
    )
    if admin:
        embed.add_field(
            name=t.gettext(N_("For admins")), value=listed(ADMIN_COMMANDS) or "—", inline=False
        )
    embed.add_field(name=t.gettext(N_("Privacy")), value=privacy_short(t), inline=False)
    return embed


def privacy_short(t: Translation = ENGLISH) -> str:
    """The privacy statement in a few sentences."""
    return t.gettext(
        PRIVACY_SHORT, export=command(t, "rapport export"), forget=command(t, "rapport forget")
    )


FORGET_WARNING = N_(
    "This deletes everything Rapport holds about you in this server — your relationships, "
    "the items waiting on you, your place in everyone else's picture and the leaderboard — "
    "and stops tracking you. It can't be undone. {export} first if you want a copy."
)
FORGOTTEN = N_(
    "Done. Everything about you is deleted and Rapport no longer tracks you here; nobody will "
    "be nudged about you. {track} lets it track you again from now on."
)


def forget_warning(t: Translation = ENGLISH) -> str:
    """What /rapport forget asks before deleting."""
    return t.gettext(FORGET_WARNING, export=command(t, "rapport export"))


def forgotten(t: Translation = ENGLISH) -> str:
    """What /rapport forget says once done."""
    return t.gettext(FORGOTTEN, track=command(t, "rapport track"))


# --- admin answers --------------------------------------------------------------------------


def guild_settings_embed(
    lines: Sequence[str], *, changed: bool, t: Translation = ENGLISH
) -> discord.Embed:
    """The answer to /rapport-admin setup."""
    title = (
        N_("Saved — this server's Rapport settings")
        if changed
        else N_("This server's Rapport settings")
    )
    return discord.Embed(title=t.gettext(title), description="\n".join(lines), colour=COLOUR)


def stats_embed(
    rows: Sequence[tuple[str, str]], problems: Sequence[str], t: Translation = ENGLISH
) -> discord.Embed:
    """Server totals and what needs fixing; never one member's data."""
    embed = discord.Embed(title=t.gettext(N_("Rapport in this server")), colour=COLOUR)
    embed.description = "\n".join(f"**{label}:** {value}" for label, value in rows)
    embed.add_field(
        name=t.gettext(N_("Needs attention") if problems else N_("Health")),
        value="\n".join(f"• {p}" for p in problems)[:1024]
        if problems
        else t.gettext(N_("All good.")),
        inline=False,
    )
    return embed
