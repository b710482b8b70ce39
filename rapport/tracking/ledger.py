"""Turns a stream of interactions into per-pair, per-member and per-period aggregates.

One `Ledger` holds every guild the process owns, in memory. It is composed of parts that
share one state object (rapport/tracking/_memory.py: the guilds in memory, their loading, the
recent windows): the `LedgerWriter` here (the write rules, synchronous and cheap: the tracking cog
calls them from gateway listeners), the reads (rapport/tracking/_reads.py), backfill coverage
and take-backs of deleted messages and removed reactions (rapport/tracking/_history.py), and
retention and forgetting (rapport/tracking/_retention.py). `stage()` hands what changed to the
store in one batch, right before the flush loop's `await store.flush()`. The packed pair record
is in rapport/tracking/_pairs.py, the per-guild state and its store documents in
rapport/tracking/_state.py, the other packed records in rapport/tracking/_records.py. This file
is over 400 lines because the write rules are one piece: `_link` and `record_message` read
together.

Decisions:

- A message links its author to each person at most once, strongest first: reply, then
  mention, then thread answer (only when no reply or mention already links the two). A
  thanks rides on those links; a thanks reaction is recorded by the cog as a THANKS.
- Contact (last contact, contact days, usual gap, exchange starts) is replies, mentions,
  thread answers and thanks either way. Reactions add to counts and weight (0.25 of a
  reply) and clear pending items, but never create them and count nowhere on the board;
  a thanks reaction leaves a thanks-back item but is not a "thanks given" on the board.
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

from bisect import bisect_left
from datetime import datetime, timedelta
from functools import partial

from rapport.clock import epoch
from rapport.store.base import Store
from rapport.tracking import _answers, _pairs
from rapport.tracking._history import LedgerHistory
from rapport.tracking._memory import HeldGuilds
from rapport.tracking._reads import LedgerReads
from rapport.tracking._records import pending_add, pending_clear, pending_clear_channel
from rapport.tracking._retention import LedgerRetention
from rapport.tracking._state import SHIFT, Guild
from rapport.tracking.model import Interaction, Kind, MessageFacts, snowflake_time

# Count index in the pair record per kind; shares and joins have no pair.
_KI = {Kind.REPLY: 0, Kind.MENTION: 1, Kind.REACTION: 2, Kind.THREAD: 3, Kind.THANKS: 4}
_REPLY, _MENTION, _REACTION, _THREAD, _THANKS, _SHARE = 0, 1, 2, 3, 4, 5
_MESSAGE = 7  # a recent-window key that says the message's activity was counted
_WEIGHT = (1.0, 1.0, 0.25, 1.0, 0.5)
_ANSWER_WINDOW = 48 * 3600
_NEWCOMER_DAYS = 7
_TARGET = (1 << 64) - 1
_ANSWERED = (_REPLY, _THREAD)
_REC = _pairs.RECORD.size
_FIRST_MESSAGES = 3


def _link_key(actor: int, target: int, kind: int) -> int:
    """One int for (actor, target, kind): the recent window keeps many of them."""
    return actor << 72 | target << 8 | kind


def _third_turn(ref: tuple[int, ...], author: int, answerer: int, answer_id: int, t: int) -> bool:
    """Whether a reply is its author's answer, within _ANSWER_WINDOW, to a message in which the
    answerer replied to them or answered their thread: the third turn of a short exchange (a
    mention alone starts an exchange; the reply to it is the second turn, and owes).

    Read only when the text can't be (no message content intent): such a turn is most often
    "thanks, that fixed it!", and Rapport can't tell it from a follow-up, so it owes nothing
    rather than have the digest ask the answerer to answer a thank-you (docs/decisions.md).
    """
    if t - epoch(snowflake_time(answer_id)) > _ANSWER_WINDOW:
        return False
    return any(
        k >> 72 == answerer and (k >> 8) & _TARGET == author and k & 0xFF in _ANSWERED for k in ref
    )


def period_keys(at: datetime) -> tuple[str, str]:
    """The ISO week ("2026-W48") and month ("2026-11") keys of a time, by its UTC date."""
    week, month, _, _ = _pairs.day_info(epoch(at) // 86400)
    return week, month


class LedgerWriter:
    """The write rules: interactions and messages folded into the guilds' state."""

    def __init__(
        self,
        guilds: HeldGuilds,
        *,
        half_life: float,
        pending_limit: int,
        daily_pair_cap: int,
        answer_window: int = 6 * 3600,
        reads_text: bool = True,
    ) -> None:
        self.guilds = guilds
        self.half_life = half_life
        self.answer_window = answer_window
        self.reads_text = reads_text
        self.pending_limit = pending_limit
        self.daily_pair_cap = daily_pair_cap

    # ---- writes --------------------------------------------------------------------------

    def record(self, interaction: Interaction) -> bool:
        """Fold one interaction in; False when ignored (self, duplicate, no target).

        For messages prefer `record_message`, which applies the linking rules; this is for
        reactions, thanks reactions, joins and callers that already derived interactions.
        """
        it = interaction
        if self.guilds.loading and self.guilds.defer(it.guild_id, partial(self.record, it)):
            return True
        if it.kind is Kind.JOIN:
            self.member_joined(it.guild_id, it.actor_id, it.at)
            return True
        g = self.guilds.open(it.guild_id)
        t = epoch(it.at)
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
            n = self.guilds.reacts.get(rkey, 0)
            self.guilds.reacts[rkey] = n + 1
            if n:
                return False  # another emoji from the same member on the same message
        elif not self._fresh(it.message_id, _link_key(it.actor_id, it.target_id, ki)):
            return False
        # A thanks recorded on its own is a thanks reaction (text thanks come through
        # record_message): like every reaction it counts nowhere on the leaderboard.
        mchan = it.thread_id or it.channel_id
        self._link(g, it.actor_id, it.target_id, ki, t, it.message_id, mchan, ki != _THANKS)
        return True

    def record_message(self, msg: MessageFacts, *, live: bool = True) -> int:
        """Fold in one message: activity, its links, a share; returns interactions recorded.

        Live messages extend their channel's recorded interval; backfill passes live=False
        through `record_history`. A message seen before records only links it lacked.
        """
        if self.guilds.loading and self.guilds.defer(
            msg.guild_id, partial(self.record_message, msg, live=live)
        ):
            return 0
        g = self.guilds.by_id.get(msg.guild_id) or self.guilds.open(msg.guild_id)
        mid, author = msg.message_id, msg.author_id
        mchan = msg.thread_id or msg.channel_id
        recent = self.guilds.recent  # Recent.get, inlined: this runs once per gateway message
        seen = recent.new.get(mid)
        if seen is None:
            seen = recent.old.get(mid)
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
        done = list(seen)
        marker = author << 72 | _MESSAGE
        if first_sight and marker not in seen:
            # Activity counts once per message, even if history replays it uncovered.
            done.append(marker)
            self._active(g, msg, t)
        if first_sight and live:
            if ranges and mchan in g.live and mid > ranges[-1][1]:
                ranges[-1][1] = mid
                g.d_cov.add(mchan)
            else:
                g.cover(mchan, mid, mid)
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
        # A message that closes an exchange owes no answer; an answer to someone's own post
        # (a thread answer, or a reply to a post that was not itself a reply) is marked so
        # the rules can suggest a thank-you when its author never comes back.
        owes = not msg.closes
        root = False
        if reply is not None and owes and msg.reply_to_message_id is not None:
            ref = recent.new.get(msg.reply_to_message_id)
            if ref is None:
                ref = recent.old.get(msg.reply_to_message_id)
            if ref is not None:
                # A root post is one that was not itself a reply by the replied-to member.
                root = True
                for k in ref:
                    if k & 0xFF == _REPLY and k >> 72 == reply:
                        root = False
                        break
                if not self.reads_text:
                    owes = not _third_turn(ref, author, reply, msg.reply_to_message_id, t)
        n = 0  # interactions recorded now (the activity marker is not one)
        link = self._link
        for target, ki in links:
            key = author << 72 | target << 8 | ki
            if key not in seen:
                done.append(key)
                flags = 2 if ki == _THREAD or (root and ki == _REPLY) else 0
                if live:  # history read later can't tell when it was answered: not counted
                    flags |= _answers.COUNTED
                link(g, author, target, ki, t, mid, mchan, True, owes, flags)
                n += 1
        if msg.has_link or msg.has_file:
            key = _link_key(author, 0, _SHARE)
            if key not in seen:
                done.append(key)
                self._share(g, author, msg.channel_id, mid, t)
                n += 1
        if len(done) != len(seen) or not seen:
            recent[mid] = tuple(done)
        shares = self.guilds.shares
        if (
            reply is not None
            and msg.reply_to_message_id is not None
            and first_sight
            and (shares.new or shares.old)
        ):
            self._drawn(g, msg.reply_to_message_id, reply)
        return n

    def record_kudos(
        self,
        guild_id: int,
        giver_id: int,
        receiver_id: int,
        channel_id: int,
        at: datetime,
        message_id: int = 0,
    ) -> None:
        """A thanks a member chose to give (/thanks, "Thank the author"): a THANKS link.

        Like every thanks it is contact for the pair, clears what the giver owed the receiver
        and leaves the receiver owing nothing; like a thanks reaction it stays off the board's
        counters (kudos have a board of their own). `message_id` is the public post, 0 for a
        private thanks, which then leaves the pair's last message link as it was.
        """
        if self.guilds.loading and self.guilds.defer(
            guild_id,
            partial(self.record_kudos, guild_id, giver_id, receiver_id, channel_id, at, message_id),
        ):
            return
        if giver_id == receiver_id:
            return
        g = self.guilds.open(guild_id)
        self._link(g, giver_id, receiver_id, _THANKS, epoch(at), message_id, channel_id, False)

    def member_joined(self, guild_id: int, member_id: int, at: datetime) -> None:
        """A member joined (or came back): start their newcomer record."""
        if self.guilds.loading and self.guilds.defer(
            guild_id, partial(self.member_joined, guild_id, member_id, at)
        ):
            return
        g = self.guilds.open(guild_id)
        member_id = g.canon(member_id)
        known = g.newcomers.get(member_id)
        if known is not None and abs(known[0] - epoch(at)) < 60:
            return  # already started by the newcomer's first message (it arrived first)
        g.newcomers[member_id] = [epoch(at), [], set()]
        g.d_newcomers.add(member_id)
        m = g.members.get(member_id)
        if m is not None and m.left:
            g.member(member_id).left = False

    def member_left(self, guild_id: int, member_id: int) -> None:
        """A member left: keep their history (they may return) but flag them for the rules."""
        if self.guilds.loading and self.guilds.defer(
            guild_id, partial(self.member_left, guild_id, member_id)
        ):
            return
        g = self.guilds.open(guild_id)
        g.member(member_id).left = True
        if g.newcomers.pop(member_id, None) is not None:
            g.d_newcomers.add(member_id)

    def set_cadence(
        self, guild_id: int, member_id: int, other_id: int, cadence: timedelta | None
    ) -> None:
        """Set (or clear, with None) how often the member wants to keep in touch with other."""
        m = self.guilds.open(guild_id).member(member_id)
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
        seen = self.guilds.recent.get(message_id, ())
        if key in seen:
            return False
        self.guilds.recent[message_id] = (*seen, key)
        return True

    def _link(
        self,
        g: Guild,
        actor: int,
        target: int,
        ki: int,
        t: int,
        message_id: int,
        mchan: int,
        board: bool = True,
        owes: bool = True,
        flags: int = 0,
    ) -> None:
        """One directed interaction: pair record, pending items, periods, newcomers.

        With board=False (a thanks reaction) nothing reaches the leaderboard's counters.
        With owes=False (a message closing an exchange) and for every thanks, the target owes
        no answer: no pending item. `flags` go on the pending item (2: an answer to a post;
        _answers.COUNTED: seen live, so its ask and its answer count in the pair's answers).
        """
        idx = g.idx
        a = idx.get(actor)
        if a is None:
            a = g.index(actor)
        b = idx.get(target)
        if b is None:
            b = g.index(target)
        ids = g.ids
        actor, target = ids[a], ids[b]  # the guild's own int objects, for dict keys
        d = 0 if actor < target else _pairs.DIR
        lo, hi = (a, b) if a < b else (b, a)
        ups = g.up[lo]
        pos = 0 if ups is None else bisect_left(ups, hi)
        if ups is not None and pos < len(ups) and ups[pos] == hi:
            rec = g.recs[lo]
        else:
            rec = g.insert_pair(lo, hi, pos)
        # The record is written in place, field by field (no unpack and repack per event).
        o = pos * _REC
        cap = self.daily_pair_cap if board else 0
        back, verdict, new_week, new_month = _pairs.bump_into(
            rec,  # type: ignore[arg-type]
            o,
            d,
            ki,
            t,
            message_id,
            mchan,
            _WEIGHT[ki],
            self.half_life,
            cap,
        )
        g.d_pairs.append(lo << SHIFT | hi)
        g.total += 1
        if t > g.latest:
            g.latest = t
        g.d_totals = True
        pending = g.pending
        buf = pending.get(actor)
        if buf and target.to_bytes(8, "little") in buf:
            for it in self._clear(g, actor, target, t, answer=ki != _REACTION):
                if it[5] & _answers.COUNTED:
                    _answers.answer_into(rec, o, d, t - it[4])  # type: ignore[arg-type]
        if ki == _REACTION:
            return
        day = t // 86400
        if verdict == _pairs.OLDER_DAY and board:
            ckey = day << 64 | (a << SHIFT | b) << 1 | (ki == _THANKS)
            used = g.caps.get(ckey, 0)
            if used < self.daily_pair_cap:
                g.caps[ckey] = used + 1
                verdict = _pairs.COUNTED
                if ki != _THANKS:
                    new_week, new_month = _pairs.mark_older_day(rec, o, d, day)  # type: ignore[arg-type]
        fresh = False
        if back < t and owes and ki != _THANKS:
            buf = pending.get(target)
            if buf is None:
                buf = pending[target] = bytearray()
            fresh = pending_add(buf, actor, ki, message_id, mchan, t, flags, self.pending_limit)
            g.d_pending.add(target)
            if fresh and flags & _answers.COUNTED:
                _answers.owe_into(rec, o, _pairs.DIR - d)  # type: ignore[arg-type]
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
            seg.fresh.add(actor)
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
            seg.fresh.add(target)
        if ki != _THANKS and g.newcomers:
            nc = g.newcomers.get(target)
            if nc is not None and t >= nc[0] and actor not in nc[2]:
                nc[2].add(actor)
                g.d_newcomers.add(target)

    def _clear(
        self, g: Guild, member: int, other: int, t: int, *, answer: bool
    ) -> list[tuple[int, ...]]:
        """The member interacted with other at t: other's older items to the member are done.

        With `answer` (anything but a reaction) a reply or mention cleared within 48 h
        counts as answered on the leaderboard. Returns the items cleared (for the pair's
        answer counts, which the caller holds).
        """
        buf = g.pending.get(member)
        if not buf:
            return []
        gone = pending_clear(buf, other, t)
        if not gone:
            return gone
        g.set_pending(member, buf)
        if answer:
            for it in gone:
                if it[1] in (_REPLY, _MENTION) and t - it[4] <= _ANSWER_WINDOW:
                    g.segment(it[4] // 86400).add(g.canon(member), 4)
        return gone

    def _active(self, g: Guild, msg: MessageFacts, t: int) -> None:
        """The author was active in the message's (parent) channel at t."""
        author = msg.author_id
        m = g.members.get(author)
        if m is None:
            m = g.member(author)
        else:
            g.d_members.add(author)
        m.posted(msg.channel_id, t)
        if g.pending.get(author):
            # Most people answer in the flow of the channel, without Discord's reply feature.
            self._answered_in(g, author, msg.thread_id or msg.channel_id, t)
        joined = msg.author_joined_at
        nc = g.newcomers.get(author) if g.newcomers else None
        if nc is None and joined is not None and 0 <= t - epoch(joined) < _NEWCOMER_DAYS * 86400:
            # The message arrived before the join event: start the newcomer record here.
            nc = g.newcomers[g.canon(author)] = [epoch(joined), [], set()]
            g.d_newcomers.add(author)
        if nc is not None and nc[0] <= t < nc[0] + _NEWCOMER_DAYS * 86400:
            first = nc[1]
            if len(first) < _FIRST_MESSAGES or t < first[-1][2]:
                first.append([msg.channel_id, msg.message_id, t, msg.thread_id or 0])
                first.sort(key=lambda f: f[2])
                del first[_FIRST_MESSAGES:]
                g.d_newcomers.add(author)

    def _answered_in(self, g: Guild, member: int, mchan: int, t: int) -> None:
        """The member wrote in a channel: items there within the answer window are answered."""
        buf = g.pending[member]
        gone = pending_clear_channel(buf, mchan, t, self.answer_window)
        if not gone:
            return
        if buf:
            g.d_pending.add(member)  # cleared in place: the entry stays
        else:
            g.set_pending(member, buf)
        member = g.canon(member)
        for it in gone:
            if it[1] <= _MENTION and t - it[4] <= _ANSWER_WINDOW:
                g.segment(it[4] // 86400).add(member, 4)
            if it[5] & _answers.COUNTED:
                _answers.change(g, member, it[0], partial(_answers.answer_into, seconds=t - it[4]))

    def _share(self, g: Guild, author: int, channel: int, message_id: int, t: int) -> None:
        """A link or file from the author in a channel."""
        m = g.member(author)
        if t > m.last_share:
            m.last_share = t
        m.touch(channel, t, 0, 1, 0)
        self.guilds.shares[(g.id, message_id)] = [author, channel, t, 0]
        g.total += 1
        g.d_totals = True

    def _drawn(self, g: Guild, share_message: int, author: int) -> None:
        """A reply to a recent share of the author's: the share drew a reply."""
        sh = self.guilds.shares.get((g.id, share_message))
        if sh is None or sh[0] != author:
            return
        g.member(author).touch(sh[1], 0, 0, 0, 1)
        if not sh[3]:
            sh[3] = 1
            g.segment(sh[2] // 86400).add(g.canon(author), 6)


class Ledger:
    """Every owned guild's interaction aggregates, in memory, persisted through a Store.

    Composed, not inherited: `guilds` owns the state and its loading; `writer`, `reads`,
    `history` and `retention` are each handed that state. The methods below are theirs,
    bound here so the many callers keep one name; a consumer that needs only one side can
    be given that part alone.
    """

    def __init__(
        self,
        store: Store,
        *,
        half_life: timedelta = timedelta(days=30),
        pending_ttl: timedelta = timedelta(days=14),
        pending_limit: int = 50,
        daily_pair_cap: int = 3,
        recent_limit: int = 10_000,
        answer_window: timedelta = timedelta(hours=6),
        reads_text: bool = True,
    ) -> None:
        self.store = store
        half = half_life.total_seconds()
        ttl = int(pending_ttl.total_seconds())
        self.guilds = guilds = HeldGuilds(store, recent_limit=recent_limit)
        self.writer = writer = LedgerWriter(
            guilds,
            half_life=half,
            pending_limit=pending_limit,
            daily_pair_cap=daily_pair_cap,
            answer_window=int(answer_window.total_seconds()),
            reads_text=reads_text,
        )
        self.reads = reads = LedgerReads(guilds, half_life=half, pending_ttl=ttl)
        self.history = history = LedgerHistory(guilds, writer, half_life=half)
        self.retention = retention = LedgerRetention(guilds, pending_ttl=ttl)
        # Lifecycle.
        self.load_guild = guilds.load
        self.unload_guild = guilds.unload
        self.stage = guilds.stage
        # Writes.
        self.record = writer.record
        self.record_message = writer.record_message
        self.record_kudos = writer.record_kudos
        self.member_joined = writer.member_joined
        self.member_left = writer.member_left
        self.set_cadence = writer.set_cadence
        # History: backfill coverage and take-backs.
        self.record_history = history.record_history
        self.mark_covered = history.mark_covered
        self.live_restarted = history.live_restarted
        self.withdraw_message = history.withdraw_message
        self.remove_reaction = history.remove_reaction
        # Retention and privacy.
        self.prune = retention.prune
        self.forget_member = retention.forget_member
        # Reads.
        self.guild_ids = reads.guild_ids
        self.covered = reads.covered
        self.pairs_of = reads.pairs_of
        self.silent_pairs = reads.silent_pairs
        self.pair = reads.pair
        self.pending_for = reads.pending_for
        self.waiting_longest = reads.waiting_longest
        self.activity = reads.activity
        self.has_left = reads.has_left
        self.regulars = reads.regulars
        self.active_in = reads.active_in
        self.newcomers = reads.newcomers
        self.members = reads.members
        self.pair_count = reads.pair_count
        self.interactions_total = reads.interactions_total
        self.periods = reads.periods
        self.period_stats = reads.period_stats
        self.period_members = reads.period_members
        self.period_member_parts = reads.period_member_parts
        self.period_stats_of = reads.period_stats_of
        self.period_changes = reads.period_changes
        self.pair_counts = reads.pair_counts
        self.pair_count_parts = reads.pair_count_parts
        self.export_member = reads.export_member
        self.knows = reads.knows


__all__ = [
    "Ledger",
    "LedgerHistory",
    "LedgerReads",
    "LedgerRetention",
    "LedgerWriter",
    "period_keys",
]
