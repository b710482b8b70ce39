"""The ledger's read side: the views the nudge rules, the leaderboard and /rapport consume.

Handed the ledger's state (`HeldGuilds`) by `rapport.tracking.ledger.Ledger`. Reads never change
state and never build more than the views they return.

Over 400 lines because it is every view the ledger serves, and all of them read the same packed
state: split by consumer, each part would unpack it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rapport.clock import from_epoch, iso
from rapport.tracking import _answers, _pairs
from rapport.tracking._memory import HeldGuilds
from rapport.tracking._records import pending_items
from rapport.tracking._state import Guild
from rapport.tracking.model import (
    ANSWER_TIMES,
    Answers,
    ChannelActivity,
    FirstMessage,
    Kind,
    MemberActivity,
    Newcomer,
    PairView,
    PendingItem,
    PeriodStats,
    jump_url,
)

_KINDS = (Kind.REPLY, Kind.MENTION, Kind.REACTION, Kind.THREAD, Kind.THANKS)
_RECORD, _DIR, _FIRST, _LAST, _COUNTS, _STARTS = (
    _pairs.RECORD,
    _pairs.DIR,
    _pairs.FIRST,
    _pairs.LAST,
    _pairs.COUNTS,
    _pairs.STARTS,
)
_CDAYS, _LCHAN, _LMSG = _pairs.CDAYS, _pairs.LCHAN, _pairs.LMSG
_CONTACT = _pairs.CONTACT


_fromtimestamp = datetime.fromtimestamp


def _records_of(g: Guild, a: int) -> list[tuple[int, bytes]]:
    """(partner index, record) of every pair of member index a, partners below a first."""
    find = g.find
    out = [(b, find(b, a)[1]) for b in g.down[a] or ()]
    out += g.records_above(a)
    return out  # type: ignore[return-value]


def _period_stats(row: list[int], is_week: bool) -> PeriodStats:
    """A period's counters from its summed slot row (distinct people: the week's or month's)."""
    return PeriodStats(row[0], row[1 if is_week else 2], row[3], row[4], row[5], row[6])


def _strongest(v: PairView) -> tuple[float, int]:
    return (-v.weight, v.other_id)


LINK_BATCH = 1_000
"""Members whose pairs one part of `pair_count_parts` reads."""


def _count(
    out: Counter[tuple[int, int]],
    pairs: Iterable[tuple[int, int, bytes | bytearray, int]],
    ids: Sequence[int],
    is_week: bool,
    number: int,
) -> None:
    gave_in = _pairs.gave_in
    for x, y, raw, at in pairs:
        if n := gave_in(raw, is_week, number, at):
            a, b = ids[x], ids[y]
            out[(a, b) if a < b else (b, a)] = n


class LedgerReads:
    """Read methods over the ledger's guilds."""

    def __init__(self, guilds: HeldGuilds, *, half_life: float, pending_ttl: int) -> None:
        self.guilds = guilds
        self.half_life = half_life
        self.pending_ttl = pending_ttl

    def guild_ids(self) -> set[int]:
        """The guilds in memory."""
        return self.guilds.ids()

    def covered(self, guild_id: int, channel_id: int) -> list[tuple[int, int]]:
        """The id intervals of a message channel already recorded (to resume backfill)."""
        g = self.guilds.get(guild_id)
        return [] if g is None else [(lo, hi) for lo, hi in g.cov.get(channel_id, [])]

    def pairs_of(
        self, guild_id: int, member_id: int, *, now: datetime | None = None
    ) -> list[PairView]:
        """The member's relationships, one view per other person, strongest first.

        Weights are decayed to `now` when given, else to the pair's last interaction.
        """
        g = self.guilds.get(guild_id)
        a = None if g is None else g.idx.get(member_id)
        if g is None or a is None:
            return []
        t = None if now is None else int(now.timestamp())
        view = self._view
        views = [view(g, a, b, t, raw) for b, raw in _records_of(g, a)]
        views.sort(key=_strongest)
        return views

    def silent_pairs(
        self,
        guild_id: int,
        member_id: int,
        silent_since: datetime,
        *,
        now: datetime | None = None,
        min_contact_days: int = 0,
        both_ways: bool = False,
    ) -> list[PairView]:
        """The member's relationships silent since a time, as `pairs_of` orders and builds them.

        What the drifting rule reads: the packed record is filtered on its last contact
        (replies, mentions, thread answers, thanks either way) and contact days before any
        view is built, so a scan can afford every member. A pair passes when it has had
        contact (with `both_ways`, contact each way), at least `min_contact_days` contact
        days, and its last contact is at or before `silent_since`, or when the member set a
        keep-in-touch cadence for the other person (that cadence is its own threshold, for
        the rule to apply).
        """
        g = self.guilds.get(guild_id)
        a = None if g is None else g.idx.get(member_id)
        if g is None or a is None:
            return []
        cutoff = silent_since.timestamp()
        m = g.members.get(member_id)
        cadence = m.cadence if m is not None else None
        contact = _CONTACT.unpack_from
        ids = g.ids
        t = None if now is None else int(now.timestamp())
        views = []
        for b, raw in _records_of(g, a):
            l0, l1, days = contact(raw)
            if days < min_contact_days or (both_ways and not (l0 and l1)):
                continue
            last = l0 if l0 > l1 else l1
            if last and (last <= cutoff or (cadence and ids[b] in cadence)):
                views.append(self._view(g, a, b, t, raw))
        views.sort(key=_strongest)
        return views

    def pair(
        self, guild_id: int, member_id: int, other_id: int, *, now: datetime | None = None
    ) -> PairView | None:
        """The member's relationship with one other person, if they have one."""
        g = self.guilds.get(guild_id)
        if g is None or member_id not in g.idx or other_id not in g.idx:
            return None
        a, b = g.idx[member_id], g.idx[other_id]
        raw = g.get_pair(a, b)
        if raw is None:
            return None
        return self._view(g, a, b, None if now is None else int(now.timestamp()), raw)

    def _view(self, g: Guild, a: int, b: int, t: int | None, raw: bytes) -> PairView:
        v = _RECORD.unpack(raw)
        ids = g.ids
        member, other = ids[a], ids[b]
        d = 0 if member < other else _DIR
        e = _DIR - d
        w0, w1 = _pairs.weights_at(v, t, self.half_life)
        gap = _pairs.usual_gap_days(v)
        members = g.members
        m = members.get(member)
        override = m.cadence.get(other) if m is not None and m.cadence else None
        om = members.get(other)
        last_out, last_in = v[_LAST + d], v[_LAST + e]
        out_at = _fromtimestamp(last_out, UTC) if last_out else None
        in_at = _fromtimestamp(last_in, UTC) if last_in else None
        first_out, first_in = v[_FIRST + d], v[_FIRST + e]
        c, ce = _COUNTS + d, _COUNTS + e
        return PairView(
            g.id,
            member,
            other,
            _fromtimestamp(first_out, UTC) if first_out else None,
            out_at,
            _fromtimestamp(first_in, UTC) if first_in else None,
            in_at,
            out_at if last_out > last_in else in_at,
            dict(zip(_KINDS, v[c : c + 5], strict=False)),  # both 5 long; strict costs
            dict(zip(_KINDS, v[ce : ce + 5], strict=False)),
            w0 if d == 0 else w1,
            w1 if d == 0 else w0,
            v[_CDAYS],
            None if gap is None else timedelta(days=gap),
            None if override is None else timedelta(seconds=override),
            jump_url(g.id, v[_LCHAN], v[_LMSG]) if v[_LMSG] else None,
            v[_STARTS + d],
            v[_STARTS + e],
            om is not None and om.left,
            Answers(*_answers.side(raw, d)),
            Answers(*_answers.side(raw, e)),
        )

    def pending_for(self, guild_id: int, member_id: int, now: datetime) -> list[PendingItem]:
        """The member's unanswered inbound items, oldest first (expired and left skipped)."""
        g = self.guilds.get(guild_id)
        buf = None if g is None else g.pending.get(member_id)
        if g is None or not buf:
            return []
        cutoff = int(now.timestamp()) - self.pending_ttl
        out = []
        for other, ki, mid, chan, t, warm in sorted(pending_items(buf), key=lambda it: it[4]):
            om = g.members.get(other)
            if t < cutoff or (om is not None and om.left):
                continue
            at = datetime.fromtimestamp(t, tz=UTC)
            out.append(
                PendingItem(
                    g.id,
                    member_id,
                    other,
                    _KINDS[ki],
                    mid,
                    chan,
                    at,
                    bool(warm & 1),
                    bool(warm & 2),
                    bool(warm & _answers.COUNTED),
                )
            )
        return out

    def waiting_longest(self, guild_id: int, now: datetime, limit: int) -> list[PendingItem]:
        """The guild's messages waiting longest for their answer, oldest first (for admins).

        Only replies, mentions and thread answers that owe an answer: not a thanks, not an
        answer to the member's own post; nothing expired, nothing to or from a member who left;
        a message waiting for several members listed once.
        """
        g = self.guilds.get(guild_id)
        if g is None:
            return []
        cutoff = int(now.timestamp()) - self.pending_ttl
        found = []
        for owner, buf in g.pending.items():
            om = g.members.get(owner)
            if om is not None and om.left:
                continue
            for other, ki, mid, chan, t, warm in pending_items(buf):
                fm = g.members.get(other)
                # 1: a thanks, 2: an answer to their own post (the other bits are bookkeeping).
                if t < cutoff or warm & 3 or (fm is not None and fm.left):
                    continue
                found.append((t, mid, owner, other, ki, chan))
        found.sort()
        out: dict[int, PendingItem] = {}  # a message mentioning three people is listed once
        for t, mid, owner, other, ki, chan in found:
            if len(out) >= limit:
                break
            if mid not in out:
                out[mid] = PendingItem(
                    g.id, owner, other, _KINDS[ki], mid, chan, from_epoch(t), False
                )
        return list(out.values())

    def has_left(self, guild_id: int, member_id: int) -> bool:
        """Whether the member left the server (and has not come back)."""
        g = self.guilds.get(guild_id)
        m = None if g is None else g.members.get(member_id)
        return m is not None and m.left

    def activity(self, guild_id: int, member_id: int) -> MemberActivity:
        """The member's own activity (empty when the ledger knows nothing of them)."""
        g = self.guilds.get(guild_id)
        m = None if g is None else g.members.get(member_id)
        if m is None:
            return MemberActivity(guild_id, member_id, None, None, {})
        rows = m.channel_rows()
        channels = {
            c: ChannelActivity(c, datetime.fromtimestamp(last, tz=UTC), n, shares, drawn)
            for c, last, n, shares, drawn in rows
        }
        last = max((r[1] for r in rows), default=0)
        last_share = m.last_share
        return MemberActivity(
            guild_id,
            member_id,
            from_epoch(last) if last else None,  # 0 means never
            from_epoch(last_share) if last_share else None,
            channels,
            m.left,
        )

    def active_in(self, guild_id: int, channel_id: int, since: datetime) -> set[int]:
        """Members still here who posted in a channel (its threads included) since a time."""
        g = self.guilds.get(guild_id)
        if g is None:
            return set()
        t = int(since.timestamp())
        return {
            mid
            for mid, m in g.members.items()
            if not m.left and any(c == channel_id and last >= t for c, last, *_ in m.channel_rows())
        }

    def regulars(self, guild_id: int, channel_id: int, since: datetime) -> list[int]:
        """Members still here who posted in a channel since a time, most messages first."""
        g = self.guilds.get(guild_id)
        if g is None:
            return []
        t = int(since.timestamp())
        found = [
            (n, mid)
            for mid, m in g.members.items()
            if not m.left
            for c, last, n, *_ in m.channel_rows()
            if c == channel_id and last >= t
        ]
        return [mid for _, mid in sorted(found, key=lambda x: (-x[0], x[1]))]

    def newcomers(self, guild_id: int, since: datetime) -> list[Newcomer]:
        """Members who joined since a time and are still here, earliest first."""
        g = self.guilds.get(guild_id)
        if g is None:
            return []
        t = int(since.timestamp())
        out = []
        for mid, (joined, first, by) in g.newcomers.items():
            if joined < t:
                continue
            msgs = tuple(
                FirstMessage(c, m, datetime.fromtimestamp(ft, tz=UTC), th or None)
                for c, m, ft, th in first
            )
            joined_at = datetime.fromtimestamp(joined, tz=UTC)
            out.append(Newcomer(g.id, mid, joined_at, msgs, frozenset(by)))
        out.sort(key=lambda n: (n.joined_at, n.member_id))
        return out

    def members(self, guild_id: int) -> set[int]:
        """Everyone the ledger holds data about in a guild."""
        g = self.guilds.get(guild_id)
        if g is None:
            return set()
        out = {g.ids[i] for i in range(len(g.ids)) if g.up[i] or g.down[i]}
        out.update(g.members, g.newcomers)
        for owner, buf in g.pending.items():
            out.add(owner)
            out.update(it[0] for it in pending_items(buf))
        for seg in g.periods.values():
            out.update(seg.slots)
        return out

    def pair_count(self, guild_id: int) -> int:
        """How many pairs of members have interacted (one pair holds both directions)."""
        g = self.guilds.get(guild_id)
        return 0 if g is None else g.npairs

    def interactions_total(self, guild_id: int) -> int:
        """Interactions recorded in a guild (shares included, taken-back reactions not)."""
        g = self.guilds.get(guild_id)
        return 0 if g is None else g.total

    def periods(self, guild_id: int) -> list[str]:
        """The period keys that have counters, sorted."""
        g = self.guilds.get(guild_id)
        if g is None:
            return []
        return sorted({s.week for s in g.periods.values()} | {s.month for s in g.periods.values()})

    def period_stats(self, guild_id: int, period: str) -> dict[int, PeriodStats]:
        """Every member's leaderboard counters for one period ("2026-W48" or "2026-11")."""
        g = self.guilds.get(guild_id)
        if g is None:
            return {}
        is_week = "-W" in period
        rows: dict[int, list[int]] = {}
        for seg in g.periods.values():
            if (seg.week if is_week else seg.month) != period:
                continue
            c = seg.counts
            for mid, i in seg.slots.items():
                row = rows.setdefault(mid, [0] * 7)
                for f in range(7):
                    row[f] += c[i + f]
        return {mid: _period_stats(r, is_week) for mid, r in rows.items() if any(r)}

    def period_members(self, guild_id: int, period: str) -> set[int]:
        """Everyone with a row in a period ("2026-W48", "2026-11", or "all"), zero rows too."""
        return set().union(*self.period_member_parts(guild_id, period))

    def period_member_parts(self, guild_id: int, period: str) -> Iterator[list[int]]:
        """`period_members`, a segment (a week in a month) at a time: at 100,000 members the
        union for all time takes long enough that a caller yields to the loop between parts."""
        g = self.guilds.get(guild_id)
        for seg in () if g is None else list(g.periods.values()):
            if period == "all" or period in (seg.week, seg.month):
                yield list(seg.slots)

    def period_stats_of(
        self, guild_id: int, period: str, members: Iterable[int]
    ) -> dict[int, PeriodStats]:
        """`period_stats(...)` (or, for "all", every month's summed) for some members only:
        the same figures, with the same members left out (no counters at all)."""
        g = self.guilds.get(guild_id)
        if g is None:
            return {}
        is_week = "-W" in period
        segs = [
            (seg.slots, seg.counts)
            for seg in g.periods.values()
            if period == "all" or (seg.week if is_week else seg.month) == period
        ]
        out: dict[int, PeriodStats] = {}
        for mid in members:
            rows = [c[i : i + 7] for slots, c in segs if (i := slots.get(mid)) is not None]
            if not rows:
                continue
            row = rows[0].tolist() if len(rows) == 1 else [sum(f) for f in zip(*rows, strict=True)]
            if any(row):
                out[mid] = _period_stats(row, is_week)
        return out

    def period_changes(
        self, guild_id: int, since: tuple[int, int] | None
    ) -> tuple[tuple[int, int], set[int] | None]:
        """Who may have other period counters than at `since` (a token this returned), and
        the token for now; None instead of the members when all may have (a load, or an
        unknown token): the boards' rankings follow the ledger with this."""
        g = self.guilds.get(guild_id)
        if g is None:
            return (0, 0), None
        g.board_batch()
        token = (g.board_reset, g.board_seq)
        if since is None or since[0] != g.board_reset:
            return token, None
        out: set[int] = set()
        for seq, batch in g.board_log:
            if seq > since[1]:
                out |= batch
        return token, out

    def member_period_stats(self, guild_id: int, member_id: int) -> dict[str, PeriodStats]:
        """One member's counters in every period they have any, by period key.

        The same figures as `period_stats(...)[member_id]` for each period, read from the
        member's own slots only: an export at 100,000 members must not sum everyone's.
        """
        g = self.guilds.get(guild_id)
        if g is None:
            return {}
        rows: dict[str, list[int]] = {}
        for seg in g.periods.values():
            i = seg.slots.get(member_id)
            if i is None:
                continue
            c = seg.counts
            for key in (seg.week, seg.month):
                row = rows.setdefault(key, [0] * 7)
                for f in range(7):
                    row[f] += c[i + f]
        return {key: _period_stats(r, "-W" in key) for key, r in sorted(rows.items()) if any(r)}

    def pair_counts(
        self, guild_id: int, period: str, among: Collection[int] | None = None
    ) -> Counter[tuple[int, int]]:
        """Who engaged with whom in a period: (smaller id, larger id) -> directions (1 or 2).

        A connection measure, not a volume: one message or fifty count the same, so a burst
        cannot make a team "most connected". Scans every pair of the guild, or with `among`
        only the pairs of two of those members (the teams': read from their own records).
        """
        g = self.guilds.get(guild_id)
        out: Counter[tuple[int, int]] = Counter()
        if g is None:
            return out
        is_week, number = _pairs.period_number(period)
        pairs: Iterable[tuple[int, int, bytes | bytearray, int]]
        if among is None:
            pairs = ((x, y, raw, 0) for x, y, raw in g.iter_pairs())
        else:
            pairs = g.pairs_among({i for m in among if (i := g.idx.get(m)) is not None})
        _count(out, pairs, g.ids, is_week, number)
        return out

    def pair_count_parts(
        self, guild_id: int, period: str, among: Collection[int]
    ) -> Iterator[Counter[tuple[int, int]]]:
        """`pair_counts(..., among)` in parts, `LINK_BATCH` members' pairs each, every part
        read within one call: a caller yields to the loop between parts (a board's links
        between three teams of 5,000 were one ~50 ms step at 100,000 members)."""
        g = self.guilds.get(guild_id)
        if g is None:
            return
        is_week, number = _pairs.period_number(period)
        inside = {i for m in among if (i := g.idx.get(m)) is not None}
        order = list(inside)
        for start in range(0, len(order), LINK_BATCH):
            out: Counter[tuple[int, int]] = Counter()
            pairs = g.pairs_among(inside, order[start : start + LINK_BATCH])
            _count(out, pairs, g.ids, is_week, number)
            yield out

    def knows(self, guild_id: int, member_id: int) -> bool:
        """Whether anything here is about the member, as actor or as target (cheap checks
        first: forgetting everywhere asks this of every guild)."""
        g = self.guilds.get(guild_id)
        if g is None:
            return False
        i = g.idx.get(member_id)
        if i is not None and (g.up[i] or g.down[i]):
            return True
        if member_id in g.members or member_id in g.newcomers or member_id in g.pending:
            return True
        if any(member_id in seg.slots for seg in g.periods.values()):
            return True
        if any(member_id in rec[2] for rec in g.newcomers.values()):
            return True
        return any(m.cadence and member_id in m.cadence for m in g.members.values())

    def export_member(self, guild_id: int, member_id: int) -> dict[str, Any]:
        """Everything stored about a member, as actor and as target, as JSON-able values."""
        g = self.guilds.get(guild_id)
        out: dict[str, Any] = {"guild_id": guild_id, "member_id": member_id}
        if g is None:
            return out
        out["relationships"] = [
            {
                "other_id": v.other_id,
                "first_out": iso(v.first_out),
                "last_out": iso(v.last_out),
                "first_in": iso(v.first_in),
                "last_in": iso(v.last_in),
                "counts_out": {str(k): n for k, n in v.counts_out.items()},
                "counts_in": {str(k): n for k, n in v.counts_in.items()},
                "weight_out": round(v.weight_out, 4),
                "weight_in": round(v.weight_in, 4),
                "contact_days": v.contact_days,
                "usual_gap_days": None if v.usual_gap is None else v.usual_gap / timedelta(days=1),
                "keep_in_touch_days": (
                    None if v.cadence_override is None else v.cadence_override / timedelta(days=1)
                ),
                "exchanges_started_by_member": v.started_out,
                "exchanges_started_by_other": v.started_in,
                "answers_by_member": _answers_doc(v.answers_out),
                "answers_by_other": _answers_doc(v.answers_in),
                "last_message_url": v.last_message_url,
            }
            for v in self.pairs_of(guild_id, member_id)
        ]

        def item(owner: int, it: tuple[int, ...]) -> dict[str, Any]:
            return {
                "member_id": owner,
                "from_member_id": it[0],
                "kind": str(_KINDS[it[1]]),
                "message_url": jump_url(guild_id, it[3], it[2]),
                "at": datetime.fromtimestamp(it[4], tz=UTC).isoformat(),
                "warm": bool(it[5] & 1),
                "answer": bool(it[5] & 2),
            }

        buf = g.pending.get(member_id, b"")
        out["pending_for_member"] = [item(member_id, it) for it in pending_items(buf)]
        out["pending_from_member"] = [
            item(owner, it)
            for owner, other in sorted(g.pending.items())
            for it in pending_items(other)
            if it[0] == member_id
        ]
        act = self.activity(guild_id, member_id)
        m = g.members.get(member_id)
        out["activity"] = {
            "left": act.left,
            "last_share": iso(act.last_share),
            "channels": [
                {
                    "channel_id": c.channel_id,
                    "last_active": c.last_active.isoformat(),
                    "messages": c.messages,
                    "shares": c.shares,
                    "replies_drawn": c.replies_drawn,
                }
                for c in act.channels.values()
            ],
            "keep_in_touch": {str(o): s for o, s in ((m and m.cadence) or {}).items()},
        }
        rec = g.newcomers.get(member_id)
        out["newcomer"] = (
            None
            if rec is None
            else {
                "joined_at": datetime.fromtimestamp(rec[0], tz=UTC).isoformat(),
                "first_messages": [jump_url(guild_id, th or c, m) for c, m, _, th in rec[1]],
                "answered_by": sorted(rec[2]),
            }
        )
        out["greeted_newcomers"] = sorted(
            mid for mid, rec in g.newcomers.items() if member_id in rec[2]
        )
        out["periods"] = {
            period: {f: getattr(st, f) for f in PeriodStats.__slots__}
            for period, st in self.member_period_stats(guild_id, member_id).items()
        }
        return out


def _answers_doc(a: Answers) -> dict[str, Any]:
    """One side's answer counts as the export shows them (bucket bounds in seconds)."""
    return {
        "asked": a.asked,
        "answered_by_time": dict(
            zip(
                [*(str(int(b.total_seconds())) for b in ANSWER_TIMES), "longer"],
                a.by_time,
                strict=True,
            )
        ),
    }
