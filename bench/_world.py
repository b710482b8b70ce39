"""The synthetic guild the scan and scale benchmarks share: members, pairs, waiting replies."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

GUILD = 1
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CHANNELS = (11, 12, 13, 14)


def populate(
    ledger: Ledger, members: int, pairs: int, *, seed: int = 7, contacts: tuple[int, ...] = (7, 0)
) -> list[int]:
    """Fill `ledger` with `pairs` random pairs that replied both ways `contacts` days before their
    last contact (1 to 45 days ago), and a waiting reply for every tenth member; returns the ids.
    """
    rng = random.Random(seed)
    ids = [10_000 + i for i in range(members)]
    seen: set[tuple[int, int]] = set()
    mid = time_snowflake(NOW - timedelta(days=90))
    while len(seen) < pairs:
        a, b = rng.sample(ids, 2)
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        last = NOW - timedelta(days=rng.choice((1, 3, 10, 30, 45)))
        channel = rng.choice(CHANNELS)
        for back in contacts:
            at = last - timedelta(days=back)
            for actor, target in ((a, b), (b, a)):
                mid += 1
                ledger.record_message(
                    MessageFacts(GUILD, channel, mid, actor, at, reply_to_id=target)
                )
    for m in ids[::10]:  # someone waits for an answer from every tenth member
        other = rng.choice(ids)
        if other != m:
            mid += 1
            at = NOW - timedelta(days=2)
            ledger.record_message(MessageFacts(GUILD, CHANNELS[0], mid, other, at, reply_to_id=m))
    return ids
