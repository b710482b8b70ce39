"""Nudge digests as members receive them: one DM, readable, with buttons that survive restarts."""

from __future__ import annotations

import pytest

from sandbox.state import Member, Message
from tests.conftest import Sandbox, days_ago, hours_ago

ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)


async def enroll(sandbox: Sandbox, *members: Member) -> None:
    """Members join digests the way they would (/rapport join)."""
    for m in members:
        reply = await sandbox.slash(m, "rapport join")
        assert reply.ephemeral


async def unanswered_reply(sandbox: Sandbox, author: Member, replier: Member) -> Message:
    """`author` posts, `replier` answers two days ago; returns the reply."""
    post = await sandbox.say(author, "#design", "draft is up", at=days_ago(3))
    return await sandbox.say(replier, "#design", "looks great", reply_to=post, at=days_ago(2))


async def digest_of(sandbox: Sandbox, member: Member) -> Message:
    """Run the scan and return the one DM it sent the member."""
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(member)
    return dm


async def test_unanswered_reply_reaches_the_author_in_one_digest(sandbox: Sandbox) -> None:
    """A reply left unanswered past the grace period shows up in the author's next digest."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await enroll(sandbox, ana)
    reply = await unanswered_reply(sandbox, ana, bob)
    dm = await digest_of(sandbox, ana)
    assert "Bob answered your post in #design 2 days ago — a thank-you goes a long way" in dm.text
    assert reply.jump_url in dm.text
    assert "0:00" not in dm.text  # human durations only
    assert {"rapport:done", "rapport:snooze", "rapport:notabout"} <= {
        ":".join(c.split(":")[:2]) for c in dm.custom_ids()
    }
    await sandbox.run_job("send_due_digests")
    assert len(sandbox.dms_to(ana)) == 1  # the same situation is never nudged twice


async def test_a_drifting_friend_reads_in_weeks(sandbox: Sandbox) -> None:
    """A relationship silent for three weeks is described in weeks, with the usual rhythm."""
    ana, sam = await sandbox.members("Ana", "Sam")
    await enroll(sandbox, ana)
    last = None
    for day in (60, 55, 50, 45, 40, 35, 30, 25, 22):
        post = await sandbox.say(ana, "#general", "hey", at=days_ago(day, now=None), reply_to=last)
        last = await sandbox.say(sam, "#general", "hi!", reply_to=post, at=days_ago(day - 0.1))
    dm = await digest_of(sandbox, ana)
    assert "You haven't talked with Sam in 3 weeks — you used to talk about every 5 days" in dm.text
    assert last.jump_url in dm.text


async def test_nobody_is_nudged_about_someone_who_left(sandbox: Sandbox) -> None:
    """A member who left the server never appears in anyone's digest; those who stay still do."""
    ana, bob, cat = await sandbox.members("Ana", "Bob", "Cat")
    await enroll(sandbox, ana)  # first: what /rapport join previews is never sent again
    post = await unanswered_reply(sandbox, ana, bob)
    await sandbox.say(cat, "#design", "agreed", reply_to=post.reply_to, at=days_ago(2))
    await sandbox.emulator.remove_member(sandbox.guild, bob)
    await sandbox.settle()
    dm = await digest_of(sandbox, ana)
    assert "Cat answered your post" in dm.text
    assert "Bob" not in dm.text


async def test_done_after_a_restart_counts_as_acted_on(sandbox: Sandbox) -> None:
    """Done still works after the bot restarts, and the member's status counts it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await enroll(sandbox, ana)  # first: what /rapport join previews is never sent again
    await unanswered_reply(sandbox, ana, bob)
    dm = await digest_of(sandbox, ana)
    await sandbox.restart()
    done = next(c for c in dm.custom_ids() if c.startswith("rapport:done:"))
    reply = await sandbox.click(ana, dm, done)
    assert "marked as done" in reply.text
    outcomes = sandbox.services.nudges.member_outcomes(sandbox.guild.id, ana.id)
    items = dm.embeds[0]["description"].count("• ")
    assert outcomes["acted_on"] == outcomes["sent"] == items


async def test_snooze_after_a_restart_pauses_digests(sandbox: Sandbox) -> None:
    """Snooze 1 week, pressed after a restart, holds every digest for that week and only that week."""
    ana, bob, cat = await sandbox.members("Ana", "Bob", "Cat")
    await enroll(sandbox, ana)  # first: what /rapport join previews is never sent again
    await unanswered_reply(sandbox, ana, bob)
    dm = await digest_of(sandbox, ana)
    await sandbox.restart()
    snooze = next(c for c in dm.custom_ids() if c.startswith("rapport:snooze:"))
    reply = await sandbox.click(ana, dm, snooze)
    assert "Snoozed" in reply.text
    await sandbox.clock.advance(days=3)
    mention = await sandbox.say(
        cat, "#design", f"<@{ana.id}> ping", mentions=[ana], at=hours_ago(30)
    )
    await sandbox.clock.advance(days=1)  # a new day: once-per-day no longer holds it back
    assert sandbox.dms_to(ana) == [dm]
    await sandbox.clock.advance(days=4)  # the week is over; Cat's mention is 6 days old
    (_, later) = sandbox.dms_to(ana)
    assert mention.jump_url in later.text


@pytest.mark.sandbox_config({"nudges": {**ANY_TIME["nudges"], "digest_size": 1}})
async def test_not_about_after_a_restart_mutes_that_person(sandbox: Sandbox) -> None:
    """After "Not about Bob" (picked after a restart), Bob never takes a line in a later digest."""
    ana, bob, cat = await sandbox.members("Ana", "Bob", "Cat")
    await enroll(sandbox, ana)  # first: what /rapport join previews is never sent again
    await unanswered_reply(sandbox, ana, bob)
    dm = await digest_of(sandbox, ana)
    await sandbox.restart()
    select = next(c for c in dm.custom_ids() if c.startswith("rapport:notabout:"))
    reply = await sandbox.click(ana, dm, select, values=[str(bob.id)])
    assert "won't nudge you about Bob" in reply.text
    later = await sandbox.say(ana, "#design", "v2 is up", at=hours_ago(40))
    await sandbox.say(bob, "#design", "nice", reply_to=later, at=hours_ago(30))
    await sandbox.say(cat, "#design", "also nice", reply_to=later, at=hours_ago(30))
    await sandbox.clock.advance(days=2)  # [nudges] min_gap: two days between digests
    (_, next_day) = sandbox.dms_to(ana)
    assert "Cat answered your post" in next_day.text
    assert "Bob" not in next_day.text


def dm_attempts(sandbox: Sandbox, member: Member) -> int:
    """How many times the bot tried to post in the member's DMs, refused or not."""
    channel = sandbox.emulator.dm_channels.get(member.id)
    if channel is None:
        return 0
    path = f"/channels/{channel.id}/messages"
    return sum(1 for r in sandbox.emulator.requests if r.method == "POST" and r.path == path)


async def test_closed_dms_are_recorded_and_not_retried(sandbox: Sandbox) -> None:
    """A member whose DMs refuse the bot (50007) is recorded and not tried again until they rejoin."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await enroll(sandbox, ana)  # first: what /rapport join previews is never sent again
    await unanswered_reply(sandbox, ana, bob)
    sandbox.emulator.refuse_dms(ana)
    await sandbox.run_job("send_due_digests")
    assert sandbox.services.members.preferences(sandbox.guild.id, ana.id).dms_closed
    assert sandbox.services.nudges.guild_stats(sandbox.guild.id)["dms_closed"] == 1
    tried = dm_attempts(sandbox, ana)
    assert tried >= 1
    await sandbox.clock.advance(days=1)  # the next day's scan: Bob's reply is still due
    assert dm_attempts(sandbox, ana) == tried
    sandbox.emulator.refuse_dms(ana, refuse=False)
    rejoined = await sandbox.slash(ana, "rapport join")  # joining again says the DMs are open
    assert "Your DMs were closed" in rejoined.text
    await sandbox.say(bob, "#design", f"<@{ana.id}> one more?", mentions=[ana], at=hours_ago(26))
    await sandbox.clock.advance(days=1)
    (dm,) = sandbox.dms_to(ana)
    assert "Bob mentioned you" in dm.text


async def test_remind_me_to_reply_lets_the_member_pick_a_time(sandbox: Sandbox) -> None:
    """The member picks 4 h from the message menu, and the reminder comes 4 hours later, not sooner."""
    ana, bob = await sandbox.members("Ana", "Bob")
    msg = await sandbox.say(bob, "#help", "can you review my PR?")
    menu = await sandbox.emulator.message_menu(ana, sandbox.guild, "Remind me to reply", msg)
    assert menu.ephemeral
    (custom_id,) = menu.message.custom_ids()
    assert custom_id == f"rapport:remind:{sandbox.guild.id}:{msg.channel.id}:{msg.id}:{bob.id}"
    await sandbox.restart()
    picked = await sandbox.click(ana, menu.message, custom_id, values=["4h"])
    assert "remind you" in picked.text
    await sandbox.clock.advance(hours=3)
    assert sandbox.dms_to(ana) == []  # not due yet
    await sandbox.clock.advance(hours=2)
    (reminder,) = sandbox.dms_to(ana)
    assert msg.jump_url in reminder.text


async def test_remind_me_refuses_a_members_own_message(sandbox: Sandbox) -> None:
    """A member can't set a reply reminder on their own message."""
    (ana,) = await sandbox.members("Ana")
    msg = await sandbox.say(ana, "#help", "anyone?")
    menu = await sandbox.emulator.message_menu(ana, sandbox.guild, "Remind me to reply", msg)
    assert "your own message" in menu.text


async def test_an_answer_never_thanked_and_a_newcomer_read_as_members_see_them(
    sandbox: Sandbox,
) -> None:
    """An answer the member never came back to, and an unanswered newcomer, get a line each."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await enroll(sandbox, ana)
    post = await sandbox.say(ana, "#help", "how do I rotate the keys", at=days_ago(3))
    await sandbox.say(bob, "#help", "admin panel, then keys", reply_to=post, at=days_ago(2))
    await sandbox.say(ana, "#general", "morning all", at=days_ago(1))
    lee = await sandbox.member("Lee", at=hours_ago(6))
    hello = await sandbox.say(lee, "#general", "hi, I'm new here", at=hours_ago(5))
    dm = await digest_of(sandbox, ana)
    assert "Bob answered your post in #help 2 days ago — a thank-you goes a long way." in dm.text
    assert "Lee is new here and posted in #general 5 hours ago" in dm.text
    assert "#general" in dm.text
    assert hello.jump_url in dm.text


async def test_opening_dms_too_fast_backs_off_and_delivers_once(sandbox: Sandbox) -> None:
    """On 40003 the DM queue pauses, then delivers the digest exactly once."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await enroll(sandbox, ana)  # first: what /rapport join previews is never sent again
    await unanswered_reply(sandbox, ana, bob)
    sandbox.services.nudges.queue.backoff = 0.2  # Discord's real pause is a minute or more
    sandbox.emulator.refuse_dm_burst(times=1)
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    assert "Bob answered your post" in dm.text
    refused = [
        r for r in sandbox.emulator.requests if r.method == "POST" and r.path.endswith("/messages")
    ]
    assert len(refused) >= 2  # the refused attempt, then the delivery


async def test_a_server_that_removed_the_bot_gets_no_more_digests(sandbox: Sandbox) -> None:
    """Once an admin removes Rapport, nobody gets digests about that server any more."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await unanswered_reply(sandbox, ana, bob)
    await enroll(sandbox, ana)
    elsewhere = sandbox.emulator.add_guild("Elsewhere")
    elsewhere.members[ana.id] = Member(ana.user, elsewhere)  # Ana still shares a server with it
    await sandbox.emulator.remove_bot(sandbox.guild)
    await sandbox.settle()
    assert sandbox.bot.get_guild(sandbox.guild.id) is None
    assert await sandbox.run_job("send_due_digests")
    assert sandbox.dms_to(ana) == []
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert sandbox.posts("leaderboard") == []


async def test_a_thread_reads_by_its_name_not_as_a_channel(sandbox: Sandbox) -> None:
    """An answer in a thread names the thread as Discord lists it, with no "#" before it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await enroll(sandbox, ana)
    thread = await sandbox.emulator.create_thread(
        sandbox.channel("help"), ana, "key rotation", at=days_ago(3)
    )
    await sandbox.emulator.say(bob, thread, "admin panel, then keys", at=days_ago(2))
    dm = await digest_of(sandbox, ana)
    assert "Bob answered your question in “key rotation” 2 days ago" in dm.text
    assert "#key rotation" not in dm.text


async def test_a_newcomer_who_first_posts_late_in_their_first_week_is_still_welcomed(
    sandbox: Sandbox,
) -> None:
    """Joined over a week ago, first post on day 7: the line is about the post, still fresh."""
    (ana,) = await sandbox.members("Ana")
    await enroll(sandbox, ana)
    await sandbox.say(ana, "#general", "morning all", at=days_ago(1))
    kim = await sandbox.member("Kim", at=days_ago(7.2))
    hello = await sandbox.say(kim, "#general", "hi, I'm new here", at=hours_ago(6))
    dm = await digest_of(sandbox, ana)
    assert "Kim is new here and posted in #general 6 hours ago" in dm.text
    assert hello.jump_url in dm.text
