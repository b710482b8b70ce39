"""The real discord.py client logs in, identifies and keeps its session through faults."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from sandbox import Emulator, Guild
from tests.sandbox.conftest import default_intents, flag, make_bot, record, running


class QuickIdentifyBot(commands.Bot):
    """A bot that skips discord.py's 5 s pause before a repeated IDENTIFY."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Identify at once: the sandbox has no identify rate limit."""


async def test_login_delivers_ready_with_the_guild_cache(emulator: Emulator, guild: Guild) -> None:
    """After READY and GUILD_CREATE the client knows the guild, its channels and its members."""
    ana = await emulator.add_member(guild, "Ana")
    bot = make_bot()
    async with running(emulator, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        assert {c.name for c in cached.text_channels} == {"general", "design"}
        assert cached.get_member(ana.id).name == "ana"
        assert bot.user.id == emulator.bot_user.id
        assert bot.application_id == emulator.application_id


async def test_gateway_speaks_zlib_stream(emulator: Emulator, guild: Guild) -> None:
    """discord.py asks for zlib-stream and decodes every frame the emulator compresses."""
    bot = make_bot()
    async with running(emulator, bot):
        await emulator.sync()
    assert emulator.gateway.compressed_connections == 1
    assert emulator.gateway.plain_connections == 0


async def test_messages_missed_while_dropped_are_replayed_on_resume(
    emulator: Emulator, guild: Guild
) -> None:
    """A dropped connection RESUMEs and the client still sees every message sent meanwhile."""
    ana = await emulator.add_member(guild, "Ana")
    general = emulator.channel(guild, "general")
    bot = make_bot()
    seen = record(bot, "on_message")
    resumed = flag(bot, "on_resumed")
    async with running(emulator, bot):
        await emulator.drop_connections()
        for n in range(3):
            await emulator.say(ana, general, f"missed {n}")
        await asyncio.wait_for(resumed.wait(), 5)
        await emulator.sync()
        assert [m.content for m in seen] == ["missed 0", "missed 1", "missed 2"]
        assert emulator.gateway.resumes == 1
        assert emulator.gateway.identifies == 1


async def test_reconnect_request_resumes_the_session(emulator: Emulator, guild: Guild) -> None:
    """Op 7 makes the client reconnect and RESUME rather than IDENTIFY again."""
    bot = make_bot()
    resumed = flag(bot, "on_resumed")
    async with running(emulator, bot):
        await emulator.send_reconnect()
        await asyncio.wait_for(resumed.wait(), 5)
        assert (emulator.gateway.identifies, emulator.gateway.resumes) == (1, 1)


@pytest.mark.parametrize(("resumable", "identifies", "resumes"), [(True, 1, 1), (False, 2, 0)])
async def test_invalid_session_resumes_or_identifies_again(
    emulator: Emulator, guild: Guild, resumable: bool, identifies: int, resumes: int
) -> None:
    """Op 9 with d=true leads to RESUME; with d=false to a fresh IDENTIFY and READY."""
    bot = QuickIdentifyBot(command_prefix="!", intents=default_intents(), guild_ready_timeout=0.05)
    ana = await emulator.add_member(guild, "Ana")
    seen = record(bot, "on_message")
    async with running(emulator, bot):
        back = flag(bot, "on_resumed" if resumable else "on_connect")
        await emulator.invalidate_session(resumable=resumable)
        await asyncio.wait_for(back.wait(), 5)
        await emulator.sync()
        await emulator.say(ana, emulator.channel(guild, "general"), "after op 9")
        await emulator.sync()
        assert [m.content for m in seen] == ["after op 9"]
        assert (emulator.gateway.identifies, emulator.gateway.resumes) == (identifies, resumes)


async def test_refused_privileged_intent_closes_with_4014(emulator: Emulator, guild: Guild) -> None:
    """Asking for an intent the application is not allowed gives PrivilegedIntentsRequired."""
    emulator.refuse_intents({"message_content"})
    bot = make_bot()
    await bot.login(emulator.token)
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.connect(), 5)
    finally:
        await bot.close()


async def test_shards_receive_only_their_guilds(emulator: Emulator, guild: Guild) -> None:
    """Two shards split the guilds by (guild_id >> 22) % shard_count."""
    for n in range(5):
        extra = emulator.add_guild(f"Guild {n}")
        emulator.add_channel(extra, "general")
    bots = [
        commands.Bot(
            command_prefix="!",
            intents=default_intents(),
            shard_id=shard,
            shard_count=2,
            guild_ready_timeout=0.05,
        )
        for shard in (0, 1)
    ]
    async with running(emulator, bots[0]), running(emulator, bots[1]):
        for shard, bot in enumerate(bots):
            expected = {g.id for g in emulator.guilds if (g.id >> 22) % 2 == shard}
            assert {g.id for g in bot.guilds} == expected


async def test_without_presences_members_arrive_in_chunks_of_a_thousand(
    emulator: Emulator, guild: Guild
) -> None:
    """GUILD_CREATE lists only the bot; discord.py asks for the rest, sent 1,000 per chunk."""
    for i in range(2500):
        await emulator.add_member(guild, f"m{i}")
    bot = make_bot()
    async with running(emulator, bot):
        session = next(iter(emulator.gateway.sessions.values()))
        (created,) = [f["d"] for f in session.log if f["t"] == "GUILD_CREATE"]
        assert [m["user"]["id"] for m in created["members"]] == [str(emulator.bot_user.id)]
        assert created["large"] is True
        assert created["member_count"] == 2501
        chunks = [f["d"] for f in session.log if f["t"] == "GUILD_MEMBERS_CHUNK"]
        assert [len(c["members"]) for c in chunks] == [1000, 1000, 501]
        assert len(bot.get_guild(guild.id).members) == 2501


async def test_asking_for_every_member_again_within_30s_is_rate_limited(
    emulator: Emulator, guild: Guild
) -> None:
    """A second "all members" request for a guild inside 30 s gets RATE_LIMITED, no chunks."""
    await emulator.add_member(guild, "Ana")
    bot = make_bot()
    async with running(emulator, bot):
        session = next(iter(emulator.gateway.sessions.values()))
        before = emulator.gateway.member_chunks
        await bot.ws.request_chunks(guild.id, query="", limit=0, nonce="again")
        await emulator.sync()
        assert emulator.gateway.member_chunks == before
        (limited,) = [f["d"] for f in session.log if f["t"] == "RATE_LIMITED"]
        assert limited["opcode"] == 8
        assert limited["meta"] == {"guild_id": str(guild.id), "nonce": "again"}
        await bot.ws.request_chunks(guild.id, user_ids=[1, 2], limit=0, nonce="ids")
        await emulator.sync()
        assert emulator.gateway.member_chunks == before + 1


async def test_a_removed_bot_gets_guild_delete_then_missing_access(
    emulator: Emulator, guild: Guild
) -> None:
    """remove_bot sends GUILD_DELETE; the guild's channels then answer 403 Missing Access."""
    general = emulator.channel(guild, "general")
    bot = make_bot()
    removed = flag(bot, "on_guild_remove")
    async with running(emulator, bot):
        await emulator.remove_bot(guild)
        await asyncio.wait_for(removed.wait(), 5)
        assert bot.get_guild(guild.id) is None
        with pytest.raises(discord.Forbidden) as refused:
            await bot.http.get_channel(general.id)
        assert refused.value.code == 50001


async def test_the_bot_can_only_dm_people_it_shares_a_server_with(
    emulator: Emulator, guild: Guild
) -> None:
    """A DM to someone who left every server the bot is in is refused with 50007."""
    ana = await emulator.add_member(guild, "Ana")
    bob = await emulator.add_member(guild, "Bob")
    bot = make_bot()
    async with running(emulator, bot):
        await emulator.remove_member(guild, ana)
        await (await bot.fetch_user(bob.id)).send("still here")
        with pytest.raises(discord.Forbidden) as refused:
            await (await bot.fetch_user(ana.id)).send("hello?")
        assert refused.value.code == 50007
