"""The five nudge rules: what is worth a nudge now, found in the ledger's views.

Everything here is a pure function of ledger views, a member's preferences and `now`; nothing
reads the wall clock or talks to Discord. The rules find candidate nudges (drifting,
unanswered, thanks, share, welcome) and say them in words (`describe`); the planner
(rapport/nudges/planner.py) decides whether the member gets a digest in this run and which
items it holds. Each nudge carries a situation key: a nudge is not repeated until its
situation (the message, the last contact, the last share) changes. Delivery and the
no-duplicate protocol live in rapport/nudges/service.py.

Over 400 lines because the five rules and their words belong together: each reads the same
views and thresholds, and `describe` says each kind of nudge beside the rule that finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rapport.i18n import ENGLISH, N_, Translation
from rapport.tracking.model import (
    FirstMessage,
    Kind,
    MemberActivity,
    Newcomer,
    PairView,
    PendingItem,
)
from rapport.tracking.model import jump_url as _jump_url

DRIFTING, UNANSWERED, THANKS, SHARE, WELCOME = (
    "drifting",
    "unanswered",
    "thanks",
    "share",
    "welcome",
)
REMINDER = "reminder"
RANK = {UNANSWERED: 0, THANKS: 1, DRIFTING: 2, WELCOME: 3, SHARE: 4, REMINDER: 0}
"""Issue 5's order: unanswered > thanks-back > drifting > welcome > share."""

PENDING_MAX_AGE = timedelta(days=14)
NEWCOMER_WINDOW = timedelta(days=7)
WELCOME_GRACE = timedelta(hours=4)
"""How long a newcomer's first post is left to the people already there before anyone is
asked to greet them: a line minutes after the post asks for what others may well do in the
hour (10 of 95 quality-bench welcome lines were under an hour old)."""
FRESH_KINDS = frozenset({"unanswered", "thanks", "welcome"})
"""Kinds about one moment, never sent once that moment is older than stale_after."""
ACTIVE_WINDOW = timedelta(days=14)
"""Whether a member counts as active (share rule) or active in a channel (welcome rule)."""
MIN_CONTACT_DAYS = 3
SECOND_TURN = timedelta(days=7)
"""A drifting pair's other side hears of it a week after the side that usually waits."""
WELCOME_AUDIENCE = 3
"""How many of the members most active where a newcomer posted are asked to greet them."""
NEVER_SHARED_EVERY = timedelta(days=30)
"""A member who never shared, or let the last share line pass, is invited at most monthly."""
_REACTION = Kind.REACTION


@dataclass(frozen=True, slots=True)
class Nudge:
    """One suggestion for one member, about one person (or none, for share)."""

    kind: str
    member_id: int
    about_id: int | None
    situation: str
    at: datetime
    strength: float = 0.0
    url: str | None = None
    channel_id: int | None = None
    usual_gap: timedelta | None = None
    detail: str = ""
    people: tuple[int, ...] = ()
    """Everyone the line names, in order, when it is about several people (one post's answers)."""
    people_keys: tuple[str, ...] = ()
    """The situation key of each person's answer, in `people`'s order: the line says them all,
    so all are recorded as sent with it (else an earlier answerer comes back on their own)."""

    @property
    def also_said(self) -> list[tuple[str, int]]:
        """(situation key, person) of the other answers this line names, to record as sent."""
        return [
            (k, p)
            for p, k in zip(self.people, self.people_keys, strict=False)
            if k != self.situation
        ]

    @property
    def rank(self) -> tuple[int, float, float]:
        """Sort key: kind order first, then stronger relationships, then older situations."""
        return (RANK.get(self.kind, 9), -self.strength, self.at.timestamp())


@dataclass(frozen=True, slots=True)
class Digest:
    """What one DM will hold; `digest_id` is what the buttons' custom ids carry."""

    guild_id: int
    member_id: int
    items: tuple[Nudge, ...]
    ask_feedback: bool
    digest_id: str
    created: datetime

    @property
    def keys(self) -> list[str]:
        """The situation keys this digest covers."""
        return [n.situation for n in self.items]


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """The thresholds of the rules (config [nudges])."""

    drift_after: timedelta = timedelta(days=21)
    unanswered_after: timedelta = timedelta(hours=24)
    share_after: timedelta = timedelta(days=14)
    digest_size: int = 5
    kinds: frozenset[str] = field(default_factory=lambda: frozenset(RANK) - {REMINDER})
    stale_after: timedelta = timedelta(days=7)
    drift_min: timedelta = timedelta(days=7)
    min_gap: timedelta = timedelta(days=2)


# --- the rules ------------------------------------------------------------------------------

Allowed = Callable[[int], bool]
"""Whether a nudge may be about this person (tracked, not muted, not the member)."""


def _contact_both_ways(pair: PairView) -> bool:
    # Counts are never negative: anything beyond the reactions is contact.
    out, into = pair.counts_out, pair.counts_in
    return sum(out.values()) > out.get(_REACTION, 0) and sum(into.values()) > into.get(_REACTION, 0)


def waits(pair: PairView) -> bool:
    """Whether the member is the side of the pair who usually waits to be contacted.

    The side that started fewer exchanges; on a tie, the lower member id (both sides of a
    pair compute the same answer, so exactly one of them waits).
    """
    return (pair.started_out, pair.member_id) < (pair.started_in, pair.other_id)


def drift_threshold(pair: PairView, drift_after: timedelta, drift_min: timedelta) -> timedelta:
    """How long a pair may be silent before it drifts.

    The member's own keep-in-touch cadence when they chose one; else three usual gaps,
    floored at drift_min (a pair that talked nearly every day is overdue after a week, not
    only after drift_after); drift_after when no rhythm is known.
    """
    if pair.cadence_override is not None:
        return pair.cadence_override
    if pair.usual_gap:
        return max(drift_min, 3 * pair.usual_gap)
    return drift_after


def drifting(
    pairs: Iterable[PairView],
    now: datetime,
    drift_after: timedelta,
    allowed: Allowed,
    drift_min: timedelta | None = None,
    *,
    enrolled: Callable[[int], bool] = lambda _: False,
    told: Callable[[int, datetime], datetime | None] = lambda _o, _c: None,
    elsewhere: Callable[[int], datetime | None] = lambda _o: None,
) -> list[Nudge]:
    """Relationships with real history gone silent past their threshold, one side at a time.

    A burst on one day is not history (contact days count, not messages). One side per
    pair: the one who usually waits to be contacted gets the line; the other side only when
    the first was told a week ago (`told(other, last_contact)`) and nothing happened since,
    or when the other side is not enrolled (never skipped because of them). A cadence the
    member chose is theirs alone: they asked for it. A talk off Discord that either side told
    Rapport about (`elsewhere(other)`) counts as the pair's last contact when it is later:
    the silence, and the line's situation, start again from it.
    """
    drift_min = drift_after if drift_min is None else drift_min
    out = []
    for p in pairs:
        if p.last_contact is None or p.contact_days < MIN_CONTACT_DAYS:
            continue
        last = p.last_contact
        talked = elsewhere(p.other_id)
        if talked is not None and talked > last:
            last = talked
        silence = now - last
        # Cheapest test first: most pairs are not silent at all.
        if silence < drift_min and (p.cadence_override is None or silence < p.cadence_override):
            continue
        threshold = drift_threshold(p, drift_after, drift_min)
        if silence < threshold or p.other_left or not _contact_both_ways(p):
            continue
        if not allowed(p.other_id):
            continue
        told_other = told(p.other_id, last) if p.cadence_override is None else None
        if told_other is not None and now - told_other < SECOND_TURN:
            continue  # the other side heard of this silence within the week: one side only
        if p.cadence_override is None and not waits(p) and enrolled(p.other_id):
            first = told_other
            if first is None:
                # Their turn comes first; if it never came (their rule is off, say), ours
                # comes two weeks after theirs would have.
                if silence < threshold + 2 * SECOND_TURN:
                    continue
            elif now - first < SECOND_TURN:
                continue
        out.append(
            Nudge(
                DRIFTING,
                p.member_id,
                p.other_id,
                f"d:{p.other_id}:{int(last.timestamp())}",
                last,
                p.weight,
                p.last_message_url,
                usual_gap=p.cadence,
            )
        )
    return out


def unanswered(
    pending: Iterable[PendingItem],
    now: datetime,
    unanswered_after: timedelta,
    allowed: Allowed,
    strength: Callable[[int], float] = lambda _: 0.0,
    stale_after: timedelta = timedelta(days=7),
    sent: Container[str] = frozenset(),
) -> list[Nudge]:
    """People who replied to, mentioned or answered the member and heard nothing back.

    One nudge per person, about their latest waiting message. An answer to the member's own
    post or thread (the member never came back to it) suggests a thank-you; anything else is
    unanswered. A thanks the member received owes nothing (the ledger keeps no item for it;
    `warm` items are from data stored before that). Items younger than unanswered_after or
    older than stale_after are left alone. A line already `sent` joins no thank-you line
    naming several people (it was said).
    """
    waiting: dict[int, list[PendingItem]] = {}
    for it in pending:
        age = now - it.at
        if it.warm or age < unanswered_after or age > stale_after:
            continue
        if not allowed(it.from_member_id):
            continue
        waiting.setdefault(it.from_member_id, []).append(it)
    out = []
    for other, items in waiting.items():
        it = max(items, key=lambda i: i.at)
        kind = THANKS if it.answer else UNANSWERED
        out.append(
            Nudge(
                kind,
                it.member_id,
                other,
                f"{kind[0]}:{other}:{it.message_id}",
                it.at,
                strength(other),
                it.jump_url,
                it.channel_id,
                detail=str(it.kind),
            )
        )
    return _one_line_per_post([n for n in out if n.situation not in sent])


def _one_line_per_post(nudges: list[Nudge]) -> list[Nudge]:
    """Thank-you lines about one post become one line naming everyone who answered it.

    Pending items do not record which of the member's posts was answered, so answers in the
    same channel (a thread: one question) of the same kind count as answers to one post. The
    line is the latest answer's (its link, moment and situation key), names the answerers in
    the order they answered, and is as strong as the strongest of them.
    """
    groups: dict[tuple[int | None, str], list[Nudge]] = {}
    out = []
    for n in nudges:
        if n.kind == THANKS:
            groups.setdefault((n.channel_id, n.detail), []).append(n)
        else:
            out.append(n)
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        group.sort(key=lambda n: (n.at, n.about_id or 0))
        latest = group[-1]
        out.append(
            replace(
                latest,
                strength=max(n.strength for n in group),
                people=tuple(n.about_id for n in group if n.about_id is not None),
                people_keys=tuple(n.situation for n in group if n.about_id is not None),
            )
        )
    return out


def share(
    activity: MemberActivity,
    now: datetime,
    share_after: timedelta,
    last_line: datetime | None = None,
) -> list[Nudge]:
    """An active member (last 14 days) who has not shared a link or file for share_after.

    Per member: at most once per share_after since their last share or their last share
    line (`last_line`); at most monthly when they shared nothing since that line. A member
    who never shared gets other, true words ("never" detail), at most monthly. Suggests the channel where their shares drew the most replies, else
    where they talk most.
    """
    if activity.left or activity.last_active is None or now - activity.last_active > ACTIVE_WINDOW:
        return []
    shared = activity.last_share
    if shared is not None and now - shared < share_after:
        return []
    if last_line is not None:
        # A line the member let pass (nothing shared since) is not pressed every share_after:
        # like a member who never shared, they hear it again at most monthly.
        ignored = shared is None or shared < last_line
        wait = max(share_after, NEVER_SHARED_EVERY) if ignored else share_after
        if now - last_line < wait:
            return []
    channel = activity.best_share_channel
    if channel is None and activity.channels:
        busiest = max(activity.channels.values(), key=lambda c: (c.messages, c.last_active))
        channel = busiest.channel_id
    last = int(shared.timestamp()) if shared else 0
    return [
        Nudge(
            SHARE,
            activity.member_id,
            None,
            f"s:{last}:{int(now.timestamp()) // 86400}",
            shared or now,
            channel_id=channel,
            detail="" if shared else "never",
        )
    ]


def unanswered_newcomers(
    newcomers: Iterable[Newcomer],
    now: datetime,
    grace: timedelta = WELCOME_GRACE,
    stale_after: timedelta = NEWCOMER_WINDOW,
) -> list[Newcomer]:
    """Newcomers nobody answered whose first post (made in their first week) is between
    `grace` and `stale_after` old: until then, the people already there may well answer on
    their own. The line is about the post, so it ages from the post, not from the join (a
    post on day 6 still gets its line); the grace is at most half of `stale_after`, so a
    server with a short `stale_after` still gets welcome lines."""
    grace = min(grace, stale_after / 2)
    return [
        n
        for n in newcomers
        if n.first_messages
        and not n.answered_by
        and grace <= now - min(m.at for m in n.first_messages) <= stale_after
    ]


def welcome(
    activity: MemberActivity,
    newcomers: Sequence[Newcomer],
    now: datetime,
    allowed: Allowed,
    audience: Mapping[int, frozenset[int]] | None = None,
) -> list[Nudge]:
    """Unanswered newcomers who spoke in a channel where the member has been active lately.

    With `audience` (newcomer -> the members chosen to greet them: the most active where the
    newcomer posted, and the welcomer role), only those members get the line.
    """
    out = []
    for n in newcomers:
        if n.member_id == activity.member_id or not allowed(n.member_id):
            continue
        if audience is not None and activity.member_id not in audience.get(n.member_id, ()):
            continue
        first: FirstMessage | None = next(
            (
                m
                for m in n.first_messages
                if (c := activity.channels.get(m.channel_id)) is not None
                and now - c.last_active <= ACTIVE_WINDOW
            ),
            n.first_messages[0] if audience is not None and n.first_messages else None,
        )
        if first is None:
            continue
        url = _jump_url(n.guild_id, first.thread_id or first.channel_id, first.message_id)
        out.append(
            Nudge(
                WELCOME,
                activity.member_id,
                n.member_id,
                f"w:{n.member_id}",
                first.at,
                url=url,
                channel_id=first.channel_id,
            )
        )
    return out


# --- the planner ----------------------------------------------------------------------------


# --- words ----------------------------------------------------------------------------------


def human_duration(delta: timedelta, t: Translation = ENGLISH) -> str:
    """'3 weeks', '5 days', '2 hours' — never '21 days, 4:12:00' (in the language of `t`)."""
    return t.duration(delta)


def rhythm(gap: timedelta, t: Translation = ENGLISH) -> str:
    """How often two people used to talk: 'almost every day', 'about once a week', 'about every
    5 days' (never 'every ~1 day'); the units and rounding are duration()'s."""
    days = gap / timedelta(days=1)
    if round(days) <= 1:
        return t.gettext(N_("almost every day"))
    if round(days) == 7:
        return t.gettext(N_("about once a week"))
    if 28 <= round(days) <= 31:
        return t.gettext(N_("about once a month"))
    if days < 13.5:
        return t.ngettext("about every {n} day", "about every {n} days", round(days))
    if days < 60:
        return t.ngettext("about every {n} week", "about every {n} weeks", round(days / 7))
    return t.ngettext("about every {n} month", "about every {n} months", round(days / 30.44))


_UNANSWERED = {
    "mention": N_("{name} mentioned you in {channel} {ago} — no answer yet."),
    "reply": N_("{name} replied to you in {channel} {ago} — no reply yet."),
}
_THANK_YOU = {
    "thread": N_("{name} answered your question in {channel} {ago} — a thank-you goes a long way."),
    "reply": N_("{name} answered your post in {channel} {ago} — a thank-you goes a long way."),
}


def describe(
    nudge: Nudge,
    name_of: Callable[[int], str],
    now: datetime,
    channel_of: Callable[[int], str] = lambda c: f"<#{c}>",
    t: Translation = ENGLISH,
) -> str:
    """One digest line in plain words (names resolved by the caller, links added by it)."""
    name = name_of(nudge.about_id) if nudge.about_id is not None else ""
    ago = t.ago(now - nudge.at)
    channel = channel_of(nudge.channel_id) if nudge.channel_id else t.gettext(N_("the server"))
    if nudge.kind == DRIFTING:
        # "in 3 weeks" is how long the silence has lasted until now: German says "seit 3 Wochen".
        since = t.duration_since(now - nudge.at)
        if nudge.usual_gap:
            return t.gettext(
                N_("You haven't talked with {name} in {since} — you used to talk {rhythm}."),
                name=name,
                since=since,
                rhythm=rhythm(nudge.usual_gap, t),
            )
        return t.gettext(N_("You haven't talked with {name} in {since}."), name=name, since=since)
    if nudge.kind == UNANSWERED:
        text = _UNANSWERED.get(nudge.detail, _UNANSWERED["reply"])
        return t.gettext(text, name=name, channel=channel, ago=ago)
    if nudge.kind == THANKS and len(nudge.people) > 1:
        # One line for everyone who answered one post; the verb agrees with how many they are.
        names = t.join([name_of(p) for p in nudge.people])
        if nudge.detail == "thread":
            return t.ngettext(
                "{names} answered your question in {channel} {ago} — a thank-you goes a long way.",
                "{names} answered your question in {channel} {ago} — a thank-you goes a long way.",
                len(nudge.people),
                names=names,
                channel=channel,
                ago=ago,
            )
        return t.ngettext(
            "{names} answered your post in {channel} {ago} — a thank-you goes a long way.",
            "{names} answered your post in {channel} {ago} — a thank-you goes a long way.",
            len(nudge.people),
            names=names,
            channel=channel,
            ago=ago,
        )
    if nudge.kind == THANKS:
        text = _THANK_YOU.get(nudge.detail, _THANK_YOU["reply"])
        return t.gettext(text, name=name, channel=channel, ago=ago)
    if nudge.kind == SHARE and nudge.detail == "never":
        return t.gettext(
            N_("Found something worth sharing? A good link in {channel} starts conversations."),
            channel=channel,
        )
    if nudge.kind == SHARE:
        return t.gettext(
            N_("You haven't shared anything for a while — found something good for {channel}?"),
            channel=channel,
        )
    if nudge.kind == WELCOME:
        return t.gettext(
            N_(
                "{name} is new here and posted in {channel} {ago} — nobody has answered yet. "
                "Say hi?"
            ),
            name=name,
            ago=ago,
            channel=channel,
        )
    if nudge.kind == REMINDER:
        return t.gettext(
            N_("You asked me to remind you to reply to {name} (their message from {ago})."),
            name=name,
            ago=ago,
        )
    return name
