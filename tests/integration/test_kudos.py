"""Kudos through the sandbox: /thanks and "Thank the author", the post, and the credit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rapport.tracking import Kind
from tests.conftest import Sandbox, hours_ago
from tests.integration.test_commands_admin import admin

WORDS = "untangling the deploy script with me"


def thanks_received(text: str) -> str:
    """The "Thanks received" section of a /rapport status answer."""
    return text.split("Thanks received**__")[1].split("__**")[0]


async def test_a_thanks_is_posted_publicly_and_credited_to_the_receiver(sandbox: Sandbox) -> None:
    """/thanks posts the giver's words with the receiver pinged, and the receiver's status counts it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    before = await sandbox.slash(bob, "rapport status")
    assert "None yet" in thanks_received(before.text)

    reply = await sandbox.slash(ana, "thanks", member=bob, channel_=sandbox.channel("#design"))
    assert not reply.ephemeral
    assert reply.content == f"🙏 **Ana** thanks <@{bob.id}>!"
    worded = await sandbox.slash(ana, "thanks", member=bob, **{"for": WORDS})
    assert worded.content == f"🙏 **Ana** thanks <@{bob.id}>: “{WORDS}”"
    posts = sandbox.emulator.channel_messages(sandbox.channel("#design"))
    assert [p.content for p in posts] == [reply.content]
    assert posts[0].mentions == [bob.user]

    status = await sandbox.slash(bob, "rapport status")
    assert status.ephemeral
    section = thanks_received(status.text)
    assert "2 in the last 7 days · 2 in all" in section
    assert f"**{sandbox.cached_name(ana)}**, <t:" in section
    # The pair counts the thanks; Ana's own picture has no thanks received.
    pair = sandbox.services.ledger.pair(sandbox.guild.id, bob.id, ana.id)
    assert pair is not None
    assert pair.counts_in[Kind.THANKS] == 2
    assert "None yet" in thanks_received((await sandbox.slash(ana, "rapport status")).text)


async def test_the_post_pings_the_receiver_and_nobody_the_words_name(sandbox: Sandbox) -> None:
    """Words naming @everyone or someone else are posted as written, but only the receiver is pinged."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    words = f"carrying the release with <@{cy.id}> @everyone"
    reply = await sandbox.slash(ana, "thanks", member=bob, **{"for": words})
    assert not reply.ephemeral
    assert words in reply.content
    assert reply.message is not None
    assert reply.message.mentions == [bob.user]


async def test_the_words_are_posted_but_never_stored(sandbox: Sandbox) -> None:
    """The `for` text lives in the Discord post only: not in the store, not in the export."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.slash(ana, "thanks", member=bob, **{"for": WORDS})
    await sandbox.flush()
    stored = "".join(p.read_text() for p in sandbox.data_dir.glob("rapport.json*"))
    assert str(bob.id) in stored  # the kudos is there, as ids
    assert "deploy" not in stored
    export = await sandbox.slash(bob, "rapport export")
    (name, blob), *_ = export.files if export.files else export.followups[0].files
    assert name.endswith(".json")
    assert b'"from": %d' % ana.id in blob
    assert b"deploy" not in blob


async def test_a_private_thanks_posts_nothing_and_still_credits(sandbox: Sandbox) -> None:
    """private:true answers only the giver; the receiver's status shows who, marked private."""
    ana, bob = await sandbox.members("Ana", "Bob")
    reply = await sandbox.slash(ana, "thanks", member=bob, private=True, **{"for": WORDS})
    assert reply.ephemeral
    assert "Thanked **Bob** privately" in reply.text
    assert "words weren't sent" in reply.text
    assert sandbox.posts("general") == []
    section = thanks_received((await sandbox.slash(bob, "rapport status")).text)
    assert "1 in the last 7 days" in section
    assert f"**{sandbox.cached_name(ana)}** privately" in section


async def test_thank_the_author_thanks_for_that_message(sandbox: Sandbox) -> None:
    """The message menu posts a thanks that links the message and credits its author."""
    ana, bob = await sandbox.members("Ana", "Bob")
    answer = await sandbox.say(bob, "#help", "try clearing the cache", at=hours_ago(2))
    reply = await sandbox.emulator.message_menu(ana, sandbox.guild, "Thank the author", answer)
    await sandbox.settle()
    assert not reply.ephemeral
    assert reply.content.startswith(f"🙏 **Ana** thanks <@{bob.id}> for [this message](")
    assert answer.jump_url in reply.content
    assert "1 in all" in thanks_received((await sandbox.slash(bob, "rapport status")).text)


async def test_self_bots_and_people_who_left_are_refused_privately(sandbox: Sandbox) -> None:
    """Thanking yourself, a bot or someone who left gets a private explanation and no post."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    robot = await sandbox.member("Robot", bot=True)
    mine = await sandbox.say(ana, "#general", "my own note")
    beep = await sandbox.say(robot, "#general", "beep")
    menu = sandbox.emulator.message_menu
    refusals = [
        await sandbox.slash(ana, "thanks", member=ana),
        await menu(ana, sandbox.guild, "Thank the author", mine),
        await sandbox.slash(ana, "thanks", member=robot),
        await menu(ana, sandbox.guild, "Thank the author", beep),
    ]
    gone = await sandbox.say(cy, "#general", "bye all")
    await sandbox.emulator.remove_member(sandbox.guild, cy)
    await sandbox.settle()
    refusals.append(await menu(ana, sandbox.guild, "Thank the author", gone))
    await sandbox.settle()
    for reply in refusals:
        assert reply.ephemeral, reply.text
    assert "That's you" in refusals[0].text
    assert "That's you" in refusals[1].text
    assert "is a bot" in refusals[2].text
    assert "is a bot" in refusals[3].text
    assert "Cy isn't in this server any more" in refusals[4].text
    # Nothing was posted or credited; a real thanks right after still is.
    assert [m for m in sandbox.posts("general") if "thanks" in m.content] == []
    assert (await sandbox.slash(ana, "thanks", member=bob)).content.startswith("🙏")


async def test_someone_who_opted_out_is_not_credited(sandbox: Sandbox) -> None:
    """A receiver who asked not to be tracked is refused; so is a giver, told how to undo it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.services.members.opt_out(sandbox.guild.id, bob.id)
    refused = await sandbox.slash(ana, "thanks", member=bob)
    assert refused.ephemeral
    assert "Bob asked Rapport not to keep track of them" in refused.text
    own = await sandbox.slash(bob, "thanks", member=ana)
    assert own.ephemeral
    assert "/rapport track" in own.text
    await sandbox.slash(bob, "rapport track")
    assert not (await sandbox.slash(ana, "thanks", member=bob)).ephemeral


@pytest.mark.sandbox_config({"kudos": {"max_per_day": 2}})
async def test_a_giver_is_capped_per_day_and_may_thank_again_after(sandbox: Sandbox) -> None:
    """Past `[kudos] max_per_day` in 24 hours a thanks is refused, saying when the next one is possible."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    assert not (await sandbox.slash(ana, "thanks", member=bob)).ephemeral
    await sandbox.clock.advance(hours=1)
    assert (await sandbox.slash(ana, "thanks", member=cy, private=True)).text != ""
    capped = await sandbox.slash(ana, "thanks", member=cy)
    assert capped.ephemeral
    assert "You've given 2 thanks in the last 24 hours" in capped.text
    assert "in 23 hours" in capped.text
    assert not (await sandbox.slash(bob, "thanks", member=cy)).ephemeral  # others aren't capped
    await sandbox.clock.advance(hours=23, minutes=1)
    assert not (await sandbox.slash(ana, "thanks", member=cy)).ephemeral
    section = thanks_received((await sandbox.slash(cy, "rapport status")).text)
    assert "3 in the last 7 days" in section


async def test_an_excluded_channel_takes_no_thanks(sandbox: Sandbox) -> None:
    """In a channel an admin excluded from tracking, a thanks is refused and nothing is posted."""
    ana, bob = await sandbox.members("Ana", "Bob")
    help_channel = sandbox.channel("#help")
    boss = await admin(sandbox)
    await sandbox.slash(boss, "rapport-admin exclude-channel", channel=help_channel)
    refused = await sandbox.slash(ana, "thanks", member=bob, channel_=help_channel)
    assert refused.ephemeral
    assert "an admin excluded it" in refused.text
    assert sandbox.posts("help") == []
    assert not (await sandbox.slash(ana, "thanks", member=bob)).ephemeral


async def test_the_most_thanked_board_stands_beside_the_leaderboard(sandbox: Sandbox) -> None:
    """/leaderboard and the weekly post carry a "most thanked" board of the period's kudos."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    post = await sandbox.say(bob, "#design", "draft is up", at=hours_ago(3))
    await sandbox.say(ana, "#design", "looks good", reply_to=post, at=hours_ago(2))
    await sandbox.slash(ana, "thanks", member=bob)
    await sandbox.slash(cy, "thanks", member=bob, private=True)
    await sandbox.slash(bob, "thanks", member=cy)
    board = await sandbox.slash(ana, "leaderboard")
    (_, thanked) = board.followups[0].embeds if board.followups else board.embeds
    assert thanked["title"].startswith("Most thanked")
    lines = thanked["description"].splitlines()
    assert lines[0] == "` 1.` **Bob** · thanked by 2 people"
    assert lines[1] == "` 2.` **Cy** · thanked once"

    await sandbox.clock.advance(days=7)
    await sandbox.run_job("post_weekly_leaderboard")
    await sandbox.settle()
    (weekly,) = sandbox.posts("leaderboard")
    assert [e["title"].split(" — ")[0] for e in weekly.embeds] == ["Leaderboard", "Most thanked"]
    assert weekly.embeds[1]["description"].splitlines()[0].endswith("**Bob** · thanked by 2 people")


async def test_a_thanks_answers_what_the_giver_owed_and_owes_nothing_back(sandbox: Sandbox) -> None:
    """Thanking the member who answered you clears your thank-you item; the receiver owes nothing."""
    ana, bob = await sandbox.members("Ana", "Bob")
    question = await sandbox.say(ana, "#help", "how do I rotate the keys?", at=hours_ago(30))
    await sandbox.say(bob, "#help", "run rotate.sh", reply_to=question, at=hours_ago(29))
    gid = sandbox.services.ledger
    assert [
        p.from_member_id for p in gid.pending_for(sandbox.guild.id, ana.id, sandbox.clock())
    ] == [bob.id]
    await sandbox.slash(ana, "thanks", member=bob, channel_=sandbox.channel("#general"))
    now = sandbox.clock() + timedelta(seconds=1)
    assert gid.pending_for(sandbox.guild.id, ana.id, now) == []
    assert gid.pending_for(sandbox.guild.id, bob.id, now) == []


@pytest.mark.sandbox_config({"discord": {"members_intent": False}})
async def test_thank_the_author_answers_in_time_when_discord_is_slow(sandbox: Sandbox) -> None:
    """An author the cache lacks is looked up for a second at most: the public thanks still goes
    out within Discord's deadline when Discord is slow to answer that lookup."""
    ana, bob = await sandbox.members("Ana", "Bob")
    answer = await sandbox.say(bob, "#help", "try clearing the cache", at=hours_ago(2))
    sandbox.emulator.latency = 0.3
    sandbox.emulator.slow("GET /guilds/{guild_id}/members/{user_id}", 2.5)
    reply = await sandbox.emulator.message_menu(ana, sandbox.guild, "Thank the author", answer)
    await sandbox.settle()
    assert not reply.ephemeral
    assert reply.content.startswith(f"🙏 **Ana** thanks <@{bob.id}> for [this message](")
    # The fixture holds every first response to its 2 s budget (Discord allows 3 s).
