"""Digests hold only what a member owes and would regret missing (issue 12), as members see them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.state import Member
from tests.conftest import Sandbox, days_ago, hours_ago

ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)


async def join(sandbox: Sandbox, *members: Member) -> None:
    """Members join first: what /rapport join previews is never sent again."""
    for m in members:
        await sandbox.slash(m, "rapport join")


async def digest_text(sandbox: Sandbox, member: Member) -> str:
    """Run the scan; the member's one digest, as text."""
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(member)
    return dm.text


async def test_an_answer_in_the_flow_of_the_channel_owes_nothing(sandbox: Sandbox) -> None:
    """Writing in the channel soon after a mention answers it, without Discord's reply feature."""
    ana, bob, cat = await sandbox.members("Ana", "Bob", "Cat")
    await join(sandbox, ana)
    await sandbox.say(bob, "#design", "thoughts?", mentions=[ana], at=days_ago(2))
    await sandbox.say(
        ana, "#design", "I'd go with the blue one", at=days_ago(2) + timedelta(hours=1)
    )
    await sandbox.say(cat, "#help", "can you look?", mentions=[ana], at=days_ago(2))
    text = await digest_text(sandbox, ana)
    assert "Cat mentioned you" in text
    assert "Bob" not in text


async def test_a_reaction_acknowledges_the_message(sandbox: Sandbox) -> None:
    """A reaction to the message itself is an answer: no line about it."""
    ana, bob, cat = await sandbox.members("Ana", "Bob", "Cat")
    await join(sandbox, ana)
    ping = await sandbox.say(bob, "#design", "shipped v2 today!", mentions=[ana], at=days_ago(2))
    await sandbox.react(ana, ping, "👍")
    await sandbox.say(cat, "#help", "can you look?", mentions=[ana], at=days_ago(2))
    text = await digest_text(sandbox, ana)
    assert "Cat mentioned you" in text
    assert "Bob" not in text


async def test_a_thank_you_closes_the_exchange_for_both(sandbox: Sandbox) -> None:
    """ "thanks, that fixed it!" owes no answer, and a thanks received is never nudged.

    Without the message content intent the thank-you is only a reply, but a reply to the answer
    Ana got, a day later: the third turn of a short exchange owes nothing either way.
    """
    ana, bob, cat = await sandbox.members("Ana", "Bob", "Cat")
    await join(sandbox, bob)
    question = await sandbox.say(ana, "#help", "the build fails on CI", at=days_ago(3))
    answer = await sandbox.say(
        bob, "#help", "clear the cache", reply_to=question, at=days_ago(3) + timedelta(hours=1)
    )
    await sandbox.say(ana, "#help", "thanks, that fixed it!", reply_to=answer, at=days_ago(2))
    await sandbox.say(cat, "#general", "lunch?", mentions=[bob], at=days_ago(2))
    text = await digest_text(sandbox, bob)
    assert "Cat mentioned you" in text
    assert "Ana" not in text


async def test_nothing_older_than_a_week_is_nudged(sandbox: Sandbox) -> None:
    """A mention 8 days old is stale at send time; one from 2 days ago is not."""
    ana, bob, cat, dan = await sandbox.members("Ana", "Bob", "Cat", "Dan")
    await join(sandbox, ana)
    await sandbox.say(cat, "#help", "can you look?", mentions=[ana], at=days_ago(2))
    await digest_text(sandbox, ana)  # the first digest (it only looks 3 days back) is out
    await sandbox.clock.advance(days=2)  # [nudges] min_gap
    await sandbox.say(bob, "#design", "thoughts?", mentions=[ana], at=days_ago(8))
    await sandbox.say(dan, "#help", "and this?", mentions=[ana], at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    (_, second) = sandbox.dms_to(ana)
    assert "Dan mentioned you" in second.text
    assert "Bob" not in second.text


async def history_with(sandbox: Sandbox, starter: Member, other: Member) -> None:
    """Eight exchanges five days apart, each started by `starter`, the last 22 days ago."""
    last = None
    for day in (57, 52, 47, 42, 37, 32, 27, 22):
        post = await sandbox.say(starter, "#general", "hey", at=days_ago(day), reply_to=last)
        last = await sandbox.say(other, "#general", "hi!", reply_to=post, at=days_ago(day - 0.1))


async def test_one_side_of_a_drifting_pair_hears_of_it_first(sandbox: Sandbox) -> None:
    """The one who usually waits gets the line; the other only a week later, if still silent."""
    ana, sam = await sandbox.members("Ana", "Sam")
    await join(sandbox, ana, sam)
    await history_with(sandbox, sam, ana)  # Sam always starts: Ana is the one who waits
    await sandbox.run_job("send_due_digests")
    assert any("You haven't talked with Sam" in dm.text for dm in sandbox.dms_to(ana))
    assert not any("Ana" in dm.text for dm in sandbox.dms_to(sam))
    await sandbox.clock.advance(days=8)
    assert any("You haven't talked with Ana" in dm.text for dm in sandbox.dms_to(sam))


async def test_the_other_side_is_not_skipped_when_the_waiter_is_not_enrolled(
    sandbox: Sandbox,
) -> None:
    """When the one who waits gets no digests, the one who starts hears of it at once."""
    ana, sam = await sandbox.members("Ana", "Sam")
    await join(sandbox, sam)
    await history_with(sandbox, sam, ana)
    text = await digest_text(sandbox, sam)
    assert "You haven't talked with Ana" in text


async def test_no_digest_goes_to_a_member_who_left(sandbox: Sandbox) -> None:
    """A member who left the server gets no DM, whatever was waiting for them."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await join(sandbox, ana)
    await sandbox.say(bob, "#design", "thoughts?", mentions=[ana], at=days_ago(2))
    await sandbox.emulator.remove_member(sandbox.guild, ana)
    await sandbox.settle()
    await sandbox.run_job("send_due_digests")
    assert sandbox.dms_to(ana) == []


def posts(sandbox: Sandbox) -> list[str]:
    """Every message the bot tried to post (DMs included)."""
    return [
        r.path
        for r in sandbox.emulator.requests
        if r.method == "POST" and r.path.endswith("/messages")
    ]


async def test_a_server_that_removed_the_bot_gets_nothing_and_its_data_goes(
    sandbox: Sandbox,
) -> None:
    """After GUILD_DELETE nothing is sent for the server, and 30 days later its data is gone."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await join(sandbox, ana)
    await sandbox.say(bob, "#design", "thoughts?", mentions=[ana], at=days_ago(2))
    await sandbox.emulator.remove_bot(sandbox.guild)
    await sandbox.settle()
    await sandbox.run_job("send_due_digests")
    assert posts(sandbox) == []  # not even tried (Discord would refuse it now)
    gid = sandbox.guild.id
    await sandbox.run_job("apply_retention")
    assert sandbox.services.ledger.pending_for(gid, ana.id, sandbox.clock()) != []
    await sandbox.clock.advance(days=31)
    await sandbox.run_job("apply_retention")
    assert sandbox.services.ledger.pending_for(gid, ana.id, sandbox.clock()) == []
    assert gid not in sandbox.services.ledger.guild_ids()
    assert sandbox.dms_to(ana) == []


async def test_closed_dms_are_told_in_the_next_command_whichever_it_is(sandbox: Sandbox) -> None:
    """After a digest bounced off closed DMs, the member's next command says so, once."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await join(sandbox, ana)
    await sandbox.say(bob, "#design", "thoughts?", mentions=[ana], at=days_ago(2))
    sandbox.emulator.refuse_dms(ana)
    await sandbox.run_job("send_due_digests")
    first = await sandbox.slash(ana, "rapport status")
    assert first.ephemeral
    assert "couldn't deliver your last digest" in first.text
    again = await sandbox.slash(ana, "rapport status")
    assert "couldn't deliver your last digest" not in again.text


async def test_a_newcomer_whose_join_and_first_message_arrive_together(sandbox: Sandbox) -> None:
    """The join and the greeting reach the bot at once; the newcomer is still welcomed."""
    (ana,) = await sandbox.members("Ana")
    await join(sandbox, ana)
    await sandbox.say(ana, "#general", "morning all", at=hours_ago(30))
    kim = await sandbox.emulator.add_member(sandbox.guild, "Kim")  # no settle: together
    hello = await sandbox.say(kim, "#general", "hi, I'm new here")
    await sandbox.clock.advance(hours=5)  # past the welcome grace period
    dms = sandbox.dms_to(ana)
    assert any("Kim is new here" in dm.text and hello.jump_url in dm.text for dm in dms)
