"""Deliver nudge digests by DM, answer their buttons, and offer "Remind me to reply".

Thin: the core (rapport/nudges/rules.py, rapport/nudges/service.py) decides what goes out and when, and
keeps the no-duplicate protocol; this cog turns a Digest into one DM, Discord's answer into a
SendResult, and a click into a service call. Buttons are DynamicItems (cogs/_digest.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from cogs._bot import RapportBot
from cogs._digest import CLICK_REPLIES, DYNAMIC_ITEMS, remind_view, render, snoozed_reply
from cogs._respond import reply_private
from rapport.errors import UserFacingError
from rapport.nudges.dm_queue import SendResult
from rapport.nudges.rules import Digest
from rapport.nudges.service import NudgeService
from rapport.people.members import MemberService
from rapport.tracking.model import snowflake_time

log = logging.getLogger(__name__)

DM_CLOSED = 50007
DMS_TOO_FAST = 40003


class Nudges(commands.Cog):
    """Sends each digest as one DM with persistent buttons; schedules reply reminders."""

    def __init__(self, bot: RapportBot, nudges: NudgeService, members: MemberService) -> None:
        self.bot = bot
        self.nudges = nudges
        self.members = members
        self.menu = app_commands.ContextMenu(name="Remind me to reply", callback=self.remind_menu)
        app_commands.guild_only(self.menu)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.tree.add_command(self.menu)
        self.nudges.attach(self.send_digest)

    async def cog_unload(self) -> None:
        await self.nudges.detach()
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # --- sending ------------------------------------------------------------------------------

    async def _name(self, guild: discord.Guild | None, user_id: int) -> str:
        found = guild.get_member(user_id) if guild else None
        if found is None and guild is not None:
            try:
                found = await guild.fetch_member(user_id)
            except discord.HTTPException:
                found = None
        if found is not None:
            return found.display_name
        user = self.bot.get_user(user_id)
        return user.display_name if user else "someone"

    async def send_digest(self, digest: Digest) -> SendResult:
        """One DM for one digest; Discord's refusals become SendResults, no answer raises."""
        guild = self.bot.get_guild(digest.guild_id)
        people = {n.about_id for n in digest.items if n.about_id is not None}
        names = {uid: await self._name(guild, uid) for uid in people}

        def channel_of(channel_id: int) -> str:
            channel = guild.get_channel_or_thread(channel_id) if guild else None
            return f"#{channel.name}" if channel is not None else f"<#{channel_id}>"

        embed, view = render(
            digest,
            guild.name if guild else "your server",
            lambda uid: names.get(uid, "someone"),
            channel_of,
            self.nudges.clock(),
        )
        try:
            user = self.bot.get_user(digest.member_id) or await self.bot.fetch_user(
                digest.member_id
            )
            kwargs = {"embed": embed} if view is None else {"embed": embed, "view": view}
            await user.send(**kwargs)
        except discord.Forbidden as exc:
            if exc.code == DM_CLOSED:
                log.info("member %s has DMs closed; not trying again", digest.member_id)
                return SendResult.CLOSED
            return SendResult.FAILED
        except discord.HTTPException as exc:
            if exc.code == DMS_TOO_FAST:
                return SendResult.TOO_FAST
            log.warning("Discord refused a digest DM (%s %s)", exc.status, exc.code)
            return SendResult.FAILED
        return SendResult.SENT

    # --- buttons (see cogs/_digest.py for the custom ids) -------------------------------------

    async def on_digest_button(
        self, interaction: discord.Interaction, action: str, guild_id: int, digest_id: str
    ) -> None:
        """Done, Snooze 1 week, or the answer to "keep / fewer / stop"."""
        if await self.bot.relay_click(interaction, action, guild_id, digest_id):
            return  # another process of the cluster owns the guild's state
        member = interaction.user.id
        await self.nudges.ensure(guild_id)
        if self.nudges.digest_items(guild_id, member, digest_id) is None:
            await reply_private(interaction, "That digest isn't one of yours any more.")
            return
        if action == "done":
            await self.nudges.done(guild_id, member, digest_id)
            text = CLICK_REPLIES["done"]
        elif action == "snooze":
            until = await self.members.snooze(guild_id, member, timedelta(weeks=1))
            text = snoozed_reply(until.snoozed_until or datetime.now(UTC))
        else:
            await self.nudges.feedback(guild_id, member, action)
            text = CLICK_REPLIES[action]
        await reply_private(interaction, text)

    async def on_not_about(
        self, interaction: discord.Interaction, guild_id: int, digest_id: str, other_id: int
    ) -> None:
        """Mute one person the digest was about."""
        if await self.bot.relay_click(interaction, "notabout", guild_id, digest_id, other_id):
            return  # another process of the cluster owns the guild's state
        member = interaction.user.id
        await self.nudges.ensure(guild_id)
        items = self.nudges.digest_items(guild_id, member, digest_id)
        if items is None or other_id not in {it[2] for it in items}:
            await reply_private(interaction, "That digest isn't one of yours any more.")
            return
        try:
            await self.members.mute(guild_id, member, other_id)
        except UserFacingError as exc:
            await reply_private(interaction, str(exc))
            return
        name = await self._name(self.bot.get_guild(guild_id), other_id)
        await reply_private(interaction, CLICK_REPLIES["notabout"].format(name=name))

    # --- "Remind me to reply" -----------------------------------------------------------------

    async def remind_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Pick when to be reminded to reply to this message."""
        if interaction.guild_id is None:
            raise UserFacingError("Reminders work in a server, not in DMs.")
        if message.author.bot:
            raise UserFacingError("That's a bot's message — nothing to reply to.")
        if message.author.id == interaction.user.id:
            raise UserFacingError("That's your own message — pick someone else's.")
        view = remind_view(interaction.guild_id, message.channel.id, message.id, message.author.id)
        await reply_private(
            interaction,
            f"When should I remind you to reply to {message.author.display_name}? "
            "I'll only DM you if you still haven't answered them.",
            view=view,
        )

    async def on_remind_choice(
        self,
        interaction: discord.Interaction,
        guild_id: int,
        channel_id: int,
        message_id: int,
        author_id: int,
        choice: str,
    ) -> None:
        """Store the reminder; the scan sends it through the DM queue when due."""
        try:
            due = await self.nudges.remind(
                guild_id,
                interaction.user.id,
                channel_id,
                message_id,
                author_id,
                snowflake_time(message_id),
                choice,
            )
        except ValueError:
            await reply_private(interaction, "Pick one of the times in the list.")
            return
        await reply_private(
            interaction,
            f"I'll remind you {discord.utils.format_dt(due, 'R')} by DM, unless you reply first.",
        )


async def setup(bot: RapportBot) -> None:
    """Load nudge delivery with the bot's nudge and member services."""
    await bot.add_cog(Nudges(bot, bot.services.nudges, bot.services.members))
