"""Settings: typed config from TOML and the environment, value kinds, and the time words people type."""

from rapport.settings.config import (
    NUDGE_KINDS,
    ConfigError,
    LeaderboardWeights,
    Settings,
    describe,
    load_settings,
    settings_from_mapping,
)
from rapport.settings.timeparse import (
    QuietHours,
    Schedule,
    format_duration,
    parse_duration,
    parse_quiet_hours,
    parse_schedule,
    parse_timezone,
)

__all__ = [
    "NUDGE_KINDS",
    "ConfigError",
    "LeaderboardWeights",
    "QuietHours",
    "Schedule",
    "Settings",
    "describe",
    "format_duration",
    "load_settings",
    "parse_duration",
    "parse_quiet_hours",
    "parse_schedule",
    "parse_timezone",
    "settings_from_mapping",
]
