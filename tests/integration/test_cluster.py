"""A cluster for real: `bot.py` processes, each a set of shards, against the emulator and one
PostgreSQL database. Discord's promise to members is checked from the outside: nobody gets the
same DM twice and no leaderboard is posted twice, even when a process is killed mid-scan.

Each test gets a database of its own (the bot processes can't be told a schema: `[storage]`
has no such key), dropped afterwards. Without a PostgreSQL server the tests skip, saying so.

Over 400 lines because real bot processes on one database need a harness (BotProcess, configs,
waits) that every test here shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from rapport.runtime.cluster import check_heartbeat, shard_of
from sandbox import Emulator
from sandbox.state import Channel, Guild, Member
from tests.timing import until
from tests.unit._pg import DSN, require_postgres

ROOT = Path(__file__).resolve().parents[2]
SCAN_EVERY = 2.0
"""Seconds between two scans (and leaderboard runs) in the bot processes."""

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


# --- the database -------------------------------------------------------------------------------


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """The DSN of a fresh, empty database on the test server; dropped after the test."""
    await require_postgres()
    name = f"rapport_cluster_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(DSN)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# --- bot processes ------------------------------------------------------------------------------


class BotProcess:
    """`python bot.py --config FILE --shards IDS --shard-count N` with its output kept."""

    def __init__(self, name: str, config: Path, shards: str, count: int) -> None:
        self.name, self.config, self.shards, self.count = name, config, shards, count
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        suffix = "_".join(shards.split(","))
        self.heartbeat = config.parent / f"heartbeat-shards-{suffix}-of-{count}.json"

    async def start(self) -> None:
        """Launch the process (the token comes from the config)."""
        self.lines.clear()
        self.heartbeat.unlink(missing_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "bot.py",
            "--config",
            str(self.config),
            "--shards",
            self.shards,
            "--shard-count",
            str(self.count),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DISCORD_TOKEN": "", "RAPPORT_DATABASE_URL": ""},
        )
        self._reader = asyncio.create_task(self._read(), name=f"read {self.name}")

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip())

    @property
    def output(self) -> str:
        """Everything the process logged so far."""
        return "\n".join(self.lines)

    async def ready(self) -> None:
        """Wait until its shards are connected: the health check's heartbeat appears."""
        await until(
            lambda: check_heartbeat(self.heartbeat, datetime.now(UTC))[0],
            f"{self.name} never became healthy",
            within=60,
            also=self.alive,
            explain=tails(self),
            every=0.1,
        )

    def alive(self) -> str | None:
        """None while running; otherwise why not (for a wait to stop early)."""
        if self.proc is not None and self.proc.returncode is None:
            return None
        return f"{self.name} exited:\n{self.output}"

    async def health(self) -> int:
        """The exit status of `bot.py --health` for this process (what Docker runs)."""
        check = await asyncio.create_subprocess_exec(
            sys.executable,
            "bot.py",
            "--health",
            "--config",
            str(self.config),
            "--shards",
            self.shards,
            "--shard-count",
            str(self.count),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return await check.wait()

    async def kill(self) -> None:
        """SIGKILL: no flush, no goodbye, like a crash or the OOM killer."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        await self._drain()

    async def stop(self) -> int:
        """SIGTERM and the exit status (graceful: flush, close)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._drain()
        return self.proc.returncode

    async def _drain(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


def tails(*processes: BotProcess) -> Callable[[], str]:
    """The end of each process's log, for a wait that gave up."""
    return lambda: "\n".join(f"--- {p.name}:\n" + "\n".join(p.lines[-40:]) for p in processes)


async def claims(dsn: str, prefix: str) -> set[str]:
    """The claim keys starting with `prefix` in the shared database (bot.py's schema "rapport")."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch('SELECT key FROM "rapport".claims WHERE key LIKE $1', prefix + "%")
    finally:
        await conn.close()
    return {r["key"] for r in rows}


async def quiet(periods: int = 3) -> None:
    """Let the processes run a few more scans and leaderboard runs: anything repeated shows."""
    await asyncio.sleep(periods * SCAN_EVERY)


def write_config(directory: Path, emulator: Emulator, dsn: str) -> Path:
    """One process's config: the emulator for Discord, the shared database, fast schedules."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(
        f"""
[discord]
token = "{emulator.token}"
api_base = "{emulator.api_base}"
gateway_url = "{emulator.gateway_url}"
cdn_base = "{emulator.api_base}"
# Only the shard 0 process syncs (commands are per application, not per shard).
sync_commands = "global"

[storage]
backend = "postgres"
dsn = "{dsn}"
path = "{directory / "rapport.json"}"
flush_interval = "1s"

[schedule]
nudge_scan = "{SCAN_EVERY:.0f}s"
leaderboard = "{SCAN_EVERY:.0f}s"
retention = "365d"

[nudges]
enrollment = "opt-out"
digest_hour = "any"
quiet_hours = "off"
kinds = ["unanswered", "thanks"]
stale_after = "14d"
dms_per_second = 2.0

[logging]
level = "INFO"
"""
    )
    return path


# --- the world ----------------------------------------------------------------------------------


class Server:
    """One emulated guild: a #general, a #leaderboard, members."""

    def __init__(self, guild: Guild, general: Channel, members: list[Member]) -> None:
        self.guild, self.general, self.members = guild, general, members
        self.random = general


async def add_server(emulator: Emulator, name: str, at: datetime, size: int) -> Server:
    """A guild whose id carries `at` (which decides its shard), with `size` members."""
    guild = emulator.add_guild(name, at=at)
    general = emulator.add_channel(guild, "general")
    emulator.add_channel(guild, "leaderboard")
    server = Server(guild, general, [])
    server.random = emulator.add_channel(guild, "random")
    server.members = [await emulator.add_member(guild, f"{name}-{i}") for i in range(size)]
    return server


def servers_on_shards(emulator: Emulator, count: int) -> list[datetime]:
    """Creation times for guilds on shards 0..count-1, one each (the shard is the ms count)."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    times = [base + timedelta(milliseconds=ms) for ms in range(count)]
    probe = [emulator.snowflakes.make(t) for t in times]
    return [
        times[probe.index(next(p for p in probe if shard_of(p, count) == s))] for s in range(count)
    ]


async def lay_history(emulator: Emulator, server: Server) -> None:
    """Last week, each member's post got a reply from the next member that they never answered."""
    start = datetime.now(UTC) - timedelta(days=7)
    people = server.members
    for i, author in enumerate(people):
        at = start + timedelta(minutes=2 * i)
        # The last exchange elsewhere: a message in the channel where the first member's post
        # was answered would answer it (issue 12).
        where = server.random if i == len(people) - 1 else server.general
        post = await emulator.say(author, where, f"post {i}", at=at)
        replier = people[(i + 1) % len(people)]
        await emulator.say(replier, where, "nice", at=at + timedelta(minutes=1), reply_to=post)


def dm_counts(emulator: Emulator, members: Iterable[Member]) -> dict[str, int]:
    """How many DMs the bot sent each member."""
    return {m.user.name: len(emulator.dms_to(m)) for m in members}


def leaderboard_posts(emulator: Emulator, server: Server) -> int:
    """How many messages the bot posted in the server's #leaderboard."""
    channel = emulator.channel(server.guild, "leaderboard")
    return sum(1 for m in emulator.channel_messages(channel) if m.author is emulator.bot_user)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulated Discord every process connects to."""
    async with Emulator(interaction_timeout=5.0) as emu:
        yield emu
    assert not emu.violations, f"requests broke Discord's schema: {emu.violations}"
    assert not emu.unknown_routes, f"unknown routes: {emu.unknown_routes}"


@contextlib.asynccontextmanager
async def running(*bots: BotProcess) -> AsyncIterator[None]:
    """Stop (or kill) every process, whatever the test did."""
    try:
        yield
    finally:
        for bot in bots:
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()


# --- the tests ----------------------------------------------------------------------------------


async def test_two_processes_never_double_send_even_when_one_is_killed_mid_scan(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    """A shard process SIGKILLed mid-scan and restarted sends no second DM and no second board."""
    size = 6
    at0, at1 = servers_on_shards(emulator, 2)
    zero = await add_server(emulator, "zero", at0, size)
    one = await add_server(emulator, "one", at1, size)
    a = BotProcess("shard-0", write_config(tmp_path / "a", emulator, database), "0", 2)
    b = BotProcess("shard-1", write_config(tmp_path / "b", emulator, database), "1", 2)
    async with running(a, b):
        await a.start()
        await b.start()
        await a.ready()
        await b.ready()
        assert {zero.guild.id, one.guild.id} <= emulator.guilds_sent
        await lay_history(emulator, zero)
        await lay_history(emulator, one)
        await emulator.sync()

        # Kill the shard-1 process while its paced queue still has digests to send.
        await until(
            lambda: sum(dm_counts(emulator, one.members).values()) >= 1,
            "the shard-1 process sent no digest",
            also=b.alive,
            explain=tails(a, b),
            every=0.1,
        )
        await b.kill()
        sent_before_kill = dm_counts(emulator, one.members)
        assert sum(sent_before_kill.values()) < size, "the kill came after the scan finished"

        # Its replacement picks up: pending markers count as sent, claims stay taken.
        b2 = BotProcess("shard-1 again", b.config, "1", 2)
        async with running(b2):
            await b2.start()
            await b2.ready()

            async def lost_in_the_crash(prefix: str, named: str = "") -> bool:
                # Taken by the killed run (a claim, or a marker the new run reports) and so
                # never sent again: the price of at-most-once.
                return bool(named and named in b2.output) or bool(await claims(database, prefix))

            async def settled() -> bool:
                if not all(dm_counts(emulator, zero.members).values()):
                    return False
                if leaderboard_posts(emulator, zero) < 1:
                    return False
                for m in one.members:
                    if not emulator.dms_to(m) and not await lost_in_the_crash(
                        f"nudge:{one.guild.id}:{m.id}:", f"to member {m.id} may have been sent"
                    ):
                        return False
                return leaderboard_posts(emulator, one) >= 1 or await lost_in_the_crash(
                    f"leaderboard:{one.guild.id}:"
                )

            await until(
                settled,
                "digests or boards never went out",
                also=b2.alive,
                explain=tails(a, b, b2),
                every=0.1,
            )
            await quiet()

            zero_dms = dm_counts(emulator, zero.members)
            one_dms = dm_counts(emulator, one.members)
            assert set(zero_dms.values()) == {1}, zero_dms
            assert max(one_dms.values()) == 1, one_dms
            assert sum(one_dms.values()) >= size - 1, one_dms  # one in flight may be lost
            assert leaderboard_posts(emulator, zero) == 1
            assert leaderboard_posts(emulator, one) <= 1
            # Each process spoke only in its own guild.
            assert "not resending" not in a.output
            assert await b2.stop() == 0, b2.output
        assert await a.stop() == 0, a.output


async def test_two_processes_running_the_same_shard_send_each_digest_once(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    """Two processes on the same shard (a rolling deploy's overlap) send each DM and board once."""
    size = 6
    (at,) = servers_on_shards(emulator, 1)
    server = await add_server(emulator, "both", at, size)
    a = BotProcess("old", write_config(tmp_path / "a", emulator, database), "0", 1)
    b = BotProcess("new", write_config(tmp_path / "b", emulator, database), "0", 1)
    async with running(a, b):
        await a.start()
        await b.start()
        await a.ready()
        await b.ready()
        await lay_history(emulator, server)
        await emulator.sync()
        await until(
            lambda: (
                all(dm_counts(emulator, server.members).values())
                and leaderboard_posts(emulator, server) >= 1
            ),
            "digests or the board never went out",
            also=lambda: a.alive() or b.alive(),
            explain=tails(a, b),
            every=0.1,
        )
        await quiet()
        counts = dm_counts(emulator, server.members)
        assert set(counts.values()) == {1}, counts
        assert leaderboard_posts(emulator, server) == 1
        assert await a.health() == 0
        assert await a.stop() == 0, a.output
        assert await b.stop() == 0, b.output
        assert await a.health() == 1, "a stopped process still looks healthy"


async def test_a_digest_click_reaches_the_process_that_owns_the_guild(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    """A Snooze and a "not about" clicked in the shard-0 process hold in the guild's owner."""
    (_, at1) = servers_on_shards(emulator, 2)
    one = await add_server(emulator, "one", at1, 3)
    ana, bob, cat = one.members
    a = BotProcess("shard-0", write_config(tmp_path / "a", emulator, database), "0", 2)
    b = BotProcess("shard-1", write_config(tmp_path / "b", emulator, database), "1", 2)
    async with running(a, b):
        await a.start()
        await b.start()
        await a.ready()
        await b.ready()
        assert emulator.command_syncs == 1
        await lay_history(emulator, one)
        await emulator.sync()
        await until(
            lambda: all(dm_counts(emulator, one.members).values()),
            "the shard-1 process sent no digests",
            also=b.alive,
            explain=tails(a, b),
            every=0.1,
        )

        def button(member: Member, action: str) -> str:
            (dm,) = emulator.dms_to(member)
            return next(c for c in dm.custom_ids() if c.startswith(f"rapport:{action}:"))

        (ana_dm,) = emulator.dms_to(ana)
        snoozed = await emulator.click(ana, ana_dm, button(ana, "snooze"))
        assert "Snoozed — no digests until" in snoozed.text
        (bob_dm,) = emulator.dms_to(bob)  # about Cat, whose reply Bob left unanswered
        muted = await emulator.click(bob, bob_dm, button(bob, "notabout"), values=[str(cat.id)])
        assert "I won't nudge you about them again" in muted.text
        await until(
            lambda: (
                "applied 2 of 2 digest click(s)" in b.output
                or b.output.count("applied 1 of 1 digest click(s)") == 2
            ),
            "the owner never applied the relayed clicks",
            also=b.alive,
            explain=tails(a, b),
            every=0.1,
        )
        ana_settings = await emulator.slash(ana, one.guild, "rapport settings")
        assert "**Snoozed:** until" in ana_settings.text
        bob_settings = await emulator.slash(bob, one.guild, "rapport settings")
        assert "**Muted:** 1 member" in bob_settings.text
        assert await a.stop() == 0, a.output
        assert await b.stop() == 0, b.output


async def test_a_servers_own_board_schedule_holds_in_every_process_and_posts_once(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    """A board period and crontab set in one process are the server's in every process, and
    two processes catching the board up together post it once (a rolling deploy's overlap)."""
    (at,) = servers_on_shards(emulator, 1)
    server = await add_server(emulator, "own", at, 4)
    admins = await emulator.create_role(server.guild, "Admins", permissions=1 << 5)
    boss = await emulator.add_member(server.guild, "boss", roles=[admins])
    a = BotProcess("first", write_config(tmp_path / "a", emulator, database), "0", 1)
    async with running(a):
        await a.start()
        await a.ready()
        answer = await emulator.slash(
            boss,
            server.guild,
            "rapport-admin setup",
            {"leaderboard_period": "month", "leaderboard_schedule": "* * * * *"},
        )
        assert "Saved" in answer.text, answer.text
        # Last month's activity, which only a monthly board shows (config.toml's is weekly).
        this_month = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
        last_month = this_month - timedelta(days=20)
        first, second, *_ = server.members
        post = await emulator.say(first, server.general, "a question", at=last_month)
        await emulator.say(second, server.general, "an answer", at=last_month, reply_to=post)
        await emulator.sync()
        assert await a.stop() == 0, a.output

    old = BotProcess("old", a.config, "0", 1)
    new = BotProcess("new", write_config(tmp_path / "b", emulator, database), "0", 1)
    async with running(old, new):
        await asyncio.gather(old.start(), new.start())
        await asyncio.gather(old.ready(), new.ready())
        await until(
            lambda: leaderboard_posts(emulator, server) >= 1,
            "the server's own schedule posted no board",
            also=lambda: old.alive() or new.alive(),
            explain=tails(old, new),
            every=0.1,
        )
        await quiet()
        channel = emulator.channel(server.guild, "leaderboard")
        (board,) = [m for m in emulator.channel_messages(channel) if m.author is emulator.bot_user]
        month = f"{last_month:%Y-%m}"
        assert f"leaderboard-{month}.png" in board.embeds[0]["image"]["url"], board.embeds
        assert await old.stop() == 0, old.output
        assert await new.stop() == 0, new.output
