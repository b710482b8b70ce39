"""Members joining, reacting, threading, editing and leaving reach the client as events."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from sandbox import Emulator, Guild
from tests.sandbox.conftest import default_intents, make_bot, record, running
from tests.timing import until


async def test_world_changes_arrive_as_gateway_events(emulator: Emulator, guild: Guild) -> None:
    """Join, reaction, thread, edit, delete and leave each fire their discord.py event."""
    ana = await emulator.add_member(guild, "Ana")
    general = emulator.channel(guild, "general")
    bot = make_bot()
    joined = record(bot, "on_member_join")
    reactions = record(bot, "on_raw_reaction_add")
    unreactions = record(bot, "on_raw_reaction_remove")
    threads = record(bot, "on_thread_create")
    edits = record(bot, "on_raw_message_edit")
    deletes = record(bot, "on_raw_message_delete")
    left = record(bot, "on_raw_member_remove")
    async with running(emulator, bot):
        bob = await emulator.add_member(guild, "Bob")
        post = await emulator.say(ana, general, "hello")
        await emulator.react(bob, post, "👍")
        await emulator.react(bob, post, "👍", remove=True)
        thread = await emulator.create_thread(general, bob, "ideas")
        await emulator.say(ana, thread, "in the thread", reply_to=post)
        await emulator.edit(post, "hello again")
        await emulator.delete(post)
        await emulator.remove_member(guild, bob)
        await emulator.sync()
        cached_thread = bot.get_guild(guild.id).get_thread(thread.id)
        assert cached_thread is not None
        assert cached_thread.parent_id == general.id
    assert [m.display_name for m in joined] == ["Bob"]
    assert [(r.user_id, str(r.emoji)) for r in reactions] == [(bob.id, "👍")]
    assert [r.user_id for r in unreactions] == [bob.id]
    assert [t.name for t in threads] == ["ideas"]
    assert [e.data["content"] for e in edits] == ["hello again"]
    assert [d.message_id for d in deletes] == [post.id]
    assert [r.user.id for r in left] == [bob.id]


async def test_late_answer_is_refused_with_10062(emulator: Emulator, guild: Guild) -> None:
    """A response sent after the interaction timed out fails with NotFound 10062."""
    emulator.interaction_timeout = 0.2
    bot = make_bot()
    refused: list[int] = []
    tried, gave_up = asyncio.Event(), asyncio.Event()

    @bot.tree.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await gave_up.wait()  # answers only once the emulator has given up on it
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as error:
            refused.append(error.code)
        tried.set()

    ana = await emulator.add_member(guild, "Ana")
    async with running(emulator, bot):
        await bot.tree.sync()
        reply = await emulator.slash(ana, None, "slow")
        assert reply.error == "10062 Unknown interaction"
        gave_up.set()
        await until(tried.is_set, "the late answer was tried")
    assert refused == [10062]


async def test_slow_network_makes_an_answer_late(emulator: Emulator, guild: Guild) -> None:
    """A callback slowed past the interaction deadline is refused as unknown."""
    emulator.interaction_timeout = 0.2
    emulator.slow("POST /interactions/{interaction_id}/{token}/callback", 0.3)
    bot = make_bot()
    refused: list[int] = []
    tried = asyncio.Event()

    @bot.tree.command(name="quick", description="Answers at once")
    async def quick(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("on time?")
        except discord.NotFound as error:
            refused.append(error.code)
        tried.set()

    ana = await emulator.add_member(guild, "Ana")
    async with running(emulator, bot):
        await bot.tree.sync()
        reply = await emulator.slash(ana, None, "quick")
        await asyncio.wait_for(tried.wait(), 5)
    assert reply.error == "10062 Unknown interaction"
    assert refused == [10062]


def test_faults_name_real_routes(emulator: Emulator) -> None:
    """A misspelt route in a fault is refused at once instead of silently never firing."""
    with pytest.raises(ValueError, match="no route"):
        emulator.rate_limit("POST /channel/{channel_id}/messages")


async def test_member_chunks_answer_op_8(emulator: Emulator, guild: Guild) -> None:
    """A client that chunks members later gets them through REQUEST_GUILD_MEMBERS."""
    await emulator.add_member(guild, "Ana")
    await emulator.add_member(guild, "Andre")
    await emulator.add_member(guild, "Bob")
    bot = commands.Bot(
        command_prefix="!",
        intents=default_intents(),
        chunk_guilds_at_startup=False,
        guild_ready_timeout=0.05,
    )
    async with running(emulator, bot):
        cached = bot.get_guild(guild.id)
        found = await cached.query_members("an", limit=10)
        assert sorted(m.display_name for m in found) == ["Ana", "Andre"]
        await cached.chunk()
        assert len(cached.members) == 4


async def test_roles_and_channels_made_while_connected_reach_the_cache(
    emulator: Emulator, guild: Guild
) -> None:
    """A new role, a member joining it, and a new channel all update the client's cache."""
    ana = await emulator.add_member(guild, "Ana")
    bot = make_bot()
    async with running(emulator, bot):
        team = await emulator.create_role(guild, "Aurora")
        await emulator.update_member(ana, roles=[team], nick="Ana A.")
        channel = await emulator.create_channel(guild, "resources")
        await emulator.sync()
        cached = bot.get_guild(guild.id)
        member = cached.get_member(ana.id)
        assert [r.name for r in member.roles if not r.is_default()] == ["Aurora"]
        assert member.display_name == "Ana A."
        assert cached.get_channel(channel.id).name == "resources"
