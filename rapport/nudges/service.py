"""NudgeService: each member's nudge history, the scan, and the no-duplicate send protocol.

The protocol (at most once, across restarts, crashes and overlapping scans):

1. The scan plans a digest and queues it; a member with a digest queued or in flight is
   skipped by later scans (in memory: the queue is one per process).
2. When its turn comes, `deliver` takes the store claim ``nudge:<guild>:<member>:<digest>``
   (durable; another process planning the same digest loses it) and writes a pending marker
   in the member's state (digest id, situation keys), made durable with the flush loop.
3. Only then is the DM sent.
4. The answer resolves the marker: sent (or no answer: maybe sent) moves the keys to the
   member's sent situations; a refusal from Discord clears it (certainly not sent).
5. On restart, `ensure()` finds any marker still unresolved — the process died between 2
   and 4 — and resolves it as sent without sending: a crash may lose that one digest,
   never repeat it. A digest queued but not yet marked is simply planned again.

State per member (table ``nudge_state``, key = member id, staged in batches like the rest):
sent situation keys with times, recent digests with each item's outcome (acted on within
7 days, or not), totals, the back-off reset time, a pending feedback question, the pending
marker, and "remind me to reply" reminders. docs/nudges.md explains it for admins.

Over 400 lines because the send-once protocol (plan, claim, mark, send, resolve, recover at start)
must be read in one place; member actions and state are apart (_actions.py, state.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from time import perf_counter
from typing import Protocol

from rapport.clock import Clock, epoch, from_epoch
from rapport.nudges import rules
from rapport.nudges._actions import MemberActions
from rapport.nudges._baseline import Baseline
from rapport.nudges.dm_queue import DmQueue, SendResult
from rapport.nudges.planner import History, blocked, digest_id, plan
from rapport.nudges.rules import Digest, Nudge, RuleSettings
from rapport.nudges.state import (
    ACT_WINDOW,
    TABLE,
    MemberState,
    MemberStates,
    Outgoing,
)
from rapport.people.guilds import GuildPolicy
from rapport.people.members import MemberService, Preferences
from rapport.settings.config import Settings
from rapport.store.base import Store
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import Newcomer, jump_url

log = logging.getLogger(__name__)


def claim_prefix(guild_id: int, member_id: int) -> str:
    """What the send-once claim of every digest to the member in the guild starts with."""
    return f"nudge:{guild_id}:{member_id}:"


class Flusher(Protocol):
    """Makes everything staged durable now: the port the runtime's FlushLoop fills (the send
    protocol needs its marker on disk before the DM, and nudges sit below runtime)."""

    async def flush(self) -> object:
        """Persist what is staged."""
        ...


SLICE = 0.01
"""Seconds of planning between two yields to the event loop. A callback that became ready
during a slice can wait up to two slices (asyncio runs the scan's next step first), so 10 ms
keeps every wait well under 50 ms."""

Sender = Callable[[Digest], Awaitable[SendResult]]
"""The cog's DM sender."""


class NudgeService:
    """Finds due nudges, plans digests, sends each through the paced queue at most once."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        members: MemberService,
        ledger: Ledger,
        flusher: Flusher,
        clock: Clock,
    ) -> None:
        self.store = store
        self.settings = settings
        self.members = members
        self.ledger = ledger
        self.flusher = flusher
        self.clock = clock
        cfg = settings.nudges
        self._rules: dict[int, tuple[GuildPolicy, RuleSettings]] = {}
        self.owner = f"rapport-{uuid.uuid4().hex[:12]}"
        self.states = MemberStates(store)
        # Situations of members who get no digests: what the admin digest compares with.
        self.baseline = Baseline(store)
        # The member's clicks, handed the same states (bound here: cogs call them by name).
        self.actions = actions = MemberActions(self.states, members, clock, ledger, self.rules_for)
        self.digest_items = actions.digest_items
        self.done = actions.done
        self.feedback = actions.feedback
        self.remind = actions.remind
        self.talked_elsewhere = actions.talked_elsewhere
        self._sender: Sender | None = None
        self._cursor: dict[int, int] = {}
        # A cluster process schedules only its shards' guilds (bot.py sets this); a digest
        # button may still load another process's guild here, which the scan must leave alone.
        self.owns: Callable[[int], bool] = lambda _guild_id: True
        self._audience: dict[int, tuple[datetime, dict[int, frozenset[int]]]] = {}
        interval = settings.schedule.nudge_scan.interval
        window = min(interval.total_seconds(), 3600) if interval is not None else 900
        self.budget = max(1, int(cfg.dms_per_second * window))
        """DMs one scan may queue: what the paced queue sends before the next scan."""
        self.wait_limit = 0.8 * window
        """How long a scan waits for its DMs to leave; the queue carries on after that, and the
        scheduler's lock is free again before the next scan is due."""
        self.queue: DmQueue[Outgoing] = DmQueue(
            cfg.dms_per_second,
            self.deliver,
            key=lambda o: (o.digest.guild_id, o.digest.member_id),
        )

    def rules_for(self, guild_id: int) -> RuleSettings:
        """The rules' thresholds and kinds in a guild: its own choices over config.toml's."""
        policy = self.members.guilds.policy(guild_id)
        cached = self._rules.get(guild_id)
        if cached is not None and cached[0] is policy:
            return cached[1]
        cfg = self.settings.nudges
        found = RuleSettings(
            policy.drift_after,
            policy.unanswered_after,
            policy.share_after,
            cfg.digest_size,
            policy.nudge_kinds,
            policy.stale_after,
            policy.drift_min,
            cfg.min_gap,
        )
        self._rules[guild_id] = (policy, found)
        return found

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's nudge state and baseline once (crash markers resolved as sent)."""
        await self.states.ensure(guild_id)
        await self.baseline.ensure(guild_id)

    def stage(self) -> int:
        """Put changed member states and baselines into the store; returns how many."""
        return self.states.stage() + self.baseline.stage()

    # --- what the commands read ---------------------------------------------------------------

    def preview(self, guild_id: int, member_id: int, now: datetime) -> Digest | None:
        """What the member's next digest would hold, ignoring the delivery hour and caps."""
        prefs = self.members.preferences(guild_id, member_id)
        st = self.states.get(guild_id, member_id) or MemberState()
        newcomers = self._unanswered_newcomers(guild_id, now)
        found = self.candidates(guild_id, prefs, now, newcomers)
        history = self._history(guild_id, st, prefs, now, in_flight=False)
        return plan(guild_id, prefs, history, found, now, self.rules_for(guild_id), preview=True)

    def _history(
        self,
        guild_id: int,
        st: MemberState | None,
        prefs: Preferences,
        now: datetime,
        *,
        in_flight: bool,
    ) -> History:
        """What the planner knows of the member's digests, with the pace and first-digest rule."""
        rules = self.rules_for(guild_id)
        history = st.history(in_flight) if st is not None else History(in_flight=in_flight)
        # Only for members who joined with /rapport join (and saw its preview).
        since = prefs.enrolled_at
        first = (
            since is not None
            and now - since < rules.stale_after
            # Digest times are whole seconds: a digest in the join's own second counts.
            and not any(epoch(t) >= epoch(since) for t in history.digest_times)
        )
        return replace(history, min_gap=rules.min_gap, first=first)

    def shown(self, guild_id: int, member_id: int, digest: Digest, now: datetime) -> None:
        """The member saw these lines (the preview /rapport join shows): never send them again."""
        st = self.states.state(guild_id, member_id)
        for n in digest.items:
            st.sent[n.situation] = [epoch(now), n.about_id or 0]
            for key, person in n.also_said:
                st.sent[key] = [epoch(now), person]
        self.states.touch(guild_id, member_id)

    def member_outcomes(self, guild_id: int, member_id: int) -> dict[str, int]:
        """{"digests", "sent", "acted_on"}: the member's own nudges and how many they acted on."""
        st = self.states.get(guild_id, member_id)
        totals = st.totals if st else {"digests": 0, "nudges": 0, "acted": 0}
        return {"digests": totals["digests"], "sent": totals["nudges"], "acted_on": totals["acted"]}

    def guild_stats(self, guild_id: int) -> dict[str, int | float]:
        """Aggregates only: digests and nudges sent, acted on, the rate, members with DMs closed."""
        digests = nudges = acted = 0
        for st in self.states.by_guild.get(guild_id, {}).values():
            digests += st.totals["digests"]
            nudges += st.totals["nudges"]
            acted += st.totals["acted"]
        closed = sum(
            1
            for m in self.members.known(guild_id)
            if self.members.get(guild_id, m).dms_closed_at is not None
        )
        return {
            "digests_sent": digests,
            "nudges_sent": nudges,
            "acted_on": acted,
            "acted_on_rate": round(acted / nudges, 3) if nudges else 0.0,
            "dms_closed": closed,
        }

    def forget_guild(self, guild_id: int) -> None:
        """Drop a server's nudge state and queued DMs (its data is being deleted)."""
        self.states.by_guild.pop(guild_id, None)
        self.states.dirty = {k for k in self.states.dirty if k[0] != guild_id}
        self.baseline.forget_guild(guild_id)
        self.queue.drop(lambda o: o.digest.guild_id == guild_id)

    def holds_member(self, guild_id: int, member_id: int) -> bool:
        """Whether the member has nudge state of their own in this guild."""
        return self.states.get(guild_id, member_id) is not None

    def forget_member(self, guild_id: int, member_id: int) -> None:
        """Drop the member's nudge state and every nudge about them (for /rapport forget)."""
        per = self.states.by_guild.get(guild_id, {})
        if per.pop(member_id, None) is not None:
            self.states.touch(guild_id, member_id)
        self.store.delete(TABLE, guild_id, str(member_id))
        self.baseline.forget_member(guild_id, member_id)
        for other, st in per.items():
            before = (len(st.sent), sum(len(d["items"]) for d in st.digests), len(st.reminders))
            st.sent = {k: v for k, v in st.sent.items() if v[1] != member_id}
            for d in st.digests:
                d["items"] = [it for it in d["items"] if it[2] != member_id]
            st.reminders = [r for r in st.reminders if r["author"] != member_id]
            after = (len(st.sent), sum(len(d["items"]) for d in st.digests), len(st.reminders))
            if after != before:
                self.states.touch(guild_id, other)
        self.queue.drop(
            lambda o: (
                o.digest.guild_id == guild_id
                and (
                    o.digest.member_id == member_id
                    or any(n.about_id == member_id for n in o.digest.items)
                )
            )
        )

    async def forget_claims(self, guild_id: int, member_id: int) -> int:
        """Drop the send-once claims of the member's digests here, whoever holds them (for
        /rapport forget: each names the member for a day). Once forgotten, the member gets no
        digest planned, so no claim has a second send left to keep out; a send under way here
        finishes or stops in `deliver`, which also drops a claim it took during the forget."""
        return await self.store.drop_claims(claim_prefix(guild_id, member_id))

    # --- the rules over the ledger ------------------------------------------------------------

    def _newcomers(self, guild_id: int, now: datetime) -> list[Newcomer]:
        """Newcomers whose first post may still be fresh: a welcome line ages from the post,
        which can come up to NEWCOMER_WINDOW after the join."""
        since = now - rules.NEWCOMER_WINDOW - self.rules_for(guild_id).stale_after
        return self.ledger.newcomers(guild_id, since)

    def _unanswered_newcomers(self, guild_id: int, now: datetime) -> list[Newcomer]:
        """The newcomers members may be asked to greet now."""
        stale_after = self.rules_for(guild_id).stale_after
        return rules.unanswered_newcomers(
            self._newcomers(guild_id, now), now, stale_after=stale_after
        )

    def _welcome_audience(
        self, guild_id: int, newcomers: list[Newcomer], now: datetime
    ) -> dict[int, frozenset[int]]:
        """Who is asked to greet each newcomer: the WELCOME_AUDIENCE members most active
        (who could get the line) where the newcomer first posted, plus the welcomer role.

        Computed once per guild and scan: not every active member of a busy channel needs a
        DM about the same newcomer.
        """
        cached = self._audience.get(guild_id)
        if cached is not None and cached[0] == now:
            return cached[1]
        since = now - rules.ACTIVE_WINDOW
        guilds = self.members.guilds
        role = guilds.policy(guild_id).welcomer_role
        welcomers = frozenset(guilds.roles.holders(guild_id, {role}) if role else ())
        out: dict[int, frozenset[int]] = {}
        for n in newcomers:
            chosen: list[int] = []
            channel = n.first_messages[0].channel_id
            for m in self.ledger.regulars(guild_id, channel, since):
                if m == n.member_id:
                    continue
                prefs = self.members.preferences(guild_id, m)
                if prefs.enrolled and not prefs.dms_closed and rules.WELCOME in prefs.kinds:
                    chosen.append(m)
                    if len(chosen) >= rules.WELCOME_AUDIENCE:
                        break
            out[n.member_id] = frozenset(chosen) | (welcomers - {n.member_id})
        self._audience[guild_id] = (now, out)
        return out

    def _gets_drifting(self, guild_id: int, member_id: int) -> bool:
        """Whether this member may get drifting lines (for the one-side-per-pair rule)."""
        prefs = self.members.preferences(guild_id, member_id)
        return (
            prefs.enrolled
            and not prefs.dms_closed
            and rules.DRIFTING in prefs.kinds & self.rules_for(guild_id).kinds
            and not self.ledger.has_left(guild_id, member_id)
        )

    def _told(
        self, guild_id: int, member_id: int, about_id: int, last_contact: datetime
    ) -> datetime | None:
        """When the member got the drifting line about this silence, if they did."""
        st = self.states.get(guild_id, member_id)
        sent = st.sent.get(f"d:{about_id}:{epoch(last_contact)}") if st is not None else None
        return from_epoch(sent[0]) if sent else None

    def candidates(
        self, guild_id: int, prefs: Preferences, now: datetime, newcomers: list[Newcomer]
    ) -> list[Nudge]:
        """Every nudge the rules find for one member now (before ranking and history)."""
        member = prefs.member_id
        settings = self.rules_for(guild_id)
        kinds = prefs.kinds & settings.kinds
        tracked = self.members.is_tracked

        left = self.ledger.has_left

        def allowed(other: int) -> bool:
            return (
                other != member
                and other not in prefs.muted
                and tracked(guild_id, other)
                and not left(guild_id, other)
            )

        found: list[Nudge] = []
        ledger = self.ledger
        if rules.DRIFTING in kinds:
            # Only pairs silent for drift_min (or with a cadence of their own) can drift:
            # the ledger filters the rest out before building views.
            pairs = ledger.silent_pairs(
                guild_id,
                member,
                now - settings.drift_min,
                now=now,
                min_contact_days=rules.MIN_CONTACT_DAYS,
                both_ways=True,
            )
            if pairs:
                found += rules.drifting(
                    pairs,
                    now,
                    settings.drift_after,
                    allowed,
                    settings.drift_min,
                    enrolled=lambda other: self._gets_drifting(guild_id, other),
                    told=lambda other, last: self._told(guild_id, other, member, last),
                    elsewhere=lambda other: self.members.elsewhere(guild_id, member, other),
                )
        if kinds & {rules.UNANSWERED, rules.THANKS}:
            pending = ledger.pending_for(guild_id, member, now)

            def strength(other: int) -> float:
                pair = ledger.pair(guild_id, member, other, now=now)
                return 0.0 if pair is None else pair.weight

            st = self.states.get(guild_id, member)
            found += rules.unanswered(
                pending,
                now,
                settings.unanswered_after,
                allowed,
                strength,
                settings.stale_after,
                sent=st.sent if st is not None else frozenset(),
            )
        if kinds & {rules.SHARE, rules.WELCOME}:
            activity = self.ledger.activity(guild_id, member)
            if rules.SHARE in kinds:
                st = self.states.get(guild_id, member)
                last_line = st.history(False).last_share_line if st is not None else None
                found += rules.share(activity, now, settings.share_after, last_line)
            if rules.WELCOME in kinds and newcomers:
                audience = self._welcome_audience(guild_id, newcomers, now)
                found += rules.welcome(activity, newcomers, now, allowed, audience)
        return found

    def _acted(self, guild_id: int, member_id: int, kind: str, about: int, at: int) -> bool:
        """Whether the member made the contact a line pointed at after `at` (share: shared)."""
        if kind == rules.SHARE:
            share = self.ledger.activity(guild_id, member_id).last_share
            return share is not None and epoch(share) > at
        pair = self.ledger.pair(guild_id, member_id, about) if about else None
        return pair is not None and pair.last_out is not None and epoch(pair.last_out) > at

    def _settle_outcomes(
        self, guild_id: int, member_id: int, st: MemberState, now: datetime
    ) -> None:
        """Mark each sent item acted on (contact, or a share) within 7 days, or not."""
        changed = False
        for d in st.digests:
            at = d["at"]
            expired = epoch(now) > at + ACT_WINDOW.total_seconds()
            for it in d["items"]:
                if it[3] is not None:
                    continue
                acted = self._acted(guild_id, member_id, it[1], it[2], at)
                if acted or expired:
                    it[3] = acted
                    st.totals["acted"] += acted
                    changed = True
        if changed:
            self.states.touch(guild_id, member_id)

    # --- the scan -----------------------------------------------------------------------------

    async def scan(self) -> int:
        """The scheduled job: plan what is due now, then wait (a while) for it to be delivered."""
        planned = await self.plan_due(self.clock())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), self.wait_limit)
        return planned

    async def plan_due(self, now: datetime, *, budget: int | None = None) -> int:
        """Queue the digests and reminders due now; returns how many were queued.

        At most `budget` DMs wait in the queue (default: what the paced queue sends before
        the next scan) and at most 5 x budget members are read from the ledger per run;
        the next scan carries on from where this one stopped, so everyone gets their turn.
        Yields to the event loop every SLICE seconds.
        """
        budget = self.budget if budget is None else budget
        planned = reads = 0
        slice_end = perf_counter() + SLICE
        # Guilds the ledger holds but nobody opened yet (present before the first READY)
        # are opened here too.
        owned = (g for g in set(self.states.by_guild) | self.ledger.guild_ids() if self.owns(g))
        for guild_id in sorted(owned):
            await self.members.ensure(guild_id)
            if self.members.guilds.removed(guild_id):
                continue  # the bot was removed from it: nothing more is planned or sent
            await self.states.ensure(guild_id)
            newcomers = self._unanswered_newcomers(guild_id, now)
            ids = self.members.known(guild_id)
            if self.members.guilds.policy(guild_id).enrollment == "opt-out":
                ids = sorted(set(ids) | self.ledger.members(guild_id))
            per = self.states.by_guild[guild_id]
            start = self._cursor.get(guild_id, 0) % max(len(ids), 1)
            self._cursor[guild_id] = start
            for i, member_id in enumerate(ids[start:] + ids[:start]):
                if len(self.queue) >= budget or reads >= 5 * budget:
                    self._cursor[guild_id] = start + i
                    break
                if perf_counter() > slice_end:
                    await asyncio.sleep(0)
                    slice_end = perf_counter() + SLICE
                try:
                    read, queued = self._plan_member(
                        guild_id, member_id, per.get(member_id), now, newcomers
                    )
                except Exception:
                    log.exception("planning nudges for member %s failed; skipping", member_id)
                    continue
                reads += read
                planned += queued
            for member_id, st in list(per.items()):
                if perf_counter() > slice_end:
                    await asyncio.sleep(0)
                    slice_end = perf_counter() + SLICE
                if st.reminders:
                    planned += self._due_reminders(guild_id, member_id, st, now)
            try:
                self.observe_baseline(guild_id, now, newcomers)
            except Exception:
                log.exception("observing the baseline failed in guild %s; carrying on", guild_id)
        return planned

    def _undigested(self, guild_id: int, member_id: int) -> bool:
        """Whether a member gets no digests (not enrolled, or DMs closed) yet could: a control."""
        prefs = self.members.preferences(guild_id, member_id)
        return (
            prefs.tracked
            and (not prefs.enrolled or prefs.dms_closed)
            and not self.ledger.has_left(guild_id, member_id)
        )

    def observe_baseline(self, guild_id: int, now: datetime, newcomers: list[Newcomer]) -> int:
        """Settle open controls; once a day, record today's sample's situations as controls.

        The same rules as for enrolled members, over members who get no digests; a newcomer's
        controls are the most active such members where they posted, as the welcome line's
        audience is among enrolled ones. Returns how many controls were added.
        """
        b = self.baseline
        b.settle(
            guild_id, now, lambda m, kind, about, at: self._acted(guild_id, m, kind, about, at)
        )
        if not b.due(guild_id, now):
            return 0
        pool = sorted(self.ledger.members(guild_id))
        chosen = b.sample(guild_id, pool, lambda m: self._undigested(guild_id, m), now)
        if not chosen:
            return 0
        found: list[Nudge] = []
        for member_id in chosen:
            prefs = self.members.preferences(guild_id, member_id)
            found += [
                n for n in self.candidates(guild_id, prefs, now, []) if n.kind != rules.WELCOME
            ]
        since = now - rules.ACTIVE_WINDOW
        for n in newcomers:
            regulars = self.ledger.regulars(guild_id, n.first_messages[0].channel_id, since)
            greeters = [m for m in regulars if m != n.member_id and self._undigested(guild_id, m)][
                : rules.WELCOME_AUDIENCE
            ]
            found += [
                Nudge(rules.WELCOME, m, n.member_id, f"w:{n.member_id}", n.first_messages[0].at)
                for m in greeters
            ]
        return b.record(guild_id, found, now)

    def _plan_member(
        self,
        guild_id: int,
        member_id: int,
        st: MemberState | None,
        now: datetime,
        newcomers: list[Newcomer],
    ) -> tuple[bool, int]:
        """(whether the ledger was read, digests queued) for one member."""
        if st is not None and st.open_items():
            self._settle_outcomes(guild_id, member_id, st, now)
        prefs = self.members.preferences(guild_id, member_id)
        in_flight = self.queue.queued((guild_id, member_id))
        history = self._history(guild_id, st, prefs, now, in_flight=in_flight)
        if blocked(prefs, history, now) or self.ledger.has_left(guild_id, member_id):
            return False, 0
        found = self.candidates(guild_id, prefs, now, newcomers)
        digest = plan(guild_id, prefs, history, found, now, self.rules_for(guild_id))
        if digest is None:
            return True, 0
        return True, int(self.queue.put(Outgoing(digest)))

    def _due_reminders(self, guild_id: int, member_id: int, st: MemberState, now: datetime) -> int:
        if self.queue.queued((guild_id, member_id)) or st.pending is not None:
            return 0
        t = epoch(now)
        for r in list(st.reminders):
            if r["due"] > t:
                continue
            author = r["author"]
            pair = self.ledger.pair(guild_id, member_id, author)
            answered = (
                pair is not None and pair.last_out is not None and epoch(pair.last_out) > r["at"]
            )
            # Answered, or about someone the send-time check would drop (`still`): gone, or
            # every scan would queue it again only for it to be dropped again.
            if (
                answered
                or not self.members.is_tracked(guild_id, author)
                or self.ledger.has_left(guild_id, author)
                or author in self.members.preferences(guild_id, member_id).muted
            ):
                st.reminders.remove(r)
                self.states.touch(guild_id, member_id)
                continue
            item = Nudge(
                rules.REMINDER,
                member_id,
                r["author"],
                f"r:{r['message']}:{r['id']}",
                from_epoch(r["at"]),
                url=jump_url(guild_id, r["channel"], r["message"]),
                channel_id=r["channel"],
            )
            did = digest_id(guild_id, member_id, r["id"], [item.situation])
            digest = Digest(guild_id, member_id, (item,), False, did, now)
            return int(self.queue.put(Outgoing(digest, reminder=r["id"])))
        return 0

    # --- delivery (the protocol in the module docstring) --------------------------------------

    def attach(self, sender: Sender) -> None:
        """The cog's DM sender; starts the paced queue."""
        self._sender = sender
        self.queue.start()

    async def detach(self) -> None:
        """Stop delivering (the cog unloads or the bot closes)."""
        await self.queue.stop()
        self._sender = None

    def _still_wanted(self, out: Outgoing, now: datetime) -> Digest | None:
        """The digest as it may still go out now (items about people since muted or forgotten)."""
        d = out.digest
        prefs = self.members.preferences(d.guild_id, d.member_id)
        if prefs.dms_closed or (not out.reminder and (not prefs.enrolled or prefs.snoozed(now))):
            return None
        if self.ledger.has_left(d.guild_id, d.member_id) or self.members.guilds.removed(d.guild_id):
            return None  # no DM to a member who left, nor about a server the bot was removed from
        quiet = prefs.quiet_hours
        if not out.reminder and quiet is not None and quiet.contains_at(now, prefs.zone):
            return None
        fresh_since = now - self.rules_for(d.guild_id).stale_after

        def still(person: int | None) -> bool:
            return person is None or (
                person not in prefs.muted
                and self.members.is_tracked(d.guild_id, person)
                and not self.ledger.has_left(d.guild_id, person)
            )

        settled = self._settled_since(d, now)
        kinds = prefs.kinds & self.rules_for(d.guild_id).kinds

        def current(n: Nudge) -> Nudge | None:
            if n.kind not in kinds and n.kind != rules.REMINDER:
                return None
            if n.people:  # each person it names is checked alone (the line's own one too)
                line = self._reaimed(d, _only(n, still, settled), now)
            else:
                line = None if not still(n.about_id) or settled(n) else n
            if line is None or (line.kind in rules.FRESH_KINDS and line.at < fresh_since):
                return None
            return line

        items = tuple(n for n in map(current, d.items) if n is not None)
        if not items:
            return None
        if (
            all(n.kind == rules.SHARE for n in items)
            and any(n.kind != rules.SHARE for n in d.items)
            and kinds - {rules.SHARE}
        ):
            return None  # a share line never makes a DM on its own (the planner's rule)
        return Digest(d.guild_id, d.member_id, items, d.ask_feedback, d.digest_id, d.created)

    def _reaimed(self, d: Digest, n: Nudge, now: datetime) -> Nudge | None:
        """A line naming several people, about the latest of those it still names.

        The line carries its latest answer's link, moment and situation key; when that answer
        was acknowledged (or its author muted or gone) while the digest waited, the others are
        still owed their thank-you: the line becomes the latest remaining answer's.
        """
        if not n.people:
            return None
        if n.about_id in n.people:
            return n
        if len(n.people_keys) != len(n.people):
            return None  # no key of its own for each person: nothing to point at
        person, key = n.people[-1], n.people_keys[-1]
        message = key.rsplit(":", 1)[-1]
        item = next(
            (
                it
                for it in self.ledger.pending_for(d.guild_id, d.member_id, now)
                if it.from_member_id == person and str(it.message_id) == message
            ),
            None,
        )
        if item is None:
            return None
        return replace(
            n,
            about_id=person,
            situation=key,
            at=item.at,
            url=item.jump_url,
            channel_id=item.channel_id,
        )

    def _settled_since(self, d: Digest, now: datetime) -> Callable[[Nudge], bool]:
        """Whether a queued line's situation was settled between planning and sending.

        The queue can hold a digest for a while (a busy server's paced DMs, a 40003 pause):
        by then someone may have welcomed the newcomer, the member answered, the pair talked,
        or the member shared. Such a line is dropped, not sent late; if its situation is still
        open, the next scan plans it again.
        """
        g, m = d.guild_id, d.member_id
        pending: set[tuple[int, int]] | None = None
        newcomers: dict[int, bool] | None = None

        def waiting(other: int, situation: str) -> bool:
            nonlocal pending
            if pending is None:
                pending = {
                    (it.from_member_id, it.message_id)
                    for it in self.ledger.pending_for(g, m, now)
                    if not it.warm
                }
            message = situation.rsplit(":", 1)[-1]
            return message.isdigit() and (other, int(message)) in pending

        def settled(n: Nudge) -> bool:
            nonlocal newcomers
            about = n.about_id
            if n.kind in (rules.UNANSWERED, rules.THANKS) and about is not None:
                return not waiting(about, n.situation)
            if n.kind in (rules.DRIFTING, rules.REMINDER) and about is not None:
                pair = self.ledger.pair(g, m, about, now=now)
                if n.kind == rules.REMINDER:
                    return pair is not None and pair.last_out is not None and pair.last_out > n.at
                if pair is not None and pair.last_contact is not None and pair.last_contact > n.at:
                    return True  # they talked on Discord since
                talked = self.members.elsewhere(g, m, about)
                return talked is not None and talked > n.at
            if n.kind == rules.WELCOME and about is not None:
                if newcomers is None:
                    newcomers = {c.member_id: bool(c.answered_by) for c in self._newcomers(g, now)}
                return newcomers.get(about, True)  # answered, or no longer a newcomer here
            if n.kind == rules.SHARE:
                shared = self.ledger.activity(g, m).last_share
                return shared is not None and shared > d.created
            return False

        return settled

    async def deliver(self, out: Outgoing) -> SendResult:
        """Claim, mark durably, send, resolve: one DM, at most once."""
        if self._sender is None:
            return SendResult.SKIPPED
        now = self.clock()
        digest = self._still_wanted(out, now)
        if digest is None:
            return SendResult.SKIPPED
        g, m = digest.guild_id, digest.member_id
        st = self.states.state(g, m)
        if st.pending is not None or any(k in st.sent for k in digest.keys):
            return SendResult.SKIPPED
        claim = f"{claim_prefix(g, m)}{digest.digest_id}"
        if not await self.store.claim(claim, self.owner, now + timedelta(days=1), now):
            return SendResult.SKIPPED
        st.pending = {
            "id": digest.digest_id,
            "at": epoch(now),
            "items": [[n.situation, n.kind, n.about_id or 0, None] for n in digest.items],
            "also": [[key, person] for n in digest.items for key, person in n.also_said],
            "ask": digest.ask_feedback,
            "reminder": out.reminder,
        }
        self.states.touch(g, m)
        try:
            await self.flusher.flush()
        except Exception:
            # Not durable, so not sent: the next scan plans it again.
            log.exception(
                "could not persist the marker of digest %s; not sending", digest.digest_id
            )
            st.pending = None
            self.states.touch(g, m)
            return SendResult.FAILED
        if self.states.get(g, m) is not st:
            # Forgotten since the scan: nothing goes out, and the claim goes too (it may have
            # landed after the forget dropped the member's claims).
            await self.store.release(claim, self.owner)
            return SendResult.SKIPPED
        try:
            result = await self._sender(digest)
        except Exception:
            log.exception("sending digest %s: no answer; counting it as sent", digest.digest_id)
            result = SendResult.UNKNOWN
        if result in (SendResult.SENT, SendResult.UNKNOWN):
            st.record(st.pending)
            st.prune(now)
        else:
            st.pending = None
        self.states.touch(g, m)
        if result is SendResult.CLOSED:
            await self.members.dms_closed(g, m, True)
            self.queue.drop(lambda o: o.digest.guild_id == g and o.digest.member_id == m)
        return result


def _only(
    n: Nudge,
    still: Callable[[int], bool],
    settled: Callable[[Nudge], bool] = lambda _n: False,
) -> Nudge:
    """A line naming several people, without those it may no longer name (muted, left) or
    whose answer the member has since acknowledged (`settled`, asked of each person's part)."""
    keys = n.people_keys
    keep = [
        i
        for i, p in enumerate(n.people)
        if still(p) and not (keys and settled(replace(n, about_id=p, situation=keys[i], people=())))
    ]
    return replace(
        n,
        people=tuple(n.people[i] for i in keep),
        people_keys=tuple(keys[i] for i in keep) if keys else (),
    )
