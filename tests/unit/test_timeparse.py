"""The time words people type: durations, schedules, quiet hours and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rapport.settings.timeparse import (
    QuietHours,
    Schedule,
    format_duration,
    parse_duration,
    parse_quiet_hours,
    parse_schedule,
    parse_timezone,
)

PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
# A Wednesday, so "next Monday" and "next Sunday" are different days ahead.
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("3w", timedelta(weeks=3)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        (" 24H ", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_durations_are_read_from_short_unit_words(text: str, expected: timedelta) -> None:
    """A number with s, m, h, d or w, alone or compounded largest unit first, is a duration."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "3 weeks", "1.5h", "-5m", "30", "m", "30m1h", "1y", "1h1h", "15 min"]
)
def test_malformed_durations_explain_the_expected_form(text: str) -> None:
    """Anything that is not a unit duration is refused with examples of what is accepted."""
    with pytest.raises(ValueError, match=r"expected a duration like 30s, 15m, 6h, 2d or 3w"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0h0m", "0w"])
def test_zero_durations_are_refused(text: str) -> None:
    """A duration of nothing is refused, since every duration in Rapport waits for something."""
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(days=2), "2d"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(weeks=3), "21d"),
        (timedelta(days=365), "365d"),
        (timedelta(minutes=1, seconds=30), "1m30s"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(seconds=2.4), "2s"),
        (timedelta(0), "0s"),
    ],
)
def test_durations_format_in_the_canonical_form(td: timedelta, text: str) -> None:
    """A duration is written with days as the largest unit, in the form the parser reads back."""
    assert format_duration(td) == text
    if td:
        assert parse_duration(text) == timedelta(seconds=round(td.total_seconds()))


def test_negative_durations_cannot_be_formatted() -> None:
    """A negative duration has no canonical form and is refused rather than misprinted."""
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(minutes=-5))


@pytest.mark.parametrize(
    ("text", "interval", "cron"),
    [
        ("15m", timedelta(minutes=15), None),
        ("1h 30m", timedelta(hours=1, minutes=30), None),
        ("0 9 * * mon", None, "0 9 * * mon"),
        ("  0   4 * * * ", None, "0 4 * * *"),
        ("*/5 * * * *", None, "*/5 * * * *"),
    ],
)
def test_schedules_are_an_interval_or_a_crontab(
    text: str, interval: timedelta | None, cron: str | None
) -> None:
    """A schedule is a duration (run every ...) or a 5-field crontab, kept as written."""
    schedule = parse_schedule(text)
    assert (schedule.interval, schedule.cron) == (interval, cron)
    assert str(schedule) == " ".join(text.split())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "5-field crontab"),
        ("@daily", "5-field crontab"),
        ("soon", "5-field crontab"),
        ("* * * *", "got 4 fields"),
        ("0 9 * * * *", "got 6 fields"),
        ("61 * * * *", "minute '61'"),
        ("0 24 * * *", "hour '24'"),
        ("0 9 32 * *", "day of month '32'"),
        ("0 9 * 13 *", "month '13'"),
        ("0 9 * * 8", "day of week"),
        ("0 9 * * funday", "day of week"),
        ("0 9 * * 3-1", "runs backwards"),
        ("0 9 1 * mon", "not both"),
        ("0s", "longer than zero"),
    ],
)
def test_bad_schedules_say_what_is_wrong(text: str, fragment: str) -> None:
    """A schedule that is neither a valid interval nor a valid crontab names the faulty part."""
    with pytest.raises(ValueError, match="expected an interval like") as caught:
        parse_schedule(text)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("crontab", "fires_at"),
    [
        ("0 9 * * 1", datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)),  # Monday
        ("0 9 * * 0", datetime(2026, 11, 29, 9, 0, tzinfo=PARIS)),  # Sunday
        ("0 9 * * 7", datetime(2026, 11, 29, 9, 0, tzinfo=PARIS)),  # Sunday again
        ("0 9 * * mon", datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)),
        ("0 9 * * 1-5", datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)),  # Thursday
        ("0 9 * * 5-7", datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)),  # Friday
        ("0 9 * * 0-2", datetime(2026, 11, 29, 9, 0, tzinfo=PARIS)),  # Sun..Tue
        ("0 9 * * 6,0", datetime(2026, 11, 28, 9, 0, tzinfo=PARIS)),  # Saturday
        ("0 9 * * sat-sun", datetime(2026, 11, 28, 9, 0, tzinfo=PARIS)),
        ("0 9 * * */3", datetime(2026, 11, 25, 9, 0, tzinfo=PARIS) + timedelta(days=3)),
    ],
)
def test_crontab_weekdays_count_from_sunday(crontab: str, fires_at: datetime) -> None:
    """Weekday numbers mean what they mean in crontab (0 and 7 are Sunday), not APScheduler's."""
    trigger = parse_schedule(crontab).trigger(PARIS)
    assert trigger.get_next_fire_time(None, WEDNESDAY_NOON) == fires_at


def test_crontab_trigger_keeps_wall_clock_time_across_dst() -> None:
    """A daily 09:00 crontab fires at 09:00 local on both sides of a DST change."""
    trigger = parse_schedule("0 9 * * *").trigger(LONDON)
    before = datetime(2026, 3, 28, 12, 0, tzinfo=LONDON)
    first = trigger.get_next_fire_time(None, before)
    assert isinstance(trigger, CronTrigger)
    assert first == datetime(2026, 3, 29, 9, 0, tzinfo=LONDON)
    assert first is not None
    assert first.utcoffset() == timedelta(hours=1)


def test_interval_schedules_become_interval_triggers() -> None:
    """An interval schedule runs every interval, in the time zone it is given."""
    trigger = parse_schedule("1h30m").trigger(PARIS)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(hours=1, minutes=30)
    assert trigger.timezone == PARIS


def test_a_schedule_holds_exactly_one_of_interval_and_cron() -> None:
    """A Schedule built by hand must say either how often or when, not both or neither."""
    with pytest.raises(ValueError, match="exactly one"):
        Schedule("nonsense", None, None)


@pytest.mark.parametrize(
    ("span", "clock", "quiet"),
    [
        ("22:00-08:00", time(23, 30), True),
        ("22:00-08:00", time(0, 0), True),
        ("22:00-08:00", time(7, 59), True),
        ("22:00-08:00", time(8, 0), False),
        ("22:00-08:00", time(12, 0), False),
        ("22:00-08:00", time(21, 59), False),
        ("22:00-08:00", time(22, 0), True),
        ("13:00-14:30", time(13, 0), True),
        ("13:00-14:30", time(14, 29), True),
        ("13:00-14:30", time(14, 30), False),
        ("13:00-14:30", time(3, 0), False),
    ],
)
def test_quiet_hours_cover_their_span_even_across_midnight(
    span: str, clock: time, quiet: bool
) -> None:
    """Quiet hours include their start, exclude their end, and may wrap past midnight."""
    hours = parse_quiet_hours(span)
    assert hours is not None
    assert hours.contains(clock) is quiet


@pytest.mark.parametrize(
    ("instant", "zone", "quiet"),
    [
        (datetime(2026, 3, 28, 7, 30, tzinfo=UTC), LONDON, True),  # 07:30 GMT
        (datetime(2026, 3, 29, 7, 30, tzinfo=UTC), LONDON, False),  # 08:30 BST, after the change
        (datetime(2026, 10, 24, 21, 30, tzinfo=UTC), LONDON, True),  # 22:30 BST
        (datetime(2026, 10, 25, 21, 30, tzinfo=UTC), LONDON, False),  # 21:30 GMT, after the change
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), LONDON, True),  # 01:30 BST, the repeated hour
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), LONDON, True),  # 01:30 GMT, the repeat
        (datetime(2026, 11, 26, 3, 0, tzinfo=UTC), ZoneInfo("America/New_York"), True),
        (datetime(2026, 11, 26, 13, 0, tzinfo=UTC), ZoneInfo("Asia/Tokyo"), True),
        (datetime(2026, 11, 26, 13, 0, tzinfo=UTC), ZoneInfo("America/New_York"), False),
    ],
)
def test_quiet_hours_follow_the_members_wall_clock_through_dst(
    instant: datetime, zone: ZoneInfo, quiet: bool
) -> None:
    """The same UTC instant is quiet or not depending on the member's local time, DST included."""
    assert QuietHours(time(22, 0), time(8, 0)).contains_at(instant, zone) is quiet


def test_quiet_hours_refuse_naive_instants() -> None:
    """An instant without a time zone can't be placed on anyone's clock, so it is refused."""
    with pytest.raises(ValueError, match="aware"):
        QuietHours(time(22, 0), time(8, 0)).contains_at(datetime(2026, 1, 1, 12), LONDON)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-08:00", QuietHours(time(22, 0), time(8, 0))),
        (" 7:30 - 9:00 ", QuietHours(time(7, 30), time(9, 0))),
        ("00:00-06:00", QuietHours(time(0, 0), time(6, 0))),
        ("", None),
        ("off", None),
        ("OFF", None),
    ],
)
def test_quiet_hours_parse_from_a_clock_span_or_off(text: str, expected: QuietHours | None) -> None:
    """Quiet hours are written "HH:MM-HH:MM"; an empty value or "off" means none."""
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("22:00-22:00", "start and end must differ"),
        ("25:00-08:00", "not a time of day"),
        ("22:60-08:00", "not a time of day"),
        ("22:00", 'like "22:00-08:00"'),
        ("ten-eight", "not a HH:MM time"),
        ("22h-8h", "not a HH:MM time"),
    ],
)
def test_bad_quiet_hours_are_refused_clearly(text: str, fragment: str) -> None:
    """Quiet hours that don't parse, or that start when they end, say what is expected."""
    with pytest.raises(ValueError, match="expected quiet hours like") as caught:
        parse_quiet_hours(text)
    assert fragment in str(caught.value)


def test_quiet_hours_print_as_they_are_written() -> None:
    """Quiet hours print in the same form the parser reads."""
    assert str(QuietHours(time(22, 0), time(8, 5))) == "22:00-08:05"


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", " Asia/Kolkata ", "America/New_York"])
def test_iana_time_zones_load(name: str) -> None:
    """An IANA zone name loads as a ZoneInfo."""
    assert parse_timezone(name) == ZoneInfo(name.strip())


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Europe/Pari", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("America/New York", "America/New_York"),
        ("Asia/Calcuta", "Asia/Calcutta"),
    ],
)
def test_misspelt_time_zones_suggest_the_nearest_name(name: str, suggestion: str) -> None:
    """A near miss of a zone name is refused with the name it most likely meant."""
    with pytest.raises(ValueError, match=f"did you mean {suggestion}\\?"):
        parse_timezone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../../etc/passwd"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    """A name that is no IANA zone is refused with examples of what is."""
    with pytest.raises(ValueError, match="expected an IANA time zone"):
        parse_timezone(name)
