"""The leaderboard through the sandbox: the weekly post, once per period, and /leaderboard."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from rapport.leaderboard.service import week_key
from sandbox.state import Member
from tests.conftest import Sandbox

TEAMS = {"leaderboard": {"teams": ["Design", "Support"]}}


def last_week(hours: float = 0) -> datetime:
    """Wednesday noon (UTC) of last ISO week, plus `hours`: always in the period posted now."""
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return datetime(monday.year, monday.month, monday.day, 12, tzinfo=UTC) + timedelta(
        days=2, hours=hours
    )


def this_week(minutes: float = 0) -> datetime:
    """A moment earlier in the current ISO week (its first minutes on a Monday night)."""
    now = datetime.now(UTC)
    monday = datetime.combine(now.date() - timedelta(days=now.weekday()), datetime.min.time(), UTC)
    return monday + (now - monday) / 2 + timedelta(minutes=minutes)


async def community(sandbox: Sandbox) -> dict[str, Member]:
    """Ana and Bob (Design), Cy and Dee (Support); the bot learns the roles on restart."""
    design = sandbox.emulator.add_role(sandbox.guild, "Design")
    support = sandbox.emulator.add_role(sandbox.guild, "Support")
    ana, bob = await sandbox.members("Ana", "Bob", roles=[design])
    cy, dee = await sandbox.members("Cy", "Dee", roles=[support])
    # The emulator sends no GUILD_ROLE_CREATE for add_role: a new session brings the roles.
    await sandbox.restart()
    return {"ana": ana, "bob": bob, "cy": cy, "dee": dee}


async def converse(
    sandbox: Sandbox, people: dict[str, Member], at: Callable[[float], datetime]
) -> None:
    """Ana answers three people; Cy answers Ana and Bob; Bob spams Dee with ten replies.

    Scores: Cy (2 people, answered Ana) > Ana (3 people, left Cy unanswered) > Bob (spam
    capped at 3 a day, 1 person); Dee only received, so she is not on the board.
    """
    ana, bob, cy, dee = people["ana"], people["bob"], people["cy"], people["dee"]
    posts = [
        await sandbox.say(m, "#design", "draft is up", at=at(i))
        for i, m in enumerate((bob, cy, dee))
    ]
    answers = [
        await sandbox.say(ana, "#design", "looks good", reply_to=post, at=at(5 + i))
        for i, post in enumerate(posts)
    ]
    await sandbox.say(cy, "#design", "glad you like it", reply_to=answers[1], at=at(9))
    await sandbox.say(cy, "#design", "agreed", reply_to=posts[0], at=at(9.5))
    for i in range(10):
        await sandbox.say(bob, "#design", "ping", reply_to=posts[2], at=at(10 + i / 10))


def card_of(message) -> Image.Image:
    """The PNG attached to a post, opened (and so checked) with Pillow."""
    ((name, body),) = message.files
    assert name.endswith(".png")
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG"
    return image


@pytest.mark.sandbox_config(TEAMS)
async def test_the_scheduled_post_shows_last_week_with_teams_and_a_card(sandbox: Sandbox) -> None:
    """The weekly job posts last week's board in #leaderboard: ranks, teams, formula and card."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    text = post.text
    assert text.index("Cy") < text.index("Ana") < text.index("Bob")
    assert "Dee" not in post.embeds[0]["description"]
    # Who holds a team role is only known with the members intent: no standings without it.
    assert ("Design" in text and "Support" in text) is sandbox.members_intent
    assert "score =" in post.embeds[0]["footer"]["text"]
    period = week_key(last_week().date())
    assert post.embeds[0]["image"]["url"] == f"attachment://leaderboard-{period}.png"
    assert card_of(post).width == 720
    assert sandbox.services.leaderboard.problem(sandbox.guild.id) is None


@pytest.mark.sandbox_config(TEAMS)
async def test_a_restart_in_the_same_period_posts_nothing_more(sandbox: Sandbox) -> None:
    """Run, restart, run again: still exactly one post for the period."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert await sandbox.run_job("post_weekly_leaderboard")
    await sandbox.restart()
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert len(sandbox.posts("leaderboard")) == 1


@pytest.mark.sandbox_config(
    {**TEAMS, "schedule": {"leaderboard": "0 9 * * mon"}, "nudges": {"timezone": "UTC"}}
)
async def test_a_missed_schedule_is_posted_late_once_at_start(sandbox: Sandbox) -> None:
    """With a crontab schedule the bot catches up a missed post when it starts, once."""
    people = await community(sandbox)
    assert sandbox.posts("leaderboard") == []
    await converse(sandbox, people, last_week)
    await sandbox.restart()
    (post,) = sandbox.posts("leaderboard")
    assert week_key(last_week().date()) in post.embeds[0]["image"]["url"]
    await sandbox.restart()
    assert len(sandbox.posts("leaderboard")) == 1


@pytest.mark.sandbox_config({"leaderboard": {"channel": "hall-of-fame"}})
async def test_a_missing_channel_is_skipped_and_reported(sandbox: Sandbox) -> None:
    """No channel to post in: no crash, no post, and a problem admins can read."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert sandbox.posts("leaderboard") == []
    problem = sandbox.services.leaderboard.problem(sandbox.guild.id)
    assert problem is not None
    assert "hall-of-fame" in problem


@pytest.mark.sandbox_config(TEAMS)
async def test_the_command_answers_publicly_with_the_same_board(sandbox: Sandbox) -> None:
    """/leaderboard shows this week's board to everyone, card attached, formula in the footer."""
    people = await community(sandbox)
    await converse(sandbox, people, this_week)
    reply = await sandbox.slash(people["dee"], "leaderboard", period="week")
    (answer,) = reply.followups or [reply.message]
    assert not answer.ephemeral
    assert answer.text.index("Ana") < answer.text.index("Bob")
    assert "score =" in answer.embeds[0]["footer"]["text"]
    card_of(answer)


@pytest.mark.sandbox_config(TEAMS)
async def test_the_team_option_narrows_the_board_and_autocompletes(sandbox: Sandbox) -> None:
    """team:support shows only Support members (without the members intent, says why it can't)."""
    people = await community(sandbox)
    await converse(sandbox, people, this_week)
    choices = await sandbox.emulator.autocomplete(
        people["ana"], sandbox.guild, "leaderboard", {"team": "sup"}, "team"
    )
    assert [c["name"] for c in choices] == ["Support"]
    reply = await sandbox.slash(people["ana"], "leaderboard", team="support")
    if not sandbox.members_intent:
        # Nobody's team role is known: say why, privately, rather than an empty board.
        assert reply.ephemeral
        assert "Team standings need the Server Members intent" in reply.text
        return
    (answer,) = reply.followups or [reply.message]
    description = answer.embeds[0]["description"]
    assert "Cy" in description
    assert "Ana" not in description
    assert "Support" in answer.embeds[0]["title"]


@pytest.mark.sandbox_config(TEAMS)
async def test_an_unknown_team_gets_a_private_explanation(sandbox: Sandbox) -> None:
    """A team that isn't configured is answered privately, naming the teams there are."""
    people = await community(sandbox)
    reply = await sandbox.slash(people["ana"], "leaderboard", team="Marketing")
    assert reply.ephemeral
    assert "Marketing" in reply.text
    assert "Design" in reply.text


async def test_a_missing_permission_is_skipped_and_reported(sandbox: Sandbox) -> None:
    """Without Send Messages in the channel the bot skips the post and records why."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    sandbox.guild.everyone.permissions &= ~(1 << 11)  # SEND_MESSAGES
    await sandbox.restart()
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert sandbox.posts("leaderboard") == []
    problem = sandbox.services.leaderboard.problem(sandbox.guild.id)
    assert problem is not None
    assert "Send Messages" in problem  # as Discord labels it, like every other answer


@pytest.mark.sandbox_config(TEAMS)
async def test_movement_and_most_improved_compare_with_the_week_before(sandbox: Sandbox) -> None:
    """Two weeks of history: last week's ranks move against the week before, with ▲ ▼ and new."""
    people = await community(sandbox)
    ana, bob, dee = people["ana"], people["bob"], people["dee"]
    earlier = [
        await sandbox.say(m, "#help", "question", at=last_week(-7 * 24 + i))
        for i, m in enumerate((ana, people["cy"], dee))
    ]
    for i, post in enumerate(earlier):
        await sandbox.say(bob, "#help", "try this", reply_to=post, at=last_week(-7 * 24 + 5 + i))
    await sandbox.say(ana, "#help", "thanks", reply_to=earlier[2], at=last_week(-7 * 24 + 9))
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    lines = post.embeds[0]["description"].splitlines()
    assert "**Cy**" in lines[0]
    assert lines[0].endswith("new")
    assert "**Ana**" in lines[1]
    assert lines[1].endswith("=")
    assert "**Bob**" in lines[2]
    assert lines[2].endswith("▼2")
    improved = next(f for f in post.embeds[0]["fields"] if f["name"] == "Most improved")
    assert "Ana" in improved["value"]


@pytest.mark.sandbox_config({"discord": {"members_intent": False}})
async def test_without_the_members_intent_the_board_still_names_people(sandbox: Sandbox) -> None:
    """Members the cache never held are shown by name on the board and its card, not by id."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(bob, "#design", "draft is up", at=this_week())
    await sandbox.say(ana, "#design", "looks good", reply_to=post, at=this_week(1))
    assert sandbox.bot.get_guild(sandbox.guild.id).get_member(ana.id) is None
    reply = await sandbox.slash(bob, "leaderboard", period="week")
    (answer,) = reply.followups or [reply.message]
    assert "Ana" in answer.text
    assert str(ana.id) not in answer.text


async def test_a_member_list_still_arriving_hides_nobody_from_the_board(sandbox: Sandbox) -> None:
    """Until the member list has fully arrived, people not yet met are not taken for gone."""
    ana, bob = await sandbox.members("Ana", "Bob")
    sandbox.emulator.gateway.ignore_member_requests = True
    await sandbox.restart()  # discord.py gives up waiting for the chunks
    assert not sandbox.bot.get_guild(sandbox.guild.id).chunked
    post = await sandbox.say(bob, "#design", "draft is up", at=this_week())
    await sandbox.say(ana, "#design", "looks good", reply_to=post, at=this_week(1))
    reply = await sandbox.slash(bob, "leaderboard", period="week")
    (answer,) = reply.followups or [reply.message]
    assert "Ana" in answer.text


async def test_a_post_created_then_answered_502_appears_once(sandbox: Sandbox) -> None:
    """Discord created the post but answered 502: the re-send carries the same nonce, one post."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    route = "POST /channels/{channel_id}/messages"
    sandbox.emulator.server_error(route, status=502, times=1)
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert sum(1 for r in sandbox.emulator.requests if r.route == route) == 2  # re-sent once
    assert len(sandbox.posts("leaderboard")) == 1
    assert sandbox.services.leaderboard.problem(sandbox.guild.id) is None
