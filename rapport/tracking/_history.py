"""The ledger's history side: backfill coverage, and taking back deleted or removed things.

Handed the ledger's state (`HeldGuilds`) and its writer by `rapport.tracking.ledger.Ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from rapport.tracking import _answers, _pairs
from rapport.tracking._memory import HeldGuilds
from rapport.tracking._records import pending_keep
from rapport.tracking.model import MessageFacts

if TYPE_CHECKING:
    from rapport.tracking.ledger import LedgerWriter

_REACTION = 2
_REACTION_WEIGHT = 0.25


class LedgerHistory:
    """Coverage and take-backs over the ledger's guilds."""

    def __init__(self, guilds: HeldGuilds, writer: LedgerWriter, *, half_life: float) -> None:
        self.guilds = guilds
        self.writer = writer
        self.half_life = half_life

    def record_history(
        self, guild_id: int, channel_id: int, messages: Iterable[MessageFacts], lo: int, hi: int
    ) -> int:
        """Record one page of history and mark ids lo..hi of the channel as recorded.

        `channel_id` is the message channel (the thread, for thread history). Call it with
        no await between reading the page and this call, so a flush never sees half a page;
        a replayed page is then a no-op, which makes backfill idempotent and resumable.
        """
        if self.guilds.loading and self.guilds.defer(
            guild_id, partial(self.record_history, guild_id, channel_id, list(messages), lo, hi)
        ):
            return 0
        g = self.guilds.open(guild_id)
        n = sum(self.writer.record_message(m, live=False) for m in messages)
        g.cover(channel_id, lo, hi)
        return n

    def mark_covered(self, guild_id: int, channel_id: int, lo: int, hi: int) -> None:
        """Declare message ids lo..hi of a message channel recorded."""
        self.guilds.open(guild_id).cover(channel_id, lo, hi)

    def live_restarted(self, guild_ids: Iterable[int] | None = None) -> None:
        """A new gateway session began (on_ready, not a resume): events may have been lost.

        Closes the live intervals, so history read later fills the gap instead of being
        taken for recorded.
        """
        for gid in list(self.guilds.by_id) if guild_ids is None else guild_ids:
            g = self.guilds.get(gid)
            if g is not None:
                g.live.clear()

    def withdraw_message(self, guild_id: int, message_id: int) -> int:
        """A message was deleted: drop the pending items it created; returns how many."""
        if self.guilds.loading and self.guilds.defer(
            guild_id, partial(self.withdraw_message, guild_id, message_id)
        ):
            return 0
        g = self.guilds.get(guild_id)
        if g is None:
            return 0
        seen = self.guilds.recent.get(message_id)
        owners = list(g.pending) if seen is None else [(k >> 8) & 0xFFFFFFFFFFFFFFFF for k in seen]
        n = 0
        for owner in owners:
            buf = g.pending.get(owner)
            if buf and message_id.to_bytes(8, "little") in buf:
                kept, gone = pending_keep(buf, lambda it: it[2] == message_id)
                n += len(gone)
                g.set_pending(owner, kept)
                for it in gone:  # never answered, and no longer asking
                    if it[5] & _answers.COUNTED:
                        _answers.change(g, owner, it[0], _answers.unowe_into)
        self.guilds.shares.pop((guild_id, message_id), None)
        return n

    def remove_reaction(
        self, guild_id: int, actor_id: int, target_id: int, message_id: int, at: datetime
    ) -> bool:
        """Take a reaction back (called per emoji removed; counts when the member's last goes).

        A thanks item the reaction left on that message is withdrawn too.
        """
        if self.guilds.loading and self.guilds.defer(
            guild_id, partial(self.remove_reaction, guild_id, actor_id, target_id, message_id, at)
        ):
            return True
        g = self.guilds.get(guild_id)
        if g is None or actor_id == target_id:
            return False
        rkey = (guild_id, message_id, actor_id)
        n = self.guilds.reacts.get(rkey)
        if n is not None:
            if n > 1:
                self.guilds.reacts[rkey] = n - 1
                return False
            self.guilds.reacts.pop(rkey)
        a, b = g.idx.get(actor_id), g.idx.get(target_id)
        if a is None or b is None:
            return False
        lo, hi = (a, b) if a < b else (b, a)
        i, raw = g.find(lo, hi)
        if raw is None:
            return False
        d = g.direction(a, b)
        new = _pairs.take_back(
            raw, d, _REACTION, int(at.timestamp()), _REACTION_WEIGHT, self.half_life
        )
        if new is raw:
            return False
        g.put_pair(lo, hi, i, new, new=False)
        g.total -= 1
        g.d_totals = True
        buf = g.pending.get(target_id)
        if buf:
            kept, gone = pending_keep(buf, lambda it: it[0] == actor_id and it[2] == message_id)
            if gone:
                g.set_pending(target_id, kept)
        return True
