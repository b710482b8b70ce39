"""How many bytes the ledger holds per pair of members, and what one message costs to record.

Builds PAIRS pairs among MEMBERS members in one guild through `Ledger.record_message`, each
pair with a reply both ways within four weeks (both directions, pending items, period counters
and channel activity all populated), and measures the growth with tracemalloc: everything the
ledger holds, the process-wide bounded recent window included. It also prints the pair store
alone, since the rest grows with members, not pairs.

    .venv/bin/python bench/ledger_memory.py [--pairs 200000] [--members 20000]

Last line: {"bench": "ledger_memory", "pairs": ..., "bytes_per_pair": ...}
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapport.store.base import Doc, FlushStats, Store
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

GUILD = 1
START = datetime(2026, 9, 1, tzinfo=UTC)


class NullStore(Store):
    """Takes nothing: the bench measures the ledger, not a backend."""

    async def open(self) -> None:
        """Nothing to open."""

    async def guild_ids(self) -> set[int]:
        """No guilds."""
        return set()

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Nothing stored."""
        return {}

    def put(self, table: str, guild_id: int, key: str, doc: Mapping[str, Any]) -> None:
        """Drop the write."""

    def delete(self, table: str, guild_id: int, key: str) -> None:
        """Drop the removal."""

    async def delete_guild(self, guild_id: int) -> None:
        """Nothing to remove."""

    async def flush(self) -> FlushStats:
        """Nothing to flush."""
        return FlushStats(0, 0.0)

    async def claim(self, key: str, owner: str, until: datetime, now: datetime) -> bool:
        """Always granted."""
        return True

    async def release(self, key: str, owner: str) -> None:
        """Nothing held."""

    async def drop_claims(self, prefix: str) -> int:
        """Nothing held."""
        return 0

    async def prune_claims(self, now: datetime) -> int:
        """Nothing held."""
        return 0

    async def close(self) -> None:
        """Nothing open."""


def messages(pairs: int, members: int, seed: int = 7) -> list[MessageFacts]:
    """A reply each way for `pairs` distinct pairs over four weeks, in time order.

    Each member posts in three "home" channels of 40, as people do.
    """
    rng = random.Random(seed)
    ids = [10**17 + i * 7919 for i in range(members)]
    homes = {m: rng.sample(range(500, 540), 3) for m in ids}
    seen: set[tuple[int, int]] = set()
    events: list[tuple[datetime, int, int]] = []
    while len(seen) < pairs:
        a, b = rng.sample(ids, 2)
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        at = START + timedelta(seconds=rng.randrange(28 * 86400))
        events.append((at, a, b))
        events.append((at + timedelta(minutes=rng.randrange(1, 3000)), b, a))
    events.sort()
    return [
        MessageFacts(
            guild_id=GUILD,
            channel_id=rng.choice(homes[author]),
            message_id=time_snowflake(at) + n % 4096,
            author_id=author,
            at=at,
            reply_to_id=target,
        )
        for n, (at, author, target) in enumerate(events)
    ]


_PAYLOAD = json.dumps(
    {
        "op": 0,
        "t": "MESSAGE_CREATE",
        "s": 42,
        "d": {
            "id": "1311111111111111111",
            "channel_id": "1311111111111111112",
            "guild_id": "1311111111111111113",
            "author": {"id": "1311111111111111114", "username": "ana", "avatar": "a" * 32},
            "member": {"roles": ["1311111111111111115"], "joined_at": "2026-01-01T00:00:00+00:00"},
            "content": "sounds good, thanks for the review!",
            "timestamp": "2026-11-26T07:00:00.000000+00:00",
            "mentions": [{"id": "1311111111111111116", "username": "bob", "avatar": None}],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "type": 19,
            "message_reference": {"message_id": "1311111111111111100"},
        },
    }
)


def json_loads_us(n: int = 50_000) -> float:
    """CPU µs for the stdlib to decode one small MESSAGE_CREATE payload.

    A yardstick of this machine's speed at the time of the run (the machines are shared),
    so µs per message can be compared across runs.
    """
    start = time.process_time()
    for _ in range(n):
        json.loads(_PAYLOAD)
    return (time.process_time() - start) / n * 1e6


def pair_store_bytes(ledger: Ledger) -> int:
    """What the pairs alone hold: the per-member partner arrays and packed records."""
    g = ledger.guilds.by_id[GUILD]
    return sum(
        sys.getsizeof(x) for arrays in (g.up, g.recs, g.down) for x in arrays if x is not None
    )


def main() -> None:
    """Print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=20_000)
    args = parser.parse_args()

    batch = messages(args.pairs, args.members)

    # Speed without tracemalloc (it slows allocation several times); CPU time, because the
    # machine is shared.
    timed = Ledger(NullStore())
    start = time.process_time()
    for m in batch:
        timed.record_message(m)
    per_message_us = (time.process_time() - start) / len(batch) * 1e6
    del timed
    gc.collect()
    yardstick = json_loads_us()

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    ledger = Ledger(NullStore())
    for m in batch:
        ledger.record_message(m)
    ledger.stage()  # the NullStore drops the docs; clears the dirty sets as in production
    gc.collect()
    after = tracemalloc.take_snapshot()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    by_file = sorted(after.compare_to(before, "filename"), key=lambda s: -s.size_diff)[:5]
    tracemalloc.stop()

    pairs = ledger.pair_count(GUILD)
    print(f"messages recorded:      {len(batch):,}")
    print(f"members:                {len(ledger.members(GUILD)):,}")
    print(f"pairs:                  {pairs:,}")
    store_bytes = pair_store_bytes(ledger)
    print(f"record_message:         {per_message_us:.2f} µs CPU per message (no tracemalloc)")
    print(f"json.loads yardstick:   {yardstick:.2f} µs CPU per MESSAGE_CREATE payload")
    print(f"ledger memory:          {grown / 2**20:.1f} MiB, {grown / pairs:.0f} bytes per pair")
    print(f"  pairs alone:          {store_bytes / pairs:.0f} bytes per pair (sys.getsizeof)")
    print("  the rest:             per member (activity, periods, pending, index) and bounded")
    print(
        f"                        windows: {(grown - store_bytes) / len(ledger.members(GUILD)):.0f}"
        " bytes per member"
    )
    for s in by_file:
        print(f"  {s.size_diff / 2**20:8.1f} MiB  {s.traceback[0].filename}")
    print(
        json.dumps(
            {
                "bench": "ledger_memory",
                "pairs": pairs,
                "bytes_per_pair": round(grown / pairs, 1),
                "pair_store_bytes_per_pair": round(store_bytes / pairs, 1),
                "us_per_message": round(per_message_us, 2),
                "json_loads_us": round(yardstick, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
