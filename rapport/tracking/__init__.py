"""Tracking: interactions in, per-pair and per-member aggregates out (the ledger), plus backfill.

Public: the values (`model`), the `Ledger`, the text signals read in memory, the backfill job,
who started each thread (`ThreadStarters`).
Modules starting with "_" are the ledger's own bookkeeping and are not for other packages.
"""

from rapport.tracking.backfill import BackfillJob, BackfillService
from rapport.tracking.ledger import (
    Ledger,
    LedgerHistory,
    LedgerReads,
    LedgerRetention,
    LedgerWriter,
)
from rapport.tracking.model import (
    ANSWER_TIMES,
    Answers,
    Interaction,
    Kind,
    MessageFacts,
    PairView,
    PendingItem,
    jump_url,
    snowflake_time,
)
from rapport.tracking.signals import closes_exchange, has_link, is_thanks_emoji, says_thanks
from rapport.tracking.threads import ThreadStarters

__all__ = [
    "ANSWER_TIMES",
    "Answers",
    "BackfillJob",
    "BackfillService",
    "Interaction",
    "Kind",
    "Ledger",
    "LedgerHistory",
    "LedgerReads",
    "LedgerRetention",
    "LedgerWriter",
    "MessageFacts",
    "PairView",
    "PendingItem",
    "ThreadStarters",
    "closes_exchange",
    "has_link",
    "is_thanks_emoji",
    "jump_url",
    "says_thanks",
    "snowflake_time",
]
