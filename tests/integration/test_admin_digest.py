"""The weekly admin digest through the sandbox: where admins choose, links and totals, no text."""

from __future__ import annotations

import pytest

from sandbox.state import Member
from tests.conftest import Sandbox, days_ago
from tests.integration.test_commands_admin import admin

ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)
JOB = "send_admin_digests"
SECRET = "zebra-7731"
"""A word in every message of these tests: it must never appear in an admin digest."""


async def unanswered_things(sandbox: Sandbox) -> dict[str, str]:
    """A newcomer's first message nobody answered, and a mention nobody answered: their links."""
    ana, bob = await sandbox.members("Ana", "Bob")
    asked = await sandbox.say(
        bob, "#design", f"{SECRET} can you review?", mentions=[ana], at=days_ago(3)
    )
    nia = await sandbox.member("Nia")
    hello = await sandbox.say(nia, "#introductions", f"{SECRET} hi, I'm new")
    # Named as the cache knows her: without the members intent, by mention (shown as her name).
    return {"asked": asked.jump_url, "hello": hello.jump_url, "nia": sandbox.cached_name(nia)}


async def test_the_admin_digest_posts_links_and_names_in_the_chosen_channel_once(
    sandbox: Sandbox,
) -> None:
    """Posted once a week in the admins' channel: who nobody answered, links, never the text."""
    boss = await admin(sandbox)
    await sandbox.restart()  # the admin role reaches the bot
    mods = sandbox.channel("#leaderboard")
    await sandbox.slash(boss, "rapport-admin admin-digest", channel=mods)
    await sandbox.run_job(JOB)
    assert sandbox.posts("#leaderboard") == []  # nothing worth saying yet: nothing sent
    links = await unanswered_things(sandbox)
    await sandbox.run_job(JOB)
    (post,) = sandbox.posts("#leaderboard")
    assert "Newcomers nobody answered yet" in post.text
    assert f"{links['nia']} joined" in post.text
    assert links["hello"] in post.text
    assert "Waiting longest for an answer" in post.text
    assert links["asked"] in post.text
    assert SECRET not in post.text
    assert "review" not in post.text
    await sandbox.run_job(JOB)
    assert len(sandbox.posts("#leaderboard")) == 1  # once a week, not once a run
    await sandbox.clock.advance(days=7)
    await sandbox.run_job(JOB)
    assert len(sandbox.posts("#leaderboard")) == 2  # the next week's


async def test_an_admin_who_opts_in_gets_it_by_dm_and_others_do_not(sandbox: Sandbox) -> None:
    """dm:on sends the digest to that admin only; an admin who did not ask gets nothing."""
    boss = await admin(sandbox)
    other = await sandbox.member("Other", roles=boss.roles)
    await sandbox.restart()
    links = await unanswered_things(sandbox)
    reply = await sandbox.slash(boss, "rapport-admin admin-digest", dm="on")
    assert "By DM to you:** on" in reply.text
    assert "1 admin gets it by DM." in reply.text
    await sandbox.run_job(JOB)
    (dm,) = sandbox.dms_to(boss)
    assert "Rapport admin digest" in dm.text
    assert links["asked"] in dm.text
    assert SECRET not in dm.text
    assert sandbox.dms_to(other) == []


async def test_an_admin_who_lost_manage_server_gets_no_more_dms(sandbox: Sandbox) -> None:
    """Opting in is not enough: the DM goes only to members who still have Manage Server."""
    boss = await admin(sandbox)
    second = await sandbox.member("Second", roles=boss.roles)
    await sandbox.restart()
    await unanswered_things(sandbox)
    for who in (boss, second):
        await sandbox.slash(who, "rapport-admin admin-digest", dm="on")
    await sandbox.emulator.update_member(second, roles=[])
    await sandbox.settle()
    await sandbox.run_job(JOB)
    assert len(sandbox.dms_to(boss)) == 1
    assert sandbox.dms_to(second) == []


async def test_the_command_shows_where_it_goes_and_a_private_preview(sandbox: Sandbox) -> None:
    """With no options: the choices and this week's digest so far, privately; non-admins refused."""
    boss = await admin(sandbox)
    await sandbox.restart()
    (ana,) = await sandbox.members("Cleo")
    links = await unanswered_things(sandbox)
    shown = await sandbox.slash(boss, "rapport-admin admin-digest")
    assert shown.ephemeral
    assert "Nobody gets the weekly admin digest yet" in shown.text
    assert links["asked"] in shown.text
    assert SECRET not in shown.text
    refused = await refused_for(sandbox, ana)
    assert "Manage" in refused


async def refused_for(sandbox: Sandbox, member: Member) -> str:
    for command in sandbox.emulator.commands():
        if command["name"] == "rapport-admin":
            command["default_member_permissions"] = None
    reply = await sandbox.slash(member, "rapport-admin admin-digest", dm="on")
    assert sandbox.services.guilds.get(sandbox.guild.id).admin_digest_dms == frozenset()
    return reply.text


async def test_nudges_are_compared_with_the_same_situation_without_a_nudge(
    sandbox: Sandbox,
) -> None:
    """Ana is nudged and answers; Cid (DMs closed, so no digest) never does: both are counted."""
    boss = await admin(sandbox)
    await sandbox.restart()
    ana, bob, cid = await sandbox.members("Ana", "Bob", "Cid")
    await sandbox.slash(boss, "rapport-admin admin-digest", channel=sandbox.channel("#leaderboard"))
    await sandbox.slash(ana, "rapport join")
    await sandbox.slash(cid, "rapport join")
    await sandbox.say(bob, "#design", f"{SECRET} thoughts?", mentions=[ana, cid], at=days_ago(2))
    sandbox.emulator.refuse_dms(cid)
    await sandbox.run_job("send_due_digests")
    assert len(sandbox.dms_to(ana)) == 1
    await sandbox.run_job(JOB)
    (post,) = sandbox.posts("#leaderboard")
    assert "• **Unanswered replies and mentions**: 1 sent\n" in post.text  # no outcome yet
    assert "1 member's DMs refuse Rapport's digests." in post.text
    assert SECRET not in post.text
    await sandbox.clock.advance(days=1)  # Cid, who gets no digests now, is observed
    await sandbox.say(ana, "#design", f"{SECRET} sure, on it", mentions=[bob])
    await sandbox.clock.advance(days=8)  # both outcomes are known a week on
    await sandbox.run_job(JOB)
    latest = sandbox.posts("#leaderboard")[-1]
    assert "acted on: 1 of 1 · without a nudge: 0 of 1" in latest.text
    assert "A share from 20 known outcomes" in latest.text
    assert SECRET not in latest.text


async def test_each_reader_gets_it_in_their_language(sandbox: Sandbox) -> None:
    """The channel post follows the server's language; an admin's DM follows their Discord's."""
    sandbox.guild.preferred_locale = "fr"
    boss = await admin(sandbox)
    boss.user.locale = "de"
    await sandbox.restart()  # the guild payload carries its language, the role its permission
    await unanswered_things(sandbox)
    await sandbox.slash(
        boss, "rapport-admin admin-digest", dm="on", channel=sandbox.channel("#leaderboard")
    )
    await sandbox.run_job(JOB)
    (post,) = sandbox.posts("#leaderboard")
    (dm,) = sandbox.dms_to(boss)
    assert "Bilan admin Rapport" in post.text
    assert "Rapport-Admin-Übersicht" in dm.text
    assert SECRET not in post.text + dm.text


async def test_a_channel_it_can_no_longer_post_in_is_told_to_admins(sandbox: Sandbox) -> None:
    """Once the bot loses Send Messages in the digest's channel, stats and the command say so."""
    boss = await admin(sandbox)
    await sandbox.restart()
    mods = sandbox.channel("#leaderboard")
    await sandbox.slash(boss, "rapport-admin admin-digest", channel=mods)
    assert "admin digest" not in (await sandbox.slash(boss, "rapport-admin stats")).text
    me = sandbox.guild.members[sandbox.emulator.bot_user.id]
    await sandbox.emulator.set_overwrite(mods, me, deny=1 << 11)  # Send Messages
    await sandbox.settle()
    stats = await sandbox.slash(boss, "rapport-admin stats")
    assert f"I can't post the admin digest in {mods.mention}" in stats.text
    shown = await sandbox.slash(boss, "rapport-admin admin-digest")
    assert "I can't post there" in shown.text
