"""The weekly leaderboard post (once per period per guild) and /leaderboard.

Thin: roles become {team: member ids}, the core scores, `_leaderboard_render` draws. The
period rules and the once-per-period claim live in rapport/leaderboard/service.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _l10n
from cogs import _leaderboard_render as render
from cogs._bot import RapportBot
from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.leaderboard.scoring import Board
from rapport.leaderboard.service import CATCH_UP_JOB, JOB, LeaderboardService
from rapport.settings.timeparse import parse_schedule

log = logging.getLogger(__name__)

PERIODS = [
    app_commands.Choice(name="this week", value="week"),
    app_commands.Choice(name="this month", value="month"),
    app_commands.Choice(name="all time", value="all"),
]


class Leaderboard(commands.Cog):
    """Posts the team leaderboard on schedule and answers /leaderboard."""

    def __init__(self, bot: RapportBot, service: LeaderboardService) -> None:
        self.bot = bot
        self.service = service
        self.settings = bot.services.settings
        self.clock = bot.services.clock
        # One post at a time in this process: the store claim guards other processes,
        # and a claim is renewable by its own owner.
        self._posting = asyncio.Lock()

    async def cog_load(self) -> None:
        """Register the post job (and, for a crontab, the hourly catch-up)."""
        scheduler = self.bot.services.scheduler
        schedule = self.settings.schedule.leaderboard
        if JOB not in scheduler.names:
            scheduler.add(JOB, self.post_due, schedule)
        if schedule.cron is not None and CATCH_UP_JOB not in scheduler.names:
            scheduler.add(CATCH_UP_JOB, self.post_due, parse_schedule("1h"))

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Catch up a post missed while the bot was down (crontab schedules only)."""
        if self.settings.schedule.leaderboard.cron is not None:
            await self.bot.services.scheduler.run(CATCH_UP_JOB)

    # ---- the scheduled post ----------------------------------------------------------------

    def _keep(self, guild: discord.Guild) -> Callable[[int], bool] | None:
        """Who may appear: members still in the server (only knowable with the members intent)."""
        if not self.bot.intents.members:
            return None

        def keep(member_id: int) -> bool:
            member = guild.get_member(member_id)
            return member is not None and not member.bot

        return keep

    def board(self, guild: discord.Guild, period: str) -> Board:
        """The board of a guild for a period, with its configured teams."""
        teams = render.resolve_teams(guild, self.bot.services.guilds.policy(guild.id).teams)
        return self.service.board(guild.id, period, teams, keep=self._keep(guild))

    async def post_due(self) -> None:
        """Post each owned guild's board for the period that just ended, if not posted yet."""
        async with self._posting:
            now = self.clock()
            for guild in list(self.bot.guilds):
                try:
                    await self.post_guild(guild, now)
                except Exception:
                    log.exception("posting the leaderboard failed in guild %s", guild.id)

    def _problem(self, guild: discord.Guild, text: str, now: datetime) -> None:
        # The hourly catch-up meets the same problem again: log it when it changes.
        if self.service.problem(guild.id) != text:
            log.warning("leaderboard not posted in guild %s: %s", guild.id, text)
        self.service.set_problem(guild.id, text, now)

    async def post_guild(self, guild: discord.Guild, now: datetime) -> discord.Message | None:
        """Post one guild's due board once; log, skip and record a problem when it can't."""
        period = self.service.due_period(guild.id, now)
        if self.service.posted(guild.id, period) is not None:
            return None
        spec = self.bot.services.guilds.policy(guild.id).leaderboard_channel
        channel = render.find_channel(guild, spec)
        if channel is None:
            self._problem(guild, f"the leaderboard channel “{spec}” was not found", now)
            return None
        if missing := render.missing_permissions(channel):
            self._problem(guild, f"missing {', '.join(missing)} in #{channel.name}", now)
            return None
        board = self.board(guild, period)
        if not board.standings:
            log.info("no leaderboard for %s in guild %s: nobody scored", period, guild.id)
            return None
        names = render.names_for(guild, board)
        top = self.settings.leaderboard.top
        t = _l10n.for_guild(guild)
        png = await asyncio.to_thread(render.card, board, names, top=top, t=t)
        embed = render.embed(board, names, top=top, t=t)
        # Claimed last, right before sending: only the send can leave the outcome unknown.
        if not await self.service.claim(guild.id, period, now):
            return None
        try:
            message = await channel.send(embed=embed, file=render.attachment(board, png))
        except discord.DiscordServerError as exc:
            # It may have gone out: keep the claim, so the period is never posted twice.
            self._problem(guild, f"Discord failed while posting {period} (not retried): {exc}", now)
            return None
        except discord.HTTPException as exc:
            # Refused for sure (channel gone, permission, bad request): free the period.
            await self.service.release(guild.id, period)
            self._problem(guild, f"Discord refused the post in #{channel.name}: {exc.text}", now)
            return None
        self.service.mark_posted(guild.id, period, channel.id, message.id, now)
        path = await asyncio.to_thread(self.service.save_card, guild.id, period, png)
        log.info("posted the %s leaderboard in guild %s; card at %s", period, guild.id, path)
        return message

    # ---- /leaderboard ----------------------------------------------------------------------

    def _team_names(self, guild: discord.Guild) -> list[str]:
        specs = self.bot.services.guilds.policy(guild.id).teams
        roles = (render.find_role(guild, s) for s in specs)
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
        team: str | None = None,
    ) -> None:
        """Show the engagement leaderboard and team standings for everyone to see."""
        guild = interaction.guild
        assert guild is not None  # guild_only
        kind = period.value if period is not None else self.settings.leaderboard.period
        key = self.service.period_key(guild.id, kind, self.clock())
        teams = render.resolve_teams(guild, self.bot.services.guilds.policy(guild.id).teams)
        keep = self._keep(guild)
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
            team, members = match, teams[match]
            teams = {match: members}
            keep = _within(members, keep)
        # Public, like the post; deferred because a big guild's board takes a moment.
        await interaction.response.defer(thinking=True)
        board = self.service.board(guild.id, key, teams, keep=keep)
        names = render.names_for(guild, board)
        top = self.settings.leaderboard.top
        # Public: in the server's language, like the scheduled post.
        t = _l10n.for_guild(guild)
        png = await asyncio.to_thread(render.card, board, names, top=top, t=t)
        await interaction.followup.send(
            embed=render.embed(board, names, top=top, team=team, so_far=kind != "all", t=t),
            file=render.attachment(board, png),
        )


def _within(members: set[int], keep: Callable[[int], bool] | None) -> Callable[[int], bool]:
    """Keep only a team's members (and, when known, only those still in the server)."""
    return lambda m: m in members and (keep is None or keep(m))


async def setup(bot: RapportBot) -> None:
    """Load the leaderboard with the bot's leaderboard service."""
    await bot.add_cog(Leaderboard(bot, bot.services.leaderboard))
