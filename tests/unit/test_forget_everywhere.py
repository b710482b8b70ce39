"""Forget everywhere over two processes' services sharing one store: each guild's owner forgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapport.compose import Services, build_services
from rapport.settings.config import settings_from_mapping
from rapport.store.memory import MemoryStore
from rapport.tracking.model import MessageFacts, time_snowflake

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ZERO, ONE, NEVER = 2 << 22, 3 << 22, 4 << 22  # guilds on shards 0, 1 and 0 of 2
ANA, BOB, CY = 10, 20, 30


def process(store: MemoryStore, shard: int) -> Services:
    """One cluster process's core: shard `shard` of 2, on the shared store."""
    settings = settings_from_mapping(
        {"discord": {"token": "x", "shard_ids": [shard], "shard_count": 2}}
    )
    return build_services(settings, store, lambda: NOW)


def reply(guild_id: int, author: int, to: int, days_ago: float) -> MessageFacts:
    at = NOW - timedelta(days=days_ago)
    return MessageFacts(
        guild_id=guild_id,
        channel_id=500,
        message_id=time_snowflake(at) + author,
        author_id=author,
        at=at,
        reply_to_id=to,
    )


async def test_each_owner_forgets_the_member_in_its_own_guilds() -> None:
    """Asked in the shard-0 process: it forgets Ana in its guild at once and hands the shard-1
    guild to its owner, which drops her from what it holds and from the store; a guild she was
    never in gets no record of her."""
    store = MemoryStore()
    a, b = process(store, 0), process(store, 1)
    for services, guild_id in ((a, ZERO), (a, NEVER), (b, ONE)):
        await services.open_guild(guild_id)
    a.ledger.record_message(reply(ZERO, BOB, ANA, 3))
    a.ledger.record_message(reply(NEVER, BOB, CY, 3))
    b.ledger.record_message(reply(ONE, ANA, CY, 2))
    await a.flusher.flush()
    await b.flusher.flush()

    done = await a.privacy.forget_everywhere(ANA)
    assert (done.forgotten, done.handed_over) == (1, 1)
    assert not a.ledger.knows(ZERO, ANA)
    assert b.ledger.knows(ONE, ANA)  # until its owner applies the request
    assert b.relay is not None
    assert await b.relay.apply_owned() == 1
    assert not b.ledger.knows(ONE, ANA)
    assert not b.members.preferences(ONE, ANA).tracked
    assert ANA not in a.members.known(NEVER)
    await b.flusher.flush()
    fresh = process(store, 1)
    await fresh.open_guild(ONE)
    assert not fresh.ledger.knows(ONE, ANA)
    assert fresh.ledger.knows(ONE, CY)
