"""The ledger's retention and privacy side: prune old data, forget a member everywhere.

Handed the ledger's state (`HeldGuilds`) by `rapport.tracking.ledger.Ledger`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rapport.tracking import _pairs
from rapport.tracking._memory import HeldGuilds
from rapport.tracking._records import pending_keep
from rapport.tracking._state import SHIFT, Guild

_NEWCOMER_KEEP = 30 * 86400
_PERIOD_KEEP_DAYS = 13 * 31
_CAP_DAYS = 3


class LedgerRetention:
    """Retention and privacy over the ledger's guilds."""

    def __init__(self, guilds: HeldGuilds, *, pending_ttl: int) -> None:
        self.guilds = guilds
        self.pending_ttl = pending_ttl

    def prune(self, now: datetime, retain: timedelta) -> int:
        """Drop what is older than retention; returns how many records went.

        Pairs silent longer than `retain`, expired pending items, period counters older than
        13 months, newcomer records older than 30 days, channel activity older than `retain`
        and the out-of-order cap counts of past days.
        """
        t = int(now.timestamp())
        cutoff = t - int(retain.total_seconds())
        today = t // 86400
        n = 0
        for g in self.guilds.by_id.values():
            for x, y, raw in list(g.iter_pairs()):
                if _pairs.last_activity(_pairs.RECORD.unpack(raw)) < cutoff:
                    g.drop_pair(x, y)
                    n += 1
            for owner, buf in list(g.pending.items()):
                kept, gone = pending_keep(buf, lambda it: it[4] < t - self.pending_ttl)
                if gone:
                    n += len(gone)
                    g.set_pending(owner, kept)
            _, oldest_month, _, _ = _pairs.day_info(today - _PERIOD_KEEP_DAYS)
            for key, seg in list(g.periods.items()):
                if seg.month < oldest_month:
                    g.pday = -1
                    del g.periods[key]
                    g.d_periods.update((key, mid) for mid in seg.slots)
                    g.board_fresh.update(seg.slots)
                    n += len(seg.slots)
            for mid, rec in list(g.newcomers.items()):
                if rec[0] < t - _NEWCOMER_KEEP:
                    del g.newcomers[mid]
                    g.d_newcomers.add(mid)
                    n += 1
            for mid, m in list(g.members.items()):
                changed = m.drop_channels_before(cutoff)
                if m.last_share and m.last_share < cutoff:
                    m.last_share = 0
                    changed = True
                if changed:
                    g.d_members.add(mid)
                if m.empty():
                    del g.members[mid]
                    g.d_members.add(mid)
                    n += 1
            g.caps = {k: v for k, v in g.caps.items() if k >> 64 >= today - _CAP_DAYS}
        return n

    def forget_member(self, guild_id: int, member_id: int) -> None:
        """Remove everything about a member in a guild, as actor and as target."""
        g = self.guilds.get(guild_id)
        if g is None:
            return
        a = g.idx.get(member_id)
        if a is not None:
            for b in g.partners(a):
                d = g.direction(a, b)
                v = _pairs.RECORD.unpack(g.get_pair(a, b))  # type: ignore[arg-type]
                # The other's "distinct people" counted this member: take them back out.
                for is_week, number in _pairs.given_periods(v, _pairs.DIR - d):
                    self._unpeople(g, g.ids[b], _pairs.period_key(is_week, number), is_week)
                g.drop_pair(a, b)
            g.caps = {k: v for k, v in g.caps.items() if not self._cap_has(k, a)}
        if g.pending.pop(member_id, None) is not None:
            g.d_pending.add(member_id)
        for owner, buf in list(g.pending.items()):
            kept, gone = pending_keep(buf, lambda it: it[0] == member_id)
            if gone:
                g.set_pending(owner, kept)
        if g.newcomers.pop(member_id, None) is not None:
            g.d_newcomers.add(member_id)
        for mid, rec in g.newcomers.items():
            if member_id in rec[2]:
                rec[2].discard(member_id)
                g.d_newcomers.add(mid)
        for key, seg in g.periods.items():
            if seg.drop(member_id):
                g.d_periods.add((key, member_id))
        if g.members.pop(member_id, None) is not None:
            g.d_members.add(member_id)
        for mid, m in g.members.items():
            if m.cadence and m.cadence.pop(member_id, None) is not None:
                g.d_members.add(mid)
        self.guilds.recent.update_values(
            lambda seen: tuple(
                k for k in seen if member_id not in (k >> 72, (k >> 8) & 0xFFFFFFFFFFFFFFFF)
            )
        )
        self.guilds.reacts.keep_if(lambda k, _: not (k[0] == guild_id and k[2] == member_id))
        self.guilds.shares.keep_if(lambda k, v: not (k[0] == guild_id and v[0] == member_id))

    @staticmethod
    def _unpeople(g: Guild, member: int, period: str, is_week: bool) -> None:
        """Take one person out of the member's distinct people of a period."""
        field = 1 if is_week else 2
        for seg in g.periods.values():
            if (seg.week if is_week else seg.month) == period:
                i = seg.slots.get(member)
                if i is not None and seg.counts[i + field]:
                    seg.add(member, field, -1)
                    return

    @staticmethod
    def _cap_has(ckey: int, a: int) -> bool:
        pair = (ckey >> 1) & ((1 << 2 * SHIFT) - 1)
        return a in (pair >> SHIFT, pair & ((1 << SHIFT) - 1))
