"""/thanks and "Thank the author": a thanks a member chooses to give, posted and credited.

Thin: Discord objects become a `Target` and ids, the core (rapport/people/kudos.py) refuses or
records, and `_kudos_render` words the post (in the server's language, since everyone reads it)
and the giver's private answers. The giver's words go into the post and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _kudos_render as render
from cogs import _l10n
from cogs._bot import RapportBot
from cogs._facts import ignored_channel
from cogs._respond import DMS_CLOSED_NOTE, reply_private
from rapport.clock import Clock
from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.people import GuildService, KudosService, MemberService, Target

log = logging.getLogger(__name__)

LOOKUP_BUDGET = 1.0
"""Seconds "Thank the author" waits for Discord to say whether an author the cache lacks is
still in the server: Discord wants the first response within 3 s, and the answer itself is one
more round trip. Past it, the thanks is posted as asked (as when the lookup fails); the core
still refuses someone the ledger saw leave."""

WORDS_MAX = 300
"""Characters of the `for` text: a sentence, not an essay (Discord allows 2,000 a message)."""


class Kudos(commands.Cog):
    """Thank a member publicly, or privately; Rapport credits it to them."""

    def __init__(
        self,
        bot: RapportBot,
        kudos: KudosService,
        members: MemberService,
        guilds: GuildService,
        clock: Clock,
    ) -> None:
        self.bot = bot
        self.kudos = kudos
        self.members = members
        self.guilds = guilds
        self.clock = clock
        self.menu = app_commands.ContextMenu(name="Thank the author", callback=self.thank_author)
        app_commands.guild_only(self.menu)

    async def cog_load(self) -> None:
        """Register the message context menu (discord.py cogs cannot declare one in the class)."""
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        """Take the context menu back out of the tree."""
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="thanks")
    @app_commands.guild_only()
    @app_commands.rename(words="for")
    @app_commands.describe(
        member="Who you're thanking",
        words="What for, in your own words (shown in the post, never stored)",
        private="Keep it private: nothing is posted, they're still credited",
    )
    async def thanks(
        self,
        interaction: discord.Interaction,
        member: discord.User,
        words: app_commands.Range[str, 1, WORDS_MAX] | None = None,
        private: bool = False,
    ) -> None:
        """Thank a member for everyone to see; Rapport credits it to them."""
        await self._give(interaction, member, words=words, private=private)

    async def thank_author(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Thank the author of this message, for everyone to see."""
        await self._give(interaction, message.author, message=message)

    async def _give(
        self,
        interaction: discord.Interaction,
        user: discord.User | discord.Member,
        *,
        words: str | None = None,
        private: bool = False,
        message: discord.Message | None = None,
    ) -> None:
        guild = interaction.guild
        if guild is None or interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        gid, giver = interaction.guild_id, interaction.user.id
        if words is not None and len(words) > WORDS_MAX:  # a client that ignored max_length
            raise UserFacingError(
                N_(
                    "A thanks takes at most {most} characters of your words (these have "
                    "{count}) — shorten them and send it again."
                ),
                most=WORDS_MAX,
                count=len(words),
            )
        await self.members.ensure(gid)
        await self.kudos.ensure(gid)
        if not self.members.is_tracked(gid, giver):
            t = _l10n.for_interaction(interaction, self.members)
            raise UserFacingError(
                N_(
                    "You asked Rapport not to track you here, so it can't record a thanks from "
                    "you — {track} turns tracking back on."
                ),
                track=_l10n.command(t, "rapport track"),
            )
        target = Target(
            user.id,
            user.display_name,
            bot=user.bot or (message is not None and message.webhook_id is not None),
            present=await _present(guild, user),
        )
        channel = interaction.channel
        kudos = await self.kudos.give(
            gid,
            giver,
            target,
            interaction.channel_id or 0,
            self.clock(),
            kudos_id=interaction.id,
            private=private,
            message_id=message.id if message is not None else 0,
            channel_ignored=channel is not None and ignored_channel(self.guilds, gid, channel),
        )
        try:
            if private:
                t = _l10n.for_interaction(interaction, self.members)
                answer = render.private_answer(target.name, words=bool(words), t=t)
                await reply_private(interaction, answer)
                post_id = 0
            else:
                text = render.post(
                    interaction.user.display_name,
                    target.member_id,
                    words=words,
                    url=message.jump_url if message is not None else None,
                    t=_l10n.for_guild(guild),
                )
                sent = await interaction.response.send_message(
                    text, allowed_mentions=render.only_them(target.member_id)
                )
                post_id = sent.message_id or 0
        except BaseException:
            self.kudos.withdraw(gid, kudos)  # nothing went out: nothing is credited
            raise
        self.kudos.posted(gid, kudos, post_id)
        note = interaction.extras.pop(DMS_CLOSED_NOTE, None)
        if note:  # the private note a public answer can't carry
            await interaction.followup.send(note, ephemeral=True)


async def _present(guild: discord.Guild, user: discord.User | discord.Member) -> bool:
    """Whether the person is still in the server: a member object (the interaction's resolved
    data or the cache) says so at once; else Discord is asked, for at most LOOKUP_BUDGET, so
    the answer still reaches the member within Discord's deadline."""
    if isinstance(user, discord.Member) or guild.get_member(user.id) is not None:
        return True
    try:
        await asyncio.wait_for(guild.fetch_member(user.id), LOOKUP_BUDGET)
    except discord.NotFound:
        return False
    except TimeoutError:
        log.info(
            "Discord took over %ss to look up member %s; thanking as asked", LOOKUP_BUDGET, user.id
        )
    except discord.HTTPException as exc:
        log.info("could not look up member %s before a thanks: %s", user.id, exc)
    return True


async def setup(bot: RapportBot) -> None:
    """Load /thanks and the "Thank the author" menu with the kudos service."""
    s = bot.services
    await bot.add_cog(Kudos(bot, s.kudos, s.members, s.guilds, s.clock))
