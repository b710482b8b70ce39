"""The planner: whether a member gets a digest in this run, and which of the rules' nudges it holds.

A pure function of the member's preferences, their nudge history (`History`), the candidates
the rules found (rapport/nudges/rules.py) and `now`: the delivery hour in their zone, quiet
hours, snooze, the weekly cap and the gap between digests, back-off after ignored digests, one
line per person, the first digest's short window. Delivery and the no-duplicate protocol live
in rapport/nudges/service.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapport.nudges.rules import (
    DRIFTING,
    FRESH_KINDS,
    SHARE,
    THANKS,
    UNANSWERED,
    WELCOME,
    Digest,
    Nudge,
    RuleSettings,
)
from rapport.people.members import Preferences

FIRST_DIGEST_WINDOW = timedelta(days=3)
"""The first digest after enrolling holds only the last 3 days' unanswered items."""
BACKOFF_AFTER = 3
WELCOMES_PER_DIGEST = 2
"""Newcomers to greet in one digest: four "say hi?" lines read as a chore list, not a nudge.
The rest wait for a later digest, while they are still new and unanswered."""
DRIFTING_PER_DIGEST = 2
"""Drifting lines in one digest: three "you haven't talked with…" lines in one DM read as a
list of failings. The strongest relationships first; a silence stays due, so the rest wait."""
PER_DIGEST = {WELCOME: WELCOMES_PER_DIGEST, DRIFTING: DRIFTING_PER_DIGEST}


@dataclass(frozen=True, slots=True)
class History:
    """What the planner needs to know of a member's past digests (see outbox.MemberState)."""

    sent_keys: frozenset[str] = frozenset()
    digest_times: tuple[datetime, ...] = ()
    ignored_streak: int = 0
    feedback_pending: bool = False
    in_flight: bool = False
    digests_total: int = 0
    min_gap: timedelta = timedelta(0)
    last_share_line: datetime | None = None
    first: bool = False
    """No digest since the member enrolled: only the last 3 days' unanswered items."""


def blocked(prefs: Preferences, history: History, now: datetime, *, preview: bool = False) -> str:
    """Why the member gets no digest in this run ("" when one may go out).

    Cheap (no ledger read), so the scan asks it first for every member.
    """
    if history.in_flight:
        return "in flight"
    if preview:
        return ""
    if not prefs.enrolled:
        return "not enrolled"
    if prefs.dms_closed:
        return "dms closed"
    if prefs.snoozed(now):
        return "snoozed"
    if history.feedback_pending:
        return "waiting for feedback"
    local = now.astimezone(prefs.zone)
    if prefs.quiet_hours is not None and prefs.quiet_hours.contains(local.time()):
        return "quiet hours"
    # From the digest hour on, not only within it: when many members share an hour, the
    # paced queue (1 DM/s) needs longer than that hour to reach them all.
    if prefs.digest_hour is not None and local.hour < prefs.digest_hour:
        return "before the digest hour"
    if any(t.astimezone(prefs.zone).date() == local.date() for t in history.digest_times):
        return "already had one today"
    if any(now - t < history.min_gap for t in history.digest_times):
        return "too soon after the last digest"
    week = sum(1 for t in history.digest_times if now - t < timedelta(days=7))
    if week >= prefs.max_dms_per_week:
        return "weekly cap"
    return ""


def plan(
    guild_id: int,
    prefs: Preferences,
    history: History,
    candidates: Iterable[Nudge],
    now: datetime,
    rules: RuleSettings,
    *,
    preview: bool = False,
) -> Digest | None:
    """The member's digest for this run, or None; preview ignores the hour, caps and snooze."""
    if blocked(prefs, history, now, preview=preview):
        return None
    best: dict[object, Nudge] = {}
    per_kind: dict[str, int] = {}
    fresh_since = now - rules.stale_after
    first_since = now - FIRST_DIGEST_WINDOW
    for n in sorted(candidates, key=lambda n: n.rank):
        if n.kind not in prefs.kinds or n.kind not in rules.kinds:
            continue
        if n.kind in FRESH_KINDS and n.at < fresh_since:
            continue
        if history.first and n.kind in (UNANSWERED, THANKS) and n.at < first_since:
            continue
        if n.situation in history.sent_keys or n.about_id in prefs.muted:
            continue
        # One line per person: the strongest reason to reach out to them.
        who = n.about_id if n.about_id is not None else n.situation
        if who in best:
            continue
        if per_kind.get(n.kind, 0) >= PER_DIGEST.get(n.kind, rules.digest_size):
            continue  # the others wait for a later digest (a newcomer while still new)
        per_kind[n.kind] = per_kind.get(n.kind, 0) + 1
        best[who] = n
    items = tuple(best.values())[: rules.digest_size]
    if not items:
        return None
    if not preview and all(n.kind == SHARE for n in items) and prefs.kinds & rules.kinds - {SHARE}:
        # "Found something worth sharing?" alone is a DM about no one (under a title about
        # people): it rides with a digest that has someone in it, unless share is all they get.
        return None
    ask = history.ignored_streak >= BACKOFF_AFTER
    return Digest(
        guild_id,
        prefs.member_id,
        items,
        ask,
        digest_id(guild_id, prefs.member_id, history.digests_total, [n.situation for n in items]),
        now,
    )


def digest_id(guild_id: int, member_id: int, serial: int, keys: Sequence[str]) -> str:
    """A short id that is the same wherever the same digest is planned (for claims)."""
    blob = f"{guild_id}:{member_id}:{serial}:{','.join(keys)}".encode()
    return hashlib.blake2b(blob, digest_size=6).hexdigest()
