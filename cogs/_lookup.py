"""What the config names in a guild, found one way everywhere: channels, roles, permissions.

The weekly post, /leaderboard, /rapport-admin setup and stats all look channels and roles up
here, so they never disagree about what a name means (names match case-insensitively, "#" and
"@" optional; digits are ids).
"""

from __future__ import annotations

from collections.abc import Callable

import discord

from rapport import i18n
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.ids import parse_id

# What the leaderboard needs in its channel.
POST_PERMISSIONS = ("view_channel", "send_messages", "embed_links", "attach_files")
# What tracking and backfill need in every tracked channel.
READ_PERMISSIONS = ("view_channel", "read_message_history")

#: Who holds a team role is only known with the members intent (Discord sends no member list
#: without it), so team standings can't be drawn: said by /leaderboard team: and by stats.
TEAMS_NEED_MEMBERS = N_(
    "Team standings need the Server Members intent: without it Rapport can't see who holds "
    "each team role (turn it on in the Developer Portal and set [discord] members_intent = true)."
)


def find_channel(guild: discord.Guild, spec: str | int) -> discord.TextChannel | None:
    """A text channel by id, or by name (case-insensitive, "#" optional)."""
    if isinstance(spec, int) or spec.isdecimal():
        found = guild.get_channel(parse_id(spec) or 0)
        return found if isinstance(found, discord.TextChannel) else None
    wanted = spec.lstrip("#").casefold()
    return next((c for c in guild.text_channels if c.name.casefold() == wanted), None)


def find_role(guild: discord.Guild, spec: str | int) -> discord.Role | None:
    """A role by id, or by name (case-insensitive, "@" optional)."""
    if isinstance(spec, int) or spec.isdecimal():
        return guild.get_role(parse_id(spec) or 0)
    wanted = spec.lstrip("@").casefold()
    return next((r for r in guild.roles if r.name.casefold() == wanted), None)


def missing_permissions(
    channel: discord.abc.GuildChannel, needed: tuple[str, ...] = POST_PERMISSIONS
) -> list[str]:
    """The permissions (API names) the bot lacks in a channel, of those needed."""
    perms = channel.permissions_for(channel.guild.me)
    return [p for p in needed if not getattr(perms, p)]


def check_can_post(
    channel: discord.abc.GuildChannel,
    t: Translation,
    needed: tuple[str, ...] = POST_PERMISSIONS,
) -> None:
    """Refuse a channel picked for posts where the bot lacks any of `needed`, naming them."""
    if missing := missing_permissions(channel, needed):
        raise UserFacingError(
            N_(
                "I can't post in {channel}: I'm missing {permissions} there. Give Rapport "
                "those permissions in the channel's settings, or pick another channel."
            ),
            channel=channel.mention,
            permissions=permission_names(missing, t),
        )


def place(channel: object | None, channel_id: int, t: Translation = i18n.ENGLISH) -> str:
    """Where a line's moment happened, as a member reads it: #channel, or a thread (a forum
    post too) by its name in quotes, as Discord lists threads (a "#" is for channels)."""
    if channel is None:
        return f"<#{channel_id}>"
    name = getattr(channel, "name", "")
    if isinstance(channel, discord.Thread):
        return t.gettext(N_("“{thread}”"), thread=name)
    return f"#{name}"


# Permissions as Discord's interface labels them ("Manage Server", not "Manage Guild").
PERMISSION_LABELS = {
    "manage_guild": N_("Manage Server"),
    "view_channel": N_("View Channels"),
    "send_messages": N_("Send Messages"),
    "embed_links": N_("Embed Links"),
    "attach_files": N_("Attach Files"),
    "read_message_history": N_("Read Message History"),
}


def permission_names(names: list[str], t: Translation = i18n.ENGLISH) -> str:
    """Permissions as Discord's interface labels them, in the member's language."""
    return t.join(
        [
            t.gettext(PERMISSION_LABELS[p])
            if p in PERMISSION_LABELS
            else p.replace("_", " ").title()
            for p in names
        ]
    )


def namer(guild: discord.Guild | None) -> Callable[[int], str]:
    """Display names from the guild cache; a mention (rendered by the client) otherwise."""

    def name(member_id: int) -> str:
        found = guild.get_member(member_id) if guild else None
        return found.display_name if found else f"<@{member_id}>"

    return name
