"""Loading and validating the configuration: every bad value is named, all at once."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rapport.settings.config import (
    ConfigError,
    Problem,
    Settings,
    describe,
    load_settings,
    settings_from_mapping,
)
from rapport.settings.timeparse import QuietHours, parse_schedule

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
SOURCE = Path("config.toml")


def load(text: str, env: dict[str, str] | None = None) -> Settings:
    """Settings from TOML text, as if read from config.toml."""
    return settings_from_mapping(tomllib.loads(text), env or {}, source=SOURCE)


def problems_of(text: str, env: dict[str, str] | None = None) -> list[Problem]:
    """The problems loading TOML text reports (failing the test when there are none)."""
    with pytest.raises(ConfigError) as caught:
        load(text, env)
    return caught.value.problems


def setting(settings: Settings, dotted: str) -> Any:
    """One setting by its dotted key, e.g. "leaderboard.weights.breadth"."""
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


# --- defaults and the example file --------------------------------------------------------


def test_no_file_means_every_default() -> None:
    """Without a config file, Rapport runs on the documented defaults."""
    assert load_settings(None) == Settings()
    assert load_settings(None).source is None


def test_the_example_config_loads_as_exactly_the_defaults() -> None:
    """config.example.toml documents the defaults, so loading it changes nothing."""
    settings = load_settings(EXAMPLE, {})
    assert settings.source == EXAMPLE
    assert dataclasses.replace(settings, source=None) == Settings()


def test_the_example_config_documents_every_key_with_one_comment_line() -> None:
    """Every key in the example has exactly one comment line right above it, and none is missing."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    section, documented = "", set()
    for number, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif match := re.match(r"(\w+) = ", line):
            assert lines[number - 1].startswith("# "), f"{match[1]} has no comment"
            assert not lines[number - 2].startswith("#"), f"{match[1]} has two comment lines"
            documented.add(f"{section}.{match[1]}")
    described = describe(Settings())
    every_key, section = set(), ""
    for line in described.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif match := re.match(r"(\w+) = ", line):
            every_key.add(f"{section}.{match[1]}")
    assert documented == every_key


def test_the_defaults_are_the_ones_the_issue_names() -> None:
    """The defaults that other parts of Rapport rely on hold the agreed values."""
    settings = Settings()
    assert settings.discord.api_base == "https://discord.com"
    assert settings.discord.cdn_base == "https://cdn.discordapp.com"
    assert settings.storage.flush_interval == timedelta(seconds=2)
    assert settings.schedule.leaderboard == parse_schedule("0 9 * * mon")
    assert settings.nudges.quiet_hours == QuietHours(time(22, 0), time(8, 0))
    assert settings.nudges.kinds == ("drifting", "unanswered", "thanks", "share", "welcome")
    assert settings.nudges.zone == ZoneInfo("UTC")
    assert settings.leaderboard.weights.responsiveness == 5.0
    assert settings.tracking.retain == timedelta(days=365)


# --- values that are accepted -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[nudges]\ndrift_after = "3w"', "nudges.drift_after", timedelta(weeks=3)),
        ('[nudges]\ndigest_hour = "any"', "nudges.digest_hour", None),
        ('[nudges]\ndigest_hour = "ANY"', "nudges.digest_hour", None),
        ("[nudges]\ndigest_hour = 0", "nudges.digest_hour", 0),
        ('[nudges]\nquiet_hours = ""', "nudges.quiet_hours", None),
        ('[nudges]\nquiet_hours = "off"', "nudges.quiet_hours", None),
        (
            '[nudges]\nquiet_hours = "12:00-13:00"',
            "nudges.quiet_hours",
            QuietHours(time(12), time(13)),
        ),
        ('[nudges]\ntimezone = "Europe/Paris"', "nudges.zone", ZoneInfo("Europe/Paris")),
        ('[nudges]\nkinds = ["thanks", "thanks"]', "nudges.kinds", ("thanks",)),
        ("[nudges]\nkinds = []", "nudges.kinds", ()),
        ("[nudges]\nmax_dms_per_week = 0", "nudges.max_dms_per_week", 0),
        ("[nudges]\ndms_per_second = 2", "nudges.dms_per_second", 2.0),
        ('[logging]\nlevel = "debug"', "logging.level", "DEBUG"),
        ("[discord]\ndev_guild_id = 0", "discord.dev_guild_id", None),
        (
            '[discord]\ndev_guild_id = "123456789012345678"',
            "discord.dev_guild_id",
            123456789012345678,
        ),
        ("[discord]\nowner_ids = [42, 43]", "discord.owner_ids", (42, 43)),
        ("[discord]\nshard_count = 4\nshard_ids = [0, 1]", "discord.shard_ids", (0, 1)),
        ("[discord]\nshard_ids = []", "discord.shard_ids", None),
        (
            '[discord]\napi_base = "http://127.0.0.1:8080/"',
            "discord.api_base",
            "http://127.0.0.1:8080",
        ),
        ('[leaderboard]\nchannel = "#general"', "leaderboard.channel", "general"),
        ("[leaderboard]\nchannel = 123", "leaderboard.channel", 123),
        ('[leaderboard]\nteams = ["Red", 456]', "leaderboard.teams", ("Red", 456)),
        ("[leaderboard.weights]\nbreadth = 0", "leaderboard.weights.breadth", 0.0),
        ('[tracking]\nignore_channels = ["bots", 7]', "tracking.ignore_channels", ("bots", 7)),
        (
            '[schedule]\nnudge_scan = "0 9 * * 1"',
            "schedule.nudge_scan",
            parse_schedule("0 9 * * 1"),
        ),
        (
            '[storage]\npath = "/var/lib/rapport/db.json"',
            "storage.path",
            Path("/var/lib/rapport/db.json"),
        ),
    ],
)
def test_good_values_load_as_typed_settings(text: str, key: str, expected: object) -> None:
    """Each accepted spelling of a value lands as the typed setting the code uses."""
    assert setting(load(text), key) == expected


def test_the_token_and_database_url_come_from_the_environment() -> None:
    """DISCORD_TOKEN and RAPPORT_DATABASE_URL override the file, so secrets can stay out of it."""
    settings = load(
        '[discord]\ntoken = "from-file"\n[storage]\nbackend = "postgres"',
        {"DISCORD_TOKEN": "from-env", "RAPPORT_DATABASE_URL": "postgresql://r@db/rapport"},
    )
    assert settings.discord.token == "from-env"
    assert settings.storage.dsn == "postgresql://r@db/rapport"


def test_empty_environment_variables_do_not_erase_the_file() -> None:
    """A variable set to nothing (a blank line in a compose file) leaves the config's value."""
    settings = load('[discord]\ntoken = "from-file"', {"DISCORD_TOKEN": ""})
    assert settings.discord.token == "from-file"


# --- values that are refused, one kind of problem per row ---------------------------------


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        # unknown sections and keys, with a suggestion
        ('[nudges]\ndrift_afer = "21d"', "nudges.drift_afer", "did you mean nudges.drift_after?"),
        (
            '[discord]\ndrift_after = "21d"',
            "discord.drift_after",
            "did you mean nudges.drift_after?",
        ),
        ("[nudge]\ndigest_size = 3", "nudge", "unknown section; did you mean [nudges]?"),
        ('token = "abc"', "token", "did you mean discord.token?"),
        ("[leaderboard.weights]\nreplys = 1.0", "leaderboard.weights.replys", "did you mean"),
        ("[zzz]\nx = 1", "zzz", "unknown section"),
        ("discord = 1", "discord", "expected a table"),
        # wrong types
        ('[discord]\nmessage_content = "true"', "discord.message_content", "true or false"),
        ("[discord]\nmembers_intent = 1", "discord.members_intent", "true or false"),
        ("[nudges]\ndigest_size = 5.0", "nudges.digest_size", "whole number"),
        ("[nudges]\nmax_dms_per_week = true", "nudges.max_dms_per_week", "whole number"),
        ("[leaderboard]\ntop = false", "leaderboard.top", "whole number"),
        ("[discord]\ntoken = 123", "discord.token", "a string"),
        ("[storage]\npath = 5", "storage.path", "file path"),
        ('[nudges]\nkinds = "thanks"', "nudges.kinds", "a list of nudge kinds"),
        ("[discord]\nowner_ids = [true]", "discord.owner_ids", "Discord user ids"),
        ('[leaderboard.weights]\nthanks = "1"', "leaderboard.weights.thanks", "a number"),
        ("[nudges]\nquiet_hours = 22:00:00", "nudges.quiet_hours", "expected quiet hours like"),
        # out-of-range numbers
        ("[nudges]\nmax_dms_per_week = 15", "nudges.max_dms_per_week", "from 0 to 14"),
        ("[nudges]\ndigest_size = 0", "nudges.digest_size", "from 1 to 10"),
        ("[leaderboard]\ntop = 26", "leaderboard.top", "from 1 to 25"),
        ("[nudges]\ndigest_hour = 24", "nudges.digest_hour", 'from 0 to 23, or "any"'),
        ("[nudges]\ndms_per_second = 0", "nudges.dms_per_second", "above 0"),
        ("[leaderboard.weights]\nshares = -1.0", "leaderboard.weights.shares", "at least 0"),
        ("[leaderboard.weights]\nshares = nan", "leaderboard.weights.shares", "at least 0"),
        ("[discord]\nowner_ids = [-5]", "discord.owner_ids", "Discord user ids"),
        # enums list what is allowed
        (
            '[discord]\nsync_commands = "always"',
            "discord.sync_commands",
            '"global", "guild", "off"',
        ),
        ('[storage]\nbackend = "sqlite"', "storage.backend", '"tinydb", "postgres"'),
        ('[nudges]\nenrollment = "optin"', "nudges.enrollment", '"opt-in", "opt-out"'),
        ('[leaderboard]\nperiod = "day"', "leaderboard.period", '"week", "month"'),
        ('[logging]\nlevel = "verbose"', "logging.level", '"DEBUG", "INFO", "WARNING"'),
        ('[logging]\nformat = "yaml"', "logging.format", '"text", "json"'),
        # durations
        ('[nudges]\ndrift_after = "3 weeks"', "nudges.drift_after", "a duration like 30s"),
        ('[storage]\nflush_interval = "0s"', "storage.flush_interval", "longer than zero"),
        ("[tracking]\nhalf_life = 30", "tracking.half_life", "a duration like 30s"),
        # schedules
        ('[schedule]\nnudge_scan = "often"', "schedule.nudge_scan", "5-field crontab"),
        ('[schedule]\nleaderboard = "0 9 * * 8"', "schedule.leaderboard", "day of week"),
        ('[schedule]\nretention = "0 4 * *"', "schedule.retention", "got 4 fields"),
        # time zones, quiet hours, kinds
        ('[nudges]\ntimezone = "Europe/Pari"', "nudges.timezone", "did you mean Europe/Paris?"),
        ('[nudges]\ntimezone = "Mars/Base"', "nudges.timezone", "IANA time zone"),
        ('[nudges]\nquiet_hours = "22:00-22:00"', "nudges.quiet_hours", "must differ"),
        ('[nudges]\nquiet_hours = "late"', "nudges.quiet_hours", 'like "22:00-08:00"'),
        ('[nudges]\nkinds = ["thanks", "nag"]', "nudges.kinds", '"nag" is not one'),
        # URLs
        ('[discord]\napi_base = "discord.com"', "discord.api_base", "https://"),
        ('[discord]\ngateway_url = "https://gw"', "discord.gateway_url", "wss://"),
        ('[discord]\ncdn_base = "cdn.discordapp.com"', "discord.cdn_base", "https://"),
        ('[storage]\ndsn = "mysql://db"', "storage.dsn", "postgresql://"),
        ('[storage]\nschema = "drop table; --"', "storage.schema", "letters, digits"),
        # rules across keys
        ('[discord]\nsync_commands = "guild"', "discord.sync_commands", "dev_guild_id"),
        ('[storage]\nbackend = "postgres"', "storage.dsn", "RAPPORT_DATABASE_URL"),
        ("[discord]\nshard_ids = [0]", "discord.shard_ids", "shard_count"),
        (
            "[discord]\nshard_count = 2\nshard_ids = [2]",
            "discord.shard_ids",
            "below shard_count (2)",
        ),
    ],
)
def test_each_bad_value_is_named_with_what_was_expected(text: str, key: str, fragment: str) -> None:
    """A bad value is reported once, under its dotted key, saying what would be accepted."""
    (problem,) = problems_of(text)
    assert (problem.file, problem.key) == ("config.toml", key)
    assert fragment in str(problem)


@pytest.mark.parametrize(
    "text", ['schedule = "Zq7-SEKRIT"', '[leaderboard]\nweights = "Zq7-SEKRIT"']
)
def test_a_value_where_a_section_goes_is_named_but_never_shown(text: str) -> None:
    """A value given where a table belongs (perhaps a misplaced secret) is refused unechoed."""
    (problem,) = problems_of(text)
    assert "expected a table" in str(problem)
    assert "Zq7-SEKRIT" not in str(problem)


def test_a_problem_reads_file_key_value_and_expectation() -> None:
    """A problem is one line: the file, the key, the value given, and what was expected."""
    (problem,) = problems_of('[nudges]\ndrift_after = "3 weeks"')
    assert str(problem) == (
        'config.toml: nudges.drift_after = "3 weeks": '
        "expected a duration like 30s, 15m, 6h, 2d or 3w"
    )


def test_every_problem_is_listed_one_per_line() -> None:
    """All problems in a file are reported together, so one edit fixes them all."""
    text = '[nudges]\ndrift_after = "soon"\ndigest_size = 99\n[logging]\nformat = "xml"'
    with pytest.raises(ConfigError) as caught:
        load(text)
    lines = str(caught.value).splitlines()
    assert [problem.key for problem in caught.value.problems] == [
        "nudges.drift_after",
        "nudges.digest_size",
        "logging.format",
    ]
    assert lines == [str(problem) for problem in caught.value.problems]


def test_postgres_is_satisfied_by_a_dsn_from_the_environment() -> None:
    """The PostgreSQL backend needs a DSN, and one from RAPPORT_DATABASE_URL is enough."""
    env = {"RAPPORT_DATABASE_URL": "postgresql://rapport@localhost/rapport"}
    assert load('[storage]\nbackend = "postgres"', env).storage.backend == "postgres"


def test_a_bad_environment_value_is_blamed_on_the_environment() -> None:
    """A malformed RAPPORT_DATABASE_URL is reported under its variable name, password hidden."""
    (problem,) = problems_of("", {"RAPPORT_DATABASE_URL": "mysql://u:hunter2@db/x"})
    assert (problem.file, problem.key) == ("environment", "RAPPORT_DATABASE_URL")
    assert "hunter2" not in str(problem)


def test_a_malformed_dsn_is_echoed_without_its_password() -> None:
    """A DSN in key=value form is refused, and the refusal does not print its password."""
    (problem,) = problems_of('[storage]\ndsn = "host=db password=hunter2"')
    assert problem.key == "storage.dsn"
    assert "hunter2" not in str(problem)


def test_a_token_is_never_echoed_in_a_problem() -> None:
    """Even a wrongly typed token is not printed back, since logs are read by many."""
    (problem,) = problems_of("[discord]\ntoken = 123456789")
    assert "123456789" not in str(problem)


# --- the file itself ----------------------------------------------------------------------


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    """Pointing at a file that does not exist says so and how to start one."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing, {})
    (problem,) = caught.value.problems
    assert problem.file == str(missing)
    assert "not found" in str(problem)
    assert "config.example.toml" in str(problem)


def test_toml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    """A file that is not valid TOML is reported with the line where parsing stopped."""
    broken = tmp_path / "config.toml"
    broken.write_text('[nudges]\ndigest_size = 5\ndrift_after = "21d\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(broken, {})
    (problem,) = caught.value.problems
    assert "expected valid TOML" in str(problem)
    assert "line 3" in str(problem)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    """A path that can't be read as a file is reported rather than crashing."""
    with pytest.raises(ConfigError, match="readable config file"):
        load_settings(tmp_path, {})


def test_a_file_loads_with_its_source_recorded(tmp_path: Path) -> None:
    """Settings remember which file they came from, for --check-config and logs."""
    path = tmp_path / "config.toml"
    path.write_text('[nudges]\ndigest_hour = "any"\n', encoding="utf-8")
    settings = load_settings(path, {"DISCORD_TOKEN": "t"})
    assert settings.source == path
    assert settings.nudges.digest_hour is None
    assert settings.discord.token == "t"


# --- describe -----------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "shown"), [("", "<not set>"), ("s3cr3t", "<redacted: set>")])
def test_describe_never_shows_the_token(token: str, shown: str) -> None:
    """The effective settings say whether a token is set, never what it is."""
    text = describe(load("", {"DISCORD_TOKEN": token} if token else {}))
    assert f'token = "{shown}"' in text
    assert "s3cr3t" not in text


def test_describe_hides_the_database_password() -> None:
    """A DSN is shown with its password (in the user part or the query) replaced."""
    env = {"RAPPORT_DATABASE_URL": "postgresql://rapport:hunter2@db:5432/r?password=x2&ssl=on"}
    text = describe(load('[storage]\nbackend = "postgres"', env))
    assert "hunter2" not in text
    assert "x2" not in text
    assert "postgresql://rapport:<redacted>@db:5432/r?" in text


def test_describe_writes_toml_that_loads_back_to_the_same_settings() -> None:
    """The effective settings print as TOML that reproduces them (the token aside)."""
    settings = load(
        '[nudges]\ndigest_hour = "any"\nquiet_hours = ""\nkinds = ["thanks"]\n'
        '[leaderboard]\nteams = ["Red", 5]\n[leaderboard.weights]\nshares = 0.5\n'
        '[discord]\ndev_guild_id = 9\nsync_commands = "guild"\nshard_count = 2\nshard_ids = [1]'
    )
    reloaded = settings_from_mapping(tomllib.loads(describe(settings)), {}, source=SOURCE)
    assert dataclasses.replace(
        reloaded, discord=dataclasses.replace(reloaded.discord, token="")
    ) == (settings)
