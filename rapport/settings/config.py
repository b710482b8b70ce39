"""Typed, frozen settings loaded from TOML and the environment, validated all at once.

Every problem in a config file is collected before anything is raised, so an operator fixes
the whole file in one pass instead of meeting the errors one restart at a time. Each section
is a schema table of key -> kind; the dataclass field of the same name holds the default,
so a default is written down exactly once.

Over 400 lines because it is the schema of every section, read as one page beside
config.example.toml; value kinds and time parsing are apart (_kinds.py, timeparse.py).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from rapport.settings._kinds import (
    _CHANNEL,
    _DURATION,
    _SCHEDULE,
    _WEIGHT,
    _choice,
    _digest_hour,
    _flag,
    _from_text,
    _integer,
    _Kind,
    _list_of,
    _name_or_id,
    _number,
    _optional_count,
    _optional_id,
    _path,
    _snowflake,
    _text,
    _timezone_name,
    _toml,
    _url,
)
from rapport.settings.timeparse import (
    QUIET_HOURS_HINT,
    TIMEZONE_HINT,
    QuietHours,
    Schedule,
    format_duration,
    parse_quiet_hours,
    parse_schedule,
)

__all__ = [
    "NUDGE_KINDS",
    "ConfigError",
    "DiscordSettings",
    "KudosSettings",
    "LeaderboardSettings",
    "LeaderboardWeights",
    "LoggingSettings",
    "NudgeSettings",
    "Problem",
    "ScheduleSettings",
    "Settings",
    "StorageSettings",
    "TrackingSettings",
    "describe",
    "load_settings",
    "settings_from_mapping",
]

MAX_SHARDS = 10_000
"""Shards a cluster may have: Discord's largest bots run a few thousand."""
NUDGE_KINDS = ("drifting", "unanswered", "thanks", "share", "welcome")
DISCORD_API_BASE = "https://discord.com"
DISCORD_CDN_BASE = "https://cdn.discordapp.com"


_EVERY_15_MINUTES = parse_schedule("15m")
_MONDAYS_AT_9 = parse_schedule("0 9 * * mon")
_DAILY_AT_4 = parse_schedule("0 4 * * *")
_NIGHT = QuietHours(time(22, 0), time(8, 0))


# --- the settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscordSettings:
    """How to reach Discord, which intents to ask for, and where to sync commands."""

    token: str = ""
    api_base: str = DISCORD_API_BASE
    gateway_url: str = ""
    cdn_base: str = DISCORD_CDN_BASE
    message_content: bool = True
    members_intent: bool = True
    sync_commands: str = "global"
    dev_guild_id: int | None = None
    owner_ids: tuple[int, ...] = ()
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class StorageSettings:
    """Which store backend holds state, and how often staged changes are written."""

    backend: str = "tinydb"
    path: Path = Path("data/rapport.json")
    dsn: str = ""
    schema: str = "rapport"
    flush_interval: timedelta = timedelta(seconds=2)
    removed_guild_retention: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class ScheduleSettings:
    """When the scheduled jobs run."""

    nudge_scan: Schedule = _EVERY_15_MINUTES
    leaderboard: Schedule = _MONDAYS_AT_9
    retention: Schedule = _DAILY_AT_4
    admin_digest: Schedule = _MONDAYS_AT_9


@dataclass(frozen=True)
class NudgeSettings:
    """Server-wide nudge policy; `timezone` is the default for members who set none."""

    enrollment: str = "opt-in"
    drift_after: timedelta = timedelta(days=21)
    unanswered_after: timedelta = timedelta(hours=24)
    share_after: timedelta = timedelta(days=14)
    answer_window: timedelta = timedelta(hours=6)
    stale_after: timedelta = timedelta(days=7)
    drift_min: timedelta = timedelta(days=7)
    min_gap: timedelta = timedelta(days=2)
    quiet_hours: QuietHours | None = _NIGHT
    digest_hour: int | None = 18
    timezone: str = "UTC"
    max_dms_per_week: int = 3
    digest_size: int = 5
    kinds: tuple[str, ...] = NUDGE_KINDS
    dms_per_second: float = 1.0

    @property
    def zone(self) -> ZoneInfo:
        """The default time zone as a tzinfo (validated at load, so this cannot fail then)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class LeaderboardWeights:
    """How much each kind of engagement counts towards a leaderboard score."""

    replies: float = 1.0
    breadth: float = 3.0
    responsiveness: float = 5.0
    thanks: float = 1.0
    shares: float = 2.0


@dataclass(frozen=True)
class LeaderboardSettings:
    """Where and how often the team leaderboard is posted, and how it scores."""

    enabled: bool = True
    channel: str | int = "leaderboard"
    period: str = "week"
    teams: tuple[str | int, ...] = ()
    top: int = 10
    weights: LeaderboardWeights = field(default_factory=LeaderboardWeights)


@dataclass(frozen=True)
class TrackingSettings:
    """What is tracked, how fast old interactions fade, and how long they are kept."""

    ignore_channels: tuple[str | int, ...] = ()
    half_life: timedelta = timedelta(days=30)
    retain: timedelta = timedelta(days=365)
    thanks_emoji: tuple[str, ...] = ()


@dataclass(frozen=True)
class KudosSettings:
    """Thanks members give with /thanks and "Thank the author"."""

    max_per_day: int = 5


@dataclass(frozen=True)
class LoggingSettings:
    """Log verbosity and shape (text for people, json for log collectors)."""

    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class Settings:
    """Everything Rapport can be configured with; `source` is the file it came from."""

    discord: DiscordSettings = field(default_factory=DiscordSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    nudges: NudgeSettings = field(default_factory=NudgeSettings)
    leaderboard: LeaderboardSettings = field(default_factory=LeaderboardSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    kudos: KudosSettings = field(default_factory=KudosSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    source: Path | None = None


# --- problems -----------------------------------------------------------------------------


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Any = _NoValue()
SHOWN_VALUE = 80
"""Characters of a bad value a problem shows."""
SHOWN_EXPECTED = 300
"""Characters of what a problem says was expected."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: where, what was given, what was expected."""

    file: str
    key: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        if self.value is not NO_VALUE:
            shown = _toml(_redacted(self.key, self.value))
            if len(shown) > SHOWN_VALUE:  # a 5 MB value is not worth echoing whole
                shown = f"{shown[: SHOWN_VALUE - 1]}… ({len(shown)} characters)"
            where = f"{where} = {shown}"
        expected = self.expected
        if len(expected) > SHOWN_EXPECTED:  # it may quote the value (a list's bad entry, say)
            expected = expected[: SHOWN_EXPECTED - 1] + "…"
        return f"{where}: {expected}"


class ConfigError(Exception):
    """The configuration can't be used; str() lists every problem, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def _redacted(key: str, value: object) -> object:
    """A value safe to print: tokens hidden, a DSN's password hidden."""
    leaf = key.rpartition(".")[2].lower()
    if leaf in ("token", "discord_token"):
        return "<redacted: set>" if value else "<not set>"
    if leaf in ("dsn", "rapport_database_url") and isinstance(value, str) and value:
        return _redact_dsn(value)
    return value


def _identifier(text: str) -> str:
    """A plain SQL identifier (lowercase letters, digits, underscores), so it is safe to quote.

    Lowercase only, as PostgreSQL folds unquoted names: "Rapport" would name another schema."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", text):
        fits = re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", text.lower())
        hint = f' (did you mean "{text.lower()}"?)' if fits and text.lower() != text else ""
        raise ValueError(
            f"expected a schema name of lowercase letters, digits and underscores, at most 63{hint}"
        )
    return text


def _emoji(text: str) -> str:
    text = text.strip()
    if not text or " " in text:
        raise ValueError("expected one emoji (🙏, or a custom emoji's name)")
    return text


# --- the schema: one table per section, key -> kind; defaults live on the dataclasses ------


@dataclass(frozen=True)
class _Section:
    cls: type
    keys: Mapping[str, _Kind | _Section]


_SCHEMA: dict[str, _Section] = {
    "discord": _Section(
        DiscordSettings,
        {
            "token": _text(check=str.strip),
            "api_base": _text(check=_url("https", "http")),
            "gateway_url": _text(check=_url("wss", "ws", allow_empty=True)),
            "cdn_base": _text(check=_url("https", "http")),
            "message_content": _flag(),
            "members_intent": _flag(),
            "sync_commands": _choice("global", "guild", "off"),
            "dev_guild_id": _optional_id(),
            "owner_ids": _list_of(_snowflake(), "Discord user ids"),
            "shard_count": _optional_count(MAX_SHARDS),
            "shard_ids": _list_of(_integer(0, MAX_SHARDS - 1), "shard numbers", empty_is_none=True),
        },
    ),
    "storage": _Section(
        StorageSettings,
        {
            "backend": _choice("tinydb", "postgres"),
            "path": _from_text(_path, "expected a file path (in quotes)", str),
            "dsn": _text(check=_url("postgresql", "postgres", allow_empty=True)),
            "schema": _text(check=_identifier, hint="a PostgreSQL schema name"),
            "flush_interval": _DURATION,
            "removed_guild_retention": _DURATION,
        },
    ),
    "schedule": _Section(
        ScheduleSettings,
        {
            "nudge_scan": _SCHEDULE,
            "leaderboard": _SCHEDULE,
            "retention": _SCHEDULE,
            "admin_digest": _SCHEDULE,
        },
    ),
    "nudges": _Section(
        NudgeSettings,
        {
            "enrollment": _choice("opt-in", "opt-out"),
            "drift_after": _DURATION,
            "unanswered_after": _DURATION,
            "share_after": _DURATION,
            "answer_window": _DURATION,
            "stale_after": _DURATION,
            "drift_min": _DURATION,
            "min_gap": _DURATION,
            "quiet_hours": _from_text(
                parse_quiet_hours,
                QUIET_HOURS_HINT,
                lambda value: "" if value is None else str(value),
            ),
            "digest_hour": _Kind(_digest_hour, lambda value: "any" if value is None else value),
            "timezone": _from_text(_timezone_name, TIMEZONE_HINT, str),
            "max_dms_per_week": _integer(0, 14),
            "digest_size": _integer(1, 10),
            "kinds": _list_of(_choice(*NUDGE_KINDS), "nudge kinds"),
            "dms_per_second": _number(0, above=True),
        },
    ),
    "leaderboard": _Section(
        LeaderboardSettings,
        {
            "enabled": _flag(),
            "channel": _CHANNEL,
            "period": _choice("week", "month"),
            "teams": _list_of(_name_or_id("role", "@"), "role names or ids"),
            "top": _integer(1, 25),
            "weights": _Section(
                LeaderboardWeights,
                dict.fromkeys(
                    ("replies", "breadth", "responsiveness", "thanks", "shares"), _WEIGHT
                ),
            ),
        },
    ),
    "tracking": _Section(
        TrackingSettings,
        {
            "ignore_channels": _list_of(_CHANNEL, "channel names or ids"),
            "half_life": _DURATION,
            "retain": _DURATION,
            "thanks_emoji": _list_of(_text(check=_emoji), "emoji"),
        },
    ),
    "kudos": _Section(KudosSettings, {"max_per_day": _integer(0, 100)}),
    "logging": _Section(
        LoggingSettings,
        {
            "level": _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", fold_case=True),
            "format": _choice("text", "json"),
        },
    ),
}


def _dotted_keys(sections: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, kind in sections.items():
        keys.append(prefix + name)
        if isinstance(kind, _Section):
            keys.extend(_dotted_keys(kind.keys, f"{prefix}{name}."))
    return keys


_KNOWN_KEYS = _dotted_keys(_SCHEMA)


def _suggest(dotted: str) -> str:
    """A "did you mean" for an unknown key: the same name in another section, or a near miss."""
    leaf = dotted.rpartition(".")[2]
    same_leaf = [key for key in _KNOWN_KEYS if key.rpartition(".")[2] == leaf]
    close = same_leaf or difflib.get_close_matches(dotted, _KNOWN_KEYS, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


# --- loading ------------------------------------------------------------------------------

_ENV_OVERRIDES = (("DISCORD_TOKEN", "discord", "token"), ("RAPPORT_DATABASE_URL", "storage", "dsn"))


class _Collector:
    """Gathers problems for one file so every one of them is reported together."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, value: object, expected: str) -> None:
        self.problems.append(Problem(self.file, key, value, expected))


def _parse_section(section: _Section, raw: Mapping[str, Any], prefix: str, out: _Collector) -> Any:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = prefix + key
        kind = section.keys.get(key)
        if kind is None:
            # Never the value: a misspelt secret ("tokne") would be printed in clear.
            out.add(dotted, NO_VALUE, "unknown key" + _suggest(dotted))
        elif isinstance(kind, _Section):
            if isinstance(value, dict):
                values[key] = _parse_section(kind, value, dotted + ".", out)
            else:
                out.add(dotted, NO_VALUE, f"expected a table ([{dotted}])")
        else:
            try:
                values[key] = kind.parse(value)
            except ValueError as exc:
                out.add(dotted, value, str(exc))
    return section.cls(**values)


def _check_together(settings: Settings, out: _Collector) -> None:
    """Rules that span keys: each names the key to change."""
    discord, storage, nudges = settings.discord, settings.storage, settings.nudges
    if nudges.drift_min > nudges.drift_after:
        out.add(
            "nudges.drift_min",
            format_duration(nudges.drift_min),
            f"expected at most nudges.drift_after ({format_duration(nudges.drift_after)})",
        )
    if nudges.stale_after <= nudges.unanswered_after:
        out.add(
            "nudges.stale_after",
            format_duration(nudges.stale_after),
            "expected longer than nudges.unanswered_after "
            f"({format_duration(nudges.unanswered_after)}), or nothing is ever due",
        )
    if discord.sync_commands == "guild" and discord.dev_guild_id is None:
        out.add(
            "discord.sync_commands",
            "guild",
            "expected discord.dev_guild_id to be set (the guild to sync to), "
            'or sync_commands = "global" or "off"',
        )
    if discord.shard_ids is not None:
        if discord.shard_count is None:
            out.add(
                "discord.shard_ids", list(discord.shard_ids), "expected discord.shard_count too"
            )
        elif max(discord.shard_ids) >= discord.shard_count:
            out.add(
                "discord.shard_ids",
                list(discord.shard_ids),
                f"expected shard numbers below shard_count ({discord.shard_count})",
            )
    if storage.backend == "postgres" and not storage.dsn:
        out.add(
            "storage.dsn",
            "",
            'expected a PostgreSQL URL (postgresql://...) with backend = "postgres"; '
            "set it here or in RAPPORT_DATABASE_URL",
        )


def settings_from_mapping(
    data: Mapping[str, Any], env: Mapping[str, str] | None = None, source: Path | None = None
) -> Settings:
    """Validate parsed TOML (and the environment's secrets) into Settings, or raise ConfigError."""
    out = _Collector(str(source) if source is not None else "<config>")
    sections: dict[str, Any] = {}
    for name, raw in data.items():
        section = _SCHEMA.get(name)
        if section is None:
            close = difflib.get_close_matches(name, _SCHEMA, n=1, cutoff=0.6)
            hint = f"; did you mean [{close[0]}]?" if close else _suggest(name)
            hint = hint or f" (sections: {', '.join(_SCHEMA)})"
            label = "unknown section" if isinstance(raw, dict) else "unknown key"
            out.add(name, NO_VALUE, label + hint)
        elif not isinstance(raw, dict):
            # Never the value: it may be a secret put where a section goes (schedule = "...").
            out.add(name, NO_VALUE, f"expected a table ([{name}])")
        else:
            sections[name] = _parse_section(section, raw, name + ".", out)
    settings = Settings(**sections, source=source)

    env = env or {}
    env_out = _Collector("environment")
    for variable, section_name, key in _ENV_OVERRIDES:
        if not env.get(variable):
            continue  # set-but-empty (a blank line in a compose file) leaves the file's value
        kind = _SCHEMA[section_name].keys[key]
        assert isinstance(kind, _Kind)
        try:
            value = kind.parse(env[variable])
        except ValueError as exc:
            env_out.add(variable, env[variable], str(exc))
            continue
        part = dataclasses.replace(getattr(settings, section_name), **{key: value})
        settings = dataclasses.replace(settings, **{section_name: part})

    _check_together(settings, out)
    problems = out.problems + env_out.problems
    if problems:
        raise ConfigError(problems)
    return settings


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Load a TOML config file (None: all defaults) plus the environment's secrets."""
    if path is None:
        return settings_from_mapping({}, env)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        expected = "expected a config file here (not found); copy config.example.toml to start"
        raise ConfigError([Problem(str(path), "", NO_VALUE, expected)]) from None
    except OSError as exc:
        expected = f"expected a readable config file ({exc.strerror})"
        raise ConfigError([Problem(str(path), "", NO_VALUE, expected)]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [Problem(str(path), "", NO_VALUE, f"expected valid TOML: {exc}")]
        ) from None
    return settings_from_mapping(data, env, source=path)


# --- describing ---------------------------------------------------------------------------


def _redact_dsn(dsn: str) -> str:
    """The DSN with its password (in the user part, the query or key=value form) replaced."""
    dsn = re.sub(r"(?i)(password=)[^&\s]*", r"\1<redacted>", dsn)
    try:
        parts = urlsplit(dsn)
    except ValueError:  # not a URL ("[bad" host): hide whatever sits between ':' and '@'
        return re.sub(r"(//[^/:@]*:)[^@]*@", r"\1<redacted>@", dsn)
    if parts.password is None:
        return dsn
    userinfo, _, host = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}:<redacted>@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _describe_section(section: _Section, value: Any, name: str, lines: list[str]) -> None:
    lines.append(f"[{name}]")
    nested = []
    for key, kind in section.keys.items():
        current = getattr(value, key)
        if isinstance(kind, _Section):
            nested.append((kind, current, f"{name}.{key}"))
            continue
        lines.append(f"{key} = {_toml(_redacted(key, kind.dump(current)))}")
    for kind, current, dotted in nested:
        lines.append("")
        _describe_section(kind, current, dotted, lines)


def describe(settings: Settings) -> str:
    """The effective settings as TOML, every key shown, secrets redacted (--check-config)."""
    origin = str(settings.source) if settings.source else "defaults"
    lines = [f"# Effective Rapport settings ({origin}, environment applied)"]
    for name, section in _SCHEMA.items():
        lines.append("")
        _describe_section(section, getattr(settings, name), name, lines)
    return "\n".join(lines) + "\n"
