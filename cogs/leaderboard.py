"""The leaderboard's Discord side: the Poster the scheduled post goes through, and /leaderboard.

Thin: roles become {team: member ids}, the core scores, `_leaderboard_render` draws. The
post-once protocol (claim, post, release on refusal, late post at start) and its schedule live
in the core: rapport/leaderboard/posting.py, wired in rapport/compose.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _l10n
from cogs import _leaderboard_render as render
from cogs._avatars import Avatars
from cogs._bot import RapportBot
from cogs._lookup import (
    POST_PERMISSIONS,
    TEAMS_NEED_MEMBERS,
    find_channel,
    find_role,
    missing_permissions,
    permission_names,
)
from rapport.clock import Clock
from rapport.errors import UserFacingError
from rapport.i18n import ENGLISH, N_, Translation
from rapport.leaderboard import (
    Board,
    LeaderboardPosts,
    LeaderboardService,
    PostOutcome,
    PostResult,
    Target,
)
from rapport.people import GuildService
from rapport.settings import LeaderboardSettings

log = logging.getLogger(__name__)

PERIODS = [
    app_commands.Choice(name="this week", value="week"),
    app_commands.Choice(name="this month", value="month"),
    app_commands.Choice(name="all time", value="all"),
]


class Leaderboard(commands.Cog):
    """Posts the team leaderboard for the core's schedule and answers /leaderboard."""

    def __init__(
        self,
        bot: commands.Bot,
        service: LeaderboardService,
        posts: LeaderboardPosts,
        guilds: GuildService,
        settings: LeaderboardSettings,
        clock: Clock,
    ) -> None:
        self.bot = bot
        self.service = service
        self.posts = posts
        self.guilds = guilds
        self.settings = settings
        self.clock = clock
        self.avatars = Avatars()

    async def cog_load(self) -> None:
        """Scheduled posts go through this cog from now on."""
        self.posts.attach(self)

    async def cog_unload(self) -> None:
        """No more scheduled posts through this cog."""
        self.posts.detach()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Catch up a post missed while the bot was down (crontab schedules only)."""
        await self.posts.catch_up()

    # ---- the Poster: what the core's post-once protocol asks of Discord --------------------

    def guild_ids(self) -> list[int]:
        """The guilds this process is in."""
        return [g.id for g in self.bot.guilds]

    def target(self, guild_id: int, spec: str | int) -> Target | str:
        """The leaderboard channel, or why the board can't be posted there."""
        guild = self.bot.get_guild(guild_id)
        channel = None if guild is None else find_channel(guild, spec)
        if channel is None:
            return f"the leaderboard channel “{spec}” was not found"
        if missing := missing_permissions(channel, POST_PERMISSIONS):
            # English: the recorded problem is the operator's log line (stats quote it).
            return f"missing {permission_names(missing)} in #{channel.name}"
        return Target(channel.id, channel.name)

    def teams(self, guild_id: int, specs: Sequence[str | int]) -> dict[str, set[int]]:
        """The configured team roles' members."""
        guild = self.bot.get_guild(guild_id)
        return {} if guild is None else render.resolve_teams(guild, specs)

    def keep(self, guild_id: int) -> Callable[[int], bool] | None:
        """Who may appear: members still in the server (only knowable with the members intent,
        once the member list has fully arrived)."""
        guild = self.bot.get_guild(guild_id)
        if guild is None or not self.bot.intents.members or not guild.chunked:
            return None

        def keep(member_id: int) -> bool:
            member = guild.get_member(member_id)
            return member is not None and not member.bot

        return keep

    async def _names(self, guild_id: int, board: Board) -> dict[int, str]:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return {}
        return await render.names_for(guild, board, top=self.settings.top)

    def _language(self, guild_id: int) -> Translation:
        guild = self.bot.get_guild(guild_id)
        return ENGLISH if guild is None else _l10n.for_guild(guild)

    async def card(self, guild_id: int, board: Board) -> bytes:
        """The PNG card, in the server's language, with its name, icon and the avatars."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return await asyncio.to_thread(render.card, board, {}, top=self.settings.top)
        return (await render.drawn(guild, board, self.avatars, top=self.settings.top))[1]

    async def send(self, guild_id: int, target: Target, board: Board, png: bytes) -> PostResult:
        """Post the board; a 5xx leaves the outcome unknown, any other refusal is certain."""
        channel = self.bot.get_channel(target.channel_id)
        if not isinstance(channel, discord.TextChannel):
            return PostResult(PostOutcome.REFUSED, reason="the channel is gone")
        names, t = await self._names(guild_id, board), self._language(guild_id)
        embeds = render.embeds(board, names, top=self.settings.top, t=t)
        try:
            # discord.py re-sends after a 5xx; the nonce makes Discord answer a re-send with
            # the post it already created instead of posting the board twice.
            message = await channel.send(
                embeds=embeds, file=render.attachment(board, png), nonce=secrets.token_hex(12)
            )
        except discord.DiscordServerError as exc:
            return PostResult(PostOutcome.UNKNOWN, reason=str(exc))
        except discord.HTTPException as exc:
            return PostResult(PostOutcome.REFUSED, reason=exc.text)
        return PostResult(PostOutcome.POSTED, message.id)

    # ---- /leaderboard ----------------------------------------------------------------------

    def _team_names(self, guild: discord.Guild) -> list[str]:
        specs = self.guilds.policy(guild.id).teams
        roles = (find_role(guild, s) for s in specs)
        return [r.name for r in roles if r is not None]

    async def team_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The configured teams whose name contains what the member typed."""
        if interaction.guild is None:
            return []
        typed = current.casefold()
        return [
            app_commands.Choice(name=n, value=n)
            for n in self._team_names(interaction.guild)
            if typed in n.casefold()
        ][:25]

    @app_commands.command(name="leaderboard")
    @app_commands.guild_only()
    @app_commands.describe(period="Which period (default: the server's)", team="Only this team")
    @app_commands.choices(period=PERIODS)
    @app_commands.autocomplete(team=team_autocomplete)
    async def leaderboard(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        team: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """Show the engagement leaderboard and team standings for everyone to see."""
        guild = interaction.guild
        if guild is None:  # Discord hides guild-only commands in DMs, but a client may not
            raise app_commands.NoPrivateMessage()
        policy = self.guilds.policy(guild.id)
        if not policy.leaderboard:
            raise UserFacingError(N_("The leaderboard is turned off in this server."))
        kind = period.value if period is not None else policy.leaderboard_period
        key = self.service.period_key(guild.id, kind, self.clock())
        teams = render.resolve_teams(guild, policy.teams)
        keep = self.keep(guild.id)
        if team is not None:
            match = next((n for n in teams if n.casefold() == team.casefold()), None)
            if match is None:
                if teams:
                    raise UserFacingError(
                        N_("There's no team called “{team}”. Teams: {known}."),
                        team=team,
                        known=", ".join(sorted(teams)),
                    )
                raise UserFacingError(
                    N_("There's no team called “{team}”: no teams are set up yet."), team=team
                )
            if not self.bot.intents.members:
                raise UserFacingError(TEAMS_NEED_MEMBERS)
            team, members = match, teams[match]
            teams = {match: members}
            keep = _within(members, keep)
        # Public, like the post; deferred because a big guild's board takes a moment.
        await interaction.response.defer(thinking=True)
        board = await self.service.built_board(guild.id, key, teams, keep=keep)
        top = self.settings.top
        names, png = await render.drawn(guild, board, self.avatars, top=top)
        # Public: in the server's language, like the scheduled post.
        t = _l10n.for_guild(guild)
        await interaction.followup.send(
            embeds=render.embeds(board, names, top=top, team=team, so_far=kind != "all", t=t),
            file=render.attachment(board, png),
        )


def _within(members: set[int], keep: Callable[[int], bool] | None) -> Callable[[int], bool]:
    """Keep only a team's members (and, when known, only those still in the server)."""
    return lambda m: m in members and (keep is None or keep(m))


async def setup(bot: RapportBot) -> None:
    """Load the leaderboard with the leaderboard services, guild policies and its settings."""
    s = bot.services
    await bot.add_cog(
        Leaderboard(bot, s.leaderboard, s.posts, s.guilds, s.settings.leaderboard, s.clock)
    )
