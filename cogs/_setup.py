"""/rapport-admin setup: every server setting in Discord, over config.toml's defaults.

A mixin of the Admin cog (the command lives in its `/rapport-admin` group). Discord values
(roles, channels) become ids here; the core (`GuildService.update`) checks every value and
keeps none when one is wrong. No options shows the effective settings and where each comes
from (`cogs/_setup_view.py`). `reset` (or a text value of "default") goes back to config.toml.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import discord
from discord import app_commands

from cogs import _embeds as render
from cogs import _l10n
from cogs._lookup import check_can_post, find_role
from cogs._preferences import nudge_kinds, zones
from cogs._respond import reply_private
from cogs._setup_view import admin_digest_line, option_name, setting_lines
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.ids import parse_id
from rapport.people import SETTINGS, GuildService, MemberService
from rapport.people.guilds import DEFAULT, RESET_ALL

ROLES_UNSEEN = N_(
    "⚠ The Server Members intent is off, so Rapport knows a member's roles only from what they "
    "send (messages, commands): the enrollment, welcomer and staff roles reach only the members "
    "it has seen, and a role change shows on their next message. Turn it on to see everyone "
    "(Developer Portal, and [discord] members_intent = true)."
)
ROLE_MENTION = re.compile(r"<@&(\d+)>")
CHANNEL_MENTION = re.compile(r"<#(\d+)>")
MAX_TEAMS = 10
MAX_LISTED = 25
NO_ROLES = ("none", "off", "clear")
ALL_CHANNELS = "all"
THRESHOLD = app_commands.Range[str, 1, 20]
LIST = app_commands.Range[str, 1, 1000]


class SetupCommand:
    """The setup command, for a cog that has `guilds` and `members` (the Admin cog)."""

    guilds: GuildService
    members: MemberService

    @app_commands.command(name="setup")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        leaderboard="Post the board on its schedule and answer /leaderboard",
        leaderboard_channel="Where the weekly leaderboard is posted",
        leaderboard_period="What each post covers: the last week or the last month",
        leaderboard_schedule="When the board is posted: a crontab in the server's time zone",
        teams="Team roles, comma-separated (@Design, @Eng or role names); “none” for no teams",
        staff_roles="Roles kept off the board, comma-separated; “none” for none",
        enrollment="opt-in: members /rapport join; opt-out: everyone gets digests until they leave",
        enrollment_role="Only members with this role can join (and, with opt-out, get digests)",
        welcomer_role="A role whose members are also asked to greet newcomers",
        timezone="The server's default time zone (IANA, e.g. Europe/Paris)",
        track_only="Track only these channels (#a, #b) and their threads; “all” for every channel",
        nudge_kinds="Which nudges members may get: drifting, unanswered, thanks, share, welcome",
        drift_after="Silence before a pair with no known rhythm drifts (e.g. 21d)",
        drift_min="The shortest silence that counts as drifting (e.g. 7d)",
        unanswered_after="How long a reply or mention waits before it is nudged (e.g. 24h)",
        stale_after="Nothing older than this is nudged about (e.g. 7d)",
        share_after="How long without sharing before a share nudge (e.g. 14d)",
        kudos_max_per_day="Thanks one member may give in any 24 hours with /thanks (0 turns it off)",
        reset="Settings to set back to config.toml's value, comma-separated, or “all”",
    )
    @app_commands.autocomplete(timezone=zones, nudge_kinds=nudge_kinds)
    async def setup(
        self,
        interaction: discord.Interaction,
        leaderboard: Literal["on", "off"] | None = None,
        leaderboard_channel: discord.TextChannel | None = None,
        leaderboard_period: Literal["week", "month"] | None = None,
        leaderboard_schedule: app_commands.Range[str, 1, 100] | None = None,
        teams: LIST | None = None,
        staff_roles: LIST | None = None,
        enrollment: Literal["opt-in", "opt-out"] | None = None,
        enrollment_role: discord.Role | None = None,
        welcomer_role: discord.Role | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        track_only: LIST | None = None,
        nudge_kinds: app_commands.Range[str, 1, 100] | None = None,
        drift_after: THRESHOLD | None = None,
        drift_min: THRESHOLD | None = None,
        unanswered_after: THRESHOLD | None = None,
        stale_after: THRESHOLD | None = None,
        share_after: THRESHOLD | None = None,
        kudos_max_per_day: app_commands.Range[int, 0, 100] | None = None,
        reset: app_commands.Range[str, 1, 400] | None = None,
    ) -> None:
        """See every Rapport setting of this server and where it comes from, or change them."""
        guild = interaction.guild
        assert guild is not None  # the Admin cog's interaction_check refused DMs
        t = _l10n.for_interaction(interaction, self.members)
        given = {
            "leaderboard_period": leaderboard_period,
            "leaderboard_schedule": leaderboard_schedule,
            "enrollment": enrollment,
            "timezone": timezone.strip() if timezone is not None else None,
            "nudge_kinds": nudge_kinds,
            "drift_after": drift_after,
            "drift_min": drift_min,
            "unanswered_after": unanswered_after,
            "stale_after": stale_after,
            "share_after": share_after,
            "kudos_max_per_day": kudos_max_per_day,
        }
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if leaderboard is not None:
            changes["leaderboard"] = leaderboard == "on"
        if leaderboard_channel is not None:
            check_can_post(leaderboard_channel, t)
            changes["leaderboard_channel"] = leaderboard_channel.id
        for name, role in (("enrollment_role", enrollment_role), ("welcomer_role", welcomer_role)):
            if role is not None:
                if role.is_default():
                    raise UserFacingError(
                        N_("{option} needs a role other than @everyone."),
                        option=option_name(t, name),
                    )
                changes[name] = role.id
        for name, text in (("teams", teams), ("staff_roles", staff_roles)):
            if text is not None:
                changes[name] = None if _default(text) else _roles(guild, text, name, t)
        if track_only is not None:
            changes["track_only"] = (
                None if _default(track_only) else _channels(guild, track_only, t)
            )
        try:
            resets = self.guilds.setting_names(_english(reset, t)) if reset is not None else []
            if resets or changes:
                await self.guilds.update(guild.id, **(dict.fromkeys(resets) | changes))
        except UserFacingError as exc:
            raise _named_in_language(exc, t) from None
        policy = self.guilds.policy(guild.id)
        lines = setting_lines(guild, policy, t)
        lines.append(admin_digest_line(self.guilds.get(guild.id), t))
        roles_set = policy.enrollment_role or policy.welcomer_role or policy.staff_roles
        if roles_set and not interaction.client.intents.members:
            lines.append(t.gettext(ROLES_UNSEEN))
        embed = render.guild_settings_embed(lines, changed=bool(resets or changes), t=t)
        await reply_private(interaction, embed=embed)

    @setup.autocomplete("reset")
    async def _reset_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The setting names, as the admin's client shows the options, after what is typed."""
        t = _l10n.for_interaction(interaction)
        done, _, typing = current.rpartition(",")
        head = [p.strip() for p in done.split(",") if p.strip()]
        prefix = ", ".join(head) + ", " if head else ""
        typed = typing.strip().casefold()
        out = []
        for name in (RESET_ALL, *SETTINGS):
            shown = option_name(t, name) if name != RESET_ALL else RESET_ALL
            if name not in head and (typed in name or typed in shown.casefold()):
                value = prefix + name
                if len(value) <= 100:
                    out.append(app_commands.Choice(name=(prefix + shown)[:100], value=value))
        return out[:MAX_LISTED]


def _english(text: str, t: Translation) -> list[str]:
    """Setting names as typed (in English, or as the admin's client shows the options)."""
    local = {option_name(t, name).casefold(): name for name in SETTINGS}
    parts = [p.strip() for p in text.split(",")]
    return [local.get(p.casefold(), p) for p in parts]


def _default(text: str) -> bool:
    """Whether the admin typed "default" (back to config.toml's value)."""
    return text.strip().lower() == DEFAULT


def _named_in_language(exc: UserFacingError, t: Translation) -> UserFacingError:
    """The core names options in English: name them as the admin's client shows them."""
    for key, value in exc.params.items():
        if key == "option" or key.endswith("_option"):
            exc.params[key] = option_name(t, str(value))
    return exc


def _roles(guild: discord.Guild, text: str, option: str, t: Translation) -> tuple[int, ...]:
    """Role ids from "@Design, Eng, 1234"; a name or id that matches no role is refused."""
    if text.strip().lower() in NO_ROLES:
        return ()
    ids: list[int] = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        match = ROLE_MENTION.fullmatch(raw)
        role = None
        if match or raw.isdecimal():
            role = guild.get_role(parse_id(match[1] if match else raw) or 0)
        else:
            role = find_role(guild, raw)
        if role is None or role.is_default():
            raise UserFacingError(
                N_("“{value}” isn't a role in this server (use @Role or its name)."), value=raw
            )
        if role.id not in ids:
            ids.append(role.id)
    if not ids:
        raise UserFacingError(
            N_("Name at least one role for {option}, or “none”."), option=option_name(t, option)
        )
    if len(ids) > MAX_TEAMS:
        raise UserFacingError(
            N_("{option} takes at most {max} roles."), option=option_name(t, option), max=MAX_TEAMS
        )
    return tuple(ids)


def _channel(guild: discord.Guild, raw: str) -> discord.TextChannel | discord.ForumChannel | None:
    """A text or forum channel by mention, id or name (case-insensitive, "#" optional)."""
    match = CHANNEL_MENTION.fullmatch(raw)
    if match or raw.isdecimal():
        found = guild.get_channel(parse_id(match[1] if match else raw) or 0)
    else:
        wanted = raw.lstrip("#").casefold()
        found = next(
            (c for c in (*guild.text_channels, *guild.forums) if c.name.casefold() == wanted),
            None,
        )
    return found if isinstance(found, discord.TextChannel | discord.ForumChannel) else None


def _channels(guild: discord.Guild, text: str, t: Translation) -> frozenset[int] | None:
    """Channel ids from "#help, design, 1234"; "all" tracks every channel again."""
    if text.strip().lower() == ALL_CHANNELS:
        return None
    ids: set[int] = set()
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        channel = _channel(guild, raw)
        if channel is None:
            raise UserFacingError(
                N_("“{value}” isn't a text or forum channel in this server (use #channel)."),
                value=raw,
            )
        ids.add(channel.id)
    if not ids:
        raise UserFacingError(
            N_("Name at least one channel for {option}, or “all”."),
            option=option_name(t, "track_only"),
        )
    return frozenset(ids)
