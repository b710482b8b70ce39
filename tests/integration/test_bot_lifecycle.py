"""The real bot's life against the emulator: login, command sync, restart, shutdown, refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import app
import bot as entry
from rapport.settings.config import settings_from_mapping
from sandbox import Emulator
from tests.conftest import Sandbox, until

ROOT = Path(__file__).resolve().parents[2]


async def test_the_bot_logs_in_and_syncs_its_commands_once(sandbox: Sandbox) -> None:
    """On first start the command tree is synced; a restart with the same tree does not sync."""
    emulator = sandbox.emulator
    assert sandbox.bot is not None
    assert sandbox.bot.user is not None
    assert sandbox.bot.user.id == emulator.bot_user.id
    assert sandbox.bot.get_guild(sandbox.guild.id) is not None
    assert emulator.command_syncs == 1
    synced = {c["name"] for c in emulator.commands()}
    assert synced == {c.name for c in sandbox.bot.tree.get_commands()}
    assert sandbox.bot.commands_synced is True

    await sandbox.restart()
    assert emulator.command_syncs == 1
    assert sandbox.bot.commands_synced is False


async def test_a_store_reused_with_another_application_syncs_there(tmp_path: Path) -> None:
    """The sync hash names the application: the same data under another application syncs."""
    for _ in range(2):
        async with Emulator() as emulator:
            guild = emulator.add_guild("G")
            emulator.add_channel(guild, "general")
            box = Sandbox(emulator, guild, tmp_path, {})
            with app.endpoints_restored():
                await box.start()
                try:
                    assert emulator.command_syncs == 1
                    assert {c["name"] for c in emulator.commands()} == {
                        c.name for c in box.bot.tree.get_commands()
                    }
                finally:
                    await box.stop()


@pytest.mark.sandbox_config({"discord": {"sync_commands": "off"}})
async def test_sync_off_never_syncs(sandbox: Sandbox) -> None:
    """With sync_commands = "off" the bot leaves Discord's commands alone."""
    assert sandbox.emulator.command_syncs == 0
    assert sandbox.emulator.commands() == []


async def test_sync_to_the_dev_guild(tmp_path: Path) -> None:
    """With sync_commands = "guild" commands go to dev_guild_id only, not globally."""
    async with Emulator() as emulator:
        guild = emulator.add_guild("Dev")
        emulator.add_channel(guild, "general")
        box = Sandbox(
            emulator,
            guild,
            tmp_path,
            {"discord": {"sync_commands": "guild", "dev_guild_id": guild.id}},
        )
        await box.start()
        try:
            assert emulator.commands() == []
            assert {c["name"] for c in emulator.commands(guild)} == {
                c.name for c in box.bot.tree.get_commands()
            }
        finally:
            await box.stop()


async def test_refused_privileged_intents_say_which_toggle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Close code 4014 ends the run with the Developer Portal toggle to switch on."""
    async with Emulator() as emulator:
        emulator.add_guild("G")
        emulator.refuse_intents({"message_content"})
        settings = settings_from_mapping(
            {
                "discord": {
                    "token": emulator.token,
                    "api_base": emulator.api_base,
                    "gateway_url": emulator.gateway_url,
                },
                "storage": {"path": str(tmp_path / "r.json")},
            }
        )
        with app.endpoints_restored():
            code = await entry.run(settings)
    assert code == 1
    assert "Message Content Intent" in caplog.text
    assert "message_content = false" in caplog.text


async def test_gateway_url_is_asked_of_api_base_when_empty(tmp_path: Path) -> None:
    """Without gateway_url, a non-Discord api_base is asked for the gateway (GET gateway/bot)."""
    import discord

    async with Emulator() as emulator:
        settings = settings_from_mapping(
            {"discord": {"token": emulator.token, "api_base": emulator.api_base}}
        )
        with app.endpoints_restored():
            await app.configure_endpoints(settings)
            assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY).startswith(
                emulator.gateway_url
            )
            assert any(r.path.endswith("/gateway/bot") for r in emulator.requests)


async def test_sigterm_shuts_down_gracefully_and_flushes(tmp_path: Path) -> None:
    """SIGTERM stops the scheduler, flushes the store, closes the client and exits 0."""
    async with Emulator() as emulator:
        guild = emulator.add_guild("G")
        general = emulator.add_channel(guild, "general")
        ana = await emulator.add_member(guild, "Ana")
        bob = await emulator.add_member(guild, "Bob")
        data = tmp_path / "rapport.json"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[discord]\ntoken = "{emulator.token}"\napi_base = "{emulator.api_base}"\n'
            f'gateway_url = "{emulator.gateway_url}"\n'
            f'[storage]\npath = "{data}"\nflush_interval = "1h"\n'
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "bot.py",
            "--config",
            str(config),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DISCORD_TOKEN": ""},
        )
        try:
            await until(lambda: guild.id in emulator.guilds_sent, "the bot connected")
            first = await emulator.say(ana, general, "draft is up")
            await emulator.say(bob, general, "looks great", reply_to=first)
            await emulator.sync()
            proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, output.decode()
    # The hour-long flush interval never came: only the shutdown flush can have written this.
    from rapport.store import open_store

    store = open_store("tinydb", path=data)
    await store.open()
    try:
        assert await store.load("pairs", guild.id), "the reply was not flushed on shutdown"
    finally:
        await store.close()
