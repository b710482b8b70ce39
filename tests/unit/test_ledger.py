"""The ledger's rules: what each interaction adds, what clears, what is kept and persisted.

Over 400 lines because it is the ledger's behaviour rule by rule through its public API; the packed
records and the store have files of their own.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from rapport.store.base import Doc
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger, period_keys
from rapport.tracking.model import (
    Interaction,
    Kind,
    MessageFacts,
    jump_url,
    snowflake_time,
    time_snowflake,
)

G, G2 = 900, 901
CH, CH2 = 50, 51
ANA, BOB, CAT, DAN = 1001, 1002, 1003, 1004
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, ISO week 2026-W45
_seq = count(1)


def msg(
    author: int,
    at: datetime,
    *,
    guild: int = G,
    channel: int = CH,
    reply_to: int | None = None,
    reply_to_message: int | None = None,
    mentions: tuple[int, ...] = (),
    thread: int | None = None,
    starter: int | None = None,
    link: bool = False,
    thanks: bool = False,
    message_id: int | None = None,
) -> MessageFacts:
    """One message's facts with a unique snowflake taken from its time."""
    return MessageFacts(
        guild_id=guild,
        channel_id=channel,
        message_id=message_id or time_snowflake(at) + next(_seq),
        author_id=author,
        at=at,
        thread_id=thread,
        thread_starter_id=starter,
        reply_to_id=reply_to,
        reply_to_message_id=reply_to_message,
        mentions=frozenset(mentions),
        has_link=link,
        thanks=thanks,
    )


def reaction(actor: int, target: int, message_id: int, at: datetime, kind: Kind = Kind.REACTION):
    """A reaction (or thanks reaction) by actor on target's message."""
    return Interaction(G, actor, target, CH, kind, message_id, at)


@pytest.fixture
def ledger() -> Ledger:
    """A ledger over an empty in-memory store."""
    return Ledger(MemoryStore())


def day(n: float) -> datetime:
    """T0 plus n days."""
    return T0 + timedelta(days=n)


# ---- the model's helpers -------------------------------------------------------------------


def test_snowflake_helpers_round_trip_to_the_millisecond() -> None:
    """A time turned into a snowflake and back is the same time, and URLs use the ids."""
    at = datetime(2026, 11, 26, 7, 30, 15, 123000, tzinfo=UTC)
    assert snowflake_time(time_snowflake(at)) == at
    assert snowflake_time(175928847299117063) == datetime(
        2016, 4, 30, 11, 18, 25, 796000, tzinfo=UTC
    )
    it = Interaction(G, ANA, BOB, CH, Kind.REPLY, 77, at, thread_id=88)
    assert it.jump_url == f"https://discord.com/channels/{G}/88/77"


def test_period_keys_follow_iso_weeks_and_utc_months() -> None:
    """Periods come from the UTC date: ISO week (Monday start) and calendar month."""
    assert period_keys(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == ("2026-W48", "2026-11")
    assert period_keys(datetime(2027, 1, 1, 12, tzinfo=UTC)) == ("2026-W53", "2027-01")


# ---- what counts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "kinds"),
    [
        ({"reply_to": BOB}, {Kind.REPLY: 1}),
        ({"mentions": (BOB,)}, {Kind.MENTION: 1}),
        ({"reply_to": BOB, "mentions": (BOB,)}, {Kind.REPLY: 1}),
        ({"thread": 70, "starter": BOB}, {Kind.THREAD: 1}),
        ({"thread": 70, "starter": BOB, "reply_to": BOB}, {Kind.REPLY: 1}),
        ({"thread": 70, "starter": BOB, "mentions": (BOB,)}, {Kind.MENTION: 1}),
        ({"reply_to": BOB, "thanks": True}, {Kind.REPLY: 1, Kind.THANKS: 1}),
    ],
)
def test_a_message_links_its_author_to_each_person_once(
    ledger: Ledger, facts: dict[str, Any], kinds: dict[Kind, int]
) -> None:
    """Reply beats mention beats thread answer; a thread answer never doubles a reply."""
    ledger.record_message(msg(ANA, T0, **facts))
    (view,) = ledger.pairs_of(G, ANA)
    assert view.other_id == BOB
    assert {k: n for k, n in view.counts_out.items() if n} == kinds
    assert sum(view.counts_in.values()) == 0


@pytest.mark.parametrize(
    "facts",
    [{"reply_to": ANA}, {"mentions": (ANA,)}, {"thread": 70, "starter": ANA}, {}],
)
def test_self_interactions_and_plain_messages_make_no_pair(
    ledger: Ledger, facts: dict[str, Any]
) -> None:
    """Replying to, mentioning or answering oneself links nobody."""
    assert ledger.record_message(msg(ANA, T0, **facts)) == 0
    assert ledger.record(reaction(ANA, ANA, 5, T0)) is False
    assert ledger.pair_count(G) == 0
    assert ledger.pending_for(G, ANA, T0) == []


def test_a_share_is_kept_per_channel_without_a_target(ledger: Ledger) -> None:
    """A link or file counts as a share in its channel and as activity."""
    ledger.record_message(msg(ANA, T0, channel=CH2, link=True))
    act = ledger.activity(G, ANA)
    assert act.last_share == T0
    assert act.channels[CH2].shares == 1
    assert act.channels[CH2].messages == 1
    assert act.best_share_channel == CH2
    assert ledger.pair_count(G) == 0


def test_a_reply_to_a_share_counts_as_a_reply_drawn(ledger: Ledger) -> None:
    """Replies to a share show where the member's shares land, once per share on the board."""
    share = msg(ANA, T0, channel=CH2, link=True)
    ledger.record_message(share)
    for n, who in enumerate((BOB, CAT)):
        reply = msg(who, day(0.1 + n), channel=CH2, reply_to=ANA, reply_to_message=share.message_id)
        ledger.record_message(reply)
    assert ledger.activity(G, ANA).channels[CH2].replies_drawn == 2
    assert ledger.period_stats(G, "2026-W45")[ANA].shares_drew == 1


def test_reactions_are_a_weaker_signal_that_never_creates_pending(ledger: Ledger) -> None:
    """A reaction counts a quarter of a reply and leaves nothing to answer."""
    ledger.record(reaction(BOB, ANA, 5, T0))
    (view,) = ledger.pairs_of(G, ANA)
    assert view.counts_in[Kind.REACTION] == 1
    assert view.weight_in == pytest.approx(0.25)
    assert view.last_contact is None
    assert ledger.pending_for(G, ANA, T0) == []
    assert ledger.period_stats(G, "2026-W45") == {}


def test_removing_a_reaction_takes_it_back(ledger: Ledger) -> None:
    """A removed reaction leaves no count and no weight; a second emoji keeps it."""
    ledger.record(reaction(BOB, ANA, 5, T0))
    ledger.record(reaction(BOB, ANA, 5, T0))  # a second emoji on the same message
    assert ledger.pairs_of(G, ANA)[0].counts_in[Kind.REACTION] == 1
    assert ledger.remove_reaction(G, BOB, ANA, 5, T0) is False
    assert ledger.remove_reaction(G, BOB, ANA, 5, T0) is True
    view = ledger.pairs_of(G, ANA)[0]
    assert view.counts_in[Kind.REACTION] == 0
    assert view.weight_in == pytest.approx(0.0)
    assert ledger.interactions_total(G) == 0


def test_a_thanks_reaction_is_credited_and_owes_nothing(ledger: Ledger) -> None:
    """A 🙏 reaction recorded as THANKS counts on the pair and leaves nothing to answer."""
    ledger.record(reaction(BOB, ANA, 5, T0))
    ledger.record(reaction(BOB, ANA, 5, T0, Kind.THANKS))
    assert ledger.pending_for(G, ANA, day(1)) == []
    assert ledger.pairs_of(G, ANA)[0].counts_in[Kind.THANKS] == 1
    assert ledger.period_stats(G, "2026-W45") == {}  # reactions never reach the board


# ---- pending items -------------------------------------------------------------------------


def test_a_reply_waits_for_an_answer_with_its_jump_url(ledger: Ledger) -> None:
    """Someone's reply to the member is pending, with a link to it, until answered."""
    m = msg(BOB, T0, reply_to=ANA, thread=70, starter=CAT)
    ledger.record_message(m)
    (item,) = ledger.pending_for(G, ANA, day(1))
    assert (item.from_member_id, item.kind, item.warm, item.at) == (BOB, Kind.REPLY, False, T0)
    assert item.jump_url == jump_url(G, 70, m.message_id)


@pytest.mark.parametrize(
    ("answer", "cleared"),
    [
        ({"reply_to": BOB}, True),
        ({"mentions": (BOB,)}, True),
        ({"reply_to": CAT}, False),
        ({}, False),
    ],
)
def test_interacting_with_that_person_clears_their_items(
    ledger: Ledger, answer: dict[str, Any], cleared: bool
) -> None:
    """Any interaction toward the person clears their items; talking to others does not."""
    ledger.record_message(msg(BOB, T0, reply_to=ANA))
    ledger.record_message(msg(ANA, day(1), **answer))
    assert (ledger.pending_for(G, ANA, day(2)) == []) is cleared


def test_a_reaction_to_the_person_also_clears_their_items(ledger: Ledger) -> None:
    """Reacting to someone's reply acknowledges it."""
    m = msg(BOB, T0, reply_to=ANA)
    ledger.record_message(m)
    ledger.record(reaction(ANA, BOB, m.message_id, day(0.5)))
    assert ledger.pending_for(G, ANA, day(1)) == []


def test_an_answer_older_than_the_item_does_not_clear_it(ledger: Ledger) -> None:
    """History read out of order: an earlier contact does not answer a later reply."""
    ledger.record_message(msg(BOB, day(2), reply_to=ANA))
    ledger.record_message(msg(ANA, day(1), reply_to=BOB), live=False)
    assert [i.at for i in ledger.pending_for(G, ANA, day(3))] == [day(2)]


@pytest.mark.parametrize(("closes", "items"), [(True, 0), (False, 1)])
def test_a_message_that_closes_the_exchange_owes_no_answer(
    ledger: Ledger, closes: bool, items: int
) -> None:
    """A thank-you that closes the exchange leaves no item; one that asks more still does."""
    ledger.record_message(msg(BOB, T0, reply_to=ANA, thanks=True)._replace(closes=closes))
    assert len(ledger.pending_for(G, ANA, day(1))) == items
    assert ledger.pairs_of(G, ANA)[0].counts_in[Kind.THANKS] == 1  # credited either way


def test_a_deleted_message_withdraws_its_pending_items(ledger: Ledger) -> None:
    """Deleting a message removes what it asked of others; the pair keeps its history."""
    m = msg(BOB, T0, reply_to=ANA, mentions=(CAT,))
    ledger.record_message(m)
    keep = msg(BOB, day(1), reply_to=ANA)
    ledger.record_message(keep)
    assert ledger.withdraw_message(G, m.message_id) == 2
    assert [i.message_id for i in ledger.pending_for(G, ANA, day(2))] == [keep.message_id]
    assert ledger.pending_for(G, CAT, day(2)) == []
    assert ledger.pairs_of(G, ANA)[0].counts_in[Kind.REPLY] == 2


@pytest.mark.parametrize(("age_days", "kept"), [(13.9, True), (14.1, False)])
def test_pending_items_expire_after_the_ttl(ledger: Ledger, age_days: float, kept: bool) -> None:
    """Items older than pending_ttl (14 days) are no longer shown."""
    ledger.record_message(msg(BOB, T0, reply_to=ANA))
    assert bool(ledger.pending_for(G, ANA, day(age_days))) is kept


def test_pending_items_are_bounded_keeping_the_newest() -> None:
    """Past pending_limit the oldest item goes."""
    ledger = Ledger(MemoryStore(), pending_limit=3)
    for n, who in enumerate((BOB, CAT, DAN, 1005, 1006)):
        ledger.record_message(msg(who, day(n / 10), reply_to=ANA))
    items = ledger.pending_for(G, ANA, day(1))
    assert [i.from_member_id for i in items] == [DAN, 1005, 1006]


def test_pending_skips_members_who_left(ledger: Ledger) -> None:
    """No nudge about someone who left the server."""
    ledger.record_message(msg(BOB, T0, reply_to=ANA))
    ledger.member_left(G, BOB)
    assert ledger.pending_for(G, ANA, day(1)) == []
    assert ledger.pairs_of(G, ANA)[0].other_left is True


# ---- the pair: contact days, cadence, weight, who starts -------------------------------------


def test_a_burst_on_one_day_is_one_contact_day(ledger: Ledger) -> None:
    """Twenty messages in an afternoon are one contact day, and days either way count once."""
    for n in range(20):
        ledger.record_message(msg(ANA, T0 + timedelta(minutes=n), reply_to=BOB))
    ledger.record_message(msg(BOB, T0 + timedelta(hours=2), reply_to=ANA))
    ledger.record_message(msg(BOB, day(1), reply_to=ANA))
    view = ledger.pairs_of(G, ANA)[0]
    assert view.contact_days == 2
    assert view.counts_out[Kind.REPLY] == 20


def test_a_burst_read_newest_first_is_still_one_day(ledger: Ledger) -> None:
    """History read backwards past the 16-day ring does not count one old day twice."""
    for n in range(16):
        ledger.record_message(msg(ANA, day(30 + n), reply_to=BOB))
    for n in range(5):
        ledger.record_message(msg(ANA, T0 + timedelta(minutes=50 - n), reply_to=BOB), live=False)
    assert ledger.pairs_of(G, ANA)[0].contact_days == 17


@pytest.mark.parametrize(
    ("days", "gap"),
    [
        ([0], None),
        ([0, 5], 5),
        ([0, 5, 10, 15, 60], 5),  # one long silence does not move the median
        ([0, 2, 4, 10, 12, 14], 2),
        ([0, 3, 9], 4.5),
    ],
)
def test_usual_gap_is_the_median_of_gaps_between_contact_days(
    ledger: Ledger, days: list[int], gap: float | None
) -> None:
    """The cadence estimate is robust to an outlier: median of gaps between contact days."""
    for n in days:
        ledger.record_message(msg(ANA if n % 2 else BOB, day(n), mentions=(BOB if n % 2 else ANA,)))
    view = ledger.pairs_of(G, ANA)[0]
    assert view.usual_gap == (None if gap is None else timedelta(days=gap))


def test_usual_gap_uses_the_last_sixteen_contact_days(ledger: Ledger) -> None:
    """An old rhythm fades: only the 16 most recent contact days set the usual gap."""
    for n in range(0, 100, 10):
        ledger.record_message(msg(ANA, day(n), reply_to=BOB))
    for n in range(100, 116):
        ledger.record_message(msg(ANA, day(n), reply_to=BOB))
    view = ledger.pairs_of(G, ANA)[0]
    assert view.usual_gap == timedelta(days=1)
    assert view.contact_days == 26


def test_a_keep_in_touch_cadence_overrides_the_learned_gap(ledger: Ledger) -> None:
    """The member's own cadence for a person wins until cleared, and is theirs alone."""
    for n in (0, 5, 10):
        ledger.record_message(msg(ANA, day(n), reply_to=BOB))
    ledger.set_cadence(G, ANA, BOB, timedelta(days=14))
    assert ledger.pairs_of(G, ANA)[0].cadence == timedelta(days=14)
    assert ledger.pairs_of(G, BOB)[0].cadence == timedelta(days=5)
    ledger.set_cadence(G, ANA, BOB, None)
    assert ledger.pairs_of(G, ANA)[0].cadence == timedelta(days=5)


@pytest.mark.parametrize(("half_lives", "weight"), [(0, 1.0), (1, 0.5), (2, 0.25)])
def test_weight_halves_every_half_life(ledger: Ledger, half_lives: int, weight: float) -> None:
    """A reply weighs 1 and fades by half every half_life (30 days)."""
    ledger.record_message(msg(ANA, T0, reply_to=BOB))
    (view,) = ledger.pairs_of(G, ANA, now=day(30 * half_lives))
    assert view.weight_out == pytest.approx(weight, rel=1e-5)


def test_pairs_are_listed_strongest_first_with_both_directions(ledger: Ledger) -> None:
    """A member's view combines both directions per person, strongest relationship first."""
    ledger.record_message(msg(ANA, T0, reply_to=CAT))
    ledger.record_message(msg(ANA, T0, reply_to=BOB))
    ledger.record_message(msg(BOB, day(1), reply_to=ANA))
    views = ledger.pairs_of(G, ANA)
    assert [v.other_id for v in views] == [BOB, CAT]
    bob = views[0]
    assert (bob.first_out, bob.last_in, bob.last_contact) == (T0, day(1), day(1))
    assert bob.last_message_url is not None
    assert bob.last_message_url.startswith(f"https://discord.com/channels/{G}/{CH}/")


def test_who_started_each_exchange_after_a_day_of_silence(ledger: Ledger) -> None:
    """An exchange starts with the first contact after a day of silence either way."""
    for at, who in [(0, ANA), (0.1, BOB), (0.2, ANA), (3, BOB), (3.1, ANA), (9, BOB)]:
        other = BOB if who == ANA else ANA
        ledger.record_message(msg(who, day(at), reply_to=other))
    view = ledger.pairs_of(G, ANA)[0]
    assert (view.started_out, view.started_in) == (1, 2)


# ---- the leaderboard's counters --------------------------------------------------------------


def test_replies_to_one_person_are_capped_per_day(ledger: Ledger) -> None:
    """Twenty replies to one person in a day count as daily_pair_cap (3); reactions as none."""
    for n in range(20):
        ledger.record_message(msg(ANA, T0 + timedelta(minutes=n), reply_to=BOB))
        ledger.record(reaction(ANA, BOB, 10_000 + n, T0))
    ledger.record_message(msg(ANA, day(1), reply_to=BOB))
    ledger.record_message(msg(ANA, day(1), mentions=(CAT,)))
    week = ledger.period_stats(G, "2026-W45")[ANA]
    assert (week.given, week.people) == (5, 2)
    assert ledger.period_stats(G, "2026-11")[ANA].given == 5


def test_thanks_given_are_capped_like_replies(ledger: Ledger) -> None:
    """Thanking one person ten times in a day counts three thanks."""
    for n in range(10):
        ledger.record_message(msg(ANA, T0 + timedelta(minutes=n), reply_to=BOB, thanks=True))
    assert ledger.period_stats(G, "2026-W45")[ANA].thanks == 3


@pytest.mark.parametrize(("answer_after_h", "answered"), [(47, 1), (49, 0)])
def test_responsiveness_counts_answers_within_48_hours(
    ledger: Ledger, answer_after_h: int, answered: int
) -> None:
    """Inbound replies and mentions count as answered when answered within 48 h."""
    ledger.record_message(msg(BOB, T0, reply_to=ANA))
    ledger.record_message(msg(ANA, T0 + timedelta(hours=answer_after_h), reply_to=BOB))
    stats = ledger.period_stats(G, "2026-W45")[ANA]
    assert (stats.inbound, stats.answered) == (1, answered)


def test_an_answer_read_before_the_reply_still_counts(ledger: Ledger) -> None:
    """Backfill out of order: the answer seen first still makes the reply answered."""
    ledger.record_message(msg(ANA, day(1), reply_to=BOB), live=False)
    ledger.record_message(msg(BOB, day(0.5), reply_to=ANA), live=False)
    stats = ledger.period_stats(G, "2026-W45")[ANA]
    assert (stats.inbound, stats.answered) == (1, 1)
    assert ledger.pending_for(G, ANA, day(1)) == []


def test_distinct_people_hold_in_any_replay_order(ledger: Ledger) -> None:
    """People engaged per period count each person once, whatever order history comes in."""
    for at in (day(7), day(0), day(8), day(1)):  # two weeks, read out of order
        ledger.record_message(msg(ANA, at, reply_to=BOB), live=False)
    assert ledger.period_stats(G, "2026-W45")[ANA].people == 1
    assert ledger.period_stats(G, "2026-W46")[ANA].people == 1
    assert ledger.period_stats(G, "2026-11")[ANA].people == 1


def test_pair_counts_show_who_engaged_with_whom(ledger: Ledger) -> None:
    """Per period, each pair counts its directions (1 or 2), however many messages."""
    for n in range(10):
        ledger.record_message(msg(ANA, T0 + timedelta(minutes=n), reply_to=BOB))
    ledger.record_message(msg(BOB, day(1), reply_to=ANA))
    ledger.record_message(msg(CAT, day(2), mentions=(ANA,)))
    ledger.record_message(msg(DAN, day(9), mentions=(ANA,)))
    assert ledger.pair_counts(G, "2026-W45") == {(ANA, BOB): 2, (ANA, CAT): 1}
    assert ledger.pair_counts(G, "2026-11") == {(ANA, BOB): 2, (ANA, CAT): 1, (ANA, DAN): 1}


# ---- newcomers -------------------------------------------------------------------------------


def test_newcomers_keep_their_first_messages_and_who_answered(ledger: Ledger) -> None:
    """A newcomer's first three messages within a week, and who replied or mentioned them."""
    ledger.member_joined(G, DAN, T0)
    first = [msg(DAN, day(n), channel=CH2) for n in (0.1, 0.2, 0.3, 0.4)]
    for m in first:
        ledger.record_message(m)
    ledger.record_message(msg(DAN, day(8)))
    ledger.record_message(msg(ANA, day(1), channel=CH2, reply_to=DAN))
    ledger.record_message(msg(BOB, day(1), channel=CH2, thread=71, starter=DAN))
    (nc,) = ledger.newcomers(G, since=day(-7))
    assert [f.message_id for f in nc.first_messages] == [m.message_id for m in first[:3]]
    assert nc.answered_by == {ANA, BOB}
    assert ledger.active_in(G, CH2, since=day(-1)) == {DAN, ANA, BOB}
    assert ledger.newcomers(G, since=day(1)) == []


def test_a_newcomer_who_left_is_not_listed(ledger: Ledger) -> None:
    """Members who left are never suggested for a welcome."""
    ledger.member_joined(G, DAN, T0)
    ledger.member_left(G, DAN)
    assert ledger.newcomers(G, since=day(-1)) == []
    assert ledger.activity(G, DAN).left is True


# ---- dedupe, backfill, edits ----------------------------------------------------------------


def test_an_edit_that_adds_a_mention_counts_once(ledger: Ledger) -> None:
    """Re-recording an edited message adds only the new mention, once."""
    m = msg(ANA, T0, reply_to=BOB)
    ledger.record_message(m)
    edited = msg(ANA, T0, reply_to=BOB, mentions=(CAT,), message_id=m.message_id)
    assert ledger.record_message(edited) == 1
    assert ledger.record_message(edited) == 0
    assert ledger.interactions_total(G) == 2
    assert ledger.activity(G, ANA).channels[CH].messages == 1


def test_replaying_backfill_pages_counts_nothing_twice(ledger: Ledger) -> None:
    """A second backfill run over the same pages changes nothing."""
    page = [msg(ANA if n % 2 else BOB, day(n), reply_to=BOB if n % 2 else ANA) for n in range(6)]
    lo, hi = page[0].message_id, page[-1].message_id
    assert ledger.record_history(G, CH, page, lo, hi) == 6
    before = ledger.export_member(G, ANA)
    assert ledger.record_history(G, CH, page, lo, hi) == 0
    assert ledger.export_member(G, ANA) == before
    assert ledger.covered(G, CH) == [(lo, hi)]


def test_backfill_over_live_messages_skips_them(ledger: Ledger) -> None:
    """History overlapping what arrived live is not counted again."""
    live = [msg(ANA, day(n), reply_to=BOB) for n in (5, 6)]
    for m in live:
        ledger.record_message(m)
    older = msg(ANA, day(1), reply_to=BOB)
    ledger.record_history(G, CH, [older, *live], older.message_id, live[-1].message_id)
    assert ledger.pairs_of(G, ANA)[0].counts_out[Kind.REPLY] == 3


def test_a_new_gateway_session_leaves_the_gap_for_backfill(ledger: Ledger) -> None:
    """After a reconnect, messages missed in between are not mistaken for recorded."""
    ledger.record_message(msg(ANA, day(1), reply_to=BOB))
    missed = msg(ANA, day(2), reply_to=BOB)
    ledger.live_restarted()
    ledger.record_message(msg(ANA, day(3), reply_to=BOB))
    assert ledger.record_history(G, CH, [missed], missed.message_id, missed.message_id) == 1
    assert ledger.pairs_of(G, ANA)[0].counts_out[Kind.REPLY] == 3


def test_guilds_are_kept_apart(ledger: Ledger) -> None:
    """The same members in two guilds have two separate histories."""
    ledger.record_message(msg(ANA, T0, reply_to=BOB))
    ledger.record_message(msg(BOB, T0, guild=G2, reply_to=ANA))
    ledger.record_message(msg(BOB, day(1), guild=G2, reply_to=ANA))
    assert ledger.pairs_of(G, ANA)[0].counts_out[Kind.REPLY] == 1
    assert ledger.pairs_of(G2, ANA)[0].counts_in[Kind.REPLY] == 2
    assert ledger.pairs_of(G2, ANA)[0].counts_out[Kind.REPLY] == 0
    assert ledger.pending_for(G, ANA, day(1)) == []
    assert len(ledger.pending_for(G2, ANA, day(1))) == 2
    assert (ledger.interactions_total(G), ledger.interactions_total(G2)) == (1, 2)


# ---- privacy, retention, persistence --------------------------------------------------------


def _busy_guild(ledger: Ledger) -> None:
    """A little of everything around Ana."""
    ledger.member_joined(G, DAN, T0)
    ledger.record_message(msg(DAN, day(0.1)))
    ledger.record_message(msg(ANA, day(0.2), reply_to=DAN, link=True))
    ledger.record_message(msg(BOB, day(0.3), reply_to=ANA, thanks=True))
    ledger.record_message(msg(ANA, day(0.4), mentions=(CAT,), channel=CH2))
    ledger.record_message(msg(CAT, day(0.5), reply_to=BOB))
    ledger.record(reaction(CAT, ANA, 5, day(0.6)))
    ledger.set_cadence(G, BOB, ANA, timedelta(days=7))
    ledger.set_cadence(G, ANA, CAT, timedelta(days=3))


def test_forget_removes_a_member_everywhere(ledger: Ledger) -> None:
    """After forget, nothing about the member is left, as actor or as target."""
    _busy_guild(ledger)
    ledger.forget_member(G, ANA)
    assert ANA not in ledger.members(G)
    assert ledger.pairs_of(G, ANA) == []
    assert ledger.pending_for(G, ANA, day(1)) == []
    assert all(v.other_id != ANA for m in (BOB, CAT, DAN) for v in ledger.pairs_of(G, m))
    assert all(
        i.from_member_id != ANA for m in (CAT, DAN) for i in ledger.pending_for(G, m, day(1))
    )
    assert ledger.newcomers(G, since=day(-1))[0].answered_by == frozenset()
    assert ledger.activity(G, ANA).channels == {}
    assert ledger.period_stats(G, "2026-W45").get(ANA) is None
    week = ledger.period_stats(G, "2026-W45")
    assert (week[BOB].people, week[CAT].people) == (0, 1)  # Bob had only Ana; Cat keeps Bob
    export = ledger.export_member(G, ANA)
    assert export["relationships"] == []
    assert export["pending_from_member"] == []
    assert str(ANA) not in json.dumps(ledger.export_member(G, BOB))


async def test_forget_reaches_the_store(ledger: Ledger) -> None:
    """Forgetting deletes the member's documents and rewrites the others' at the next flush."""
    _busy_guild(ledger)
    ledger.stage()
    await ledger.store.flush()
    ledger.forget_member(G, ANA)
    ledger.stage()
    await ledger.store.flush()
    docs = ledger.store._data  # type: ignore[attr-defined]
    assert str(ANA) not in json.dumps([[table, g, d] for (table, g), d in docs.items()])


def test_export_holds_everything_about_the_member_as_json(ledger: Ledger) -> None:
    """The export lists relationships, items either way, activity, newcomer and periods."""
    _busy_guild(ledger)
    export = json.loads(json.dumps(ledger.export_member(G, ANA)))
    assert {r["other_id"] for r in export["relationships"]} == {BOB, CAT, DAN}
    bob = next(r for r in export["relationships"] if r["other_id"] == BOB)
    assert bob["counts_in"]["reply"] == 1
    assert bob["counts_in"]["thanks"] == 1
    assert [i["from_member_id"] for i in export["pending_for_member"]] == [BOB]
    assert export["pending_for_member"][0]["warm"] is False
    # Cat's item went when Cat reacted to Ana; Dan has not answered yet.
    assert [i["member_id"] for i in export["pending_from_member"]] == [DAN]
    assert export["activity"]["last_share"] == day(0.2).isoformat()
    assert export["activity"]["keep_in_touch"] == {str(CAT): 3 * 86400}
    assert export["greeted_newcomers"] == [DAN]
    assert export["periods"]["2026-W45"]["given"] == 2
    assert export["periods"]["2026-W45"]["inbound"] == 1


async def test_state_survives_a_round_trip_through_the_store(ledger: Ledger) -> None:
    """stage -> flush -> a new Ledger -> load_guild reads the same."""
    _busy_guild(ledger)
    ledger.record_message(msg(ANA, day(2), reply_to=BOB, channel=CH2))
    assert ledger.stage() > 0
    assert ledger.stage() == 0
    await ledger.store.flush()
    again = Ledger(ledger.store)
    await again.load_guild(G)
    for member in (ANA, BOB, CAT, DAN):
        assert again.pairs_of(G, member) == ledger.pairs_of(G, member)
        assert again.pending_for(G, member, day(3)) == ledger.pending_for(G, member, day(3))
        assert again.activity(G, member) == ledger.activity(G, member)
        assert again.export_member(G, member) == ledger.export_member(G, member)
    assert again.newcomers(G, day(-1)) == ledger.newcomers(G, day(-1))
    for period in ledger.periods(G):
        assert again.period_stats(G, period) == ledger.period_stats(G, period)
        assert again.pair_counts(G, period) == ledger.pair_counts(G, period)
    assert again.members(G) == ledger.members(G)
    assert again.interactions_total(G) == ledger.interactions_total(G)
    assert again.covered(G, CH) == ledger.covered(G, CH)


async def test_a_reloaded_ledger_still_skips_recorded_history(ledger: Ledger) -> None:
    """Backfill resumed after a restart does not count a page recorded before it."""
    page = [msg(ANA, day(n), reply_to=BOB) for n in range(3)]
    ledger.record_history(G, CH, page, page[0].message_id, page[-1].message_id)
    ledger.stage()
    await ledger.store.flush()
    again = Ledger(ledger.store)
    await again.load_guild(G)
    assert again.record_history(G, CH, page, page[0].message_id, page[-1].message_id) == 0
    assert again.pairs_of(G, ANA)[0].counts_out[Kind.REPLY] == 3


def test_prune_drops_silent_pairs_and_expired_items(ledger: Ledger) -> None:
    """Retention removes pairs silent longer than retain and old pending items."""
    ledger.record_message(msg(BOB, T0, reply_to=ANA))
    ledger.record_message(msg(CAT, day(100), reply_to=ANA))
    dropped = ledger.prune(day(101), retain=timedelta(days=90))
    assert dropped >= 2
    assert [v.other_id for v in ledger.pairs_of(G, ANA)] == [CAT]
    assert [i.from_member_id for i in ledger.pending_for(G, ANA, day(101))] == [CAT]
    assert ledger.activity(G, BOB).channels == {}


def test_prune_keeps_thirteen_months_of_periods(ledger: Ledger) -> None:
    """Period counters older than 13 months go; newer ones stay."""
    ledger.record_message(msg(ANA, T0, reply_to=BOB))
    ledger.prune(day(380), retain=timedelta(days=10_000))
    assert "2026-11" in ledger.periods(G)
    ledger.prune(day(440), retain=timedelta(days=10_000))
    assert ledger.periods(G) == []


class SlowStore(MemoryStore):
    """A store whose reads wait until released, like a disk read in a thread."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def load(self, table: str, guild_id: int) -> dict[str, Doc]:
        """Wait, then read."""
        await self.release.wait()
        return await super().load(table, guild_id)


async def test_events_during_a_guild_load_are_applied_after_it(ledger: Ledger) -> None:
    """Messages that arrive while a guild's state is read are neither lost nor double counted."""
    ledger.record_message(msg(ANA, T0, reply_to=BOB))
    ledger.stage()
    await ledger.store.flush()
    store = SlowStore()
    store._data = ledger.store._data  # type: ignore[attr-defined]
    again = Ledger(store)
    loading = asyncio.create_task(again.load_guild(G))
    await asyncio.sleep(0)
    again.record_message(msg(ANA, day(1), reply_to=BOB))
    again.member_joined(G, DAN, day(1))
    store.release.set()
    await loading
    assert again.pairs_of(G, ANA)[0].counts_out[Kind.REPLY] == 2
    assert [n.member_id for n in again.newcomers(G, T0)] == [DAN]
