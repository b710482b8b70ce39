"""Turns a stream of interactions into per-pair, per-member and per-period aggregates.

One `Ledger` holds every guild the process owns, in memory. Writes are synchronous and cheap
(the tracking cog calls them from gateway listeners); `stage()` hands what changed to the
store in one batch, right before the flush loop's `await store.flush()`. Reads live in
rapport/_ledger_reads.py, retention and forgetting in rapport/_ledger_retention.py, the
packed pair record in rapport/_pairs.py, the per-guild state and its store documents in
rapport/_guild.py, the other packed records in rapport/_records.py.

Decisions:

- A message links its author to each person at most once, strongest first: reply, then
  mention, then thread answer (only when no reply or mention already links the two). A
  thanks rides on those links; a thanks reaction is recorded by the cog as a THANKS.
- Contact (last contact, contact days, usual gap, exchange starts) is replies, mentions,
  thread answers and thanks either way. Reactions add to counts and weight (0.25 of a
  reply) and clear pending items, but never create them and count nowhere on the board.
- Any interaction by a member toward someone clears that someone's pending items to the
  member that are not newer than it. A deleted message withdraws its pending items;
  aggregates keep their counts (they hold no message and fade with the half-life).
- Replays are no-ops. Each message channel keeps the id intervals already recorded: a live
  interval grows while the gateway session lasts (`live_restarted()` closes it, so a gap is
  never taken for seen), and backfill marks each page with `record_history`. A message in a
  recorded interval is skipped, except within the bounded recent window, where only the
  links it did not have before are recorded (an edit that adds a mention counts once).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from rapport import _pairs
from rapport._guild import SHIFT, Guild
from rapport._ledger_reads import LedgerReads
from rapport._ledger_retention import LedgerRetention
from rapport._records import Recent, pending_add, pending_clear, pending_keep
from rapport.model import Interaction, Kind, MessageFacts
from rapport.store.base import Store

# Count index in the pair record per kind; shares and joins have no pair.
_KI = {Kind.REPLY: 0, Kind.MENTION: 1, Kind.REACTION: 2, Kind.THREAD: 3, Kind.THANKS: 4}
_REPLY, _MENTION, _REACTION, _THREAD, _THANKS, _SHARE = 0, 1, 2, 3, 4, 5
_WEIGHT = (1.0, 1.0, 0.25, 1.0, 0.5)
_ANSWER_WINDOW = 48 * 3600
_NEWCOMER_DAYS = 7
_FIRST_MESSAGES = 3


def _ts(dt: datetime) -> int:
    """Epoch seconds of an aware datetime."""
    return int(dt.timestamp())


def _link_key(actor: int, target: int, kind: int) -> int:
    """One int for (actor, target, kind): the recent window keeps many of them."""
    return actor << 72 | target << 8 | kind


def _link_parts(key: int) -> tuple[int, int, int]:
    return key >> 72, (key >> 8) & 0xFFFFFFFFFFFFFFFF, key & 0xFF


def period_keys(at: datetime) -> tuple[str, str]:
    """The ISO week ("2026-W48") and month ("2026-11") keys of a time, by its UTC date."""
    week, month, _, _ = _pairs.day_info(_ts(at) // 86400)
    return week, month


class Ledger(LedgerReads, LedgerRetention):
    """Every owned guild's interaction aggregates, in memory, persisted through a Store."""

    def __init__(
        self,
        store: Store,
        *,
        half_life: timedelta = timedelta(days=30),
        pending_ttl: timedelta = timedelta(days=14),
        pending_limit: int = 50,
        daily_pair_cap: int = 3,
        recent_limit: int = 10_000,
    ) -> None:
        self.store = store
        self.half_life = half_life.total_seconds()
        self.pending_ttl = int(pending_ttl.total_seconds())
        self.pending_limit = pending_limit
        self.daily_pair_cap = daily_pair_cap
        self.recent_limit = recent_limit
        self._guilds: dict[int, Guild] = {}
        # Process-wide, bounded, not persisted (message ids are unique across guilds):
        # message -> links recorded from it (packed by _link_key); (guild, message, actor)
        # -> emojis on it; (guild, message) -> [author, channel, t, drawn] of recent shares.
        self._recent: Recent[int, tuple[int, ...]] = Recent(recent_limit)
        self._reacts: Recent[tuple[int, int, int], int] = Recent(recent_limit)
        self._shares: Recent[tuple[int, int], list[int]] = Recent(recent_limit)

    # ---- lifecycle -----------------------------------------------------------------------

    async def load_guild(self, guild_id: int) -> None:
        """Read one guild from the store; a no-op when it is already in memory."""
        if guild_id in self._guilds:
            return
        g = Guild(guild_id)
        await g.load(self.store)
        self._guilds[guild_id] = g

    def unload_guild(self, guild_id: int) -> None:
        """Drop a guild from memory (the bot left it); stage() first to keep its changes."""
        self._guilds.pop(guild_id, None)

    def stage(self) -> int:
        """Put every changed record into the store; returns how many documents were staged."""
        return sum(g.stage(self.store) for g in self._guilds.values())

    def _g(self, guild_id: int) -> Guild:
        g = self._guilds.get(guild_id)
        if g is None:
            # A guild never loaded is new to the store: start it empty.
            g = self._guilds[guild_id] = Guild(guild_id)
        return g

    # ---- writes --------------------------------------------------------------------------

    def record(self, interaction: Interaction) -> bool:
        """Fold one interaction in; False when ignored (self, duplicate, no target).

        For messages prefer `record_message`, which applies the linking rules; this is for
        reactions, thanks reactions, joins and callers that already derived interactions.
        """
        it = interaction
        if it.kind is Kind.JOIN:
            self.member_joined(it.guild_id, it.actor_id, it.at)
            return True
        g = self._g(it.guild_id)
        t = _ts(it.at)
        if it.kind is Kind.SHARE:
            if not self._fresh(it.message_id, _link_key(it.actor_id, 0, _SHARE)):
                return False
            self._share(g, it.actor_id, it.channel_id, it.message_id, t)
            return True
        if it.target_id is None or it.target_id == it.actor_id:
            return False
        ki = _KI[it.kind]
        if ki == _REACTION:
            rkey = (g.id, it.message_id, it.actor_id)
            n = self._reacts.get(rkey, 0)
            self._reacts[rkey] = n + 1
            if n:
                return False  # another emoji from the same member on the same message
        elif not self._fresh(it.message_id, _link_key(it.actor_id, it.target_id, ki)):
            return False
        self._link(
            g, it.actor_id, it.target_id, ki, t, it.message_id, it.thread_id or it.channel_id
        )
        return True

    def record_message(self, msg: MessageFacts, *, live: bool = True) -> int:
        """Fold in one message: activity, its links, a share; returns interactions recorded.

        Live messages extend their channel's recorded interval; backfill passes live=False
        through `record_history`. A message seen before records only links it lacked.
        """
        g = self._guilds.get(msg.guild_id) or self._g(msg.guild_id)
        mid, author = msg.message_id, msg.author_id
        mchan = msg.thread_id or msg.channel_id
        seen = self._recent.get(mid)
        ranges = g.cov.get(mchan)
        # Live messages are newer than every interval: check the last one before scanning.
        first_sight = not ranges or (
            mid > ranges[-1][1] or not any(lo <= mid <= hi for lo, hi in ranges)
        )
        if seen is None:
            if not first_sight:
                return 0
            seen = ()
        t = int(msg.at.timestamp())
        if first_sight:
            self._active(g, msg, t)
            if live:
                if ranges and mchan in g.live and mid > ranges[-1][1]:
                    ranges[-1][1] = mid
                    g.d_cov.add(mchan)
                else:
                    self._mark(g, mchan, mid, mid)
                    g.live.add(mchan)
        reply = msg.reply_to_id if msg.reply_to_id != author else None
        links: list[tuple[int, int]] = []
        if reply is not None:
            links.append((reply, _REPLY))
        if msg.mentions:
            links += [(m, _MENTION) for m in sorted(msg.mentions) if m != author and m != reply]
        starter = msg.thread_starter_id
        if (
            msg.thread_id
            and starter is not None
            and starter != author
            and starter != reply
            and starter not in msg.mentions
        ):
            links.append((starter, _THREAD))
        if msg.thanks:
            links += [(target, _THANKS) for target, _ in links]
        done = list(seen)
        for target, ki in links:
            key = author << 72 | target << 8 | ki
            if key not in seen:
                done.append(key)
                self._link(g, author, target, ki, t, mid, mchan)
        if msg.has_link or msg.has_file:
            key = _link_key(author, 0, _SHARE)
            if key not in seen:
                done.append(key)
                self._share(g, author, msg.channel_id, mid, t)
        n = len(done) - len(seen)
        if n or not seen:
            self._recent[mid] = tuple(done)
        if reply is not None and msg.reply_to_message_id is not None and first_sight:
            self._drawn(g, msg.reply_to_message_id, reply)
        return n

    def record_history(
        self, guild_id: int, channel_id: int, messages: Iterable[MessageFacts], lo: int, hi: int
    ) -> int:
        """Record one page of history and mark ids lo..hi of the channel as recorded.

        `channel_id` is the message channel (the thread, for thread history). Call it with
        no await between reading the page and this call, so a flush never sees half a page;
        a replayed page is then a no-op, which makes backfill idempotent and resumable.
        """
        g = self._g(guild_id)
        n = sum(self.record_message(m, live=False) for m in messages)
        self._mark(g, channel_id, lo, hi)
        return n

    def mark_covered(self, guild_id: int, channel_id: int, lo: int, hi: int) -> None:
        """Declare message ids lo..hi of a message channel recorded."""
        self._mark(self._g(guild_id), channel_id, lo, hi)

    def live_restarted(self, guild_ids: Iterable[int] | None = None) -> None:
        """A new gateway session began (on_ready, not a resume): events may have been lost.

        Closes the live intervals, so history read later fills the gap instead of being
        taken for recorded.
        """
        for gid in list(self._guilds) if guild_ids is None else guild_ids:
            g = self._guilds.get(gid)
            if g is not None:
                g.live.clear()

    def withdraw_message(self, guild_id: int, message_id: int) -> int:
        """A message was deleted: drop the pending items it created; returns how many."""
        g = self._guilds.get(guild_id)
        if g is None:
            return 0
        seen = self._recent.get(message_id)
        owners = list(g.pending) if seen is None else [_link_parts(k)[1] for k in seen]
        n = 0
        for owner in owners:
            buf = g.pending.get(owner)
            if buf and message_id.to_bytes(8, "little") in buf:
                kept, gone = pending_keep(buf, lambda it: it[2] == message_id)
                n += len(gone)
                g.set_pending(owner, kept)
        self._shares.pop((guild_id, message_id), None)
        return n

    def remove_reaction(
        self, guild_id: int, actor_id: int, target_id: int, message_id: int, at: datetime
    ) -> bool:
        """Take a reaction back (called per emoji removed; counts when the member's last goes).

        A thanks item the reaction left on that message is withdrawn too.
        """
        g = self._guilds.get(guild_id)
        if g is None or actor_id == target_id:
            return False
        rkey = (guild_id, message_id, actor_id)
        n = self._reacts.get(rkey)
        if n is not None:
            if n > 1:
                self._reacts[rkey] = n - 1
                return False
            self._reacts.pop(rkey)
        a, b = g.idx.get(actor_id), g.idx.get(target_id)
        if a is None or b is None:
            return False
        key, d = g.pair_key(a, b)
        raw = g.pairs.get(key)
        if raw is None:
            return False
        new = _pairs.take_back(raw, d, _REACTION, _ts(at), _WEIGHT[_REACTION], self.half_life)
        if new is raw:
            return False
        g.pairs[key] = new
        g.d_pairs.add(key)
        g.total -= 1
        g.d_totals = True
        buf = g.pending.get(target_id)
        if buf:
            kept, gone = pending_keep(buf, lambda it: it[0] == actor_id and it[2] == message_id)
            if gone:
                g.set_pending(target_id, kept)
        return True

    def member_joined(self, guild_id: int, member_id: int, at: datetime) -> None:
        """A member joined (or came back): start their newcomer record."""
        g = self._g(guild_id)
        member_id = g.canon(member_id)
        g.newcomers[member_id] = [_ts(at), [], set()]
        g.d_newcomers.add(member_id)
        m = g.members.get(member_id)
        if m is not None and m.left:
            g.member(member_id).left = False

    def member_left(self, guild_id: int, member_id: int) -> None:
        """A member left: keep their history (they may return) but flag them for the rules."""
        g = self._g(guild_id)
        g.member(member_id).left = True
        if g.newcomers.pop(member_id, None) is not None:
            g.d_newcomers.add(member_id)

    def set_cadence(
        self, guild_id: int, member_id: int, other_id: int, cadence: timedelta | None
    ) -> None:
        """Set (or clear, with None) how often the member wants to keep in touch with other."""
        m = self._g(guild_id).member(member_id)
        if cadence is None:
            if m.cadence:
                m.cadence.pop(other_id, None)
        else:
            if m.cadence is None:
                m.cadence = {}
            m.cadence[other_id] = int(cadence.total_seconds())

    # ---- the rules behind the writes -----------------------------------------------------

    def _fresh(self, message_id: int, key: int) -> bool:
        """True the first time a (message, actor, target, kind) is seen in the recent window."""
        seen = self._recent.get(message_id, ())
        if key in seen:
            return False
        self._recent[message_id] = (*seen, key)
        return True

    def _link(
        self, g: Guild, actor: int, target: int, ki: int, t: int, message_id: int, mchan: int
    ) -> None:
        """One directed interaction: pair record, pending items, periods, newcomers."""
        idx = g.idx
        a = idx.get(actor)
        if a is None:
            a = g.index(actor)
        b = idx.get(target)
        if b is None:
            b = g.index(target)
        ids = g.ids
        actor, target = ids[a], ids[b]  # the guild's own int objects, for dict keys
        if actor < target:
            key, d = a << SHIFT | b, 0
        else:
            key, d = b << SHIFT | a, _pairs.DIR
        raw = g.pairs.get(key)
        if raw is None:
            g.partners[a].append(b)
            g.partners[b].append(a)
        new, back, verdict, new_week, new_month = _pairs.bump(
            raw, d, ki, t, message_id, mchan, _WEIGHT[ki], self.half_life, self.daily_pair_cap
        )
        g.total += 1
        if t > g.latest:
            g.latest = t
        g.d_totals = True
        g.d_pairs.add(key)
        pending = g.pending
        buf = pending.get(actor)
        if buf and target.to_bytes(8, "little") in buf:
            self._clear(g, actor, target, t, answer=ki != _REACTION)
        if ki == _REACTION:
            g.pairs[key] = new
            return
        day = t // 86400
        if verdict == _pairs.OLDER_DAY:
            ckey = day << 64 | (a << SHIFT | b) << 1 | (ki == _THANKS)
            used = g.caps.get(ckey, 0)
            if used < self.daily_pair_cap:
                g.caps[ckey] = used + 1
                verdict = _pairs.COUNTED
                if ki != _THANKS:
                    new, new_week, new_month = _pairs.bump_older_day(new, d, day)
        g.pairs[key] = new
        seg = g.pseg if day == g.pday else g.segment(day)
        counts = seg.counts
        if verdict == _pairs.COUNTED:
            i = seg.slots.get(actor)
            if i is None:
                i = seg.slot(actor)
            if ki == _THANKS:
                counts[i + 5] += 1
            else:
                counts[i] += 1
                if new_week:
                    counts[i + 1] += 1
                if new_month:
                    counts[i + 2] += 1
            seg.dirty.add(actor)
        fresh = False
        if back < t:
            buf = pending.get(target)
            if buf is None:
                buf = pending[target] = bytearray()
            fresh = pending_add(
                buf, actor, ki, message_id, mchan, t, ki == _THANKS, self.pending_limit
            )
            g.d_pending.add(target)
        if ki <= _MENTION and (fresh or back >= t):
            # Inbound counts once per message (its pending item); one already answered
            # (history read out of order) is answered when the answer came within 48 h.
            i = seg.slots.get(target)
            if i is None:
                i = seg.slot(target)
            counts[i + 3] += 1
            if t < back <= t + _ANSWER_WINDOW:
                counts[i + 4] += 1
            seg.dirty.add(target)
        if ki != _THANKS and g.newcomers:
            nc = g.newcomers.get(target)
            if nc is not None and t >= nc[0] and actor not in nc[2]:
                nc[2].add(actor)
                g.d_newcomers.add(target)

    def _clear(self, g: Guild, member: int, other: int, t: int, *, answer: bool) -> None:
        """The member interacted with other at t: other's older items to the member are done.

        With `answer` (anything but a reaction) a reply or mention cleared within 48 h
        counts as answered on the leaderboard.
        """
        buf = g.pending.get(member)
        if not buf:
            return
        gone = pending_clear(buf, other, t)
        if not gone:
            return
        g.set_pending(member, buf)
        if answer:
            for it in gone:
                if it[1] in (_REPLY, _MENTION) and t - it[4] <= _ANSWER_WINDOW:
                    g.segment(it[4] // 86400).add(g.canon(member), 4)

    def _active(self, g: Guild, msg: MessageFacts, t: int) -> None:
        """The author was active in the message's (parent) channel at t."""
        author = msg.author_id
        m = g.members.get(author)
        if m is None:
            m = g.member(author)
        else:
            g.d_members.add(author)
        m.touch(msg.channel_id, t, 1, 0, 0)
        nc = g.newcomers.get(author) if g.newcomers else None
        if nc is not None and nc[0] <= t < nc[0] + _NEWCOMER_DAYS * 86400:
            first = nc[1]
            if len(first) < _FIRST_MESSAGES or t < first[-1][2]:
                first.append([msg.channel_id, msg.message_id, t, msg.thread_id or 0])
                first.sort(key=lambda f: f[2])
                del first[_FIRST_MESSAGES:]
                g.d_newcomers.add(author)

    def _share(self, g: Guild, author: int, channel: int, message_id: int, t: int) -> None:
        """A link or file from the author in a channel."""
        m = g.member(author)
        if t > m.last_share:
            m.last_share = t
        m.touch(channel, t, 0, 1, 0)
        self._shares[(g.id, message_id)] = [author, channel, t, 0]
        g.total += 1
        g.d_totals = True

    def _drawn(self, g: Guild, share_message: int, author: int) -> None:
        """A reply to a recent share of the author's: the share drew a reply."""
        sh = self._shares.get((g.id, share_message))
        if sh is None or sh[0] != author:
            return
        g.member(author).touch(sh[1], 0, 0, 0, 1)
        if not sh[3]:
            sh[3] = 1
            g.segment(sh[2] // 86400).add(g.canon(author), 6)

    def _mark(self, g: Guild, mchan: int, lo: int, hi: int) -> None:
        """Add lo..hi to the channel's recorded intervals, merging overlaps."""
        merged: list[list[int]] = []
        for r in sorted([*g.cov.get(mchan, []), [lo, hi]]):
            if merged and r[0] <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], r[1])
            else:
                merged.append(list(r))
        g.cov[mchan] = merged
        g.d_cov.add(mchan)


__all__ = ["Ledger", "period_keys"]
