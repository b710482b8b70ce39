"""The five nudge rules and the digest planner, as pure functions of views, history and `now`.

Over 400 lines because each rule's table of cases sits beside the planner's, one file for one
module under test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rapport.nudges import planner
from rapport.nudges import rules as n
from rapport.nudges.planner import History
from rapport.nudges.rules import Nudge, RuleSettings
from rapport.people.members import Preferences
from rapport.settings.timeparse import parse_quiet_hours
from rapport.tracking.model import (
    ChannelActivity,
    FirstMessage,
    Kind,
    MemberActivity,
    Newcomer,
    PairView,
    PendingItem,
)

NOW = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
G, ANA, BOB, CAT, DAN = 1, 10, 20, 30, 40
DRIFT = timedelta(days=21)


def everyone(_: int) -> bool:
    return True


def pair(
    other: int = BOB,
    *,
    silent: timedelta = timedelta(days=30),
    gap: timedelta | None = timedelta(days=5),
    days: int = 6,
    out: int = 4,
    inbound: int = 4,
    override: timedelta | None = None,
    left: bool = False,
    weight: float = 1.0,
) -> PairView:
    last = NOW - silent
    return PairView(
        guild_id=G,
        member_id=ANA,
        other_id=other,
        first_out=last - timedelta(days=60),
        last_out=last,
        first_in=last - timedelta(days=60),
        last_in=last,
        last_contact=last,
        counts_out={Kind.REPLY: out},
        counts_in={Kind.REPLY: inbound},
        weight_out=weight / 2,
        weight_in=weight / 2,
        contact_days=days,
        usual_gap=gap,
        cadence_override=override,
        last_message_url=f"https://discord.com/channels/{G}/5/{other}99",
        started_out=2,
        started_in=2,
        other_left=left,
    )


def item(
    other: int = BOB,
    age: timedelta = timedelta(days=2),
    *,
    kind: Kind = Kind.REPLY,
    warm: bool = False,
    message: int = 500,
    answer: bool = False,
) -> PendingItem:
    return PendingItem(G, ANA, other, kind, message, 7, NOW - age, warm, answer)


def prefs(**changes: object) -> Preferences:
    base = Preferences(
        member_id=ANA,
        enrolled=True,
        tracked=True,
        zone=ZoneInfo("UTC"),
        digest_hour=None,
        quiet_hours=None,
        max_dms_per_week=3,
        kinds=frozenset(n.RANK) - {n.REMINDER},
        on_leaderboard=True,
        snoozed_until=None,
        muted=frozenset(),
        dms_closed=False,
    )
    return replace(base, **changes)


def nudge(kind: str, about: int | None, strength: float = 0.0) -> Nudge:
    return Nudge(kind, ANA, about, f"{kind}:{about}", NOW - timedelta(days=2), strength)


# --- drifting -------------------------------------------------------------------------------


@pytest.mark.parametrize(("silent_days", "due"), [(20, False), (21, True), (60, True)])
def test_drifting_is_due_once_silence_passes_the_threshold(silent_days: int, due: bool) -> None:
    """A relationship drifts when it has been silent for drift_after and three usual gaps."""
    found = n.drifting([pair(silent=timedelta(days=silent_days))], NOW, DRIFT, everyone)
    assert bool(found) is due


@pytest.mark.parametrize(("gap_days", "silent_days", "due"), [(10, 25, False), (10, 30, True)])
def test_a_slow_cadence_waits_for_three_usual_gaps(
    gap_days: int, silent_days: int, due: bool
) -> None:
    """People who talk every 10 days are not drifting until 30 days of silence."""
    p = pair(gap=timedelta(days=gap_days), silent=timedelta(days=silent_days))
    assert bool(n.drifting([p], NOW, DRIFT, everyone)) is due


@pytest.mark.parametrize(("silent_days", "due"), [(6, False), (8, True)])
def test_a_chosen_cadence_overrides_the_thresholds(silent_days: int, due: bool) -> None:
    """ "Keep in touch weekly" nudges after a week, well before drift_after."""
    p = pair(override=timedelta(days=7), silent=timedelta(days=silent_days))
    assert bool(n.drifting([p], NOW, DRIFT, everyone)) is due


@pytest.mark.parametrize(
    ("changes", "due"),
    [
        ({"days": 1, "gap": None}, False),  # one burst day of fifty messages is not history
        ({"days": 2}, False),
        ({"days": 3}, True),
        ({"inbound": 0}, False),  # only one direction
        ({"left": True}, False),
    ],
)
def test_drifting_needs_real_history_both_ways(changes: dict, due: bool) -> None:
    """A burst on one day, a one-way relationship or a member who left never drifts."""
    assert bool(n.drifting([pair(**changes)], NOW, DRIFT, everyone)) is due


def test_contact_resets_the_drifting_clock() -> None:
    """Any real contact moves last contact, so the same pair is no longer drifting."""
    assert n.drifting([pair(silent=timedelta(days=40))], NOW, DRIFT, everyone)
    assert not n.drifting([pair(silent=timedelta(hours=3))], NOW, DRIFT, everyone)


def test_drifting_situation_changes_with_the_last_contact() -> None:
    """The situation key follows the last contact: a new silence is a new situation."""
    (a,) = n.drifting([pair(silent=timedelta(days=30))], NOW, DRIFT, everyone)
    (b,) = n.drifting([pair(silent=timedelta(days=25))], NOW, DRIFT, everyone)
    assert a.situation != b.situation
    assert a.url is not None
    assert a.usual_gap == timedelta(days=5)


# --- unanswered and thanks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "due"),
    [
        (timedelta(hours=23), False),
        (timedelta(hours=24), True),
        (timedelta(days=7), True),
        (timedelta(days=7, seconds=1), False),
    ],
)
def test_unanswered_waits_a_day_and_gives_up_when_stale(age: timedelta, due: bool) -> None:
    """A reply is nudged between unanswered_after (24 h) and stale_after (7 days)."""
    found = n.unanswered([item(age=age)], NOW, timedelta(hours=24), everyone)
    assert bool(found) is due


@pytest.mark.parametrize(
    ("kind", "answer", "expected", "words"),
    [
        (
            Kind.THREAD,
            True,
            n.THANKS,
            "Bob answered your question in <#7> 2 days ago — a thank-you",
        ),
        (Kind.REPLY, True, n.THANKS, "Bob answered your post in <#7> 2 days ago — a thank-you"),
        (Kind.REPLY, False, n.UNANSWERED, "Bob replied to you in <#7> 2 days ago — no reply yet"),
        (Kind.MENTION, False, n.UNANSWERED, "Bob mentioned you in <#7> 2 days ago — no answer"),
    ],
)
def test_an_answer_to_the_members_post_suggests_a_thank_you(
    kind: Kind, answer: bool, expected: str, words: str
) -> None:
    """An answer the member never came back to suggests a thank-you; a reply or mention wants one."""
    (found,) = n.unanswered([item(kind=kind, answer=answer)], NOW, timedelta(hours=24), everyone)
    assert found.kind == expected
    assert n.describe(found, lambda _: "Bob", NOW).startswith(words)


def test_a_thanks_received_is_never_nudged_and_one_line_per_person() -> None:
    """A thanks item (stored before thanks stopped owing answers) is skipped; one line per person."""
    pending = [
        item(age=timedelta(days=3), message=400),
        item(age=timedelta(days=2), kind=Kind.THANKS, warm=True, message=500),
    ]
    (found,) = n.unanswered(pending, NOW, timedelta(hours=24), everyone)
    assert found.kind == n.UNANSWERED
    assert found.situation == f"u:{BOB}:400"
    assert n.unanswered(pending[1:], NOW, timedelta(hours=24), everyone) == []


def test_several_answers_to_one_post_make_one_thank_you_line_naming_them_all() -> None:
    """Bob, Cat and Dan answered one post: one line, the names in the order they answered."""
    from rapport import i18n

    pending = [
        item(BOB, timedelta(days=2, hours=3), answer=True, message=501),
        item(CAT, timedelta(days=2, hours=2), answer=True, message=502),
        item(DAN, timedelta(days=2), answer=True, message=503),
        item(CAT, timedelta(days=2), kind=Kind.MENTION, message=504),
    ]
    found = n.unanswered(pending, NOW, timedelta(hours=24), everyone)
    thanks = [x for x in found if x.kind == n.THANKS]
    assert len(thanks) == 1
    (line,) = thanks
    assert line.people == (BOB, DAN)  # Cat's latest item is a mention: their line is that one
    names = {BOB: "Bob", CAT: "Cat", DAN: "Dan"}
    pending = pending[:3]
    (line,) = n.unanswered(pending, NOW, timedelta(hours=24), everyone)
    assert (line.about_id, line.people, line.situation) == (DAN, (BOB, CAT, DAN), f"t:{DAN}:503")
    assert n.describe(line, names.get, NOW) == (
        "Bob, Cat, and Dan answered your post in <#7> 2 days ago — a thank-you goes a long way."
    )
    german = n.describe(line, names.get, NOW, t=i18n.translator("de"))
    assert german.startswith("Bob, Cat und Dan ")
    plan = planner.plan(G, prefs(), History(), [line], NOW, RuleSettings())
    assert plan is not None
    assert len(plan.items) == 1


def test_rules_skip_people_not_allowed() -> None:
    """Muted or opted-out people (the allowed predicate) are never nudged about."""
    not_bob = lambda other: other != BOB  # noqa: E731
    assert not n.unanswered([item()], NOW, timedelta(hours=24), not_bob)
    assert not n.drifting([pair()], NOW, DRIFT, not_bob)


# --- share and welcome ----------------------------------------------------------------------------


def activity(last_share_days: float | None, active_days: float = 1) -> MemberActivity:
    chans = {
        7: ChannelActivity(7, NOW - timedelta(days=active_days), 40, 1, 0),
        8: ChannelActivity(8, NOW - timedelta(days=active_days), 5, 2, 6),
    }
    share_at = None if last_share_days is None else NOW - timedelta(days=last_share_days)
    return MemberActivity(G, ANA, NOW - timedelta(days=active_days), share_at, chans)


@pytest.mark.parametrize(
    ("last_share", "active", "due"),
    [(13, 1, False), (15, 1, True), (None, 1, True), (30, 20, False)],
)
def test_share_nudges_active_members_who_stopped_sharing(
    last_share: float | None, active: float, due: bool
) -> None:
    """An active member with no share for share_after gets one; an inactive one does not."""
    found = n.share(activity(last_share, active), NOW, timedelta(days=14))
    assert bool(found) is due


def test_share_suggests_the_channel_where_shares_drew_replies() -> None:
    """The suggested channel is the one where the member's shares drew the most replies."""
    (found,) = n.share(activity(20), NOW, timedelta(days=14))
    assert found.channel_id == 8


def newcomer(
    member: int = DAN, *, answered: frozenset[int] = frozenset(), days: float = 2
) -> Newcomer:
    joined = NOW - timedelta(days=days)
    first = (FirstMessage(7, 900, joined + timedelta(hours=1)),)
    return Newcomer(G, member, joined, first, answered)


@pytest.mark.parametrize(
    ("nc", "due"),
    [(newcomer(), True), (newcomer(answered=frozenset({CAT})), False), (newcomer(days=8), False)],
)
def test_welcome_points_at_unanswered_newcomers_of_the_week(nc: Newcomer, due: bool) -> None:
    """A newcomer nobody answered this week is suggested to members active in that channel."""
    fresh = n.unanswered_newcomers([nc], NOW)
    assert bool(n.welcome(activity(1), fresh, NOW, everyone)) is due


@pytest.mark.parametrize(
    ("posted_ago", "due"),
    [(timedelta(minutes=10), False), (timedelta(hours=3), False), (timedelta(hours=4), True)],
)
def test_a_newcomers_first_post_is_left_to_others_for_a_few_hours(
    posted_ago: timedelta, due: bool
) -> None:
    """Nobody is asked to greet a newcomer minutes after their first post: others may answer."""
    joined = NOW - posted_ago - timedelta(seconds=1)
    first = (FirstMessage(7, 900, NOW - posted_ago),)
    fresh = n.unanswered_newcomers([Newcomer(G, DAN, joined, first, frozenset())], NOW)
    assert bool(n.welcome(activity(1), fresh, NOW, everyone)) is due


def welcome_line_due(
    joined_ago: timedelta, posted_ago: timedelta, stale_after: timedelta = timedelta(days=7)
) -> bool:
    """Whether a newcomer's unanswered first post gets a welcome line now, rules and planner."""
    first = (FirstMessage(7, 900, NOW - posted_ago),)
    nc = Newcomer(G, DAN, NOW - joined_ago, first, frozenset())
    fresh = n.unanswered_newcomers([nc], NOW, stale_after=stale_after)
    lines = n.welcome(activity(0), fresh, NOW, everyone)
    rules = RuleSettings(unanswered_after=stale_after / 4, stale_after=stale_after)
    return planner.plan(G, prefs(), History(), lines, NOW, rules) is not None


@pytest.mark.parametrize(
    ("joined_days", "posted_hours", "due"),
    [
        (6.9, 4.5, True),  # posted near the end of the first week: the line still goes out
        (7.5, 12, True),  # joined over a week ago, posted on day 7: the post is what's fresh
        (13, 6 * 24, True),
        (14, 7 * 24 + 1, False),  # the post itself is over a week old
    ],
)
def test_a_welcome_line_ages_from_the_first_post_not_the_join(
    joined_days: float, posted_hours: float, due: bool
) -> None:
    """A newcomer who first posts late in their first week still gets greeted for a week."""
    assert welcome_line_due(timedelta(days=joined_days), timedelta(hours=posted_hours)) is due


@pytest.mark.parametrize(
    ("stale_hours", "posted_minutes", "due"),
    [
        (4, 60, False),
        (4, 121, True),  # the grace is half of stale_after when that is under 8 hours
        (4, 239, True),
        (4, 241, False),
        (2, 61, True),
        (8, 239, False),
        (8, 241, True),
    ],
)
def test_a_short_stale_after_shortens_the_welcome_grace(
    stale_hours: float, posted_minutes: float, due: bool
) -> None:
    """With stale_after at 4 hours or less, welcome lines still go out, after a shorter wait."""
    stale_after = timedelta(hours=stale_hours)
    posted = timedelta(minutes=posted_minutes)
    assert welcome_line_due(posted + timedelta(minutes=1), posted, stale_after) is due


def test_welcome_needs_the_member_active_in_that_channel() -> None:
    """Members who were not active where the newcomer spoke are not asked to greet them."""
    quiet = MemberActivity(G, ANA, NOW, None, {99: ChannelActivity(99, NOW, 3, 0, 0)})
    assert not n.welcome(quiet, [newcomer()], NOW, everyone)


# --- the planner --------------------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("now", "zone", "hour", "due"),
    [
        (datetime(2026, 11, 26, 17, 5, tzinfo=UTC), PARIS, 18, True),  # 18:05 in Paris (CET)
        (datetime(2026, 11, 26, 16, 55, tzinfo=UTC), PARIS, 18, False),  # 17:55
        (datetime(2026, 11, 26, 19, 30, tzinfo=UTC), PARIS, 18, True),  # later the same evening
        # DST ended on 2026-10-25 in Paris: 18:00 local is 17:00 UTC that day, 16:00 the day before
        (datetime(2026, 10, 24, 16, 30, tzinfo=UTC), PARIS, 18, True),
        (datetime(2026, 10, 25, 16, 30, tzinfo=UTC), PARIS, 18, False),
        (datetime(2026, 10, 25, 17, 30, tzinfo=UTC), PARIS, 18, True),
        # New York springs forward on 2026-03-08: 18:00 EDT is 22:00 UTC, not 23:00
        (datetime(2026, 3, 8, 21, 50, tzinfo=UTC), NEW_YORK, 18, False),
        (datetime(2026, 3, 8, 22, 10, tzinfo=UTC), NEW_YORK, 18, True),
        (datetime(2026, 3, 8, 3, 0, tzinfo=UTC), NEW_YORK, None, True),
    ],
)
def test_digests_go_out_at_the_members_hour_in_their_zone(
    now: datetime, zone: ZoneInfo, hour: int | None, due: bool
) -> None:
    """Digests go out from the digest hour on, wall-clock time where the member lives, DST included."""
    p = prefs(zone=zone, digest_hour=hour)
    assert (planner.blocked(p, History(), now) == "") is due


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ((21, 59), False),
        ((22, 0), True),
        ((23, 59), True),
        ((0, 30), True),
        ((7, 59), True),
        ((8, 0), False),
    ],
)
def test_quiet_hours_span_midnight(local: tuple[int, int], quiet: bool) -> None:
    """22:00-08:00 holds the digest through the night in the member's zone."""
    now = datetime(2026, 11, 26, *local, tzinfo=PARIS).astimezone(UTC)
    p = prefs(zone=PARIS, quiet_hours=parse_quiet_hours("22:00-08:00"))
    assert (planner.blocked(p, History(), now) == "quiet hours") is quiet


def test_quiet_hours_follow_the_dst_change() -> None:
    """On the night New York falls back, 01:30 local happens twice and is quiet both times."""
    p = prefs(zone=NEW_YORK, quiet_hours=parse_quiet_hours("22:00-08:00"))
    for utc_hour in (5, 6):  # 01:30 EDT then 01:30 EST on 2026-11-01
        now = datetime(2026, 11, 1, utc_hour, 30, tzinfo=UTC)
        assert planner.blocked(p, History(), now) == "quiet hours"
    assert planner.blocked(p, History(), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)) == ""


@pytest.mark.parametrize(
    ("changes", "history", "reason"),
    [
        ({"enrolled": False}, History(), "not enrolled"),
        ({"dms_closed": True}, History(), "dms closed"),
        ({"snoozed_until": NOW + timedelta(hours=1)}, History(), "snoozed"),
        ({"snoozed_until": NOW - timedelta(hours=1)}, History(), ""),
        ({}, History(feedback_pending=True), "waiting for feedback"),
        ({}, History(in_flight=True), "in flight"),
        ({}, History(digest_times=(NOW - timedelta(hours=3),)), "already had one today"),
        (
            {"max_dms_per_week": 2},
            History(digest_times=(NOW - timedelta(days=2), NOW - timedelta(days=4))),
            "weekly cap",
        ),
        (
            {"max_dms_per_week": 2},
            History(digest_times=(NOW - timedelta(days=2), NOW - timedelta(days=8))),
            "",
        ),
        ({"max_dms_per_week": 0}, History(), "weekly cap"),
    ],
)
def test_the_planner_holds_digests_for_every_reason(
    changes: dict, history: History, reason: str
) -> None:
    """Enrollment, closed DMs, snooze, pending feedback, one a day and the rolling weekly cap."""
    assert planner.blocked(prefs(**changes), history, NOW) == reason


def test_digest_items_are_ranked_and_capped() -> None:
    """unanswered > thanks > drifting > welcome > share, stronger first, at most digest_size."""
    found = [
        nudge(n.SHARE, None),
        nudge(n.DRIFTING, CAT, 0.5),
        nudge(n.DRIFTING, DAN, 3.0),
        nudge(n.WELCOME, 50),
        nudge(n.THANKS, 60),
        nudge(n.UNANSWERED, BOB),
    ]
    d = planner.plan(G, prefs(), History(), found, NOW, RuleSettings(digest_size=4))
    assert d is not None
    assert [(i.kind, i.about_id) for i in d.items] == [
        (n.UNANSWERED, BOB),
        (n.THANKS, 60),
        (n.DRIFTING, DAN),
        (n.DRIFTING, CAT),
    ]


def test_a_digest_asks_to_greet_at_most_two_newcomers_the_longest_waiting_first() -> None:
    """Four newcomers to greet in one DM is a chore list: two lines, the others wait their turn."""
    found = [replace(nudge(n.WELCOME, 50 + i), at=NOW - timedelta(days=i)) for i in range(1, 5)] + [
        nudge(n.SHARE, None)
    ]
    d = planner.plan(G, prefs(), History(), found, NOW, RuleSettings())
    assert d is not None
    assert [(i.kind, i.about_id) for i in d.items] == [
        (n.WELCOME, 54),
        (n.WELCOME, 53),
        (n.SHARE, None),
    ]
    later = History(sent_keys=frozenset(i.situation for i in d.items))
    d = planner.plan(G, prefs(), later, found, NOW, RuleSettings())
    assert d is not None
    assert [i.about_id for i in d.items] == [52, 51]


def test_a_digest_holds_at_most_two_drifting_lines_the_strongest_first() -> None:
    """Three "you haven't talked with…" lines in one DM read as a list of failings: two, the
    closest relationships first; the third waits for a later digest."""
    found = [nudge(n.DRIFTING, 50 + i, strength=float(i)) for i in range(1, 4)] + [
        nudge(n.SHARE, None)
    ]
    d = planner.plan(G, prefs(), History(), found, NOW, RuleSettings())
    assert d is not None
    assert [(i.kind, i.about_id) for i in d.items] == [
        (n.DRIFTING, 53),
        (n.DRIFTING, 52),
        (n.SHARE, None),
    ]
    later = History(sent_keys=frozenset(i.situation for i in d.items))
    d = planner.plan(G, prefs(), later, found, NOW, RuleSettings())
    assert d is not None
    assert [i.about_id for i in d.items] == [51]


def test_a_sent_situation_is_not_repeated_until_it_changes() -> None:
    """A nudge already sent for the same situation stays out of later digests."""
    found = [nudge(n.UNANSWERED, BOB)]
    sent = History(sent_keys=frozenset({found[0].situation}))
    assert planner.plan(G, prefs(), sent, found, NOW, RuleSettings()) is None
    changed = [replace(found[0], situation="u:20:501")]
    assert planner.plan(G, prefs(), sent, changed, NOW, RuleSettings()) is not None


def test_muted_people_and_switched_off_kinds_are_left_out() -> None:
    """A member's mutes and kinds, and the guild's kinds, filter the digest."""
    found = [nudge(n.UNANSWERED, BOB), nudge(n.DRIFTING, CAT), nudge(n.SHARE, None)]
    d = planner.plan(
        G,
        prefs(muted=frozenset({BOB}), kinds=frozenset({n.UNANSWERED, n.DRIFTING, n.SHARE})),
        History(),
        found,
        NOW,
        RuleSettings(kinds=frozenset({n.UNANSWERED, n.DRIFTING})),
    )
    assert d is not None
    assert [i.about_id for i in d.items] == [CAT]


def test_one_line_per_person() -> None:
    """Someone both unanswered and drifting appears once, for the stronger reason."""
    found = [nudge(n.DRIFTING, BOB), nudge(n.UNANSWERED, BOB)]
    d = planner.plan(G, prefs(), History(), found, NOW, RuleSettings())
    assert d is not None
    assert [i.kind for i in d.items] == [n.UNANSWERED]


@pytest.mark.parametrize(("streak", "ask"), [(2, False), (3, True)])
def test_after_three_ignored_digests_the_next_asks(streak: int, ask: bool) -> None:
    """Three digests in a row with nothing acted on make the next one ask keep/fewer/stop."""
    d = planner.plan(
        G, prefs(), History(ignored_streak=streak), [nudge(n.DRIFTING, BOB)], NOW, RuleSettings()
    )
    assert d is not None
    assert d.ask_feedback is ask


def test_a_share_line_never_makes_a_dm_on_its_own() -> None:
    """A DM whose only line is "found something worth sharing?" is about no one: the line rides
    with a digest about someone, unless share is all the member gets; the join preview shows it."""
    share, drifting = nudge(n.SHARE, None), nudge(n.DRIFTING, BOB)
    assert planner.plan(G, prefs(), History(), [share], NOW, RuleSettings()) is None
    d = planner.plan(G, prefs(), History(), [share, drifting], NOW, RuleSettings())
    assert d is not None
    assert [i.kind for i in d.items] == [n.DRIFTING, n.SHARE]
    only_share = prefs(kinds=frozenset({n.SHARE}))
    assert planner.plan(G, only_share, History(), [share], NOW, RuleSettings()) is not None
    assert planner.plan(G, prefs(), History(), [share], NOW, RuleSettings(), preview=True)


def test_preview_ignores_the_hour_caps_and_snooze() -> None:
    """/rapport join shows what the next digest would hold, whatever the hour."""
    p = prefs(digest_hour=3, snoozed_until=NOW + timedelta(days=1), max_dms_per_week=0)
    found = [nudge(n.UNANSWERED, BOB)]
    assert planner.plan(G, p, History(), found, NOW, RuleSettings()) is None
    assert planner.plan(G, p, History(), found, NOW, RuleSettings(), preview=True) is not None


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=21, hours=4, minutes=12), "3 weeks"),
        (timedelta(days=5), "5 days"),
        (timedelta(hours=5), "5 hours"),
        (timedelta(minutes=20), "20 minutes"),
        (timedelta(days=90), "3 months"),
    ],
)
def test_durations_read_as_words(delta: timedelta, words: str) -> None:
    """People read "3 weeks", never "21 days, 4:12:00"."""
    assert n.human_duration(delta) == words


@pytest.mark.parametrize(
    ("gap", "english", "german"),
    [
        (timedelta(hours=20), "almost every day", "fast jeden Tag"),
        (timedelta(days=1, hours=4), "almost every day", "fast jeden Tag"),
        (timedelta(days=2), "about every 2 days", "etwa alle 2 Tage"),
        (timedelta(days=7, hours=5), "about once a week", "etwa einmal pro Woche"),
        (timedelta(days=13, hours=20), "about every 2 weeks", "etwa alle 2 Wochen"),
        (timedelta(days=30), "about once a month", "etwa einmal im Monat"),
        (timedelta(days=91), "about every 3 months", "etwa alle 3 Monate"),
    ],
)
def test_how_often_they_used_to_talk_reads_naturally(
    gap: timedelta, english: str, german: str
) -> None:
    """Never "every ~1 day": a daily rhythm is "almost every day", others agree in number."""
    from rapport import i18n

    line = replace(
        n.drifting([pair(silent=timedelta(days=21, hours=3))], NOW, DRIFT, everyone)[0],
        usual_gap=gap,
    )
    assert n.describe(line, {BOB: "Sam"}.get, NOW).endswith(f"you used to talk {english}.")
    assert f"früher habt ihr {german} miteinander" in n.describe(
        line, {BOB: "Sam"}.get, NOW, t=i18n.translator("de")
    )


def test_one_duration_is_written_one_way_in_a_digest() -> None:
    """Two weeks, give or take hours, reads "2 weeks" everywhere: never "14 days" beside it."""
    from rapport import i18n

    lines = [
        n.describe(replace(d, usual_gap=None), {BOB: "Sam"}.get, NOW)
        for silent in (timedelta(days=13, hours=14), timedelta(days=14, hours=2))
        for d in n.drifting([pair(silent=silent, gap=None)], NOW, timedelta(days=10), everyone)
    ]
    assert lines == ["You haven't talked with Sam in 2 weeks."] * 2
    for lang in ("en", "de", "ja"):
        t = i18n.translator(lang)
        near, past = timedelta(days=13, hours=13), timedelta(days=14)
        assert t.duration(near) == t.duration(past)
        assert t.ago(near) == t.ago(past)
        assert t.duration(timedelta(minutes=59, seconds=50)) == t.duration(timedelta(hours=1))


def test_a_drifting_line_reads_naturally() -> None:
    """The drifting line says how long and how often they used to talk."""
    (d,) = n.drifting([pair(silent=timedelta(days=21, hours=3))], NOW, DRIFT, everyone)
    text = n.describe(d, {BOB: "Sam"}.get, NOW)
    assert text == "You haven't talked with Sam in 3 weeks — you used to talk about every 5 days."
