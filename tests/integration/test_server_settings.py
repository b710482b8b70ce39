"""Every server setting in Discord (/rapport-admin setup), each taking effect through the sandbox.

config.toml is the default; a server's choice overrides it; reset (or "default") goes back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.leaderboard.service import month_key, week_key
from sandbox.state import Member, Role
from tests.conftest import Sandbox, days_ago, hours_ago

MANAGE_GUILD = 1 << 5
ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)


async def admin(sandbox: Sandbox) -> Member:
    """A member whose role grants Manage Server."""
    role = await sandbox.emulator.create_role(sandbox.guild, "Admins", permissions=MANAGE_GUILD)
    return await sandbox.member("Boss", roles=[role])


async def role(sandbox: Sandbox, name: str) -> Role:
    """A role made while the bot is connected."""
    made = await sandbox.emulator.create_role(sandbox.guild, name)
    await sandbox.settle()
    return made


async def setup(sandbox: Sandbox, boss: Member, **options: object) -> str:
    """Run /rapport-admin setup; the answer is always private."""
    reply = await sandbox.slash(boss, "rapport-admin setup", **options)
    assert reply.ephemeral
    return reply.text


def line(text: str, option: str) -> str:
    """The line of the settings view about one option."""
    (found,) = [row for row in text.splitlines() if row.startswith(f"`{option}`:")]
    return found


@pytest.mark.sandbox_config({**ANY_TIME, "nudges": {**ANY_TIME["nudges"], "drift_after": "30d"}})
async def test_no_options_show_every_setting_with_its_source(sandbox: Sandbox) -> None:
    """The view lists each setting's effective value and whether config.toml or the server set it."""
    boss = await admin(sandbox)
    shown = await setup(sandbox, boss)
    assert line(shown, "drift_after") == "`drift_after`: 30d · *config.toml*"
    assert line(shown, "leaderboard_period") == "`leaderboard_period`: week · *config.toml*"
    assert line(shown, "enrollment_role") == "`enrollment_role`: none — anyone can join · *default*"
    assert line(shown, "track_only") == "`track_only`: every channel · *default*"
    changed = await setup(sandbox, boss, drift_after="6w", leaderboard_period="month")
    assert "Saved" in changed
    assert line(changed, "drift_after") == "`drift_after`: 42d · *set here*"
    assert line(changed, "leaderboard_period") == "`leaderboard_period`: month · *set here*"
    back = await setup(sandbox, boss, reset="drift_after", leaderboard_period="week")
    assert line(back, "drift_after") == "`drift_after`: 30d · *config.toml*"
    assert line(back, "leaderboard_period") == "`leaderboard_period`: week · *set here*"
    again = await setup(sandbox, boss, drift_after="default")
    assert line(again, "drift_after") == "`drift_after`: 30d · *config.toml*"
    await sandbox.restart()
    kept = await setup(sandbox, boss)
    assert line(kept, "leaderboard_period") == "`leaderboard_period`: week · *set here*"
    everything = await setup(sandbox, boss, reset="all")
    assert "set here" not in everything


async def test_a_bad_value_is_refused_privately_naming_the_option(sandbox: Sandbox) -> None:
    """Unknown kinds, out-of-range thresholds, bad crontabs, clashes: a helpful answer, no change."""
    boss = await admin(sandbox)
    before = sandbox.services.guilds.get(sandbox.guild.id)
    for options, words in (
        ({"nudge_kinds": "drifting, gossip"}, "nudge_kinds takes nudge kinds"),
        ({"drift_after": "10s"}, "drift_after takes a duration from 1h to 365d"),
        ({"unanswered_after": "soon"}, "unanswered_after takes a duration"),
        ({"leaderboard_schedule": "every monday"}, "leaderboard_schedule takes a 5-field crontab"),
        ({"leaderboard_schedule": "6h"}, "like “0 9 * * mon”"),
        (
            {"drift_min": "30d"},
            "drift_min (30d) must be at most drift_after (21d); change drift_min",
        ),
        ({"stale_after": "12h"}, "stale_after (12h) must be longer than unanswered_after (1d)"),
        ({"reset": "colour"}, "reset takes setting names"),
        ({"track_only": "#nowhere"}, "isn't a text or forum channel"),
        ({"staff_roles": "Wizards"}, "isn't a role in this server"),
        # A good value beside a bad one is not kept either.
        ({"leaderboard": "off", "share_after": "0d"}, "share_after takes a duration"),
    ):
        refused = await setup(sandbox, boss, **options)
        assert words in refused, options
    assert sandbox.services.guilds.get(sandbox.guild.id) == before
    assert "set here" not in await setup(sandbox, boss)


async def test_server_nudge_kinds_and_thresholds_decide_what_is_due(sandbox: Sandbox) -> None:
    """A kind the server turned off is never sent; a longer unanswered_after holds a line back."""
    boss = await admin(sandbox)
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.slash(ana, "rapport join")
    await setup(sandbox, boss, nudge_kinds="drifting, share")
    await sandbox.say(bob, "#design", "can you review?", mentions=[ana], at=hours_ago(30))
    await sandbox.run_job("send_due_digests")
    assert sandbox.dms_to(ana) == []  # unanswered is off in this server
    refused = await sandbox.slash(ana, "rapport settings", kinds="unanswered")
    assert refused.ephemeral
    assert (
        "This server doesn't send unanswered nudges; choose from: drifting, share" in refused.text
    )
    await setup(sandbox, boss, reset="nudge_kinds", unanswered_after="3d")
    await sandbox.clock.advance(hours=2)
    assert sandbox.dms_to(ana) == []  # 32 hours: still before the server's 3 days
    await setup(sandbox, boss, unanswered_after="default")
    await sandbox.clock.advance(hours=1)
    (dm,) = sandbox.dms_to(ana)
    assert "Bob mentioned you in #design" in dm.text


@pytest.mark.sandbox_config({"nudges": {**ANY_TIME["nudges"], "enrollment": "opt-out"}})
async def test_a_servers_stale_after_drops_older_items(sandbox: Sandbox) -> None:
    """A mention older than the server's stale_after is not nudged; config.toml's 7 days would."""
    boss = await admin(sandbox)
    ana, bob = await sandbox.members("Ana", "Bob")
    await setup(sandbox, boss, stale_after="4d")
    await sandbox.say(bob, "#design", "can you review?", mentions=[ana], at=days_ago(5))
    await sandbox.run_job("send_due_digests")
    assert sandbox.dms_to(ana) == []
    await setup(sandbox, boss, reset="stale_after")
    await sandbox.clock.advance(hours=1)
    (dm,) = sandbox.dms_to(ana)
    assert "Bob mentioned you in #design" in dm.text


async def test_a_servers_drift_thresholds_hold_a_drifting_line_back(sandbox: Sandbox) -> None:
    """With drift_min 30d a pair silent 22 days (usually every 5) has not drifted yet."""
    boss = await admin(sandbox)
    ana, sam = await sandbox.members("Ana", "Sam")
    await sandbox.slash(ana, "rapport join")
    await setup(sandbox, boss, drift_after="60d", drift_min="30d")
    last = None
    for day in (60, 55, 50, 45, 40, 35, 30, 25, 22):
        post = await sandbox.say(ana, "#general", "hey", at=days_ago(day), reply_to=last)
        last = await sandbox.say(sam, "#general", "hi!", reply_to=post, at=days_ago(day - 0.1))
    await sandbox.run_job("send_due_digests")
    assert sandbox.dms_to(ana) == []
    await setup(sandbox, boss, reset="drift_after, drift_min")
    await sandbox.clock.advance(hours=1)
    (dm,) = sandbox.dms_to(ana)
    assert "You haven't talked with Sam in 3 weeks" in dm.text


async def test_the_enrollment_role_decides_who_may_join_and_who_is_enrolled(
    sandbox: Sandbox,
) -> None:
    """Only holders of the role can /rapport join, and under opt-out only they get digests."""
    boss = await admin(sandbox)
    regulars = await role(sandbox, "Regulars")
    ana = await sandbox.member("Ana", roles=[regulars])
    bob, cy = await sandbox.members("Bob", "Cy")
    await setup(sandbox, boss, enrollment_role=regulars)
    refused = await sandbox.slash(bob, "rapport join")
    assert refused.ephemeral
    assert f"members with the <@&{regulars.id}> role" in refused.text
    joined = await sandbox.slash(ana, "rapport join")
    assert "members with the" not in joined.text
    await setup(sandbox, boss, enrollment="opt-out")
    for member in (ana, bob):
        await sandbox.say(cy, "#design", "thoughts?", mentions=[member], at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    assert len(sandbox.dms_to(ana)) == 1
    assert sandbox.dms_to(bob) == []
    await setup(sandbox, boss, reset="enrollment_role")
    await sandbox.clock.advance(days=1)
    assert len(sandbox.dms_to(bob)) == 1


async def test_the_welcomer_role_gets_the_welcome_nudge(sandbox: Sandbox) -> None:
    """Holders of the welcomer role hear of an unanswered newcomer; others who never met them don't."""
    if not sandbox.members_intent:
        pytest.skip("joins (the welcome rule's data) are seen only with the members intent")
    boss = await admin(sandbox)
    greeters = await role(sandbox, "Greeters")
    ana = await sandbox.member("Ana", roles=[greeters])
    bob = await sandbox.member("Bob")
    for member in (ana, bob):
        await sandbox.slash(member, "rapport join")
    await setup(sandbox, boss, welcomer_role=greeters)
    lee = await sandbox.member("Lee", at=hours_ago(6))
    hello = await sandbox.say(lee, "#introductions", "hi, I'm new here", at=hours_ago(5))
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    assert "Lee is new here" in dm.text
    assert hello.jump_url in dm.text
    assert sandbox.dms_to(bob) == []


async def test_track_only_channels_are_the_only_ones_tracked(sandbox: Sandbox) -> None:
    """With track_only, other channels are left untracked (threads follow their channel)."""
    boss = await admin(sandbox)
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    gid = sandbox.guild.id
    await setup(sandbox, boss, track_only="#design")
    await sandbox.say(ana, "#general", "hey", mentions=[bob])
    assert sandbox.services.ledger.pair(gid, ana.id, bob.id) is None
    await sandbox.say(ana, "#design", "hey", mentions=[cy])
    assert sandbox.services.ledger.pair(gid, ana.id, cy.id) is not None
    thread = await sandbox.thread(bob, "#design", "specs")
    await sandbox.say(bob, thread, "in the thread", mentions=[cy])
    assert sandbox.services.ledger.pair(gid, bob.id, cy.id) is not None
    await setup(sandbox, boss, track_only="all")
    await sandbox.say(ana, "#general", "hey again", mentions=[bob])
    assert sandbox.services.ledger.pair(gid, ana.id, bob.id) is not None


def _week_ago_noon() -> datetime:
    """Noon (UTC) six days before the sandbox's today."""
    today = datetime.now(UTC).date() - timedelta(days=6)
    return datetime(today.year, today.month, today.day, 12, tzinfo=UTC)


async def _scored(sandbox: Sandbox, at: datetime) -> tuple[Member, Member, Member]:
    """Ana and Bob answer each other, Cy answers both: all three score in `at`'s periods."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    post = await sandbox.say(ana, "#design", "draft", at=at)
    await sandbox.say(bob, "#design", "nice", reply_to=post, at=at + timedelta(minutes=5))
    await sandbox.say(cy, "#design", "agreed", reply_to=post, at=at + timedelta(minutes=9))
    return ana, bob, cy


async def test_the_board_can_be_turned_off_and_on(sandbox: Sandbox) -> None:
    """Off: no scheduled post and /leaderboard says so privately; on again: the post goes out."""
    boss = await admin(sandbox)
    ana, _, _ = await _scored(sandbox, _week_ago_noon() - timedelta(days=7))
    await setup(sandbox, boss, leaderboard="off")
    await sandbox.run_job("post_weekly_leaderboard")
    assert sandbox.posts("leaderboard") == []
    answer = await sandbox.slash(ana, "leaderboard")
    assert answer.ephemeral
    assert "turned off" in answer.text
    status = await sandbox.slash(ana, "rapport status")
    assert "The leaderboard is turned off in this server." in status.text
    await setup(sandbox, boss, leaderboard="on")
    await sandbox.run_job("post_weekly_leaderboard")
    assert len(sandbox.posts("leaderboard")) == 1


async def test_the_board_covers_the_servers_period(sandbox: Sandbox) -> None:
    """With leaderboard_period month the scheduled post shows last month, not last week."""
    boss = await admin(sandbox)
    first = datetime.now(UTC).date().replace(day=1) - timedelta(days=3)
    await _scored(sandbox, datetime(first.year, first.month, first.day, 12, tzinfo=UTC))
    await setup(sandbox, boss, leaderboard_period="month")
    await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    assert post.embeds[0]["image"]["url"] == f"attachment://leaderboard-{month_key(first)}.png"


async def test_the_board_follows_the_servers_own_schedule(sandbox: Sandbox) -> None:
    """A server's crontab posts its board when it fires (not before), without the config's job."""
    boss = await admin(sandbox)
    scored = _week_ago_noon()
    await _scored(sandbox, scored)
    tomorrow = sandbox.clock() + timedelta(days=1)
    weekday = tomorrow.isoweekday() % 7  # crontab: 0 is Sunday
    text = await setup(sandbox, boss, leaderboard_schedule=f"0 9 * * {weekday}")
    assert f"`0 9 * * {weekday}` (UTC) · *set here*" in text
    await sandbox.clock.advance(hours=1)
    assert sandbox.posts("leaderboard") == []  # its last fire a week ago had nothing to show
    fire = tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
    await sandbox.clock.advance(fire - sandbox.clock() - timedelta(minutes=5))
    assert sandbox.posts("leaderboard") == []
    await sandbox.clock.advance(minutes=10)
    (post,) = sandbox.posts("leaderboard")
    assert f"leaderboard-{week_key(scored.date())}.png" in post.embeds[0]["image"]["url"]
    await sandbox.restart()
    await sandbox.clock.advance(hours=2)
    assert len(sandbox.posts("leaderboard")) == 1


async def test_staff_roles_are_kept_off_the_board(sandbox: Sandbox) -> None:
    """Members holding a staff role appear neither in the post nor in /leaderboard."""
    boss = await admin(sandbox)
    staff = await role(sandbox, "Staff")
    ana, _, cy = await _scored(sandbox, _week_ago_noon() - timedelta(days=7))
    await sandbox.emulator.update_member(cy, roles=[staff])
    await sandbox.settle()
    if not sandbox.members_intent:
        # The role change reaches the bot only with the members intent; without it, with what
        # Cy sends next (Discord attaches the member's roles to each message).
        await sandbox.say(cy, "#general", "back from lunch")
    await setup(sandbox, boss, staff_roles=f"<@&{staff.id}>")
    await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    board = post.embeds[0]["description"]
    assert "Bob" in board
    assert "Cy" not in board
    await setup(sandbox, boss, staff_roles="none")
    shown = await sandbox.slash(ana, "leaderboard", period="all")
    assert "Cy" in shown.text


@pytest.mark.sandbox_config({**ANY_TIME, "discord": {"members_intent": False}})
async def test_role_settings_warn_when_the_members_intent_is_off(sandbox: Sandbox) -> None:
    """Without the Server Members intent the view says roles are known only from what members send."""
    boss = await admin(sandbox)
    greeters = await role(sandbox, "Greeters")
    assert "Server Members intent is off" not in await setup(sandbox, boss)
    shown = await setup(sandbox, boss, welcomer_role=greeters)
    assert "Server Members intent is off, so Rapport knows a member's roles only" in shown


@pytest.mark.sandbox_config({**ANY_TIME, "kudos": {"max_per_day": 5}})
async def test_a_servers_kudos_cap_decides_how_many_thanks_a_member_gives(
    sandbox: Sandbox,
) -> None:
    """kudos_max_per_day caps /thanks per giver in this server; 0 turns thanks off."""
    boss = await admin(sandbox)
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    shown = await setup(sandbox, boss, kudos_max_per_day=1)
    assert line(shown, "kudos_max_per_day") == "`kudos_max_per_day`: 1 · *set here*"
    assert not (await sandbox.slash(ana, "thanks", member=bob)).ephemeral
    capped = await sandbox.slash(ana, "thanks", member=cy)
    assert capped.ephemeral
    assert "You've given 1 thank-you in the last 24 hours" in capped.text
    await setup(sandbox, boss, kudos_max_per_day=0)
    off = await sandbox.slash(bob, "thanks", member=cy)
    assert off.ephemeral
    assert "turned off on this server" in off.text
    back = await setup(sandbox, boss, reset="kudos_max_per_day")
    assert line(back, "kudos_max_per_day") == "`kudos_max_per_day`: 5 · *config.toml*"
    assert not (await sandbox.slash(ana, "thanks", member=cy)).ephemeral


async def test_the_view_shows_where_the_admin_digest_goes(sandbox: Sandbox) -> None:
    """The admin digest's channel and DM readers (its own command) show beside the settings."""
    boss = await admin(sandbox)
    before = await setup(sandbox, boss)
    assert "`/rapport-admin admin-digest`: none · *default*" in before
    board = sandbox.channel("#leaderboard")
    await sandbox.slash(boss, "rapport-admin admin-digest", channel=board, dm="on")
    after = await setup(sandbox, boss)
    assert f"`/rapport-admin admin-digest`: {board.mention}, 1 admin by DM · *set here*" in after
