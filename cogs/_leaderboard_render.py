"""The leaderboard's Discord face: the embed, the card attachment, and roles turned into teams.

Shared by the scheduled post and /leaderboard so both read the same.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Mapping, Sequence

import discord

from cogs import _kudos_render as kudos_render
from cogs import _l10n
from cogs._avatars import Avatars
from cogs._lookup import find_role
from rapport.i18n import ENGLISH, N_, Translation
from rapport.leaderboard import (
    Board,
    Standing,
    connections,
    improvement,
    period_label,
    render_card,
)

log = logging.getLogger(__name__)

COLOR = 0xF2C14E
_FIELD = 1024


def card_filename(period: str) -> str:
    """The attachment's name (the embed's image points at it)."""
    return f"leaderboard-{period}.png"


def _clip(lines: Sequence[str], limit: int = _FIELD, t: Translation = ENGLISH) -> str:
    """Join lines, dropping the tail (with a note) to stay under Discord's field limit."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        more = t.ngettext("… and {n} more", "… and {n} more", len(lines) - i)
        if used + len(line) + 1 > limit - len(more) - 1:
            out.append(more)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


#: At most this many members are looked up by REST for one board (the rest show as mentions).
FETCH_LIMIT = 25


async def people_for(
    guild: discord.Guild, board: Board, *, top: int = FETCH_LIMIT
) -> dict[int, discord.Member]:
    """Everyone the board shows (the top rows, the most improved and the most thanked), asking
    Discord for those not in the cache.

    Without the members intent (or before chunking ends) the cache lacks most members; a
    member looked up by id needs no privileged intent. One who left stays out (the embed then
    shows a mention, the card "member <id>").
    """
    ids = [s.member_id for s in board.standings[:top]]
    if board.most_improved is not None:
        ids.append(board.most_improved.member_id)
    ids += [row.member_id for row in board.most_thanked]
    out: dict[int, discord.Member] = {}
    missing = []
    for mid in dict.fromkeys(ids):
        member = guild.get_member(mid)
        if member is not None:
            out[mid] = member
        else:
            missing.append(mid)
    for mid in missing[:FETCH_LIMIT]:
        try:
            out[mid] = await guild.fetch_member(mid)
        except discord.NotFound:
            continue
        except discord.HTTPException as exc:
            log.info("could not look up member %s for the leaderboard: %s", mid, exc)
            break
    return out


def names_of(people: Mapping[int, discord.Member]) -> dict[int, str]:
    """Display names by member id."""
    return {mid: member.display_name for mid, member in people.items()}


async def names_for(
    guild: discord.Guild, board: Board, *, top: int = FETCH_LIMIT
) -> dict[int, str]:
    """Display names of everyone the board shows (see `people_for`)."""
    return names_of(await people_for(guild, board, top=top))


def _name(names: Mapping[int, str], member_id: int, t: Translation = ENGLISH) -> str:
    """A member's name in an embed: a mention when unknown (Discord renders it as the name,
    without pinging, inside an embed)."""
    name = names.get(member_id)
    return f"<@{member_id}>" if name is None else discord.utils.escape_markdown(name)


def movement(s: Standing, has_previous: bool, t: Translation = ENGLISH) -> str:
    """ "▲2", "▼1", "=" or "new" (in the reader's language)."""
    move = s.movement(has_previous)
    return t.gettext(N_("new")) if move == "new" else move


def embed(
    board: Board,
    names: Mapping[int, str],
    *,
    top: int,
    team: str | None = None,
    so_far: bool = False,
    with_card: bool = True,
    t: Translation = ENGLISH,
) -> discord.Embed:
    """Top members with movement, team standings, most improved and most connected."""
    label = period_label(board.period, t)
    if so_far:
        title = t.gettext(N_("Leaderboard — {period} (so far)"), period=label)
    else:
        title = t.gettext(N_("Leaderboard — {period}"), period=label)
    if team:
        title += f" · {team}"
    has_prev = board.previous is not None
    lines = []
    for s in board.top(top):
        move = movement(s, has_prev, t)
        lines.append(
            f"`{s.rank:>2}.` **{_name(names, s.member_id, t)}** · {t.number(s.score, 1)}"
            + (f" {move}" if move else "")
        )
    description = "\n".join(lines) or t.gettext(N_("Nobody has a score for this period yet."))
    out = discord.Embed(title=title, description=description, color=COLOR)
    if board.teams:
        out.add_field(
            name=t.gettext(N_("Teams (mean score · taking part)")),
            value=_clip(
                [
                    f"{team.rank}. **{discord.utils.escape_markdown(team.name)}** · "
                    f"{t.number(team.score, 1)} · {team.active}/{team.size} "
                    f"({t.percent(team.participation)})"
                    for team in board.teams
                ],
                t=t,
            ),
            inline=False,
        )
    if board.most_improved is not None:
        s = board.most_improved
        out.add_field(
            name=t.gettext(N_("Most improved")),
            value=f"{_name(names, s.member_id, t)} · {improvement(s, t)} "
            f"({movement(s, has_prev, t)})",
            inline=True,
        )
    if board.most_connected is not None:
        best = board.most_connected
        out.add_field(
            name=t.gettext(N_("Most connected team")),
            value=connections(best, t, name=discord.utils.escape_markdown(best.name)),
            inline=True,
        )
    if with_card:
        out.set_image(url=f"attachment://{card_filename(board.period)}")
    out.set_footer(text=board.formula_in(t))
    return out


def embeds(
    board: Board,
    names: Mapping[int, str],
    *,
    top: int,
    team: str | None = None,
    so_far: bool = False,
    t: Translation = ENGLISH,
) -> list[discord.Embed]:
    """The board's embed, and beside it the "most thanked" board when anyone was thanked."""
    out = [embed(board, names, top=top, team=team, so_far=so_far, t=t)]
    if board.most_thanked:
        label = period_label(board.period, t)
        title = (
            t.gettext(N_("Most thanked — {period} (so far)"), period=label)
            if so_far
            else t.gettext(N_("Most thanked — {period}"), period=label)
        )
        out.append(kudos_render.board_embed(board.most_thanked, names, title=title, t=t))
    return out


def card(
    board: Board,
    names: Mapping[int, str],
    *,
    top: int,
    t: Translation = ENGLISH,
    server: str | None = None,
    icon: bytes | None = None,
    avatars: Mapping[int, bytes] | None = None,
) -> bytes:
    """The PNG card (call it off the event loop: drawing takes a few tens of ms)."""
    return render_card(board, names, top=top, t=t, server=server, icon=icon, avatars=avatars)


async def drawn(
    guild: discord.Guild, board: Board, avatars: Avatars, *, top: int
) -> tuple[dict[int, str], bytes]:
    """The names on the board and its card (server name and icon, avatars, the server's
    language), drawn off the event loop."""
    people = await people_for(guild, board, top=top)
    icon, pictures = await avatars.for_card(guild, people.values())
    names = names_of(people)
    png = await asyncio.to_thread(
        card, board, names, top=top, t=_l10n.for_guild(guild), server=guild.name, icon=icon,
        avatars=pictures,
    )  # fmt: skip
    return names, png


def attachment(board: Board, png: bytes) -> discord.File:
    """The card as the file the embed's image points at."""
    return discord.File(io.BytesIO(png), filename=card_filename(board.period))


def resolve_teams(guild: discord.Guild, specs: Sequence[str | int]) -> dict[str, set[int]]:
    """Configured team roles as {role name: member ids}, bots left out; unknown roles skipped."""
    out: dict[str, set[int]] = {}
    for spec in specs:
        role = find_role(guild, spec)
        if role is not None:
            out[role.name] = {m.id for m in role.members if not m.bot}
    return out
