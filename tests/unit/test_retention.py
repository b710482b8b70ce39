"""Retention drops what is older than [tracking] retain, and the store forgets it too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapport.runtime.flush import FlushLoop
from rapport.runtime.retention import Retention
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
G = 1


def reply(message_id: int, author: int, to: int, at: datetime) -> MessageFacts:
    return MessageFacts(
        guild_id=G, channel_id=5, message_id=message_id, author_id=author, at=at, reply_to_id=to
    )


async def test_pairs_silent_longer_than_retention_are_dropped_and_persisted() -> None:
    """A pair last seen 400 days ago goes; a pair seen last week stays; the store agrees."""
    store = MemoryStore()
    ledger = Ledger(store)
    flusher = FlushLoop(store, 60)
    flusher.add_stager(ledger.stage)
    ledger.record_message(reply(1, 10, 20, NOW - timedelta(days=400)))
    ledger.record_message(reply(2, 30, 40, NOW - timedelta(days=7)))
    await flusher.flush()
    assert ledger.pair_count(G) == 2

    removed = await Retention(ledger, flusher, timedelta(days=365), lambda: NOW).apply_retention()
    assert removed >= 1
    assert ledger.pair(G, 10, 20) is None
    assert ledger.pair(G, 30, 40) is not None

    reloaded = Ledger(store)
    await reloaded.load_guild(G)
    assert reloaded.pair(G, 10, 20) is None
    assert reloaded.pair(G, 30, 40) is not None
