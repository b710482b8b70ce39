"""Tracking: interactions in, per-pair and per-member aggregates out (the ledger), plus backfill.

Public: the values (`model`), the `Ledger`, the text signals read in memory, the backfill job.
Modules starting with "_" are the ledger's own bookkeeping and are not for other packages.
"""

from rapport.tracking.backfill import BackfillJob, BackfillService
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Interaction, Kind, MessageFacts

__all__ = ["BackfillJob", "BackfillService", "Interaction", "Kind", "Ledger", "MessageFacts"]
