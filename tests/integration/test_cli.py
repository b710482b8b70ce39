"""bot.py as an operator runs it: checking configs, refusing to start without what it needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bot.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DISCORD_TOKEN": "", **(env or {})},
        check=False,
    )


def test_check_config_prints_effective_settings_with_the_token_redacted(tmp_path: Path) -> None:
    """--check-config validates, prints every setting, and never prints the token."""
    config = tmp_path / "config.toml"
    config.write_text('[discord]\ntoken = "super-secret-token"\n[nudges]\ndigest_hour = 9\n')
    result = run("--check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "digest_hour = 9" in result.stdout
    assert "super-secret-token" not in result.stdout
    assert "<redacted: set>" in result.stdout
    assert result.stdout.rstrip().endswith("OK")


def test_the_example_config_is_valid() -> None:
    """config.example.toml, as shipped, passes --check-config."""
    assert run("--check-config", "config.example.toml").returncode == 0


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[nudges]\ndrift_aftr = "21d"\n', "did you mean nudges.drift_after?"),
        ('[nudges]\ndrift_after = "3 weeks"\n', "expected a duration"),
        ('[schedule]\nnudge_scan = "every day"\n', "crontab"),
        ('[nudges]\ntimezone = "Mars/Base"\n', "time zone"),
        ("[discord\n", "line 1"),
    ],
)
def test_a_bad_config_exits_2_with_every_problem_and_no_traceback(
    tmp_path: Path, toml: str, expected: str
) -> None:
    """A bad config names the key and what is expected, exits 2, and shows no traceback."""
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    for args in (("--check-config", str(config)), ("--config", str(config))):
        result = run(*args)
        assert result.returncode == 2
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    """A config path that doesn't exist is reported, not a traceback."""
    result = run("--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_token_explains_how_to_get_one_and_mentions_the_demo(tmp_path: Path) -> None:
    """Without a token the bot says how to create one and that --demo needs none."""
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "r.json"}"\n')
    result = run("--config", str(config))
    assert result.returncode == 2
    assert "discord.com/developers/applications" in result.stderr
    assert "python bot.py --demo" in result.stderr


def test_an_unreadable_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A corrupt store file stops the bot with the file and its backup named; it is not rewritten."""
    store = tmp_path / "rapport.json"
    store.write_text('{"pairs": {"1": ')
    config = tmp_path / "config.toml"
    config.write_text(f'[discord]\ntoken = "t"\n[storage]\npath = "{store}"\n')
    result = run("--config", str(config))
    assert result.returncode == 1
    assert str(store) in result.stdout + result.stderr
    assert ".bak" in result.stdout + result.stderr
    assert store.read_text() == '{"pairs": {"1": '
