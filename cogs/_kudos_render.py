"""How a thanks reads: the public post (the server's language), the giver's private answers.

Nothing here calls a service; `cogs/kudos.py` gathers the values and sends what this renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import discord

from cogs._l10n import command
from rapport.i18n import ENGLISH, N_, Translation
from rapport.people import Received, Thanked

COLOR = 0xE8915B


def post(
    giver: str,
    receiver_id: int,
    *,
    words: str | None = None,
    url: str | None = None,
    t: Translation = ENGLISH,
) -> str:
    """The public thanks: the receiver is mentioned (pinged), the giver's words quoted as typed."""
    name = discord.utils.escape_markdown(giver)
    receiver = f"<@{receiver_id}>"
    if words:
        return t.gettext(
            N_("🙏 **{giver}** thanks {receiver}: “{words}”"),
            giver=name,
            receiver=receiver,
            words=words.strip(),
        )
    if url:
        return t.gettext(
            N_("🙏 **{giver}** thanks {receiver} for [this message]({url})"),
            giver=name,
            receiver=receiver,
            url=url,
        )
    return t.gettext(N_("🙏 **{giver}** thanks {receiver}!"), giver=name, receiver=receiver)


def only_them(receiver_id: int) -> discord.AllowedMentions:
    """The post pings the person thanked and nobody else, whatever the giver's words mention."""
    return discord.AllowedMentions(
        everyone=False, roles=False, replied_user=False, users=[discord.Object(receiver_id)]
    )


def private_answer(name: str, *, words: bool, t: Translation = ENGLISH) -> str:
    """What the giver alone reads after a private thanks."""
    text = t.gettext(
        N_(
            "Thanked **{name}** privately — nothing was posted. It counts in their thanks "
            "received, and they can see it came from you in {status}."
        ),
        name=discord.utils.escape_markdown(name),
        status=command(t, "rapport status"),
    )
    if words:
        text += "\n" + t.gettext(
            N_(
                "Your words weren't sent: Rapport never keeps what anyone wrote, so only a "
                "public thanks carries them."
            )
        )
    return text


def received_lines(
    thanks: Received | None, name: Callable[[int], str], t: Translation = ENGLISH
) -> list[str]:
    """The "Thanks received" lines of /rapport status."""
    if thanks is None or thanks.total == 0:
        return [
            t.gettext(
                N_("None yet — a thanks someone gives you with {thanks} shows up here."),
                thanks=command(t, "thanks"),
            )
        ]
    counts = t.gettext(
        N_("{recent} in the last 7 days · {total} in all"),
        recent=t.number(thanks.recent),
        total=t.number(thanks.total),
    )
    latest = [
        t.gettext(
            N_("**{name}** privately, {when}") if k.private else N_("**{name}**, {when}"),
            name=name(k.giver_id),
            when=f"<t:{int(k.at.timestamp())}:R>",
        )
        for k in thanks.latest
    ]
    return [counts, t.gettext(N_("Latest: {people}"), people=" · ".join(latest))]


def thanked_by(thanks: int, givers: int, t: Translation = ENGLISH) -> str:
    """'thanked once', 'thanked 3 times by one person', 'thanked 5 times by 3 people':
    never 'thanked 1 time by 1 person' (each count in the language's own plural forms)."""
    if thanks <= 1:
        return t.gettext(N_("thanked once"))
    if givers <= 1:
        return t.ngettext(
            "thanked {n} time by one person", "thanked {n} times by one person", thanks
        )
    if givers >= thanks:
        return t.ngettext("thanked by {n} person", "thanked by {n} people", givers)
    return t.ngettext(
        "thanked {n} time by {people}",
        "thanked {n} times by {people}",
        thanks,
        people=t.ngettext("{n} person", "{n} people", givers),
    )


def board_embed(
    thanked: tuple[Thanked, ...],
    names: Mapping[int, str],
    *,
    title: str,
    t: Translation = ENGLISH,
) -> discord.Embed:
    """The "most thanked" board beside the leaderboard: thanks received, from how many people."""
    lines = []
    for row in thanked:
        name = names.get(row.member_id)
        shown = f"<@{row.member_id}>" if name is None else discord.utils.escape_markdown(name)
        lines.append(f"`{row.rank:>2}.` **{shown}** · " + thanked_by(row.thanks, row.givers, t))
    return discord.Embed(title=title, description="\n".join(lines), color=COLOR)
