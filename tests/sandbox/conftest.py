"""Fixtures that run the real discord.py client against the emulator in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import discord
import pytest
from discord.ext import commands

import app
from sandbox import Emulator, Guild


@dataclass
class World:
    """An emulator with one guild and its usual channels."""

    emulator: Emulator
    guild: Guild

    @property
    def general(self) -> discord.abc.Snowflake:
        """The #general channel."""
        return self.emulator.channel(self.guild, "general")


def default_intents() -> discord.Intents:
    """What Rapport asks for: the defaults plus members and message content."""
    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    return intents


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A started emulator with discord.py pointed at it; every check is left to the test."""
    emu = Emulator(interaction_timeout=1.0, deferred_timeout=2.0)
    await emu.start()
    guild = emu.add_guild("Sandbox")
    emu.add_channel(guild, "general")
    emu.add_channel(guild, "design")
    with app.endpoints_restored():
        app.point_discord_at(emu.api_base, emu.gateway_url)
        try:
            yield emu
        finally:
            await emu.stop()
    contract = "\n".join(sorted({str(v) for v in emu.contract_violations}))
    assert not contract, f"payloads broke discord-api-types:\n{contract}"


Runner = Callable[..., Awaitable[commands.Bot]]


@asynccontextmanager
async def running(
    emu: Emulator, bot: discord.Client, *, token: str | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Log ``bot`` in, connect it, wait for on_ready; close it on the way out."""
    connect: asyncio.Task[None] | None = None
    try:
        await bot.login(token or emu.token)
        connect = asyncio.create_task(bot.connect())
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, connect}, timeout=10, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if connect in done:
                connect.result()
            raise TimeoutError("the bot never became ready")
        yield connect
    finally:
        await bot.close()
        if connect is not None:
            with suppress(Exception):
                await asyncio.wait_for(connect, 5)


def make_bot(intents: discord.Intents | None = None) -> commands.Bot:
    """A commands.Bot as Rapport builds one, quick to become ready."""
    return commands.Bot(
        command_prefix="!", intents=intents or default_intents(), guild_ready_timeout=0.05
    )


@pytest.fixture
def guild(emulator: Emulator) -> Guild:
    """The emulator's first guild."""
    return emulator.guilds[0]


def record(bot: commands.Bot, event: str) -> list[discord.Message]:
    """Collect every message ``event`` (e.g. "on_message") dispatches, in order."""
    seen: list[discord.Message] = []

    async def listener(message: discord.Message) -> None:
        seen.append(message)

    bot.add_listener(listener, event)
    return seen


def flag(bot: commands.Bot, event: str) -> asyncio.Event:
    """An event set when ``event`` (e.g. "on_resumed") fires."""
    fired = asyncio.Event()

    async def listener(*_: object) -> None:
        fired.set()

    bot.add_listener(listener, event)
    return fired
