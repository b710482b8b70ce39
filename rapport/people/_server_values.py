"""What an admin may type for each server setting, checked before anything changes.

`check(name, value)` turns an admin's value into its stored form, or refuses it with a private
answer that names the option and says what it expects. `THRESHOLD_LIMITS` bounds the nudge
thresholds; the rules that span two of them are checked on the effective values (`clash`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.settings.config import NUDGE_KINDS
from rapport.settings.timeparse import format_duration, parse_duration, parse_schedule

ENROLLMENT_MODES = ("opt-in", "opt-out")
PERIODS = ("week", "month")
THRESHOLDS = ("drift_after", "drift_min", "unanswered_after", "stale_after", "share_after")
"""The nudge rules' thresholds a server may set (config [nudges] keys of the same names)."""
THRESHOLD_LIMITS = (timedelta(hours=1), timedelta(days=365))
KUDOS_MAX = 100
"""The most thanks a day a server may allow (config [kudos] max_per_day has the same bound)."""
NO_KINDS = "none"
SCHEDULE_EXAMPLE = "0 9 * * mon"


def check(name: str, value: Any) -> Any:
    """The stored form of an admin's value for one setting; UserFacingError when it can't be."""
    if name == "enrollment":
        if value not in ENROLLMENT_MODES:
            raise UserFacingError(
                N_("Enrollment must be one of: {modes}."), modes=", ".join(ENROLLMENT_MODES)
            )
        return value
    if name == "leaderboard_period":
        if value not in PERIODS:
            raise UserFacingError(
                N_("{option} must be one of: {periods}."),
                option=name,
                periods=", ".join(PERIODS),
            )
        return value
    if name == "leaderboard":
        return bool(value)
    if name == "leaderboard_schedule":
        return _crontab(str(value))
    if name == "nudge_kinds":
        return _kinds(value)
    if name in THRESHOLDS:
        return int(_threshold(name, str(value)).total_seconds())
    if name == "kudos_max_per_day":
        if type(value) is not int or not 0 <= value <= KUDOS_MAX:
            raise UserFacingError(
                N_("{option} takes a whole number from 0 (no thanks) to {max}."),
                option=name,
                max=KUDOS_MAX,
            )
        return value
    return value


def _crontab(text: str) -> str:
    try:
        schedule = parse_schedule(text)
    except ValueError:
        schedule = None
    if schedule is None or schedule.cron is None:
        raise UserFacingError(
            N_(
                "{option} takes a 5-field crontab in the server's time zone — "
                "minute hour day month weekday, like “{example}” (Mondays at 09:00); "
                "got “{value}”."
            ),
            option="leaderboard_schedule",
            example=SCHEDULE_EXAMPLE,
            value=text,
        )
    return schedule.cron


def _kinds(value: str | Iterable[str]) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in parts if k.strip()))
    if kinds == (NO_KINDS,):
        return ()
    if kinds == ("all",):
        return NUDGE_KINDS
    unknown = [k for k in kinds if k not in NUDGE_KINDS]
    if unknown or not kinds:
        raise UserFacingError(
            N_(
                "{option} takes nudge kinds, comma-separated, from: {kinds} (or “all”, or "
                "“none” to send no digests); got “{got}”."
            ),
            option="nudge_kinds",
            kinds=", ".join(NUDGE_KINDS),
            got=", ".join(unknown) or "—",
        )
    return kinds


def _threshold(name: str, text: str) -> timedelta:
    low, high = THRESHOLD_LIMITS
    try:
        duration = parse_duration(text.strip())
    except ValueError:
        duration = None
    if duration is None or not low <= duration <= high:
        raise UserFacingError(
            N_(
                "{option} takes a duration from {low} to {high}, like 12h, 3d or 2w "
                "(got “{value}”)."
            ),
            option=name,
            low=format_duration(low),
            high=format_duration(high),
            value=text,
        )
    return duration


def clash(effective: dict[str, timedelta], changed: Iterable[str]) -> None:
    """Refuse thresholds that contradict each other, naming the option the admin changed."""
    changed = set(changed)
    if effective["drift_min"] > effective["drift_after"]:
        raise UserFacingError(
            N_("{low_option} ({low}) must be at most {high_option} ({high}); change {option}."),
            low_option="drift_min",
            high_option="drift_after",
            low=format_duration(effective["drift_min"]),
            high=format_duration(effective["drift_after"]),
            option=_named(changed, "drift_min", "drift_after"),
        )
    if effective["stale_after"] <= effective["unanswered_after"]:
        raise UserFacingError(
            N_(
                "{high_option} ({high}) must be longer than {low_option} ({low}), or no "
                "unanswered line is ever due; change {option}."
            ),
            high_option="stale_after",
            low_option="unanswered_after",
            high=format_duration(effective["stale_after"]),
            low=format_duration(effective["unanswered_after"]),
            option=_named(changed, "stale_after", "unanswered_after"),
        )


def _named(changed: set[str], first: str, second: str) -> str:
    """The option of a clashing pair the admin just set (the first when both or neither)."""
    return second if second in changed and first not in changed else first
