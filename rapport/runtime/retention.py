"""The retention job: what is older than `[tracking] retain` is dropped, on `[schedule] retention`."""

from __future__ import annotations

import logging
from datetime import timedelta

from rapport.clock import Clock
from rapport.runtime.flush import FlushLoop
from rapport.tracking import LedgerRetention

log = logging.getLogger(__name__)


class Retention:
    """Prunes the ledger and persists the result (a privacy promise, not only housekeeping)."""

    def __init__(
        self, ledger: LedgerRetention, flusher: FlushLoop, retain: timedelta, clock: Clock
    ) -> None:
        self.ledger = ledger
        self.flusher = flusher
        self.retain = retain
        self.clock = clock

    async def apply_retention(self) -> int:
        """Drop expired records now and flush; returns how many went."""
        now = self.clock()
        removed = self.ledger.prune(now, self.retain)
        removed += await self.flusher.store.prune_claims(now)
        await self.flusher.flush()
        log.info("retention: %d records older than %s removed", removed, self.retain)
        return removed
