"""Issue 12's rules as tables with an explicit now: what a member owes, one side of a pair,
share per member, the pace of digests, and the ledger's notion of answered."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from rapport.nudges import planner
from rapport.nudges import rules as n
from rapport.nudges.planner import History
from rapport.nudges.rules import RuleSettings
from rapport.settings.config import ConfigError, settings_from_mapping
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake
from tests.unit.test_nudges_rules import (
    ANA,
    BOB,
    CAT,
    DAN,
    DRIFT,
    NOW,
    activity,
    everyone,
    newcomer,
    nudge,
    pair,
    prefs,
)

WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)


# --- drifting: a learned cadence, one side per pair -------------------------------------------


@pytest.mark.parametrize(
    ("gap", "silent_days", "due"),
    [
        (timedelta(days=1), 6, False),  # three gaps are 3 days, but the floor is drift_min
        (timedelta(days=1), 7, True),
        (timedelta(days=3), 8, False),
        (timedelta(days=3), 9, True),  # three usual gaps, well before drift_after (21 days)
        (timedelta(days=10), 29, False),
        (timedelta(days=10), 30, True),
        (None, 20, False),
        (None, 21, True),  # no rhythm known: drift_after
    ],
)
def test_a_learned_cadence_drifts_after_three_gaps_floored_at_drift_min(
    gap: timedelta | None, silent_days: int, due: bool
) -> None:
    """A pair that talked nearly every day is overdue after a week, not only after 21 days."""
    p = pair(silent=timedelta(days=silent_days), gap=gap)
    assert bool(n.drifting([p], NOW, DRIFT, everyone, WEEK)) is due


@pytest.mark.parametrize(
    ("started", "other_enrolled", "told_days_ago", "due"),
    [
        ((1, 5), True, None, True),  # the member usually waits: theirs first
        ((5, 1), True, None, False),  # the member usually starts: the other side first
        ((5, 1), True, 6, False),  # the other side was told 6 days ago: not yet
        ((5, 1), True, 7, True),  # a week later and still silent: now
        ((5, 1), False, None, True),  # never skipped because the other is not enrolled
        ((3, 3), True, None, True),  # a tie: the lower id (Ana, 10) waits
        ((1, 5), True, 3, False),  # even the one who waits: the other side heard of it 3 days ago
    ],
)
def test_one_side_of_a_drifting_pair_at_a_time(
    started: tuple[int, int], other_enrolled: bool, told_days_ago: int | None, due: bool
) -> None:
    """The one who usually waits to be contacted gets the line; the other a week later."""
    p = replace(pair(silent=timedelta(days=20)), started_out=started[0], started_in=started[1])
    told = None if told_days_ago is None else NOW - timedelta(days=told_days_ago)
    found = n.drifting(
        [p],
        NOW,
        DRIFT,
        everyone,
        WEEK,
        enrolled=lambda _: other_enrolled,
        told=lambda _other, _last: told,
    )
    assert bool(found) is due


def test_both_sides_of_a_pair_never_both_wait() -> None:
    """Seen from either side, exactly one member of a pair is the one who waits."""
    mine = replace(pair(), started_out=3, started_in=3)
    theirs = replace(mine, member_id=BOB, other_id=ANA, started_out=3, started_in=3)
    assert n.waits(mine) != n.waits(theirs)


# --- unanswered and thanks: fresh items only, first digest, pace --------------------------------


@pytest.mark.parametrize(
    ("kind", "age_days", "first", "kept"),
    [
        (n.UNANSWERED, 6.9, False, True),
        (n.UNANSWERED, 7.1, False, False),  # stale_after
        (n.THANKS, 7.1, False, False),
        (n.WELCOME, 7.1, False, False),
        (n.DRIFTING, 30, False, True),  # a silence is old by nature
        (n.UNANSWERED, 2.9, True, True),  # the first digest looks 3 days back
        (n.UNANSWERED, 3.1, True, False),
        (n.DRIFTING, 30, True, True),
    ],
)
def test_the_planner_keeps_only_fresh_items(
    kind: str, age_days: float, first: bool, kept: bool
) -> None:
    """Nothing older than stale_after; the first digest after joining only the last 3 days'."""
    item_ = replace(nudge(kind, BOB), at=NOW - timedelta(days=age_days))
    digest = planner.plan(1, prefs(), History(first=first), [item_], NOW, RuleSettings())
    assert (digest is not None) is kept


@pytest.mark.parametrize(("hours_since", "blocked"), [(47, True), (49, False)])
def test_digests_keep_min_gap_apart(hours_since: int, blocked: bool) -> None:
    """At least min_gap (2 days) between two digests; the lines wait for the next one."""
    history = History(digest_times=(NOW - timedelta(hours=hours_since),), min_gap=2 * 24 * HOUR)
    assert bool(planner.blocked(prefs(max_dms_per_week=7), history, NOW)) is blocked


# --- share: per member, true words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("last_share", "last_line", "due", "never"),
    [
        (20, None, True, False),
        (20, 13, False, False),  # a share line 13 days ago: not again before share_after
        (10, 14, False, False),  # shared since that line, but only 10 days ago
        (20, 24, True, False),  # shared after the line: again share_after after the share
        (20, 14, False, False),  # nothing shared since the line 14 days ago: not pressed again
        (40, 29, False, False),  # ... at most monthly
        (40, 30, True, False),
        (None, None, True, True),  # never shared: other words
        (None, 20, False, True),  # ... at most monthly
        (None, 30, True, True),
    ],
)
def test_share_is_per_member_and_true(
    last_share: float | None, last_line: float | None, due: bool, never: bool
) -> None:
    """Once per share_after since the last share or share line; monthly when the last line was
    let pass, or to members who never shared (in true words)."""
    line = None if last_line is None else NOW - timedelta(days=last_line)
    found = n.share(activity(last_share), NOW, timedelta(days=14), line)
    assert bool(found) is due
    if found:
        words = n.describe(found[0], str, NOW)
        assert ("for a while" not in words) is never


# --- welcome: a chosen audience ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "due"), [(None, True), ({DAN: {ANA}}, True), ({DAN: {CAT}}, False)]
)
def test_welcome_goes_to_the_chosen_audience(audience: dict | None, due: bool) -> None:
    """With an audience (the most active where the newcomer posted, the welcomer role), only it."""
    chosen = None if audience is None else {k: frozenset(v) for k, v in audience.items()}
    found = n.welcome(activity(None), [newcomer()], NOW, everyone, chosen)
    assert bool(found) is due


def test_a_welcomer_not_active_in_the_channel_is_pointed_at_the_first_message() -> None:
    """The welcomer role reaches members who never posted where the newcomer did."""
    quiet = replace(activity(None), channels={})
    (found,) = n.welcome(quiet, [newcomer()], NOW, everyone, {DAN: frozenset({ANA})})
    assert found.url is not None
    assert found.url.endswith("/900")


# --- the ledger: what counts as answered ---------------------------------------------------------

CH, OTHER = 7, 8


def facts(author: int, hours: float, channel: int = CH, **kw: object) -> MessageFacts:
    at = NOW + timedelta(hours=hours)
    return MessageFacts(1, channel, time_snowflake(at) + author, author, at, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer", "cleared"),
    [
        (facts(ANA, 5), True),  # in the channel within answer_window
        (facts(ANA, 7), False),  # later than answer_window: not an answer to the mention
        (facts(ANA, 1, OTHER), False),  # elsewhere
        (facts(ANA, 1, mentions=frozenset({BOB})), True),  # a mention back
    ],
)
def test_an_answer_in_the_flow_of_the_channel_counts(answer: MessageFacts, cleared: bool) -> None:
    """A message by the member in the same channel within 6 h answers a mention there."""
    ledger = Ledger(MemoryStore())
    ledger.record_message(facts(BOB, 0, mentions=frozenset({ANA})))
    ledger.record_message(answer)
    assert (ledger.pending_for(1, ANA, NOW + timedelta(days=1)) == []) is cleared


def test_coming_back_to_the_channel_settles_an_answer_to_ones_own_post() -> None:
    """An answer to the member's post is settled by any later message of theirs in the channel."""
    ledger = Ledger(MemoryStore())
    post = facts(ANA, 0)
    ledger.record_message(post)
    ledger.record_message(facts(BOB, 1, reply_to_id=ANA, reply_to_message_id=post.message_id))
    (waiting,) = ledger.pending_for(1, ANA, NOW + timedelta(days=1))
    assert waiting.answer
    ledger.record_message(facts(ANA, 20))
    assert ledger.pending_for(1, ANA, NOW + timedelta(days=2)) == []


@pytest.mark.parametrize("message_first", [True, False])
def test_a_newcomers_first_message_counts_whichever_arrives_first(message_first: bool) -> None:
    """The join and the first message may reach the bot in either order."""
    ledger = Ledger(MemoryStore())
    hello = facts(DAN, 1, author_joined_at=NOW)
    if message_first:
        ledger.record_message(hello)
        ledger.member_joined(1, DAN, NOW)
    else:
        ledger.member_joined(1, DAN, NOW)
        ledger.record_message(hello)
    (nc,) = ledger.newcomers(1, NOW - timedelta(days=1))
    assert [m.message_id for m in nc.first_messages] == [hello.message_id]


# --- config --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "values", "ok"),
    [
        ("nudges", {"answer_window": "6h", "stale_after": "7d", "drift_min": "7d"}, True),
        ("nudges", {"min_gap": "2d"}, True),
        ("nudges", {"drift_min": "30d"}, False),  # above drift_after (21d)
        ("nudges", {"stale_after": "12h"}, False),  # not longer than unanswered_after
        ("nudges", {"answer_window": "soon"}, False),
        ("tracking", {"thanks_emoji": ["🎉", "ty"]}, True),
        ("tracking", {"thanks_emoji": ["two words"]}, False),
        ("storage", {"removed_guild_retention": "30d"}, True),
        ("storage", {"removed_guild_retention": 30}, False),
    ],
)
def test_the_new_keys_are_validated(section: str, values: dict, ok: bool) -> None:
    """Each of issue 12's keys is read with its kind, and nonsense is refused naming the key."""
    if ok:
        settings_from_mapping({section: values})
    else:
        with pytest.raises(ConfigError):
            settings_from_mapping({section: values})
