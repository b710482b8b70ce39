"""The admin digest's Discord side: where it goes, how it reads, and the weekly send.

The core builds the figures and runs once-a-week (rapport/nudges/admin_digest.py); this module
is the `AdminPoster` it sends through (the channel chosen with /rapport-admin admin-digest, and
DMs to the admins who opted in, as long as they still have Manage Server) and the embed.
Aggregates, names of unanswered newcomers and links only: never message text.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import datetime

import discord

from cogs import _l10n
from cogs._embeds import COLOUR
from cogs._lookup import check_can_post, missing_permissions
from cogs._once import MaybeSent, at_most_once
from cogs._respond import reply_private
from rapport.i18n import N_, Translation
from rapport.nudges.admin_digest import (
    MIN_SAMPLE,
    AdminDigest,
    AdminDigests,
    KindFigures,
    Rate,
)
from rapport.people import GuildService, MemberService

log = logging.getLogger(__name__)

SEND_DEADLINE = 10.0
PERMISSIONS = ("view_channel", "send_messages", "embed_links")
"""What posting the admin digest needs in its channel (no file: no attach_files)."""
KIND_LABELS = {
    "unanswered": N_("Unanswered replies and mentions"),
    "thanks": N_("Answers never thanked"),
    "drifting": N_("Drifting relationships"),
    "welcome": N_("Welcoming newcomers"),
    "share": N_("Sharing something"),
}
"""What each nudge kind is about, as an admin reads the nudge section."""


def _rate(rate: Rate, t: Translation) -> str | None:
    """ "61% (11 of 18)"; a bare count below MIN_SAMPLE cases; None with no outcome yet."""
    if not rate.settled:
        return None
    count = t.gettext(N_("{acted} of {n}"), acted=t.number(rate.acted), n=t.number(rate.settled))
    share = rate.share
    if share is None:
        return count
    return t.gettext(N_("{percent} ({count})"), percent=t.percent(share), count=count)


def _kind_line(k: KindFigures, t: Translation) -> tuple[str, bool]:
    """One kind's line, and whether it compares outcomes (then the note explains them)."""
    line = t.ngettext(
        "**{kind}**: {n} sent",
        "**{kind}**: {n} sent",
        k.sent,
        kind=t.gettext(KIND_LABELS.get(k.kind, k.kind)),
    )
    nudged, baseline = _rate(k.nudged, t), _rate(k.baseline, t)
    if nudged is None and baseline is None:
        return line, False
    none = "—"
    return (
        t.gettext(
            N_("{line} · acted on: {nudged} · without a nudge: {baseline}"),
            line=line,
            nudged=nudged or none,
            baseline=baseline or none,
        ),
        True,
    )


def render(
    digest: AdminDigest,
    server: str,
    name_of: Callable[[int], str],
    now: datetime,
    t: Translation,
) -> discord.Embed:
    """The digest as an embed: a section per finding, none when it has nothing to say."""
    embed = discord.Embed(
        title=t.gettext(N_("Rapport admin digest — {server}"), server=server), colour=COLOUR
    )
    if digest.newcomers:
        lines = [
            t.gettext(
                N_("{name} joined {ago} — [first message]({url})"),
                name=name_of(n.member_id),
                ago=t.ago(now - n.joined_at),
                url=n.url,
            )
            for n in digest.newcomers[:10]
        ]
        if len(digest.newcomers) > 10:
            more = len(digest.newcomers) - 10
            lines.append(t.ngettext("… and {n} more", "… and {n} more", more))
        _bullets(embed, t.gettext(N_("Newcomers nobody answered yet")), lines)
    if digest.waiting:
        lines = [
            t.gettext(
                N_("[A message]({url}) in <#{channel}>, waiting {since}"),
                url=w.url,
                channel=w.channel_id,
                since=t.duration_since(now - w.at),
            )
            for w in digest.waiting
        ]
        _bullets(embed, t.gettext(N_("Waiting longest for an answer")), lines)
    if digest.trend:
        weeks = [
            t.gettext(
                N_("{week}: {rate}"),
                week=t.date(w.monday, "MMMd"),
                rate="—"
                if not w.inbound
                else t.percent(w.share)
                if w.share is not None
                else t.gettext(
                    N_("{answered} of {received}"),
                    answered=t.number(w.answered),
                    received=t.number(w.inbound),
                ),
            )
            for w in digest.trend
        ]
        note = t.gettext(
            N_(
                "Replies and mentions answered within 48 h, by week (oldest first; a count "
                "instead of a share in weeks with fewer than {min})."
            ),
            min=t.number(MIN_SAMPLE),
        )
        embed.add_field(
            name=t.gettext(N_("Response rate, last 8 weeks")),
            value=f"{' · '.join(weeks)}\n*{note}*"[:1024],
            inline=False,
        )
    if digest.kinds:
        found = [_kind_line(k, t) for k in digest.kinds]
        lines = [f"• {line}" for line, _ in found]
        if any(compares for _, compares in found):
            note = t.gettext(
                N_(
                    "Acted on: the member contacted that person (for share: shared something) "
                    "within 7 days of the nudge. Without a nudge: the same situations among "
                    "members who get no digests. A share from {min} known outcomes, a count "
                    "before that."
                ),
                min=t.number(MIN_SAMPLE),
            )
            lines.append(f"*{note}*")
        embed.add_field(
            name=t.gettext(N_("Nudges, last 4 weeks")),
            value="\n".join(lines)[:1024],
            inline=False,
        )
    if digest.dms_closed:
        embed.add_field(
            name=t.gettext(N_("DMs closed")),
            value=t.ngettext(
                "{n} member's DMs refuse Rapport's digests.",
                "{n} members' DMs refuse Rapport's digests.",
                digest.dms_closed,
            ),
            inline=False,
        )
    embed.set_footer(
        text=t.gettext(
            N_("Totals and links only — never message text. {command} changes where this goes."),
            command=f"/{_l10n.localised_path(t, 'rapport-admin admin-digest')}",
        )
    )
    return embed


def _bullets(embed: discord.Embed, name: str, lines: list[str]) -> None:
    """One finding as a field of bullet lines, within Discord's 1,024 characters a field."""
    embed.add_field(name=name, value="\n".join(f"• {line}" for line in lines)[:1024], inline=False)


class AdminPoster:
    """Where a guild's admin digest goes, and the send; implements the core's AdminPoster."""

    def __init__(self, bot: discord.Client, guilds: GuildService, members: MemberService) -> None:
        self.bot = bot
        self.guilds = guilds
        self.members = members

    def guild_ids(self) -> list[int]:
        """The guilds this process is in."""
        return [g.id for g in self.bot.guilds]

    def channel(self, guild: discord.Guild) -> discord.TextChannel | None:
        """The admin digest's channel, when set, there, and postable."""
        channel_id = self.guilds.get(guild.id).admin_digest_channel
        channel = guild.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.TextChannel):
            return None
        return None if missing_permissions(channel, PERMISSIONS) else channel

    async def admins(
        self, guild: discord.Guild, at_hand: discord.Member | None = None
    ) -> list[discord.Member]:
        """The admins who asked for DMs and still have Manage Server in the server.

        Without the members intent the cache holds few members: an admin it lacks is asked of
        Discord (one request per opted-in admin, once a week), and one who left is skipped.
        """
        out = []
        for member_id in sorted(self.guilds.get(guild.id).admin_digest_dms):
            member = guild.get_member(member_id)
            if member is None and at_hand is not None and at_hand.id == member_id:
                member = at_hand  # the admin running the command: no request before answering
            if member is None:
                try:
                    member = await guild.fetch_member(member_id)
                except discord.HTTPException:
                    continue  # gone from the server (404), or Discord can't say now
            if member.guild_permissions.manage_guild:
                out.append(member)
        return out

    def has_readers(self, guild_id: int) -> bool:
        """Whether the digest has somewhere to go: a channel, or an admin who asked for DMs
        (whether they still may is checked when it is sent)."""
        guild = self.bot.get_guild(guild_id)
        return guild is not None and (
            self.channel(guild) is not None or bool(self.guilds.get(guild.id).admin_digest_dms)
        )

    @staticmethod
    def member_name(guild: discord.Guild, t: Translation) -> Callable[[int], str]:
        """Names as the server shows them; a member the cache doesn't hold (no members intent)
        by mention, which Discord shows as their name without pinging anyone."""

        def name_of(member_id: int) -> str:
            member = guild.get_member(member_id)
            return member.display_name if member is not None else f"<@{member_id}>"

        return name_of

    def embed(
        self, guild: discord.Guild, digest: AdminDigest, t: Translation, now: datetime
    ) -> discord.Embed:
        """The digest in one language."""
        return render(digest, guild.name, self.member_name(guild, t), now, t)

    async def send(self, digest: AdminDigest) -> bool:
        """Post to the channel (server's language) and DM each opted-in admin (theirs)."""
        guild = self.bot.get_guild(digest.guild_id)
        if guild is None:
            return False
        reached = False
        channel = self.channel(guild)
        if channel is not None:
            embed = self.embed(guild, digest, _l10n.for_guild(guild), digest.created)
            reached |= await self._send(channel, embed, f"channel {channel.id}")
        for admin in await self.admins(guild):
            t = _l10n.for_member(self.members, guild, guild.id, admin.id)
            reached |= await self._send(
                admin, self.embed(guild, digest, t, digest.created), "an admin"
            )
        return reached

    async def _send(self, where: discord.abc.Messageable, embed: discord.Embed, what: str) -> bool:
        """One message, never twice: a 5xx or no answer counts as maybe sent (True)."""
        try:
            with at_most_once():
                async with asyncio.timeout(SEND_DEADLINE):
                    await where.send(embed=embed, nonce=secrets.token_hex(12))
        except (MaybeSent, discord.DiscordServerError, TimeoutError):
            log.warning("the admin digest to %s may or may not have gone out", what)
        except discord.HTTPException as exc:
            log.warning(
                "Discord refused the admin digest to %s (%s %s)", what, exc.status, exc.code
            )
            return False
        return True


async def admin_digest_command(
    interaction: discord.Interaction,
    poster: AdminPoster,
    digests: AdminDigests,
    t: Translation,
    channel: discord.TextChannel | None,
    no_channel: bool,
    dm: str | None,
) -> None:
    """Change where the admin digest goes, then show where it goes and what it would say now."""
    guild = interaction.guild
    assert guild is not None  # the admin cog refuses DMs
    guilds = poster.guilds
    own = await guilds.ensure(guild.id)
    changes: dict[str, object] = {}
    if channel is not None:
        check_can_post(channel, t, PERMISSIONS)
        changes["admin_digest_channel"] = channel.id
    elif no_channel:
        changes["admin_digest_channel"] = None
    if dm is not None:
        me = frozenset({interaction.user.id})
        dms = own.admin_digest_dms | me if dm == "on" else own.admin_digest_dms - me
        changes["admin_digest_dms"] = dms
    if changes:
        own = await guilds.update(guild.id, **changes)
    chosen = own.admin_digest_channel
    value = f"<#{chosen}>" if chosen else t.gettext(N_("none"))
    if chosen and poster.channel(guild) is None:
        value = t.gettext(
            N_("{channel} — I can't post there (missing permissions, or it's gone)"),
            channel=value,
        )
    lines = [
        t.gettext(N_("**Channel:** {value}"), value=value),
        t.gettext(
            N_("**By DM to you:** {value}"),
            value=t.gettext(N_("on") if interaction.user.id in own.admin_digest_dms else N_("off")),
        ),
    ]
    caller = interaction.user if isinstance(interaction.user, discord.Member) else None
    if admins := len(await poster.admins(guild, caller)):
        lines.append(t.ngettext("{n} admin gets it by DM.", "{n} admins get it by DM.", admins))
    digest = digests.preview(guild.id)
    if poster.channel(guild) is None and not admins:
        lines.append(
            t.gettext(
                N_(
                    "Nobody gets the weekly admin digest yet: pick a channel, or ask for a DM, "
                    "with {command}."
                ),
                command=_l10n.command(t, "rapport-admin admin-digest"),
            )
        )
    if digest.empty:
        lines.append(
            t.gettext(N_("Nothing worth reporting so far this week (such a week sends no digest)."))
        )
        await reply_private(interaction, "\n".join(lines))
        return
    lines.append(t.gettext(N_("What this week's digest would say now:")))
    embed = render(digest, guild.name, poster.member_name(guild, t), digests.clock(), t)
    await reply_private(interaction, "\n".join(lines), embed=embed)
