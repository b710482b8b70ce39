"""Settings: typed config from TOML and the environment, value kinds, and the time words people type."""

from rapport.settings.config import (
    NUDGE_KINDS,
    ConfigError,
    LeaderboardSettings,
    LeaderboardWeights,
    Settings,
    describe,
    load_settings,
    settings_from_mapping,
)
from rapport.settings.timeparse import (
    DURATION_HINT,
    QuietHours,
    Schedule,
    duration_seconds,
    format_duration,
    parse_duration,
    parse_quiet_hours,
    parse_schedule,
    parse_timezone,
)

__all__ = [
    "DURATION_HINT",
    "NUDGE_KINDS",
    "ConfigError",
    "LeaderboardSettings",
    "LeaderboardWeights",
    "QuietHours",
    "Schedule",
    "Settings",
    "describe",
    "duration_seconds",
    "format_duration",
    "load_settings",
    "parse_duration",
    "parse_quiet_hours",
    "parse_schedule",
    "parse_timezone",
    "settings_from_mapping",
]
