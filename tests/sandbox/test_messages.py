"""Messages travel both ways between members and the real client, with Discord's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest

from sandbox import Emulator, Guild
from tests.sandbox.conftest import default_intents, make_bot, record, running


async def test_message_round_trip(emulator: Emulator, guild: Guild) -> None:
    """A member's message reaches on_message, and the bot's answer lands in the channel."""
    ana = await emulator.add_member(guild, "Ana")
    general = emulator.channel(guild, "general")
    bot = make_bot()
    seen = record(bot, "on_message")
    async with running(emulator, bot):
        await emulator.say(ana, general, "hello bot")
        await emulator.sync()
        assert [m.content for m in seen] == ["hello bot"]
        await seen[0].reply("hello Ana", embed=discord.Embed(title="Welcome"))
        posted = emulator.channel_messages(general)[-1]
        assert posted.content == "hello Ana"
        assert posted.embeds[0]["title"] == "Welcome"
        assert posted.reply_to is not None
    assert emulator.violations == []
    assert emulator.unknown_routes == []


async def test_snowflake_carries_the_chosen_time(emulator: Emulator, guild: Guild) -> None:
    """A message laid in the past has a snowflake, and so a created_at, at that time."""
    ana = await emulator.add_member(guild, "Ana")
    when = datetime(2026, 9, 1, 12, 30, tzinfo=UTC)
    bot = make_bot()
    seen = record(bot, "on_message")
    async with running(emulator, bot):
        message = await emulator.say(ana, emulator.channel(guild, "general"), "old", at=when)
        await emulator.sync()
        assert seen[0].created_at == when
        assert discord.utils.snowflake_time(message.id) == when


async def test_without_message_content_intent_guild_content_is_blank(
    emulator: Emulator, guild: Guild
) -> None:
    """Without the intent guild messages arrive empty unless they mention the bot; DMs keep it."""
    ana = await emulator.add_member(guild, "Ana")
    general = emulator.channel(guild, "general")
    intents = default_intents()
    intents.message_content = False
    bot = make_bot(intents)
    seen = record(bot, "on_message")
    async with running(emulator, bot):
        await emulator.say(ana, general, "secret", attachments=["a.png"])
        me = guild.members[emulator.bot_user.id]
        await emulator.say(ana, general, "hey", mentions=[me])
        await emulator.say(ana, emulator.dm_channel(ana.user), "in private")
        await emulator.sync()
    assert [m.content for m in seen] == ["", f"hey <@{me.id}>", "in private"]
    assert seen[0].attachments == []


def _big_embed() -> discord.Embed:
    embed = discord.Embed(title="big")
    for n in range(7):
        embed.add_field(name=f"field {n}", value="v" * 1000)
    return embed


@pytest.mark.parametrize(
    ("content", "embed", "code"),
    [("", None, 50006), ("x" * 2001, None, 50035), ("", _big_embed(), 50035)],
)
async def test_empty_or_overlong_messages_are_refused(
    emulator: Emulator, guild: Guild, content: str, embed: discord.Embed | None, code: int
) -> None:
    """Discord refuses an empty message (50006), and content over 2000 or embeds over 6000."""
    bot = make_bot()
    async with running(emulator, bot):
        channel = bot.get_channel(emulator.channel(guild, "general").id)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send(content, embed=embed)
        assert refused.value.code == code
        assert emulator.channel_messages(emulator.channel(guild, "general")) == []


async def test_dm_reaches_the_member(emulator: Emulator, guild: Guild) -> None:
    """The bot opens a DM and the member reads it, with its file, through dms_to."""
    ana = await emulator.add_member(guild, "Ana")
    bot = make_bot()
    async with running(emulator, bot):
        user = await bot.fetch_user(ana.id)
        file = discord.File(__import__("io").BytesIO(b"PNG"), filename="card.png")
        await user.send("your digest", file=file)
    (dm,) = emulator.dms_to(ana)
    assert dm.content == "your digest"
    assert dm.files == [("card.png", b"PNG")]
    assert emulator.dm_opened_count == 1
    assert emulator.violations == []


async def test_refused_dms_raise_forbidden_50007(emulator: Emulator, guild: Guild) -> None:
    """A member who refuses DMs makes the send fail with Forbidden, code 50007."""
    ana = await emulator.add_member(guild, "Ana")
    emulator.refuse_dms(ana)
    bot = make_bot()
    async with running(emulator, bot):
        user = await bot.fetch_user(ana.id)
        with pytest.raises(discord.Forbidden) as refused:
            await user.send("hi")
        assert refused.value.code == 50007
    assert emulator.dms_to(ana) == []


async def test_rate_limited_send_is_retried(emulator: Emulator, guild: Guild) -> None:
    """A 429 with retry_after makes discord.py wait and send again, once."""
    emulator.rate_limit("POST /channels/{channel_id}/messages", retry_after=0.05, times=1)
    general = emulator.channel(guild, "general")
    bot = make_bot()
    async with running(emulator, bot):
        await bot.get_channel(general.id).send("eventually")
    assert [m.content for m in emulator.channel_messages(general)] == ["eventually"]
    posts = [r for r in emulator.requests if r.route == "POST /channels/{channel_id}/messages"]
    assert len(posts) == 2


async def test_history_pages_newest_first(emulator: Emulator, guild: Guild) -> None:
    """Channel history comes back in pages, before and after a point, as discord.py expects."""
    ana = await emulator.add_member(guild, "Ana")
    general = emulator.channel(guild, "general")
    for day in range(1, 8):
        await emulator.say(ana, general, f"day {day}", at=datetime(2026, 10, day, tzinfo=UTC))
    bot = make_bot()
    async with running(emulator, bot):
        channel = bot.get_channel(general.id)
        newest = [m.content async for m in channel.history(limit=3)]
        after = [
            m.content
            async for m in channel.history(after=datetime(2026, 10, 3, 12, tzinfo=UTC), limit=2)
        ]
        everything = [m.content async for m in channel.history(limit=None, oldest_first=True)]
    assert newest == ["day 7", "day 6", "day 5"]
    assert after == ["day 4", "day 5"]
    assert everything == [f"day {d}" for d in range(1, 8)]


async def test_bad_bodies_are_recorded_as_violations(emulator: Emulator, guild: Guild) -> None:
    """An embed title over 256 characters breaks Discord's schema and is recorded."""
    bot = make_bot()
    async with running(emulator, bot):
        channel = bot.get_channel(emulator.channel(guild, "general").id)
        await channel.send(embed=discord.Embed(title="t" * 300))
    assert len(emulator.violations) == 1
    assert emulator.violations[0].path.endswith("/messages")


def test_unknown_component_type_is_a_violation(emulator: Emulator) -> None:
    """A component of a type Discord does not know fails the schema check."""
    found = emulator.spec.check("POST", "/channels/1/messages", {"components": [{"type": 99}]})
    assert found


async def test_unknown_route_answers_404_and_is_recorded(emulator: Emulator) -> None:
    """A route the emulator does not serve answers Discord's 404 and is listed."""
    bot = make_bot()
    await bot.login(emulator.token)
    try:
        with pytest.raises(discord.NotFound) as missing:
            await bot.http.request(discord.http.Route("GET", "/nowhere/{x}", x=1))
    finally:
        await bot.close()
    assert missing.value.code == 0
    assert emulator.unknown_routes == ["GET /nowhere/1"]


async def test_a_repeated_nonce_with_enforce_nonce_returns_the_first_message(
    emulator: Emulator, guild: Guild
) -> None:
    """As on Discord: a re-sent message with the same enforced nonce is not posted twice."""
    general = emulator.channel(guild, "general")
    bot = make_bot()
    async with running(emulator, bot):
        channel = bot.get_channel(general.id)
        first = await channel.send("board", nonce="n-1")
        again = await channel.send("board", nonce="n-1")
        other = await channel.send("board", nonce="n-2")
    assert again.id == first.id
    assert other.id != first.id
    assert [m.content for m in emulator.channel_messages(general)] == ["board", "board"]


async def test_a_global_rate_limit_is_waited_out_and_the_message_sent_once(
    emulator: Emulator, guild: Guild
) -> None:
    """A global 429 (every route) makes discord.py wait and retry; one message results."""
    general = emulator.channel(guild, "general")
    bot = make_bot()
    async with running(emulator, bot):
        emulator.rate_limit_globally(retry_after=0.2, times=1)
        await bot.get_channel(general.id).send("after the wait")
    posts = [r for r in emulator.requests if r.route == "POST /channels/{channel_id}/messages"]
    assert len(posts) == 2
    assert [m.content for m in emulator.channel_messages(general)] == ["after the wait"]


async def test_an_upload_over_10_mib_is_refused(emulator: Emulator, guild: Guild) -> None:
    """Discord refuses files over the 10 MiB limit with 413 (40005)."""
    import io

    general = emulator.channel(guild, "general")
    bot = make_bot()
    async with running(emulator, bot):
        channel = bot.get_channel(general.id)
        big = discord.File(io.BytesIO(b"x" * (10 * 1024 * 1024 + 1)), filename="big.json")
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send(file=big)
        assert (refused.value.status, refused.value.code) == (413, 40005)
        await channel.send(file=discord.File(io.BytesIO(b"{}"), filename="small.json"))
