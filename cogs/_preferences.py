"""The member's own choices: /rapport settings, snooze, mute, unmute and talked-elsewhere.

A mixin of the Members cog (Discord allows one /rapport group, so the commands live in its
class); the choices are kept by rapport.people.MemberService and NudgeService. What is here
turns what was typed into values (or a clear refusal) and words the private answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import discord
from discord import app_commands

from cogs import _embeds as render
from cogs._digest import elsewhere_reply
from cogs._l10n import command
from cogs._respond import reply_private
from rapport import i18n
from rapport.clock import Clock
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.nudges import NudgeService
from rapport.people import MemberService
from rapport.settings import DURATION_HINT, NUDGE_KINDS, duration_seconds, parse_duration

# Each shipped language in its own words; "auto" follows the member's Discord language.
LANGUAGE_CHOICES = [
    app_commands.Choice(name="Auto", value=i18n.AUTO),
    *(app_commands.Choice(name=i18n.language_name(lang), value=lang) for lang in i18n.SHIPPED),
]


def kinds_option(text: str | None) -> list[str] | None:
    """The kinds option as a list ("all" means every kind); validation is the core's."""
    if text is None:
        return None
    if text.strip().lower() == "all":
        return list(NUDGE_KINDS)
    return text.split(",")


async def zones(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for a time zone option (/rapport settings, /rapport-admin setup)."""
    return render.zone_choices(current)


async def nudge_kinds(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete for a nudge kinds option (/rapport settings, /rapport-admin setup)."""
    return render.kind_choices(current)


def snooze_span(duration: str, t: Translation) -> timedelta | None:
    """How long to snooze, from what was typed; None means "off" (resume now)."""
    if duration.strip().lower() in ("off", "0", "resume", t.gettext(N_("off")).lower()):
        return None
    try:
        return parse_duration(duration)
    except ValueError:
        if duration_seconds(duration) is not None:  # a duration, just far too long
            raise UserFacingError(
                N_("Snooze for between 1 minute and 90 days, e.g. 3d, 2w or 1h.")
            ) from None
        raise UserFacingError(
            N_("“{value}” isn't a duration I understand — {hint}, up to 90d (or “off” to resume)."),
            value=duration,
            hint=DURATION_HINT,
        ) from None


def resumed(t: Translation) -> str:
    """The answer to /rapport snooze off."""
    return t.gettext(N_("Snooze is off — your digests resume."))


def snoozed(until: datetime | None, t: Translation) -> str:
    """The answer to a snooze: until when."""
    return t.gettext(N_("Snoozed — no digests until {when}."), when=render.when(until, t))


def refuse_bot(member: discord.User, *, unmuting: bool = False) -> None:
    """Bots are never nudged about: naming one (to mute, unmute, …) is explained, not done."""
    if not member.bot:
        return
    if not unmuting:
        raise UserFacingError(
            N_("{name} is a bot — Rapport never nudges about bots."), name=member.display_name
        )
    raise UserFacingError(
        N_("{name} is a bot — bots are never muted or nudged about."), name=member.display_name
    )


def muted(name: str, t: Translation) -> str:
    """The answer to /rapport mute."""
    return t.gettext(
        N_("Muted — Rapport won't nudge you about {name}. {unmute} undoes it."),
        name=name,
        unmute=command(t, "rapport unmute"),
    )


def unmuted(name: str, t: Translation) -> str:
    """The answer to /rapport unmute."""
    return t.gettext(N_("Unmuted — {name} can show up in your digests again."), name=name)


class PreferenceCommands:
    """/rapport settings, snooze, mute, unmute, talked-elsewhere, for the Members cog."""

    members: MemberService
    nudges: NudgeService
    clock: Clock
    _t: Callable[[discord.Interaction], Translation]
    _ids: Callable[[discord.Interaction], tuple[int, int]]

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
    @app_commands.autocomplete(timezone=zones, kinds=nudge_kinds)
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
            "kinds": kinds_option(kinds),
            "on_leaderboard": leaderboard,
            "language": language.value if language is not None else None,
        }
        changed = any(v is not None for v in options.values())
        if changed:
            await self.members.configure(gid, mid, **options)
        prefs = self.members.preferences(gid, mid)
        embed = render.settings_embed(prefs, self.clock(), changed=changed, t=self._t(interaction))
        await reply_private(interaction, embed=embed)

    @settings.autocomplete("digest_hour")
    async def _hour_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.hour_choices(current, self._t(interaction))

    @app_commands.command(name="snooze")
    @app_commands.describe(duration="How long: 1h, 3d, 2w … up to 90d; “off” resumes now")
    async def snooze(
        self, interaction: discord.Interaction, duration: app_commands.Range[str, 1, 32]
    ) -> None:
        """Pause your digests for a while."""
        gid, mid = self._ids(interaction)
        t = self._t(interaction)
        span = snooze_span(duration, t)
        if span is None:
            await self.members.unsnooze(gid, mid)
            await reply_private(interaction, resumed(t))
            return
        settings = await self.members.snooze(gid, mid, span)
        await reply_private(interaction, snoozed(settings.snoozed_until, t))

    @app_commands.command(name="mute")
    @app_commands.describe(member="Never nudge me about this person")
    async def mute(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Never be nudged about this person."""
        gid, mid = self._ids(interaction)
        refuse_bot(member)
        await self.members.mute(gid, mid, member.id)
        await reply_private(interaction, muted(member.display_name, self._t(interaction)))

    @app_commands.command(name="unmute")
    @app_commands.describe(member="Allow nudges about this person again")
    async def unmute(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Allow nudges about this person again."""
        gid, mid = self._ids(interaction)
        refuse_bot(member, unmuting=True)
        await self.members.unmute(gid, mid, member.id)
        await reply_private(interaction, unmuted(member.display_name, self._t(interaction)))

    @app_commands.command(name="talked-elsewhere")
    @app_commands.describe(member="Who you talked with (in DMs, voice, in person…)")
    async def talked_elsewhere(
        self, interaction: discord.Interaction, member: discord.User
    ) -> None:
        """Tell Rapport you talked with someone outside its sight: no drifting nudge for a while."""
        gid, mid = self._ids(interaction)
        refuse_bot(member)
        until = await self.nudges.talked_elsewhere(gid, mid, member.id)
        await reply_private(
            interaction, elsewhere_reply(member.display_name, until, self._t(interaction))
        )
