"""The sandbox fixture: the real Rapport bot, connected to the Discord emulator, in members' words.

A test speaks as members do (say, react, run a slash command, click a button) and reads what
they would see (their DMs, a channel's posts). Any request the bot sends that breaks Discord's
OpenAPI schema, or any route the emulator doesn't know, fails the test that caused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import app
from cogs._bot import RapportBot
from rapport.compose import Services, open_configured_store
from rapport.settings.config import Settings, settings_from_mapping
from rapport.store import Store
from sandbox import Emulator
from sandbox.clock import SandboxClock
from sandbox.interactions import Reply
from sandbox.state import Channel, Guild, Member, Message
from tests.timing import days_ago, hours_ago, until, use_clock

__all__ = ["Sandbox", "days_ago", "hours_ago", "until"]

#: The longest a member may wait for the bot's first response to a command or click (Discord
#: allows 3 s; the rest is kept for real network latency).
RESPONSE_BUDGET = 2.0
CHANNELS = ("general", "design", "help", "resources", "leaderboard", "introductions")


def _intent_from_env(name: str) -> bool:
    value = os.environ.get(name, "1").strip().lower()
    if value not in {"1", "0", "true", "false", "on", "off"}:
        raise pytest.UsageError(f"{name} must be on or off, not {value!r}")
    return value in {"1", "true", "on"}


#: The intent combination the integration suite runs under (the intent matrix): both on unless
#: the environment turns one off, as .ci/run does for the other three combinations. A test that
#: sets an intent in its own sandbox_config keeps it whatever the matrix says.
INTENTS = {
    "members_intent": _intent_from_env("RAPPORT_TEST_MEMBERS_INTENT"),
    "message_content": _intent_from_env("RAPPORT_TEST_MESSAGE_CONTENT"),
}


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Two config mappings, section by section."""
    out = {k: dict(v) for k, v in base.items()}
    for section, values in extra.items():
        out.setdefault(section, {}).update(values)
    return out


class Sandbox:
    """One emulated server with the real bot in it, and a scenario API in members' words.

    `clock` is the one clock of the run: the bot's services and scheduler and the emulator's
    snowflakes read it, and `await sandbox.clock.advance(days=1)` moves it, then runs the jobs
    that came due meanwhile (the nudge scan every 15 minutes of sandbox time; the leaderboard
    and retention only when a test asks, with run_job or a sandbox_config schedule).
    """

    def __init__(
        self,
        emulator: Emulator,
        guild: Guild,
        data_dir: Path,
        config: Mapping,
        clock: SandboxClock | None = None,
    ) -> None:
        self.emulator = emulator
        self.clock = clock or SandboxClock()
        self.clock.on_advance(self._catch_up)
        self.guild = guild
        self.data_dir = data_dir
        self.config = dict(config)
        self.settings: Settings = settings_from_mapping(
            merge(
                {
                    "discord": {
                        "token": emulator.token,
                        "api_base": emulator.api_base,
                        "gateway_url": emulator.gateway_url,
                        "cdn_base": emulator.api_base,
                        **INTENTS,
                    },
                    "storage": {"path": str(data_dir / "rapport.json"), "flush_interval": "1h"},
                    # Jobs run when the test moves the clock or says so (run_job), never by
                    # the wall clock.
                    "schedule": {"nudge_scan": "15m", "leaderboard": "365d", "retention": "365d"},
                },
                self.config,
            )
        )
        self.bot: RapportBot | None = None
        self.store: Store | None = None
        self._connect: asyncio.Task[None] | None = None

    # --- the bot's life ----------------------------------------------------------------

    async def start(self) -> RapportBot:
        """Open the store, log the real bot in and wait until it is ready."""
        self.store = await open_configured_store(self.settings)
        self.bot = await app.start_bot(
            self.settings, self.store, self.clock, guild_ready_timeout=0.05
        )
        self._connect = asyncio.create_task(self.bot.connect(), name="sandbox: bot.connect")
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._connect}, timeout=15, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._connect in done:
                self._connect.result()
            raise TimeoutError("the bot never became ready")
        await self.settle()
        return self.bot

    async def stop(self) -> None:
        """Shut the bot down as SIGTERM would: scheduler, flush, close; then close the store."""
        if self.bot is not None:
            await self.bot.close()
        if self._connect is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._connect, 5)
        if self.store is not None:
            await self.store.close()
        self.bot = self.store = self._connect = None

    async def restart(self) -> RapportBot:
        """Stop the bot and start a fresh one on the same data directory."""
        await self.stop()
        return await self.start()

    @property
    def members_intent(self) -> bool:
        """Whether this bot asked for the members intent (the matrix's or the test's choice)."""
        return self.settings.discord.members_intent

    @property
    def message_content(self) -> bool:
        """Whether this bot asked for the message content intent."""
        return self.settings.discord.message_content

    def cached_name(self, member: Member) -> str:
        """How an answer drawn from the member cache names someone: their name with the members
        intent; without it, their mention (Discord shows it as the name, without pinging)."""
        return member.name if self.members_intent else f"<@{member.id}>"

    @property
    def services(self) -> Services:
        """The running bot's services (for assertions on aggregates, never to drive it)."""
        assert self.bot is not None
        return self.bot.services

    async def settle(self) -> None:
        """Wait until the bot has read every event sent so far and its listeners finished."""
        await self.emulator.sync()
        for _ in range(50):
            pending = [
                t
                for t in asyncio.all_tasks()
                if not t.done()
                and t is not asyncio.current_task()
                and t.get_name().startswith(("discord.py: on_", "CommandTree-invoker"))
            ]
            if not pending:
                return
            await asyncio.wait(pending, timeout=5)

    async def _catch_up(self, before: datetime, after: datetime) -> None:
        """After the clock moved: run the jobs that came due meanwhile, as the scheduler would."""
        if self.bot is None:
            return
        await self.settle()
        await self.services.scheduler.run_due()
        await self.settle()

    async def run_job(self, name: str) -> bool:
        """Run a scheduled job now, as the scheduler would."""
        await self.settle()
        return await self.services.scheduler.run(name)

    async def flush(self) -> None:
        """Persist everything staged now."""
        await self.services.flusher.flush()

    # --- the world -------------------------------------------------------------------------

    def channel(self, name: str) -> Channel:
        """A channel by name ("#design" or "design")."""
        return self.emulator.channel(self.guild, name.lstrip("#"))

    async def members(self, *names: str, **kwargs: Any) -> tuple[Member, ...]:
        """Add members to the server (GUILD_MEMBER_ADD reaches the bot)."""
        added = tuple([await self.emulator.add_member(self.guild, n, **kwargs) for n in names])
        await self.settle()
        return added

    async def member(self, name: str, **kwargs: Any) -> Member:
        """Add one member."""
        (added,) = await self.members(name, **kwargs)
        return added

    async def say(
        self, author: Member, channel: str | Channel, content: str = "", **kwargs: Any
    ) -> Message:
        """`author` posts in a channel (or thread); kwargs: at, reply_to, mentions, attachments."""
        where = self.channel(channel) if isinstance(channel, str) else channel
        message = await self.emulator.say(author, where, content, **kwargs)
        await self.settle()
        return message

    async def thread(
        self, starter: Member, channel: str, name: str, *, at: datetime | None = None, **kw: Any
    ) -> Channel:
        """`starter` opens a thread in a channel (by=, message=: see Emulator.create_thread)."""
        thread = await self.emulator.create_thread(
            self.channel(channel), starter, name, at=at, **kw
        )
        await self.settle()
        return thread

    async def react(self, member: Member, message: Message, emoji: str, **kwargs: Any) -> None:
        """`member` reacts to a message (remove=True takes it back)."""
        await self.emulator.react(member, message, emoji, **kwargs)
        await self.settle()

    async def slash(self, member: Member, command: str, /, **options: Any) -> Reply:
        """`member` runs a slash command in the server ("rapport settings", options as kwargs)."""
        channel = options.pop("channel_", None)
        reply = await self.emulator.slash(member, self.guild, command, options, channel=channel)
        await self.settle()
        return reply

    async def slash_in_dm(self, member: Member, command: str, /, **options: Any) -> Reply:
        """`member` runs a slash command in their DM with the bot."""
        reply = await self.emulator.slash(member, None, command, options)
        await self.settle()
        return reply

    async def click(self, member: Member, message: Message, custom_id: str, **kw: Any) -> Reply:
        """`member` presses a button (or picks values=[...] in a select) on a bot message."""
        reply = await self.emulator.click(member, message, custom_id, **kw)
        await self.settle()
        return reply

    def dms_to(self, member: Member) -> list[Message]:
        """What the bot sent the member by DM, oldest first."""
        return self.emulator.dms_to(member)

    def posts(self, channel: str) -> list[Message]:
        """What the bot posted in a channel, oldest first."""
        bot_user = self.emulator.bot_user
        return [
            m for m in self.emulator.channel_messages(self.channel(channel)) if m.author is bot_user
        ]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sandbox_config(mapping): config sections merged into the sandbox bot's config"
    )


def _pins_both_intents(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("sandbox_config")
    discord = (marker.args[0] if marker else {}).get("discord", {})
    return set(INTENTS) <= set(discord)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under a combination other than the default, run only what the intents can change: the
    tests on the sandbox bot that leave at least one intent to the matrix."""
    if all(INTENTS.values()):
        return
    kept, dropped = [], []
    for item in items:
        matters = "sandbox" in getattr(item, "fixturenames", ()) and not _pins_both_intents(item)
        (kept if matters else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    on = {True: "on", False: "off"}
    return (
        f"intents: members {on[INTENTS['members_intent']]}, "
        f"message content {on[INTENTS['message_content']]}"
    )


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The real bot connected to a fresh emulated server; fails on any spec violation."""
    marker = request.node.get_closest_marker("sandbox_config")
    config = marker.args[0] if marker else {}
    clock = SandboxClock()
    emulator = Emulator(interaction_timeout=3.0, clock=clock)
    await emulator.start()
    guild = emulator.add_guild("Rapport Test")
    for name in CHANNELS:
        emulator.add_channel(guild, name)
    box = Sandbox(emulator, guild, tmp_path, config, clock)
    use_clock(clock)
    with app.endpoints_restored():
        try:
            await box.start()
            yield box
        finally:
            use_clock(None)
            await box.stop()
            await emulator.stop()
    assert not emulator.violations, f"requests broke Discord's schema: {emulator.violations}"
    contract = "\n".join(sorted({str(v) for v in emulator.contract_violations}))
    assert not contract, f"payloads broke discord-api-types:\n{contract}"
    assert not emulator.unknown_routes, f"unknown routes: {emulator.unknown_routes}"
    slowest = max(emulator.first_responses, default=0.0)
    assert slowest <= RESPONSE_BUDGET, (
        f"an interaction waited {slowest:.2f}s for its first response"
    )
