"""One process of a cluster: shard lists, guild ownership, the CLI's checks, the heartbeat."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot as entry
from rapport.compose import build_services
from rapport.nudges.dm_queue import SendResult
from rapport.nudges.rules import Digest
from rapport.nudges.service import NudgeService
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.runtime.cluster import (
    RELAY_GUILD,
    RELAY_TABLE,
    ClickRelay,
    apply_click,
    check_heartbeat,
    heartbeat_path,
    ownership,
    owns,
    parse_shards,
    shard_of,
    with_shards,
    write_heartbeat,
)
from rapport.runtime.flush import FlushLoop
from rapport.settings.config import DiscordSettings, NudgeSettings, Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def guild_on(shard: int, count: int, serial: int = 1) -> int:
    """A guild id Discord would put on `shard` of `count` (the shard is in the timestamp bits)."""
    return ((serial * count + shard) << 22) | 12345


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("5", (5,)),
        ("0-3", (0, 1, 2, 3)),
        ("0,2,4", (0, 2, 4)),
        ("0-1, 4", (0, 1, 4)),
        ("3,1,3", (1, 3)),
        ("2-2", (2,)),
    ],
)
def test_shard_lists_accept_ranges_lists_and_single_ids(text: str, ids: tuple[int, ...]) -> None:
    """--shards takes a range, a list, one id or a mix, and gives them sorted without repeats."""
    assert parse_shards(text) == ids


@pytest.mark.parametrize("text", ["", "a", "1-x", "3-1", "-1", "1,,2", "0-"])
def test_malformed_shard_lists_are_refused(text: str) -> None:
    """Anything but numbers and low-high ranges is refused with a hint of the right form."""
    with pytest.raises(ValueError, match="shard"):
        parse_shards(text)


@pytest.mark.parametrize(
    ("shards", "count", "expected"),
    [
        ("0-3", 8, ((0, 1, 2, 3), 8)),
        ("1", 2, ((1,), 2)),
        (None, 4, (None, 4)),
    ],
)
def test_command_line_shards_override_the_config(
    shards: str | None, count: int, expected: tuple[tuple[int, ...] | None, int]
) -> None:
    """--shards/--shard-count replace [discord] shard_ids/shard_count."""
    base = replace(Settings(), discord=replace(DiscordSettings(), shard_count=16, shard_ids=(9,)))
    if shards is None:
        base = replace(base, discord=replace(base.discord, shard_ids=None))
    got = with_shards(base, shards, count).discord
    assert (got.shard_ids, got.shard_count) == expected


@pytest.mark.parametrize(
    ("shards", "count", "message"),
    [
        ("0-3", 2, "shards 2, 3 are not below the shard count 2"),
        ("2", 2, "shard 2 is not below the shard count 2"),
        ("0", None, "--shards needs the total number of shards"),
        ("0", 0, "--shard-count must be at least 1"),
    ],
)
def test_impossible_shard_options_say_why(shards: str, count: int | None, message: str) -> None:
    """Ids at or past the count, or ids without any count, are refused in plain words."""
    with pytest.raises(ValueError, match=message):
        with_shards(Settings(), shards, count)


def test_the_cli_exits_2_on_a_shard_past_the_count(capsys: pytest.CaptureFixture[str]) -> None:
    """`bot.py --shards 0-3 --shard-count 2` prints the problem and exits with status 2."""
    with pytest.raises(SystemExit) as exited:
        entry.main(["--shards", "0-3", "--shard-count", "2"])
    assert exited.value.code == entry.EXIT_CONFIG
    assert "shards 2, 3 are not below the shard count 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("shard_ids", "count", "owned"),
    [
        (None, None, {0, 1, 2, 3}),
        ((0, 1, 2, 3), None, {0, 1, 2, 3}),
        ((1,), 2, {1, 3}),
        ((0, 2), 4, {0, 2}),
        ((3,), 4, {3}),
    ],
)
def test_a_process_owns_the_guilds_of_its_shards(
    shard_ids: tuple[int, ...] | None, count: int | None, owned: set[int]
) -> None:
    """A guild belongs to shard (id >> 22) % count; unsharded, a process owns every guild."""
    guilds = {s: guild_on(s % 4, 4, serial=s) for s in range(4)}
    assert {s for s, g in guilds.items() if owns(g, shard_ids, count)} == owned
    assert all(shard_of(guild_on(s, 4), 4) == s for s in range(4))


async def test_the_scan_leaves_other_processes_guilds_alone() -> None:
    """A guild loaded by a digest click but owned by another process gets no digest here."""
    mine, theirs = guild_on(0, 2), guild_on(1, 2)
    ana, bob = 10, 20
    store = MemoryStore()
    cfg = replace(NudgeSettings(), digest_hour=None, quiet_hours=None, dms_per_second=1000.0)
    settings = with_shards(replace(Settings(), nudges=cfg), "0", 2)
    guilds = GuildService(store, settings)
    members = MemberService(store, settings, guilds, lambda: NOW)
    ledger = Ledger(store)
    nudges = NudgeService(store, settings, members, ledger, FlushLoop(store, 3600), lambda: NOW)
    nudges.owns = build_services(settings, MemoryStore()).nudges.owns
    sent: list[Digest] = []

    async def send(digest: Digest) -> SendResult:
        sent.append(digest)
        return SendResult.SENT

    for n, guild in enumerate((mine, theirs)):
        await members.ensure(guild)
        await ledger.load_guild(guild)
        await nudges.ensure(guild)
        await members.enroll(guild, ana)
        at = NOW - timedelta(days=2)
        ledger.record_message(
            MessageFacts(
                guild,
                7,
                time_snowflake(at) + n,
                bob,
                at,
                reply_to_id=ana,
                reply_to_message_id=1,
            )
        )
    nudges.attach(send)
    try:
        await nudges.scan()
    finally:
        await nudges.detach()
    assert [d.guild_id for d in sent] == [mine]


@pytest.mark.parametrize(
    ("age", "healthy"),
    [(timedelta(seconds=5), True), (timedelta(seconds=89), True), (timedelta(minutes=5), False)],
)
def test_the_health_check_wants_a_recent_heartbeat(
    tmp_path: Path, age: timedelta, healthy: bool
) -> None:
    """Healthy means the connected bot rewrote its heartbeat within the last 90 seconds."""
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, {"at": (NOW - age).timestamp(), "shards": [0]})
    ok, why = check_heartbeat(path, NOW)
    assert ok is healthy
    assert ("healthy" if healthy else "gateway is down") in why


@pytest.mark.parametrize(("content", "why"), [(None, "no heartbeat"), ("{not json", "unreadable")])
def test_a_missing_or_broken_heartbeat_is_unhealthy(
    tmp_path: Path, content: str | None, why: str
) -> None:
    """No heartbeat file (not started, or stopped) or a garbled one is reported unhealthy."""
    path = tmp_path / "heartbeat.json"
    if content is not None:
        path.write_text(content)
    ok, text = check_heartbeat(path, NOW)
    assert not ok
    assert why in text


def test_bot_health_reads_the_heartbeat_beside_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bot.py --health --config FILE` exits 0 on a fresh heartbeat in the store's directory."""
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "rapport.json"}"\n')
    settings = entry.load_or_exit(config)
    assert entry.main(["--health", "--config", str(config)]) == 1
    beat = {"at": datetime.now(UTC).timestamp(), "shards": [0, 1]}
    heartbeat_path(settings).write_text(json.dumps(beat))
    assert entry.main(["--health", "--config", str(config)]) == 0
    assert "shards [0, 1]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("shards", "count", "name"),
    [(None, None, "heartbeat.json"), ("0-1", 4, "heartbeat-shards-0_1-of-4.json")],
)
def test_each_set_of_shards_has_its_own_heartbeat(
    shards: str | None, count: int | None, name: str
) -> None:
    """Processes sharing a data directory never overwrite each other's heartbeat."""
    settings = with_shards(Settings(), shards, count)
    assert heartbeat_path(settings).name == name


async def test_relayed_clicks_are_applied_once_by_the_owner_only() -> None:
    """The shard 0 process records a click; only the owning process applies it, then drops it."""
    mine, theirs = guild_on(1, 2), guild_on(0, 2)
    store = MemoryStore()
    flusher = FlushLoop(store, 3600)
    applied: list[tuple[int, str]] = []

    async def apply(click: dict, now: datetime) -> bool:
        applied.append((click["guild"], click["action"]))
        return True

    clock = lambda: NOW  # noqa: E731
    shard0 = ClickRelay(store, flusher, ownership(with_shards(Settings(), "0", 2)), apply, clock)
    owner = ClickRelay(store, flusher, ownership(with_shards(Settings(), "1", 2)), apply, clock)
    await shard0.forward("1001", mine, 10, "snooze", "ab12")
    await shard0.forward("1002", theirs, 10, "done", "cd34")
    assert await owner.apply_owned() == 1
    assert applied == [(mine, "snooze")]
    assert await owner.apply_owned() == 0
    assert list(await store.load(RELAY_TABLE, RELAY_GUILD)) == ["1002"]


async def test_the_owner_applies_a_relayed_click_as_the_cog_would() -> None:
    """A relayed Snooze lasts a week from the click and a relayed "talked elsewhere" records the
    talk; one on a digest not theirs, or about someone it doesn't name, does nothing."""
    guild, ana, bob = guild_on(1, 2), 10, 20
    store = MemoryStore()
    cfg = replace(NudgeSettings(), digest_hour=None, quiet_hours=None, dms_per_second=1000.0)
    settings = replace(Settings(), nudges=cfg)
    members = MemberService(store, settings, GuildService(store, settings), lambda: NOW)
    ledger = Ledger(store)
    nudges = NudgeService(store, settings, members, ledger, FlushLoop(store, 3600), lambda: NOW)
    sent: list[Digest] = []

    async def send(digest: Digest) -> SendResult:
        sent.append(digest)
        return SendResult.SENT

    await members.ensure(guild)
    await ledger.load_guild(guild)
    await members.enroll(guild, ana)
    at = NOW - timedelta(days=2)
    ledger.record_message(
        MessageFacts(guild, 7, time_snowflake(at), bob, at, reply_to_id=ana, reply_to_message_id=1)
    )
    nudges.attach(send)
    try:
        await nudges.scan()
    finally:
        await nudges.detach()
    (digest,) = sent
    click = {"guild": guild, "member": ana, "digest": digest.digest_id, "other": 0}
    clicked = NOW - timedelta(hours=1)
    later = {**click, "action": "snooze", "at": clicked.timestamp()}
    assert await apply_click(nudges, members, later, NOW)
    assert members.preferences(guild, ana).snoozed_until == clicked + timedelta(weeks=1)
    stranger = {**click, "member": bob, "action": "snooze", "at": NOW.timestamp()}
    assert not await apply_click(nudges, members, stranger, NOW)
    assert members.preferences(guild, bob).snoozed_until is None
    talked = {**click, "action": "elsewhere", "at": NOW.timestamp()}
    assert not await apply_click(nudges, members, {**talked, "other": 30}, NOW)
    assert await apply_click(nudges, members, {**talked, "other": bob}, NOW)
    assert members.elsewhere(guild, ana, bob) == NOW
