"""/rapport-admin ...: set Rapport up for a server and see how it is doing, in totals only.

Discord's default permission (Manage Server) is only a hint admins can change, so every
command checks the permission in code too. Nothing here shows one member's data (the forget
command deletes it, after a confirm: cogs/_forget.py).
The bodies of the longer commands live in helper modules (_setup, _backfill, _admin_digest).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _embeds as render
from cogs import _forget, _l10n
from cogs._admin_digest import AdminPoster, admin_digest_command
from cogs._backfill import Backfiller, backfill_command
from cogs._bot import RapportBot
from cogs._lookup import (
    POST_PERMISSIONS,
    READ_PERMISSIONS,
    TEAMS_NEED_MEMBERS,
    find_channel,
    missing_permissions,
    permission_names,
)
from cogs._respond import reply_private
from cogs._roles import DiscordRoles
from cogs._setup import SetupCommand
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.leaderboard import LeaderboardService
from rapport.nudges import AdminDigests, NudgeService
from rapport.people import GuildPolicy, GuildService, MemberService, Privacy
from rapport.tracking import Ledger

log = logging.getLogger(__name__)

ROLE_MENTION = re.compile(r"<@&(\d+)>")
MAX_TEAMS = 10
NO_TEAMS = ("none", "off", "clear")


def owner_or_manage_guild() -> Any:
    """Allow the bot's owners anywhere and members with Manage Server in their server."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.permissions.manage_guild or await interaction.client.is_owner(
            interaction.user
        ):
            return True
        raise app_commands.MissingPermissions(["manage_guild"])

    return app_commands.check(predicate)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(SetupCommand, commands.GroupCog, group_name="rapport-admin"):
    """Set Rapport up for this server and see how it is doing."""

    def __init__(
        self,
        bot: RapportBot,
        guilds: GuildService,
        members: MemberService,
        ledger: Ledger,
        nudges: NudgeService,
        board: LeaderboardService,
        backfiller: Backfiller,
        privacy: Privacy,
        digests: AdminDigests,
    ) -> None:
        self.bot = bot
        self.privacy = privacy
        self.digests = digests
        self.poster = AdminPoster(bot, guilds, members)
        self.backfiller = backfiller
        self.guilds = guilds
        self.members = members
        self.ledger = ledger
        self.nudges = nudges
        self.board = board
        super().__init__()

    async def cog_load(self) -> None:
        """The weekly admin digest goes out through this cog from now on."""
        self.digests.attach(self.poster)

    async def cog_unload(self) -> None:
        """No more admin digests through this cog."""
        self.digests.detach()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse DMs: Discord hides guild-only commands there, but an old client may not."""
        if interaction.guild_id is None or interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        await self.members.ensure(interaction.guild_id)
        return True

    def _t(self, interaction: discord.Interaction) -> Translation:
        """The language of this admin's private answer."""
        return _l10n.for_interaction(interaction, self.members)

    @staticmethod
    def _guild(interaction: discord.Interaction) -> discord.Guild:
        assert interaction.guild is not None  # interaction_check refused DMs
        return interaction.guild

    @app_commands.command(name="exclude-channel")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(channel="Stop tracking interactions here (its threads included)")
    async def exclude_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | discord.ForumChannel
    ) -> None:
        """Stop tracking interactions in a channel, from now on."""
        guild = self._guild(interaction)
        if channel.id in self.guilds.policy(guild.id).excluded_channels:
            raise UserFacingError(N_("{channel} is already excluded."), channel=channel.mention)
        await self.guilds.exclude_channels(guild.id, [channel.id])
        t = self._t(interaction)
        await reply_private(
            interaction,
            t.gettext(
                N_(
                    "Rapport no longer tracks {channel} (nor its threads). What it recorded "
                    "before stays until it fades; {include} undoes this."
                ),
                channel=channel.mention,
                include=_l10n.command(t, "rapport-admin include-channel"),
            ),
        )

    @app_commands.command(name="include-channel")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(channel="Track interactions here again")
    async def include_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | discord.ForumChannel
    ) -> None:
        """Track interactions in an excluded channel again."""
        guild = self._guild(interaction)
        own = self.guilds.get(guild.id).excluded_channels
        if channel.id not in own:
            if channel.id in self.guilds.policy(guild.id).excluded_channels:
                raise UserFacingError(
                    N_(
                        "{channel} is excluded in Rapport's config file "
                        "([tracking] ignore_channels); the bot's operator can change that."
                    ),
                    channel=channel.mention,
                )
            raise UserFacingError(
                N_("{channel} isn't excluded — Rapport tracks it already."),
                channel=channel.mention,
            )
        await self.guilds.exclude_channels(guild.id, [channel.id], exclude=False)
        await reply_private(
            interaction,
            self._t(interaction).gettext(
                N_("Rapport tracks {channel} again, from now on."), channel=channel.mention
            ),
        )

    @app_commands.command(name="stats")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction) -> None:
        """See server totals — engagement, digests, acted-on rate — and what needs fixing."""
        # Counting a big server takes seconds (bench/commands.py): answer "thinking" first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = self._guild(interaction)
        gid = guild.id
        humans = {m.id for m in guild.members if not m.bot}
        if not (self.bot.intents.members and guild.chunked):
            # The cache holds only part of the server: count the people tracking has met too.
            humans |= self.ledger.members(gid)
        figures = self.nudges.guild_stats(gid)
        t = self._t(interaction)
        num = t.number
        rate = t.percent(figures["acted_on_rate"]) if figures["nudges_sent"] else "—"
        rows = [
            (N_("Members tracked"), num(len(self.ledger.members(gid)))),
            (N_("Enrolled in digests"), num(len(self.members.enrolled_members(gid, humans)))),
            (N_("Pairs who interacted"), num(self.ledger.pair_count(gid))),
            (N_("Interactions recorded"), num(self.ledger.interactions_total(gid))),
            (N_("Digests sent"), num(figures["digests_sent"])),
            (N_("Nudges sent"), num(figures["nudges_sent"])),
            (N_("Nudges acted on"), num(figures["acted_on"])),
            (N_("Acted-on rate"), rate),
            (N_("Members with DMs closed"), num(figures["dms_closed"])),
        ]
        rows = [(t.gettext(label), value) for label, value in rows]
        problems = self._problems(guild, t)
        await reply_private(interaction, embed=render.stats_embed(rows, problems, t))

    def _problems(self, guild: discord.Guild, t: Translation) -> list[str]:
        """What stops Rapport from working fully here, in words an admin can act on."""
        out = []
        intents = self.bot.intents
        if not intents.message_content:
            out.append(
                t.gettext(
                    N_(
                        "The Message Content intent is off: thanks and shares aren't recognised "
                        "(turn it on in the Developer Portal and set [discord] "
                        "message_content = true)."
                    )
                )
            )
        if not intents.members:
            out.append(
                t.gettext(
                    N_(
                        "The Server Members intent is off: joins aren't seen, so welcome nudges "
                        "are off (turn it on in the Developer Portal and set [discord] "
                        "members_intent = true)."
                    )
                )
            )
        policy = self.guilds.policy(guild.id)
        if policy.teams and not intents.members:
            out.append(t.gettext(TEAMS_NEED_MEMBERS))
        unreadable = [
            c.mention
            for c in guild.text_channels
            if not policy.ignores_channel(c.id, c.name) and missing_permissions(c, READ_PERMISSIONS)
        ]
        if unreadable:
            shown = ", ".join(unreadable[:10]) + (" …" if len(unreadable) > 10 else "")
            out.append(
                t.gettext(
                    N_("I can't read {channels} ({permissions})."),
                    channels=shown,
                    permissions=permission_names(list(READ_PERMISSIONS), t),
                )
            )
        out += _leaderboard_problems(guild, policy, t)
        chosen = self.guilds.get(guild.id).admin_digest_channel
        if chosen and self.poster.channel(guild) is None:
            out.append(
                t.gettext(
                    N_(
                        "I can't post the admin digest in {channel} (missing permissions, or it's "
                        "gone): pick another with {command}."
                    ),
                    channel=f"<#{chosen}>",
                    command=_l10n.command(t, "rapport-admin admin-digest"),
                )
            )
        problem = self.board.problem(guild.id)
        if problem:
            # The recorded problem is the operator's log line (English, with Discord's words).
            out.append(
                t.gettext(N_("The last leaderboard post failed: {problem}"), problem=problem)
            )
        return out

    @app_commands.command(name="admin-digest")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        channel="Post the weekly admin digest in this channel (keep it private to admins)",
        no_channel="Stop posting the admin digest in a channel",
        dm="Get the weekly admin digest by DM yourself",
    )
    async def admin_digest(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        no_channel: bool = False,
        dm: Literal["on", "off"] | None = None,
    ) -> None:
        """Choose where the weekly admin digest goes, and see what it would say now."""
        t = self._t(interaction)
        await admin_digest_command(
            interaction, self.poster, self.digests, t, channel, no_channel, dm
        )

    @app_commands.command(name="backfill")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(days="How many days of history to read (1–365)")
    async def backfill(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365]
    ) -> None:
        """Read past messages into Rapport (safe to run twice; resumes after a restart)."""
        await backfill_command(interaction, days, self.backfiller)

    @app_commands.command(name="forget")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(user_id="Their Discord user id (they may have left the server)")
    async def forget(
        self, interaction: discord.Interaction, user_id: app_commands.Range[str, 1, 40]
    ) -> None:
        """Delete what Rapport holds about someone here, e.g. a member who left (after a confirm)."""
        await _forget.ask_admin(interaction, self.privacy, user_id, self._t(interaction))

    @app_commands.command(name="sync")
    @owner_or_manage_guild()
    @app_commands.checks.cooldown(1, 60.0, key=lambda i: i.guild_id)
    async def sync(self, interaction: discord.Interaction) -> None:
        """Re-sync Rapport's slash commands with Discord (after an update)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.bot.sync_commands()
        log.info("commands re-synced by request from guild %s", interaction.guild_id)
        await reply_private(
            interaction,
            self._t(interaction).ngettext(
                "Synced {n} command with Discord.",
                "Synced {n} commands with Discord.",
                count,
            ),
        )


def _leaderboard_problems(guild: discord.Guild, policy: GuildPolicy, t: Translation) -> list[str]:
    channel = find_channel(guild, policy.leaderboard_channel)
    if channel is None:
        return [
            t.gettext(
                N_("The leaderboard channel ({channel}) doesn't exist: choose one with {setup}."),
                channel=policy.leaderboard_channel,
                setup=_l10n.command(t, "rapport-admin setup"),
            )
        ]
    missing = missing_permissions(channel, POST_PERMISSIONS)
    if missing:
        return [
            t.gettext(
                N_("I can't post the leaderboard in {channel}: missing {permissions}."),
                channel=channel.mention,
                permissions=permission_names(missing, t),
            )
        ]
    return []


async def setup(bot: RapportBot) -> None:
    """Load the admin commands with the services whose totals they show."""
    s = bot.services
    # Who holds the roles the server settings name (enrollment, welcomer, staff).
    s.guilds.roles = DiscordRoles(bot)
    backfiller = Backfiller(s.backfill, s.ledger, s.members, s.guilds, s.flusher.flush, s.threads)
    await bot.add_cog(
        Admin(
            bot,
            s.guilds,
            s.members,
            s.ledger,
            s.nudges,
            s.leaderboard,
            backfiller,
            s.privacy,
            s.admin_digests,
        )
    )
