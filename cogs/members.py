"""/rapport ...: members choose how they are nudged, see their own picture, export or erase it.

Every answer here is about one member and is therefore ephemeral. Discord allows one group per
name, so every /rapport command is in this one cog: joining, the member's picture and help are
here; the choices (settings, snooze, mute, unmute, talked-elsewhere) are the PreferenceCommands
mixin in cogs/_preferences.py, the rights (export, forget, track) the PrivacyCommands mixin in
cogs/_privacy.py; one relationship's close-up and "Keep in touch" are cogs/_keep_in_touch.py.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _embeds as render
from cogs import _enrollment, _keep_in_touch, _l10n, _relations
from cogs._bot import RapportBot
from cogs._help import Help
from cogs._lookup import namer
from cogs._preferences import PreferenceCommands
from cogs._privacy import PrivacyCommands
from cogs._respond import reply_private
from cogs._views import Pages
from rapport.clock import Clock
from rapport.i18n import Translation
from rapport.nudges import NudgeService, Status
from rapport.people import MemberService, Privacy
from rapport.relations import Relations

_IN_DMS = frozenset({"forget", "export"})


# Allowed in the bot's DMs for /rapport forget and export scope:everywhere only (Discord sets
# contexts on the group, not per subcommand): interaction_check refuses every other command there.
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
@app_commands.allowed_installs(guilds=True, users=False)
class Members(PreferenceCommands, PrivacyCommands, commands.GroupCog, group_name="rapport"):
    """Choose how Rapport nudges you, and see where your relationships stand."""

    def __init__(
        self,
        bot: RapportBot,
        members: MemberService,
        cadences: _keep_in_touch.Cadences,
        privacy: Privacy,
        nudges: NudgeService,
        status: Status,
        clock: Clock,
        relations: Relations,
    ) -> None:
        self.bot = bot
        self.relations = relations
        self.members = members
        self.cadences = cadences
        self.privacy = privacy
        self.nudges = nudges
        self.status = status
        self.clock = clock
        self.help_answer = Help(bot.tree)
        self.keep_menu = app_commands.ContextMenu(name="Keep in touch", callback=self.keep_in_touch)
        app_commands.guild_only(self.keep_menu)
        super().__init__()

    # --- plumbing ---------------------------------------------------------------------------

    async def cog_load(self) -> None:
        """Register the user context menu (discord.py cogs cannot declare one in the class)."""
        self.bot.tree.add_command(self.keep_menu)

    async def cog_unload(self) -> None:
        """Take the context menu back out of the tree."""
        self.bot.tree.remove_command(self.keep_menu.name, type=self.keep_menu.type)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse DMs, /rapport forget and export aside (everywhere is the only scope a DM has)."""
        if interaction.guild_id is None:
            if interaction.command is not None and interaction.command.name in _IN_DMS:
                return True
            raise app_commands.NoPrivateMessage()
        await self.members.ensure(interaction.guild_id)
        return True

    def _t(self, interaction: discord.Interaction) -> Translation:
        """The language of this member's private answer."""
        return _l10n.for_interaction(interaction, self.members)

    @staticmethod
    def _ids(interaction: discord.Interaction) -> tuple[int, int]:
        assert interaction.guild_id is not None  # interaction_check refused DMs
        return interaction.guild_id, interaction.user.id

    # --- enrollment ---------------------------------------------------------------------------

    @app_commands.command(name="join")
    async def join(self, interaction: discord.Interaction) -> None:
        """Start getting a short DM digest about people worth reaching out to."""
        gid, mid = self._ids(interaction)
        now = self.clock()
        # enroll() clears the closed-DMs mark, so read it first to tell the member.
        closed = self.members.preferences(gid, mid).dms_closed
        await self.members.enroll(gid, mid)
        prefs = self.members.preferences(gid, mid)
        digest = self.nudges.preview(gid, mid, now)
        t = self._t(interaction)
        preview = None
        if digest is not None and digest.items:
            preview = _enrollment.preview(digest.items, namer(interaction.guild), now, t)
            # What the member just read is not news in their first digest.
            self.nudges.shown(gid, mid, digest, now)
        embed = render.welcome_embed(prefs, now, preview, dms_closed=closed, t=t)
        await reply_private(interaction, embed=embed)

    @app_commands.command(name="leave")
    async def leave(self, interaction: discord.Interaction) -> None:
        """Stop the digests (Rapport keeps tracking until you use /rapport forget)."""
        gid, mid = self._ids(interaction)
        await self.members.leave(gid, mid)
        await reply_private(interaction, _enrollment.left(self._t(interaction)))

    # --- your picture -----------------------------------------------------------------------

    @app_commands.command(name="status")
    @app_commands.describe(
        member="See your relationship with this person up close",
        cadence="How often you want to be in touch with them: 1w, 2w, 30d … or “off”",
    )
    async def status(
        self,
        interaction: discord.Interaction,
        member: discord.User | None = None,
        cadence: app_commands.Range[str, 1, 16] | None = None,
    ) -> None:
        """See who you're drifting from, what awaits your answer and your strongest ties."""
        t = self._t(interaction)
        if member is not None or cadence is not None:
            await _keep_in_touch.closeup(
                interaction, self.relations, self.cadences, member, cadence, self.clock(), t
            )
            return
        # A big server's picture takes a second or more: answer "thinking" first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        gid, mid = self._ids(interaction)
        prefs = self.members.preferences(gid, mid)
        picture = await self.status.picture(gid, mid, self.clock())
        pages = render.status_pages(picture, namer(interaction.guild), t)
        note = render.unreadable_note(prefs, t) if prefs.unreadable else None
        if len(pages) == 1:
            await reply_private(interaction, note, embed=pages[0])
            return
        view = Pages(mid, pages, t=t)
        view.origin = interaction
        await reply_private(interaction, note, embed=pages[0], view=view)

    @status.autocomplete("cadence")
    async def _cadence_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _relations.cadence_choices(current, self._t(interaction))

    @app_commands.command(name="map")
    async def map(self, interaction: discord.Interaction) -> None:
        """See a picture of your relationships here: who you're close to, who you're drifting from."""
        # Names may be asked of Discord and the picture takes a moment to draw.
        await interaction.response.defer(ephemeral=True, thinking=True)
        gid, mid = self._ids(interaction)
        data = self.relations.ego_map(gid, mid, self.clock())
        await _relations.send_map(interaction, data, self._t(interaction))

    # --- help ---------------------------------------------------------------------------------

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What Rapport does, every command, and what it stores about you."""
        await self.help_answer.send(interaction, self._t(interaction))

    # --- context menu -------------------------------------------------------------------------

    async def keep_in_touch(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Choose how often you want to keep in touch with this person."""
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        await self.members.ensure(interaction.guild_id)
        t = self._t(interaction)
        await _keep_in_touch.keep_in_touch(interaction, self.cadences, user, t)


async def setup(bot: RapportBot) -> None:
    """Load the member commands and the "Keep in touch" menu with the services they use."""
    s = bot.services
    relations = Relations(s.members, s.ledger.reads)
    await bot.add_cog(
        Members(bot, s.members, s.ledger, s.privacy, s.nudges, s.status, s.clock, relations)
    )
