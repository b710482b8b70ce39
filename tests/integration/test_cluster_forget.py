"""Forget everywhere in a cluster: the guilds another process holds in memory are forgotten by
that process (it would otherwise write its held state back), with real `bot.py` processes on one
PostgreSQL database (harness: test_cluster.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from sandbox import Emulator
from tests.integration.test_cluster import (
    BotProcess,
    add_server,
    database,
    emulator,
    running,
    servers_on_shards,
    tails,
    write_config,
)
from tests.timing import until

__all__ = ["database", "emulator"]  # fixtures, imported to be used here
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def stored_guilds(dsn: str) -> set[int]:
    """The guilds with documents in the shared database (bot.py's schema "rapport")."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch('SELECT DISTINCT guild_id FROM "rapport".documents')
    finally:
        await conn.close()
    return {r["guild_id"] for r in rows}


def exported(reply: object) -> dict:
    (_name, blob) = reply.files[0]  # type: ignore[attr-defined]
    return json.loads(blob)


async def test_forget_everywhere_reaches_the_guild_another_process_owns(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    """Ana, in a shard-0 and a shard-1 server, forgets everywhere from her DM (which reaches
    the shard-0 process): the shard-1 process drops her from the state it holds, keeps it
    dropped through its flushes, and a restart of it finds nothing of her either."""
    at0, at1 = servers_on_shards(emulator, 2)
    zero = await add_server(emulator, "zero", at0, 2)
    one = await add_server(emulator, "one", at1, 1)
    ana, bob = zero.members
    (cat,) = one.members
    ana1 = await emulator.add_member(one.guild, "Ana", user=ana.user)
    a = BotProcess("shard-0", write_config(tmp_path / "a", emulator, database), "0", 2)
    b = BotProcess("shard-1", write_config(tmp_path / "b", emulator, database), "1", 2)
    async with running(a, b):
        await a.start()
        await b.start()
        await a.ready()
        await b.ready()
        at = datetime.now(UTC) - timedelta(days=2)
        post = await emulator.say(bob, zero.general, "draft is up", at=at)
        await emulator.say(ana, zero.general, "looks great", reply_to=post, at=at)
        question = await emulator.say(cat, one.general, "any ideas?", at=at)
        await emulator.say(ana1, one.general, "try this", reply_to=question, at=at)
        await emulator.sync()
        before = exported(await emulator.slash(ana1, one.guild, "rapport export", {}))
        assert [r["other_id"] for r in before["ledger"]["relationships"]] == [cat.id]

        # What the owner holds reaches the database with its next flush (1 s here).
        async def one_stored() -> bool:
            return one.guild.id in await stored_guilds(database)

        await until(
            one_stored,
            "the shard-1 process never stored its guild",
            also=b.alive,
            explain=tails(a, b),
            every=0.2,
        )
        ask = await emulator.slash(ana, None, "rapport forget", {"scope": "everywhere"})
        assert "in every server that runs it" in ask.text
        done = await emulator.click(ana, ask.message, "rapport:forget:confirm")
        assert "another Rapport process" in done.text, a.output[-3000:]
        await until(
            lambda: "applied 1 of 1 digest click(s)" in b.output,
            "the shard-1 process never applied the forget",
            also=b.alive,
            explain=tails(a, b),
            every=0.1,
        )
        after = exported(await emulator.slash(ana1, one.guild, "rapport export", {}))
        assert after["ledger"].get("relationships") == []
        assert after["settings"]["tracked"] is False
        cats = exported(await emulator.slash(cat, one.guild, "rapport export", {}))
        assert cats["ledger"].get("relationships") == []

        assert await b.stop() == 0, b.output
        b2 = BotProcess("shard-1 again", b.config, "1", 2)
        async with running(b2):
            await b2.start()
            await b2.ready()
            again = exported(await emulator.slash(ana1, one.guild, "rapport export", {}))
            assert again["ledger"].get("relationships") == []
            assert await b2.stop() == 0, b2.output
        zeros = exported(await emulator.slash(bob, zero.guild, "rapport export", {}))
        assert zeros["ledger"].get("relationships") == []
        assert await a.stop() == 0, a.output
