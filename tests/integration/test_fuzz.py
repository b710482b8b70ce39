"""Fuzzing (#17): every config key and every command option, with what a careless operator or a
hostile client could send. Nothing ends in a traceback, nothing hangs, nothing is echoed unbounded.

Hypothesis draws the values; examples are capped so the whole file runs in well under a minute.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.settings.config import ConfigError, Settings, describe, settings_from_mapping
from sandbox.state import Role, User
from tests.conftest import Sandbox
from tests.integration.test_hardening import APOLOGY, busy_server, leaf_options

SECRET = "Zq7-SEKRIT"
PROBLEM_MAX = 600  # characters one reported problem may take, whatever the value (5 MB, say)

# What a TOML value can be, the nasty ones weighted in.
_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=5_000),
    st.sampled_from(
        [
            "",
            " ",
            "UTC\t",
            " Europe/Paris ",
            "99999999999w",
            "0s",
            "1h30m",
            "*/0 * * * *",
            "0 99999999999 * * *",
            "22:00-08:00",
            "25:99-99:99",
            "postgresql://u:pw@[bad/db",
            "postgresql://u:pw@host:99999999/db",
            "http://[::1",
            "/",
            "a\x00b",
            "Rapport",
            "#general",
            "@Design",
            "9" * 5000,
            "²",
            "x," * 80,
            "drifting, " * 30,
            "\U0001f600" * 50,
        ]
    ),
)
_scalar = st.one_of(
    _text,
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**63, 2**64 + 5, 1e308, -1e308, 10_000_001]),
)
TOML_VALUE = st.one_of(
    _scalar,
    st.lists(_scalar, max_size=5),
    st.dictionaries(st.text(max_size=8), _scalar, max_size=3),
)


def config_keys() -> list[tuple[str, ...]]:
    """Every key a config file can set, as (section, ..., key)."""
    keys: list[tuple[str, ...]] = []

    def walk(cls: type, prefix: tuple[str, ...]) -> None:
        for f in dataclasses.fields(cls):
            default = f.default_factory() if callable(f.default_factory) else f.default
            if (
                dataclasses.is_dataclass(default)
                and type(default).__module__ == Settings.__module__
            ):
                walk(type(default), (*prefix, f.name))
            else:
                keys.append((*prefix, f.name))

    for section in dataclasses.fields(Settings):
        if section.name != "source":
            walk(type(getattr(Settings(), section.name)), (section.name,))
    return keys


KEYS = config_keys()


def nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    return value


def check_config(data: dict[str, Any]) -> str:
    """Load a config mapping: Settings or ConfigError, never anything else; the report text."""
    try:
        loaded = settings_from_mapping(data, {}, source=None)
    except ConfigError as exc:
        for problem in exc.problems:
            assert len(str(problem)) <= PROBLEM_MAX, str(problem)[:200]
        return str(exc)
    describe(loaded)  # --check-config prints it
    return ""


def test_every_config_key_is_fuzzed() -> None:
    """The fuzzer knows every key (a new key is fuzzed without touching this file)."""
    assert len(KEYS) >= 40
    assert ("leaderboard", "weights", "replies") in KEYS


@settings(max_examples=600, deadline=2000, database=None)
@given(st.data())
def test_any_value_for_any_config_key_is_accepted_or_refused_clearly(data: st.DataObject) -> None:
    """Any value for any key (and several at once): valid settings, or problems that name the
    key in a bounded line; never a traceback or a hang."""
    chosen = data.draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True))
    mapping: dict[str, Any] = {}
    for key in chosen:
        value = data.draw(TOML_VALUE)
        section = mapping.setdefault(key[0], {})
        if len(key) == 3:
            section.setdefault(key[1], {})[key[2]] = value
        else:
            section[key[1]] = value
    report = check_config(mapping)
    if report:
        assert any(".".join(key) in report for key in chosen), report[:300]


@settings(max_examples=200, deadline=2000, database=None)
@given(
    section=st.sampled_from([*{k[0] for k in KEYS}, "disocrd", "secrets"]),
    key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
    value=st.one_of(st.just(SECRET), st.lists(st.just(SECRET), min_size=1, max_size=2)),
)
def test_an_unknown_key_never_shows_its_value(section: str, key: str, value: Any) -> None:
    """A key the schema doesn't know (a misspelt secret, say) is named, its value never shown."""
    if (section, key) in KEYS or any(k[:2] == (section, key) for k in KEYS):
        return
    report = check_config({section: {key: value}} | {key: value})
    assert report
    assert SECRET not in report


# --- commands ------------------------------------------------------------------------------------


def option_value(option: dict[str, Any], sandbox: Sandbox, people: list[Any]) -> st.SearchStrategy:
    """Values a client could send for an option: valid ones, and ones no honest client would."""
    kind = option["type"]
    forged_user = st.builds(lambda i: User(i, "Ghost"), st.integers(min_value=-5, max_value=2**70))
    if kind == 3:
        choices = [c["value"] for c in option.get("choices", [])]
        return st.one_of(_text, *([st.sampled_from(choices)] if choices else []))
    if kind == 4:
        low, high = option.get("min_value", -(2**53)), option.get("max_value", 2**53)
        return st.one_of(
            st.integers(min_value=low, max_value=high),
            st.integers(min_value=-(2**53), max_value=2**53),
        )
    if kind == 10:
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == 5:
        return st.booleans()
    if kind == 6:
        return st.one_of(st.sampled_from(people), forged_user)
    if kind == 8:
        forged_role = st.builds(
            lambda i: Role(i, "Ghost", sandbox.guild), st.integers(min_value=-5, max_value=2**70)
        )
        return st.one_of(st.sampled_from(sandbox.guild.roles), forged_role)
    if kind == 7:
        return st.sampled_from([sandbox.channel(n) for n in ("#general", "#leaderboard")])
    raise AssertionError(f"the fuzzer has no values for option type {kind}; add them")


SKIPPED = {"rapport-admin sync"}  # re-syncs with Discord, on a 60 s cooldown: nothing to fuzz


FAMILIES = ("rapport ", "rapport-admin ", "leaderboard", "thanks")
"""Commands fuzzed by one bot each: the sandbox syncs through gateway heartbeats, which Discord
(and discord.py) limit to about 110 a minute per connection, so one bot takes about 50 examples."""


def test_every_command_belongs_to_a_fuzzed_family(sandbox: Sandbox) -> None:
    """A new command is fuzzed without touching this file (or this fails, naming it)."""
    paths = [path for path, _ in leaf_options(sandbox)]
    assert [p for p in paths if not p.startswith(FAMILIES)] == []


@pytest.mark.sandbox_config({"leaderboard": {"teams": ["Design"]}})
@pytest.mark.parametrize("family", FAMILIES)
@settings(
    max_examples=45,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_command_with_any_options_gets_a_bounded_answer(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, family: str, data: st.DataObject
) -> None:
    """Every command, any options (forged ids, huge text, out-of-range numbers): an answer
    Discord accepts, never the apology for a bug, and nothing logged with a traceback."""
    if not hasattr(sandbox, "fuzz_people"):
        sandbox.fuzz_people = list(await busy_server(sandbox))  # type: ignore[attr-defined]
        sandbox.emulator.add_role(sandbox.guild, "Design")
    people = sandbox.fuzz_people  # type: ignore[attr-defined]
    commands = [
        (p, o) for p, o in leaf_options(sandbox) if p.startswith(family) and p not in SKIPPED
    ]
    path, options = data.draw(st.sampled_from(commands), label="command")
    values: dict[str, Any] = {}
    for option in options:
        if option.get("required") or data.draw(st.booleans()):
            values[option["name"]] = data.draw(
                option_value(option, sandbox, people), option["name"]
            )
    caplog.clear()
    completing = [o["name"] for o in options if o.get("autocomplete")]
    if completing and data.draw(st.booleans(), "autocomplete"):
        focused = data.draw(st.sampled_from(completing), "focused")
        values = {focused: data.draw(_text, "typed")}  # what the member is typing
        with caplog.at_level(logging.WARNING):
            choices = await sandbox.emulator.autocomplete(
                people[2], sandbox.guild, path, values, focused
            )
        assert len(choices) <= 25
        for choice in choices:
            assert 1 <= len(choice["name"]) <= 100, choice
            assert len(str(choice["value"])) <= 100, choice
        assert not [r for r in caplog.records if r.exc_info], caplog.text[-3000:]
        return
    with caplog.at_level(logging.WARNING):
        reply = await sandbox.slash(people[2], path, **values)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, caplog.text[-3000:]
    assert reply.error is None, (path, reply.error)
    assert APOLOGY not in reply.text, path
    assert len(reply.text) <= 6_000, path
