"""The effective settings of a server, as /rapport-admin setup shows them, and where each comes from.

Each line names a setting as the admin's client shows the option (so what is read is what is
typed), its effective value, and its source: this server's choice, config.toml, or Rapport's
default for the settings config.toml does not hold (roles, track-only channels).
"""

from __future__ import annotations

import discord

from cogs._embeds import KIND_NAMES
from cogs._l10n import localised_path, valid_name
from cogs._lookup import find_channel
from rapport.i18n import N_, Translation
from rapport.people import SETTINGS, THRESHOLDS, GuildPolicy
from rapport.people.guilds import GuildSettings
from rapport.settings import format_duration

FROM_SERVER = N_("set here")
FROM_CONFIG = N_("config.toml")
FROM_DEFAULT = N_("default")
NOT_IN_CONFIG = frozenset({"staff_roles", "enrollment_role", "welcomer_role", "track_only"})
"""Settings config.toml does not hold: their default is Rapport's own (none, every channel)."""
ENROLLMENT_NAMES = {"opt-in": N_("opt-in"), "opt-out": N_("opt-out")}
PERIOD_NAMES = {"week": N_("week"), "month": N_("month")}


def option_name(t: Translation, name: str) -> str:
    """A setup option as the admin's client shows it (English where its catalog has none)."""
    text = t.pgettext("option name", name)
    return text if valid_name(text) else name


def setting_lines(guild: discord.Guild, policy: GuildPolicy, t: Translation) -> list[str]:
    """One line per setting: `option`: value · source."""
    values = _values(guild, policy, t)
    lines = []
    for name in SETTINGS:
        if name in policy.own:
            source = FROM_SERVER
        elif name in NOT_IN_CONFIG:
            source = FROM_DEFAULT
        else:
            source = FROM_CONFIG
        lines.append(f"`{option_name(t, name)}`: {values[name]} · *{t.gettext(source)}*")
    return lines


def admin_digest_line(own: GuildSettings, t: Translation) -> str:
    """Where the weekly admin digest goes (chosen with its own command, not a setup option)."""
    parts = [f"<#{own.admin_digest_channel}>"] if own.admin_digest_channel else []
    if own.admin_digest_dms:
        n = len(own.admin_digest_dms)
        parts.append(t.ngettext("{n} admin by DM", "{n} admins by DM", n))
    value = ", ".join(parts) or t.gettext(N_("none"))
    source = FROM_SERVER if parts else FROM_DEFAULT
    command = localised_path(t, "rapport-admin admin-digest")
    return f"`/{command}`: {value} · *{t.gettext(source)}*"


def _values(guild: discord.Guild, policy: GuildPolicy, t: Translation) -> dict[str, str]:
    none = t.gettext(N_("none"))

    def listed(items: list[str], empty: str = none) -> str:
        return ", ".join(items) or empty

    def role(spec: int | str) -> str:
        return _role(guild, spec)

    channel = find_channel(guild, policy.leaderboard_channel)
    kinds = [t.gettext(KIND_NAMES[k]) for k in KIND_NAMES if k in policy.nudge_kinds]
    return {
        "leaderboard": t.gettext(N_("on") if policy.leaderboard else N_("off")),
        "leaderboard_channel": channel.mention
        if channel
        else t.gettext(N_("{channel} (not found)"), channel=policy.leaderboard_channel),
        "leaderboard_period": t.gettext(
            PERIOD_NAMES.get(policy.leaderboard_period, policy.leaderboard_period)
        ),
        "leaderboard_schedule": t.gettext(
            N_("`{schedule}` ({zone})"),
            schedule=policy.leaderboard_schedule.text,
            zone=policy.zone.key,
        ),
        "teams": listed([role(r) for r in policy.teams]),
        "staff_roles": listed([role(r) for r in sorted(policy.staff_roles)]),
        "enrollment": t.gettext(ENROLLMENT_NAMES.get(policy.enrollment, policy.enrollment)),
        "enrollment_role": role(policy.enrollment_role)
        if policy.enrollment_role
        else t.gettext(N_("none — anyone can join")),
        "welcomer_role": role(policy.welcomer_role) if policy.welcomer_role else none,
        "timezone": policy.zone.key,
        "track_only": listed(
            [f"<#{c}>" for c in sorted(policy.track_only or ())],
            t.gettext(N_("every channel")),
        ),
        "excluded_channels": listed(
            [f"<#{c}>" for c in sorted(policy.excluded_channels)]
            + [f"#{n}" for n in sorted(policy.ignored_channel_names)]
        ),
        "nudge_kinds": listed(kinds),
        **{name: format_duration(getattr(policy, name)) for name in THRESHOLDS},
        "kudos_max_per_day": t.number(policy.kudos_max_per_day)
        if policy.kudos_max_per_day
        else t.gettext(N_("0 — thanks through Rapport are off")),
    }


def _role(guild: discord.Guild, spec: int | str) -> str:
    """A role's mention, or the name or id config.toml gave when no such role exists."""
    found = guild.get_role(spec) if isinstance(spec, int) else None
    if found is None and isinstance(spec, str):
        found = next((r for r in guild.roles if r.name.casefold() == spec.casefold()), None)
    return found.mention if found is not None else str(spec)
