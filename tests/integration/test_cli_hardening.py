"""Hardening (#17) through the CLI: every bad config value gets a clear answer and exit 2."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from rapport.store import open_store
from sandbox import Emulator
from tests.integration.test_cli import ROOT, run

HUGE = "99999999999w"
DURATION_KEYS = [
    ("storage", "flush_interval"),
    ("nudges", "drift_after"),
    ("nudges", "unanswered_after"),
    ("nudges", "share_after"),
    ("tracking", "half_life"),
    ("tracking", "retain"),
    ("schedule", "nudge_scan"),
    ("schedule", "leaderboard"),
    ("schedule", "retention"),
]


def check(tmp_path: Path, toml: str) -> tuple[int, str]:
    """--check-config on this TOML: (exit status, stdout + stderr)."""
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    result = run("--check-config", str(config))
    return result.returncode, result.stdout + result.stderr


def refused(tmp_path: Path, toml: str, key: str) -> str:
    """The config is refused with exit 2, naming `key`, without a traceback; returns the text."""
    status, text = check(tmp_path, toml)
    assert status == 2, text
    assert key in text
    assert "Traceback" not in text
    return text


@pytest.mark.parametrize(("section", "key"), DURATION_KEYS)
def test_a_duration_too_long_to_hold_is_refused(tmp_path: Path, section: str, key: str) -> None:
    """A duration or interval past ten years is refused, naming the key (it overflowed)."""
    text = refused(tmp_path, f'[{section}]\n{key} = "{HUGE}"\n', f"{section}.{key}")
    assert "at most" in text


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ('[storage]\npath = "data/a\\u0000b.json"\n', "storage.path", "NUL"),
        ('[storage]\npath = "/"\n', "storage.path", "not a directory"),
        (f'[storage]\npath = "data/{"x" * 300}.json"\n', "storage.path", "shorter"),
        ('[storage]\nschema = "Rapport"\n', "storage.schema", 'did you mean "rapport"'),
        ("[discord]\nshard_count = 1000000\n", "discord.shard_count", "10000"),
        ("[discord]\nshard_ids = [0, 99999999]\nshard_count = 4\n", "discord.shard_ids", ""),
        ("[leaderboard.weights]\nreplies = 1e308\n", "leaderboard.weights.replies", "at most"),
        ("[leaderboard.weights]\nshares = 1e400\n", "leaderboard.weights.shares", "at most"),
    ],
)
def test_values_past_their_bounds_are_refused(
    tmp_path: Path, toml: str, key: str, expected: str
) -> None:
    """Paths, schema names, shard counts and weights each have a bound, named when broken."""
    assert expected in refused(tmp_path, toml, key)


def test_a_store_path_under_a_file_is_refused(tmp_path: Path) -> None:
    """storage.path whose parent is a file (not a directory) is refused at check time."""
    (tmp_path / "afile").write_text("")
    refused(tmp_path, f'[storage]\npath = "{tmp_path / "afile" / "r.json"}"\n', "storage.path")


def test_an_unparseable_dsn_is_refused_with_its_password_hidden(tmp_path: Path) -> None:
    """A DSN no URL parser reads is refused, and its password is still not printed."""
    text = refused(tmp_path, '[storage]\ndsn = "postgresql://u:hunter2@[bad/db"\n', "storage.dsn")
    assert "hunter2" not in text


def test_a_huge_shard_count_on_the_command_line_is_refused(tmp_path: Path) -> None:
    """--shard-count past the bound exits 2 at once instead of hanging."""
    result = run("--check-config", "config.example.toml", "--shard-count", "1000000")
    assert result.returncode == 2
    assert "--shard-count" in result.stderr
    result = run("--check-config", "config.example.toml", "--shards", "0-99999999999")
    assert result.returncode == 2


# --- 6. values of unknown keys are never printed ----------------------------------------------


@pytest.mark.parametrize(
    "toml",
    [
        '[discord]\ntokne = "SEKRIT-123"\n',
        '[discord]\nbot_token = "SEKRIT-123"\n',
        '[storage]\ndns = "postgresql://u:SEKRIT-123@h/db"\n',
        'tokne = "SEKRIT-123"\n',
        '[nudges]\ndrift_aftr = "SEKRIT-123"\n',
    ],
)
def test_an_unknown_key_is_named_but_its_value_never_printed(tmp_path: Path, toml: str) -> None:
    """A misspelt key (perhaps a secret) is reported by name only."""
    text = refused(tmp_path, toml, "unknown key")
    assert "SEKRIT" not in text


def test_a_huge_bad_value_is_not_echoed_whole(tmp_path: Path) -> None:
    """A 5 MB value is clipped in the report, unknown or not."""
    blob = "x" * 5_000_000
    text = refused(tmp_path, f'[nudges]\ntimezone = "{blob}"\nmystery = "{blob}"\n', "timezone")
    assert len(text) < 2_000


# --- found only at start: exit 2 naming the key -----------------------------------------------


async def start(tmp_path: Path, toml: str) -> tuple[int, str]:
    """bot.py --config on this TOML (storage in tmp_path); (exit status, output)."""
    config = tmp_path / "config.toml"
    config.write_text(f'{toml}\n[storage]\npath = "{tmp_path / "rapport.json"}"\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "bot.py",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, "DISCORD_TOKEN": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, (out + err).decode()


async def test_an_unreachable_api_base_exits_2_naming_it(tmp_path: Path) -> None:
    """api_base where nothing answers: one clear line naming discord.api_base, exit 2."""
    status, text = await start(
        tmp_path, '[discord]\ntoken = "t"\napi_base = "http://127.0.0.1:9"\n'
    )
    assert status == 2, text
    assert "discord.api_base" in text
    assert "Traceback" not in text


async def test_a_dev_guild_the_bot_is_not_in_exits_2_naming_it(tmp_path: Path) -> None:
    """Syncing commands to a guild the bot is not in: exit 2 naming discord.dev_guild_id."""
    emulator = Emulator()
    await emulator.start()
    emulator.add_guild("Somewhere")
    try:
        status, text = await start(
            tmp_path,
            f'[discord]\ntoken = "{emulator.token}"\napi_base = "{emulator.api_base}"\n'
            f'gateway_url = "{emulator.gateway_url}"\nsync_commands = "guild"\n'
            "dev_guild_id = 123456789012345678\n",
        )
    finally:
        await emulator.stop()
    assert status == 2, text
    assert "discord.dev_guild_id" in text
    assert "Traceback" not in text


# --- 8. a stored document of the wrong shape ---------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


async def test_a_stored_document_of_the_wrong_shape_is_named_and_nothing_is_rewritten(
    tmp_path: Path,
) -> None:
    """Valid JSON that isn't what Rapport wrote stops the start naming file, table and key;
    the store's files are left exactly as they were."""
    emulator = Emulator()
    await emulator.start()
    guild = emulator.add_guild("Somewhere")
    data = tmp_path / "data"
    data.mkdir()
    store = open_store("tinydb", path=data / "rapport.json")
    await store.open()
    store.put("member_settings", guild.id, "4242", {"muted": "not a list of ids"})
    await store.close()
    before = snapshot(data)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[discord]\ntoken = "{emulator.token}"\napi_base = "{emulator.api_base}"\n'
        f'gateway_url = "{emulator.gateway_url}"\n[storage]\npath = "{data / "rapport.json"}"\n'
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "bot.py",
            "--config",
            str(config),
            cwd=ROOT,
            env={**os.environ, "DISCORD_TOKEN": ""},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await emulator.stop()
    text = (out + err).decode()
    assert proc.returncode == 1, text
    assert str(data / "rapport.json") in text
    assert "member_settings" in text
    assert "4242" in text
    assert "Traceback" not in text
    assert snapshot(data) == before
