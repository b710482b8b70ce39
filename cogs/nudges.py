"""Deliver nudge digests by DM, answer their buttons, and offer "Remind me to reply".

Thin: the core (rapport/nudges/rules.py, planner.py, service.py) decides what goes out and when, and
keeps the no-duplicate protocol; this cog turns a Digest into one DM, Discord's answer into a
SendResult, and a click into a service call. Buttons are DynamicItems (cogs/_digest.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _l10n
from cogs._bot import RapportBot
from cogs._digest import (
    DYNAMIC_ITEMS,
    answer_clicks,
    click_reply,
    elsewhere_reply,
    remind_view,
    render,
    snoozed_reply,
)
from cogs._lookup import place
from cogs._once import MaybeSent, at_most_once
from cogs._respond import reply_private
from rapport import i18n
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.nudges import Digest, NudgeService, SendResult
from rapport.people import MemberService
from rapport.tracking import snowflake_time

log = logging.getLogger(__name__)

NOT_YOURS = N_("That digest isn't one of yours any more.")
DM_CLOSED = 50007
DMS_TOO_FAST = 40003
SEND_DEADLINE = 10.0
"""Seconds a digest DM may take; past it, it counts as maybe sent (never sent again)."""


class Nudges(commands.Cog):
    """Sends each digest as one DM with persistent buttons; schedules reply reminders."""

    def __init__(self, bot: RapportBot, nudges: NudgeService, members: MemberService) -> None:
        self.bot = bot
        self.nudges = nudges
        self.members = members
        self.send_deadline = SEND_DEADLINE
        self.menu = app_commands.ContextMenu(name="Remind me to reply", callback=self.remind_menu)
        app_commands.guild_only(self.menu)

    async def cog_load(self) -> None:
        answer_clicks(self.bot, self)
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.tree.add_command(self.menu)
        self.nudges.attach(self.send_digest)

    async def cog_unload(self) -> None:
        await self.nudges.detach()
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        answer_clicks(self.bot, None)
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # --- sending ------------------------------------------------------------------------------

    def _t(self, interaction: discord.Interaction, guild_id: int) -> Translation:
        """The language of an answer to a click in a DM (the guild comes from the custom id)."""
        own = self.members.get(guild_id, interaction.user.id)
        return i18n.translator(
            i18n.resolve(own.language, interaction=interaction.locale.value, last_seen=own.locale)
        )

    async def _name(self, guild: discord.Guild | None, user_id: int, someone: str = "?") -> str:
        found = guild.get_member(user_id) if guild else None
        if found is None and guild is not None:
            try:
                found = await guild.fetch_member(user_id)
            except discord.HTTPException:
                found = None
        if found is not None:
            return found.display_name
        user = self.bot.get_user(user_id)
        return user.display_name if user else someone

    async def send_digest(self, digest: Digest) -> SendResult:
        """One DM for one digest; Discord's refusals become SendResults, no answer raises."""
        guild = self.bot.get_guild(digest.guild_id)
        t = _l10n.for_member(self.members, guild, digest.guild_id, digest.member_id)
        someone = t.gettext(N_("someone"))
        people = {p for n in digest.items for p in n.people} | {
            n.about_id for n in digest.items if n.about_id is not None
        }
        names = {uid: await self._name(guild, uid, someone) for uid in people}

        def channel_of(channel_id: int) -> str:
            channel = guild.get_channel_or_thread(channel_id) if guild else None
            return place(channel, channel_id, t)

        embed, view = render(
            digest,
            guild.name if guild else t.gettext(N_("your server")),
            lambda uid: names.get(uid, someone),
            channel_of,
            self.nudges.clock(),
            t,
        )
        try:
            user = self.bot.get_user(digest.member_id) or await self.bot.fetch_user(
                digest.member_id
            )
            kwargs = {"embed": embed} if view is None else {"embed": embed, "view": view}
            # Bounded, and never retried after a 5xx: either could send it twice, and a slow
            # send would hold up every DM queued behind it.
            with at_most_once():
                async with asyncio.timeout(self.send_deadline):
                    await user.send(**kwargs)
        except (MaybeSent, discord.DiscordServerError, TimeoutError) as exc:
            log.warning(
                "digest DM to member %s may or may not have gone out (%s); counted as sent",
                digest.member_id,
                exc or "no answer in time",
            )
            return SendResult.UNKNOWN
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
        await self.members.seen_locale(guild_id, member, interaction.locale.value)
        t = self._t(interaction, guild_id)
        if self.nudges.digest_items(guild_id, member, digest_id) is None:
            await reply_private(interaction, t.gettext(NOT_YOURS))
            return
        if action == "done":
            await self.nudges.done(guild_id, member, digest_id)
            text = click_reply("done", t)
        elif action == "snooze":
            until = await self.members.snooze(guild_id, member, timedelta(weeks=1))
            text = snoozed_reply(until.snoozed_until or datetime.now(UTC), t)
        else:
            await self.nudges.feedback(guild_id, member, action)
            text = click_reply(action, t)
        await reply_private(interaction, text)

    async def on_not_about(
        self, interaction: discord.Interaction, guild_id: int, digest_id: str, other_id: int
    ) -> None:
        """Mute one person the digest was about."""
        if await self.bot.relay_click(interaction, "notabout", guild_id, digest_id, other_id):
            return  # another process of the cluster owns the guild's state
        t = await self._about(interaction, guild_id, digest_id, other_id)
        if t is None:
            return
        try:
            await self.members.mute(guild_id, interaction.user.id, other_id)
        except UserFacingError as exc:
            await reply_private(interaction, exc.in_language(t))
            return
        name = await self._named(interaction, guild_id, other_id, t)
        await reply_private(interaction, click_reply("notabout", t, name=name))

    async def on_talked_elsewhere(
        self, interaction: discord.Interaction, guild_id: int, digest_id: str, other_id: int
    ) -> None:
        """The member talked with a drifting person off Discord: reset that pair's clock."""
        if await self.bot.relay_click(interaction, "elsewhere", guild_id, digest_id, other_id):
            return  # another process of the cluster owns the guild's state
        t = await self._about(interaction, guild_id, digest_id, other_id)
        if t is None:
            return
        member = interaction.user.id
        until = await self.nudges.talked_elsewhere(guild_id, member, other_id, digest_id)
        name = await self._named(interaction, guild_id, other_id, t)
        await reply_private(interaction, elsewhere_reply(name, until, t))

    async def _about(
        self, interaction: discord.Interaction, guild_id: int, digest_id: str, other_id: int
    ) -> Translation | None:
        """The member's language when their digest names other_id; None once told it doesn't."""
        await self.nudges.ensure(guild_id)
        t = self._t(interaction, guild_id)
        items = self.nudges.digest_items(guild_id, interaction.user.id, digest_id)
        if items is None or other_id not in {it[2] for it in items}:
            await reply_private(interaction, t.gettext(NOT_YOURS))
            return None
        return t

    async def _named(
        self, interaction: discord.Interaction, guild_id: int, other_id: int, t: Translation
    ) -> str:
        """Who other_id is, by name; naming someone uncached takes a REST call, so defer first."""
        guild = self.bot.get_guild(guild_id)
        if guild is None or guild.get_member(other_id) is None:
            await interaction.response.defer(ephemeral=True, thinking=True)
        return await self._name(guild, other_id, t.gettext(N_("someone")))

    # --- "Remind me to reply" -----------------------------------------------------------------

    async def remind_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Pick when to be reminded to reply to this message."""
        if interaction.guild_id is None:
            raise UserFacingError(N_("Reminders work in a server, not in DMs."))
        if message.author.bot:
            raise UserFacingError(N_("That's a bot's message — nothing to reply to."))
        if message.author.id == interaction.user.id:
            raise UserFacingError(N_("That's your own message — pick someone else's."))
        t = _l10n.for_interaction(interaction, self.members)
        view = remind_view(
            interaction.guild_id, message.channel.id, message.id, message.author.id, t
        )
        await reply_private(
            interaction,
            t.gettext(
                N_(
                    "When should I remind you to reply to {name}? "
                    "I'll only DM you if you still haven't answered them."
                ),
                name=message.author.display_name,
            ),
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
        t = self._t(interaction, guild_id)
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
            await reply_private(interaction, t.gettext(N_("Pick one of the times in the list.")))
            return
        await reply_private(
            interaction,
            t.gettext(
                N_("I'll remind you {when} by DM, unless you reply first."),
                when=discord.utils.format_dt(due, "R"),
            ),
        )


async def setup(bot: RapportBot) -> None:
    """Load nudge delivery with the bot's nudge and member services."""
    await bot.add_cog(Nudges(bot, bot.services.nudges, bot.services.members))
