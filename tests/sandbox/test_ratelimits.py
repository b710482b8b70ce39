"""Discord's rate limits in the emulator: shared buckets per major parameter, 429s, the global limit.

The first tests read the headers as any HTTP client would; the last ones run discord.py's own
client and check it waits where Discord would refuse, and that nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

import app
from sandbox import Emulator
from sandbox.clock import SandboxClock
from tests.sandbox.conftest import make_bot, running

POST = "POST /channels/{channel_id}/messages"
PATCH = "PATCH /channels/{channel_id}/messages/{message_id}"


@pytest.fixture
async def timed() -> AsyncIterator[tuple[Emulator, SandboxClock]]:
    """An emulator on a sandbox clock the test moves."""
    clock = SandboxClock()
    emu = Emulator(interaction_timeout=1.0, clock=clock)
    await emu.start()
    guild = emu.add_guild("Sandbox")
    emu.add_channel(guild, "general")
    emu.add_channel(guild, "design")
    with app.endpoints_restored():
        app.point_discord_at(emu.api_base, emu.gateway_url)
        try:
            yield emu, clock
        finally:
            await emu.stop()
    assert not emu.contract_violations


async def call(
    emu: Emulator, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    """One raw request as the bot would send it: status, headers, decoded body."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            f"{emu.api_base}/api/v10{path}",
            json=body,
            headers={"Authorization": f"Bot {emu.token}"},
        ) as answer,
    ):
        return answer.status, dict(answer.headers), await answer.json()


async def test_routes_in_one_bucket_share_its_count_per_channel(
    timed: tuple[Emulator, SandboxClock],
) -> None:
    """Posting and editing in one channel count against one bucket; another channel has its own."""
    emu, _ = timed
    guild = emu.guilds[0]
    general, design = emu.channel(guild, "general").id, emu.channel(guild, "design").id
    emu.limit_bucket(POST, limit=3, window=60)
    status, first, posted = await call(
        emu, "POST", f"/channels/{general}/messages", {"content": "a"}
    )
    assert status == 200
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("3", "2")
    edit_path = f"/channels/{general}/messages/{posted['id']}"
    _, edited, _ = await call(emu, "PATCH", edit_path, {"content": "b"})
    assert edited["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]
    assert edited["X-RateLimit-Remaining"] == "1"
    _, elsewhere, _ = await call(emu, "POST", f"/channels/{design}/messages", {"content": "c"})
    assert elsewhere["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]
    assert elsewhere["X-RateLimit-Remaining"] == "2"
    _, reading, _ = await call(emu, "GET", f"/channels/{general}/messages")
    assert reading["X-RateLimit-Bucket"] != first["X-RateLimit-Bucket"]
    assert 59 < float(first["X-RateLimit-Reset-After"]) <= 60
    assert float(first["X-RateLimit-Reset"]) == pytest.approx(time.time() + 60, abs=5)


async def test_an_exhausted_bucket_answers_429_until_the_sandbox_clock_resets_it(
    timed: tuple[Emulator, SandboxClock],
) -> None:
    """Past the limit Discord answers 429 with retry_after; once the window passes, it serves."""
    emu, clock = timed
    general = emu.channel(emu.guilds[0], "general").id
    emu.limit_bucket(POST, limit=1, window=30)
    assert (await call(emu, "POST", f"/channels/{general}/messages", {"content": "a"}))[0] == 200
    status, headers, body = await call(emu, "GET", f"/channels/{general}/messages")
    assert status == 200  # reading is another bucket
    status, headers, body = await call(
        emu, "PATCH", f"/channels/{general}/messages/{emu.messages_sent}", {"content": "b"}
    )
    assert status == 429
    assert body["global"] is False
    assert body["message"] == "You are being rate limited."
    assert 29 < body["retry_after"] <= 30
    assert headers["X-RateLimit-Scope"] == "user"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Global" not in headers
    await clock.advance(seconds=31)
    assert (await call(emu, "POST", f"/channels/{general}/messages", {"content": "c"}))[0] == 200
    assert emu.ratelimits.refused == [(PATCH, "user")]


async def test_the_global_limit_spares_interaction_routes(
    timed: tuple[Emulator, SandboxClock],
) -> None:
    """Past 50 requests a second every route gets the global 429, interaction webhooks aside."""
    emu, _ = timed
    emu.ratelimits.set_global(2)
    for _ in range(2):
        assert (await call(emu, "GET", "/users/@me"))[0] == 200
    status, headers, body = await call(emu, "GET", "/gateway/bot")
    assert status == 429
    assert body["global"] is True
    assert 0 < body["retry_after"] <= 1
    assert (headers["X-RateLimit-Global"], headers["X-RateLimit-Scope"]) == ("true", "global")
    assert "X-RateLimit-Bucket" not in headers
    # An interaction's webhook is not bound by it (an unknown token: 404, not 429).
    status, _, body = await call(emu, "POST", f"/webhooks/{emu.application_id}/nope", {})
    assert (status, body["code"]) == (404, 10062)


async def test_a_shared_resource_limit_says_so(timed: tuple[Emulator, SandboxClock]) -> None:
    """A busy resource answers scope 'shared', which Discord does not count against the bot."""
    emu, _ = timed
    general = emu.channel(emu.guilds[0], "general").id
    emu.rate_limit(POST, retry_after=0.05, scope="shared")
    status, headers, body = await call(
        emu, "POST", f"/channels/{general}/messages", {"content": "a"}
    )
    assert status == 429
    assert headers["X-RateLimit-Scope"] == "shared"
    assert body == {
        "message": "The resource is being rate limited.",
        "retry_after": 0.05,
        "global": False,
    }


async def test_discord_py_waits_on_a_shared_bucket_and_loses_nothing(
    timed: tuple[Emulator, SandboxClock],
) -> None:
    """Posts and edits in one channel share a bucket of one a window: the client queues them."""
    emu, _ = timed
    general = emu.channel(emu.guilds[0], "general")
    emu.limit_bucket(POST, limit=1, window=0.05)
    bot = make_bot()
    async with running(emu, bot):
        channel = bot.get_channel(general.id)
        # One post and one edit: discord.py learns from the headers that both share a bucket.
        first = await channel.send("post 0")
        await first.edit(content="post 0, edited")
        learned = len(emu.ratelimits.refused)
        earlier = [await channel.send(f"post {n}") for n in (1, 2)]
        # Now posts and edits at once: Discord would refuse any that came before their turn.
        await asyncio.gather(
            *(m.edit(content=f"{m.content}, edited") for m in earlier),
            *(channel.send(f"post {n}, edited") for n in (3, 4)),
        )
    texts = sorted(m.content for m in emu.channel_messages(general))
    assert texts == [f"post {n}, edited" for n in range(5)]
    assert emu.ratelimits.refused[learned:] == []
    writes = [r for r in emu.requests if r.route in (POST, PATCH)]
    assert len(writes) == 5 + 3 + learned


async def test_discord_py_waits_out_the_global_limit_and_sends_each_message_once(
    timed: tuple[Emulator, SandboxClock],
) -> None:
    """Over the global limit discord.py pauses every route, then sends each message once."""
    emu, _ = timed
    design = emu.channel(emu.guilds[0], "design")
    bot = make_bot()
    async with running(emu, bot):
        emu.ratelimits.set_global(3)
        channel = bot.get_channel(design.id)
        for n in range(5):
            await channel.send(f"note {n}")
    assert [m.content for m in emu.channel_messages(design)] == [f"note {n}" for n in range(5)]
    assert ("POST /channels/{channel_id}/messages", "global") in emu.ratelimits.refused
