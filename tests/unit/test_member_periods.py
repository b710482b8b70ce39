"""One member's leaderboard counters, read from their own slots, match the guild-wide read.

An export reads a member's counters in every period; summing every member's for each period
took 99 s at 100,000 members (bench/commands.py), so the ledger reads the member's own slots.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench._world import GUILD, populate
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

START = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # a Monday; weeks cross October/November


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    """Three hundred members, three thousand pairs, and a month of replies across two months."""
    ledger = Ledger(MemoryStore())
    ids = populate(ledger, 300, 3000, seed=3)
    for n in range(400):
        at = START + timedelta(hours=n * 2)
        actor, target = ids[n % 37], ids[(n * 7) % 300]
        if actor != target:
            ledger.record_message(
                MessageFacts(GUILD, 11, time_snowflake(at) + n, actor, at, reply_to_id=target)
            )
    return ledger


@pytest.mark.parametrize("member", [10_000, 10_001, 10_036, 10_150, 10_299, 99])
def test_a_members_periods_equal_their_row_in_each_periods_board(
    ledger: Ledger, member: int
) -> None:
    """Every period (weeks and months) holds the same counters either way, and no other."""
    own = ledger.reads.member_period_stats(GUILD, member)
    everyone = {
        period: stats[member]
        for period in ledger.periods(GUILD)
        if member in (stats := ledger.period_stats(GUILD, period))
    }
    assert own == everyone
    assert list(own) == sorted(own)
    if member != 99:  # a stranger has no counters at all
        assert any("-W" in p for p in own)
        assert any("-W" not in p for p in own)
