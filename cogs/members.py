"""/rapport ...: members choose how they are nudged, see their own picture, export or erase it.

Every answer here is about one member and is therefore ephemeral. The privacy commands
(export, forget, track) live here too: Discord allows one group per name, so a second cog
cannot add to /rapport; their core is rapport/people/privacy.py.

Over 400 lines because Discord allows one /rapport group, so every member command is in this one
cog; the work is in the core (members, privacy, nudges), what is here translates and replies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _embeds as render
from cogs import _export, _forget, _l10n, _relations
from cogs._bot import RapportBot
from cogs._digest import elsewhere_reply
from cogs._respond import reply_private
from cogs._views import CadencePicker, Pages
from rapport import i18n
from rapport.clock import Clock
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.nudges import NudgeService, Status, rules
from rapport.people import MemberService, Privacy
from rapport.relations import Closeup, Relations, Standing
from rapport.settings import DURATION_HINT, NUDGE_KINDS, duration_seconds, parse_duration
from rapport.tracking import Ledger

log = logging.getLogger(__name__)

# Each shipped language in its own words; "auto" follows the member's Discord language.
LANGUAGE_CHOICES = [
    app_commands.Choice(name="Auto", value=i18n.AUTO),
    *(app_commands.Choice(name=i18n.language_name(lang), value=lang) for lang in i18n.SHIPPED),
]


_IN_DMS = frozenset({"forget", "export"})


# Allowed in the bot's DMs for /rapport forget and export scope:everywhere only (Discord sets contexts on
# the group, not per subcommand): interaction_check refuses every other command there.
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
@app_commands.allowed_installs(guilds=True, users=False)
class Members(commands.GroupCog, group_name="rapport"):
    """Choose how Rapport nudges you, and see where your relationships stand."""

    def __init__(
        self,
        bot: RapportBot,
        members: MemberService,
        ledger: Ledger,
        privacy: Privacy,
        nudges: NudgeService,
        status: Status,
        clock: Clock,
        relations: Relations,
    ) -> None:
        self.bot = bot
        self.relations = relations
        self.members = members
        self.ledger = ledger
        self.privacy = privacy
        self.nudges = nudges
        self.status = status
        self.clock = clock
        self._command_ids: dict[str, int] = {}
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

    @staticmethod
    def _namer(guild: discord.Guild | None) -> Callable[[int], str]:
        """Display names from the guild cache; a mention (rendered by the client) otherwise."""

        def name(member_id: int) -> str:
            found = guild.get_member(member_id) if guild else None
            return found.display_name if found else f"<@{member_id}>"

        return name

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
            name = self._namer(interaction.guild)
            preview = [_line(n, name, now, t) for n in digest.items]
            # What the member just read is not news in their first digest.
            self.nudges.shown(gid, mid, digest, now)
        embed = render.welcome_embed(prefs, now, preview, dms_closed=closed, t=t)
        await reply_private(interaction, embed=embed)

    @app_commands.command(name="leave")
    async def leave(self, interaction: discord.Interaction) -> None:
        """Stop the digests (Rapport keeps tracking until you use /rapport forget)."""
        gid, mid = self._ids(interaction)
        await self.members.leave(gid, mid)
        t = self._t(interaction)
        await reply_private(
            interaction,
            t.gettext(
                N_(
                    "No more digests. Rapport still notices your interactions (for others' "
                    "digests and the leaderboard); {forget} deletes them and stops that too."
                ),
                forget=_l10n.command(t, "rapport forget"),
            ),
        )

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
        if member is not None or cadence is not None:
            await self._closeup(interaction, member, cadence)
            return
        # A big server's picture takes a second or more: answer "thinking" first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        gid, mid = self._ids(interaction)
        prefs = self.members.preferences(gid, mid)
        picture = self.status.picture(gid, mid, self.clock())
        t = self._t(interaction)
        pages = render.status_pages(picture, self._namer(interaction.guild), t)
        note = render.unreadable_note(prefs, t) if prefs.unreadable else None
        if len(pages) == 1:
            await reply_private(interaction, note, embed=pages[0])
            return
        view = Pages(mid, pages, t=t)
        view.origin = interaction
        await reply_private(interaction, note, embed=pages[0], view=view)

    async def _closeup(
        self, interaction: discord.Interaction, member: discord.User | None, cadence: str | None
    ) -> None:
        """/rapport status member:@X [cadence:…]: one relationship, and the cadence chosen."""
        gid, mid = self._ids(interaction)
        t = self._t(interaction)
        other = _relations.checked_other(member, mid, cadence, t)
        span = _relations.read_cadence(cadence) if cadence is not None else None
        now = self.clock()
        closeup = self.relations.closeup(gid, mid, other.id, now)
        if not isinstance(other, discord.Member):
            # Discord resolves someone no longer in the server as a plain user: without the
            # members intent that is how Rapport learns they left.
            closeup = Closeup(other.id, Standing.LEFT)
        note = None
        if cadence is not None and closeup.standing in (Standing.KNOWN, Standing.NONE):
            self.ledger.set_cadence(gid, mid, other.id, span)
            note = _relations.cadence_saved(other.display_name, span, t)
            closeup = self.relations.closeup(gid, mid, other.id, now)
        await _relations.send_closeup(interaction, closeup, other.display_name, note, t)

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

    # --- settings -----------------------------------------------------------------------------

    @app_commands.command(name="settings")
    @app_commands.describe(
        timezone="Your IANA time zone, e.g. Europe/Paris",
        digest_hour="The hour (0–23) your digest arrives, or “any”",
        quiet_hours="No DMs in this span, e.g. 22:00-08:00, or “off”",
        max_dms_per_week="At most this many digests a week (0–14)",
        kinds="Which nudges, comma-separated: drifting, unanswered, thanks, share, welcome (or all)",
        leaderboard="Show me on the leaderboard",
        language="The language Rapport writes to you in (auto: your Discord language)",
    )
    @app_commands.choices(language=LANGUAGE_CHOICES)
    async def settings(
        self,
        interaction: discord.Interaction,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        digest_hour: app_commands.Range[str, 1, 8] | None = None,
        quiet_hours: app_commands.Range[str, 1, 32] | None = None,
        max_dms_per_week: app_commands.Range[int, 0, 14] | None = None,
        kinds: app_commands.Range[str, 1, 100] | None = None,
        leaderboard: bool | None = None,
        language: app_commands.Choice[str] | None = None,
    ) -> None:
        """See or change your time zone, digest hour, quiet hours, limits, nudge kinds, language."""
        gid, mid = self._ids(interaction)
        options = {
            "timezone": timezone,
            "digest_hour": digest_hour,
            "quiet_hours": quiet_hours,
            "max_dms_per_week": max_dms_per_week,
            "kinds": _kinds(kinds),
            "on_leaderboard": leaderboard,
            "language": language.value if language is not None else None,
        }
        changed = any(v is not None for v in options.values())
        if changed:
            await self.members.configure(gid, mid, **options)
        prefs = self.members.preferences(gid, mid)
        embed = render.settings_embed(prefs, self.clock(), changed=changed, t=self._t(interaction))
        await reply_private(interaction, embed=embed)

    @settings.autocomplete("timezone")
    async def _timezone_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.zone_choices(current)

    @settings.autocomplete("digest_hour")
    async def _hour_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.hour_choices(current, self._t(interaction))

    @settings.autocomplete("kinds")
    async def _kind_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.kind_choices(current)

    @app_commands.command(name="snooze")
    @app_commands.describe(duration="How long: 1h, 3d, 2w … up to 90d; “off” resumes now")
    async def snooze(
        self, interaction: discord.Interaction, duration: app_commands.Range[str, 1, 32]
    ) -> None:
        """Pause your digests for a while."""
        gid, mid = self._ids(interaction)
        t = self._t(interaction)
        if duration.strip().lower() in ("off", "0", "resume", t.gettext(N_("off")).lower()):
            await self.members.unsnooze(gid, mid)
            await reply_private(interaction, t.gettext(N_("Snooze is off — your digests resume.")))
            return
        try:
            span = parse_duration(duration)
        except ValueError:
            if duration_seconds(duration) is not None:  # a duration, just far too long
                raise UserFacingError(
                    N_("Snooze for between 1 minute and 90 days, e.g. 3d, 2w or 1h.")
                ) from None
            raise UserFacingError(
                N_(
                    "“{value}” isn't a duration I understand — {hint}, up to 90d "
                    "(or “off” to resume)."
                ),
                value=duration,
                hint=DURATION_HINT,
            ) from None
        settings = await self.members.snooze(gid, mid, span)
        await reply_private(
            interaction,
            t.gettext(
                N_("Snoozed — no digests until {when}."),
                when=render.when(settings.snoozed_until, t),
            ),
        )

    @app_commands.command(name="mute")
    @app_commands.describe(member="Never nudge me about this person")
    async def mute(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Never be nudged about this person."""
        gid, mid = self._ids(interaction)
        if member.bot:
            raise UserFacingError(
                N_("{name} is a bot — Rapport never nudges about bots."), name=member.display_name
            )
        await self.members.mute(gid, mid, member.id)
        t = self._t(interaction)
        await reply_private(
            interaction,
            t.gettext(
                N_("Muted — Rapport won't nudge you about {name}. {unmute} undoes it."),
                name=member.display_name,
                unmute=_l10n.command(t, "rapport unmute"),
            ),
        )

    @app_commands.command(name="unmute")
    @app_commands.describe(member="Allow nudges about this person again")
    async def unmute(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Allow nudges about this person again."""
        gid, mid = self._ids(interaction)
        if member.bot:
            raise UserFacingError(
                N_("{name} is a bot — bots are never muted or nudged about."),
                name=member.display_name,
            )
        await self.members.unmute(gid, mid, member.id)
        await reply_private(
            interaction,
            self._t(interaction).gettext(
                N_("Unmuted — {name} can show up in your digests again."),
                name=member.display_name,
            ),
        )

    @app_commands.command(name="talked-elsewhere")
    @app_commands.describe(member="Who you talked with (in DMs, voice, in person…)")
    async def talked_elsewhere(
        self, interaction: discord.Interaction, member: discord.User
    ) -> None:
        """Tell Rapport you talked with someone outside its sight: no drifting nudge for a while."""
        gid, mid = self._ids(interaction)
        if member.bot:
            raise UserFacingError(
                N_("{name} is a bot — Rapport never nudges about bots."), name=member.display_name
            )
        until = await self.nudges.talked_elsewhere(gid, mid, member.id)
        await reply_private(
            interaction, elsewhere_reply(member.display_name, until, self._t(interaction))
        )

    # --- privacy ------------------------------------------------------------------------------

    @app_commands.command(name="export")
    @app_commands.describe(scope="This server, or every server that runs Rapport (DMs: everywhere)")
    @app_commands.choices(scope=_forget.SCOPES)
    async def export(
        self, interaction: discord.Interaction, scope: app_commands.Choice[str] | None = None
    ) -> None:
        """Get a JSON file of everything Rapport stores about you, here or everywhere."""
        value = scope.value if scope is not None else None
        await _export.send_export(interaction, self.privacy, value, self._t(interaction))

    @app_commands.command(name="forget")
    @app_commands.describe(scope="This server, or every server that runs Rapport (DMs: everywhere)")
    @app_commands.choices(scope=_forget.SCOPES)
    async def forget(
        self, interaction: discord.Interaction, scope: app_commands.Choice[str] | None = None
    ) -> None:
        """Delete everything Rapport holds about you (here or everywhere) and stop tracking you."""
        value = scope.value if scope is not None else None
        await _forget.ask_member(interaction, self.privacy, value, self._t(interaction))

    @app_commands.command(name="track")
    async def track(self, interaction: discord.Interaction) -> None:
        """Let Rapport track your interactions again, from now on."""
        gid, mid = self._ids(interaction)
        await self.members.track(gid, mid)
        t = self._t(interaction)
        await reply_private(
            interaction,
            t.gettext(
                N_(
                    "Tracking is back on from now (nothing from before returns). {join} "
                    "starts digests too."
                ),
                join=_l10n.command(t, "rapport join"),
            ),
        )

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What Rapport does, every command, and what it stores about you."""
        if "rapport" not in self._command_ids:
            # The first help asks Discord for the command ids: answer "thinking" first.
            await interaction.response.defer(ephemeral=True, thinking=True)
        ids = await self._mention_ids(interaction.guild)
        admin = bool(interaction.permissions.manage_guild)
        available = {c.qualified_name for c in self.bot.tree.walk_commands()}
        for kind in (discord.AppCommandType.user, discord.AppCommandType.message):
            available.update(c.name for c in self.bot.tree.walk_commands(type=kind))
        embed = render.help_embed(ids, available, admin=admin, t=self._t(interaction))
        await reply_private(interaction, embed=embed)

    async def _mention_ids(self, guild: discord.Guild | None) -> dict[str, int]:
        """Synced command ids by name, fetched once (a sync keeps the ids of unchanged names)."""
        if "rapport" not in self._command_ids:
            try:
                synced = await self.bot.tree.fetch_commands()
                if not any(c.name == "rapport" for c in synced) and guild is not None:
                    synced = await self.bot.tree.fetch_commands(guild=guild)
            except discord.HTTPException:
                log.warning("could not fetch the synced commands; /rapport help shows plain names")
                return {}
            self._command_ids = {
                c.name: c.id for c in synced if c.type is discord.AppCommandType.chat_input
            }
        return self._command_ids

    # --- context menu -------------------------------------------------------------------------

    async def keep_in_touch(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Choose how often you want to keep in touch with this person."""
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        gid, mid = self._ids(interaction)
        if user.bot:
            raise UserFacingError(N_("That's a bot — Rapport keeps you in touch with people."))
        if user.id == mid:
            raise UserFacingError(N_("That's you — pick someone else to keep in touch with."))
        await self.members.ensure(gid)
        name = user.display_name
        t = self._t(interaction)

        async def picked(cadence: timedelta | None, label: str) -> str:
            self.ledger.set_cadence(gid, mid, user.id, cadence)
            if cadence is None:
                return t.gettext(
                    N_("Cleared — Rapport goes back to your usual rhythm with {name}."), name=name
                )
            return t.gettext(
                N_("Saved — Rapport will nudge you to keep in touch with {name}: {how}."),
                name=name,
                how=label.lower(),
            )

        view = CadencePicker(mid, picked, t=t)
        view.origin = interaction
        await reply_private(
            interaction,
            t.gettext(N_("How often do you want to keep in touch with {name}?"), name=name),
            view=view,
        )


def _kinds(text: str | None) -> list[str] | None:
    """The kinds option as a list ("all" means every kind); validation is the core's."""
    if text is None:
        return None
    if text.strip().lower() == "all":
        return list(NUDGE_KINDS)
    return text.split(",")


def _line(nudge: rules.Nudge, name: Callable[[int], str], now: datetime, t: Translation) -> str:
    """One preview line, in the digest's own words, with its link."""
    text = rules.describe(nudge, name, now, t=t)
    return f"{text} [{t.gettext(N_('jump'))}]({nudge.url})" if nudge.url else text


async def setup(bot: RapportBot) -> None:
    """Load the member commands and the "Keep in touch" menu with the services they use."""
    s = bot.services
    relations = Relations(s.members, s.ledger.reads)
    await bot.add_cog(
        Members(bot, s.members, s.ledger, s.privacy, s.nudges, s.status, s.clock, relations)
    )
