"""/rapport ... through the sandbox: members type the commands and read the private answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cogs._views import CADENCE_SELECT, PAGE_NEXT, PAGE_PREV
from sandbox import CommandError
from tests.conftest import Sandbox, days_ago


def prefs(sandbox: Sandbox, member):
    return sandbox.services.members.preferences(sandbox.guild.id, member.id)


def command_id(sandbox: Sandbox, name: str) -> str:
    found = next(c for c in sandbox.emulator.commands() if c["name"] == name)
    return str(found["id"])


async def test_join_explains_tracking_shows_settings_and_says_nothing_yet(sandbox: Sandbox) -> None:
    """Joining says what is stored and what never is, shows the settings and an empty preview."""
    (ana,) = await sandbox.members("Ana")
    reply = await sandbox.slash(ana, "rapport join")
    assert reply.ephemeral
    assert "never stores" in reply.text
    assert "no message text" in reply.text
    assert "Time zone:** UTC" in reply.text
    assert "Digest hour:** 18:00" in reply.text
    assert "Nothing yet" in reply.text
    assert prefs(sandbox, ana).enrolled
    left = await sandbox.slash(ana, "rapport leave")
    assert left.ephemeral
    assert "No more digests" in left.text
    assert not prefs(sandbox, ana).enrolled


async def test_join_previews_the_first_digest(sandbox: Sandbox) -> None:
    """With an unanswered reply waiting, the join answer previews it with its link."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    answer = await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    reply = await sandbox.slash(ana, "rapport join")
    assert "Nothing yet" not in reply.text
    assert f"{sandbox.cached_name(bob)} answered your post in" in reply.text
    assert answer.jump_url in reply.text


@pytest.mark.sandbox_config({"nudges": {"digest_hour": "any", "quiet_hours": "off"}})
async def test_join_after_closed_dms_asks_to_open_them(sandbox: Sandbox) -> None:
    """When a digest bounced off closed DMs, joining again says how to open them."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.slash(ana, "rapport join")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    sandbox.emulator.refuse_dms(ana)
    await sandbox.run_job("send_due_digests")
    assert prefs(sandbox, ana).dms_closed
    reply = await sandbox.slash(ana, "rapport join")
    assert "Open DMs from server members" in reply.text
    assert not prefs(sandbox, ana).dms_closed


async def test_settings_show_change_and_refuse_bad_values(sandbox: Sandbox) -> None:
    """Settings with no options show the current ones; each option changes; bad values are refused."""
    (ana,) = await sandbox.members("Ana")
    shown = await sandbox.slash(ana, "rapport settings")
    assert shown.ephemeral
    assert "Your Rapport settings" in shown.text
    changed = await sandbox.slash(
        ana,
        "rapport settings",
        timezone="Europe/Paris",
        digest_hour="9",
        quiet_hours="23:00-07:00",
        max_dms_per_week=5,
        kinds="drifting, unanswered",
        leaderboard=False,
    )
    assert "Saved" in changed.text
    p = prefs(sandbox, ana)
    assert (p.zone.key, p.digest_hour, str(p.quiet_hours)) == ("Europe/Paris", 9, "23:00-07:00")
    assert (p.max_dms_per_week, p.kinds, p.on_leaderboard) == (
        5,
        frozenset({"drifting", "unanswered"}),
        False,
    )
    await sandbox.slash(ana, "rapport settings", digest_hour="any", quiet_hours="off", kinds="all")
    p = prefs(sandbox, ana)
    assert (p.digest_hour, p.quiet_hours, len(p.kinds)) == (None, None, 5)
    bad = {
        "timezone": ("Mars/Base", "isn't a time zone"),
        "digest_hour": ("24", "0 to 23"),
        "quiet_hours": ("late", "quiet-hours"),
        "max_dms_per_week": (15, "0 to 14"),
        "kinds": ("gossip", "Nudge kinds are any of"),
    }
    for option, (value, words) in bad.items():
        refused = await sandbox.slash(ana, "rapport settings", **{option: value})
        assert refused.ephemeral, option
        assert words in refused.text, (option, refused.text)
        assert "Traceback" not in refused.text
    assert prefs(sandbox, ana) == p


async def test_settings_autocomplete_offers_zones_hours_and_kinds(sandbox: Sandbox) -> None:
    """Typing in timezone, digest_hour or kinds offers at most 25 matching choices."""
    (ana,) = await sandbox.members("Ana")
    emu, guild = sandbox.emulator, sandbox.guild
    zones = await emu.autocomplete(
        ana, guild, "rapport settings", {"timezone": "paris"}, "timezone"
    )
    assert [c["value"] for c in zones] == ["Europe/Paris"]
    many = await emu.autocomplete(ana, guild, "rapport settings", {"timezone": "a"}, "timezone")
    assert len(many) == 25
    hours = await emu.autocomplete(
        ana, guild, "rapport settings", {"digest_hour": "2"}, "digest_hour"
    )
    assert [c["value"] for c in hours] == ["2", "20", "21", "22", "23"]
    kinds = await emu.autocomplete(
        ana, guild, "rapport settings", {"kinds": "drifting, un"}, "kinds"
    )
    assert [c["value"] for c in kinds] == ["drifting, unanswered"]


async def test_snooze_takes_durations_up_to_90_days(sandbox: Sandbox) -> None:
    """Snooze accepts 3d, 2w or 1h, refuses 100d and words, and "off" resumes."""
    (ana,) = await sandbox.members("Ana")
    reply = await sandbox.slash(ana, "rapport snooze", duration="2w")
    assert reply.ephemeral
    assert "Snoozed" in reply.text
    until = prefs(sandbox, ana).snoozed_until
    assert until is not None
    assert abs(until - (datetime.now(UTC) + timedelta(weeks=2))) < timedelta(minutes=1)
    too_long = await sandbox.slash(ana, "rapport snooze", duration="100d")
    assert "90 days" in too_long.text
    vague = await sandbox.slash(ana, "rapport snooze", duration="soon")
    assert "isn't a duration" in vague.text
    assert "3w" in vague.text
    assert prefs(sandbox, ana).snoozed_until == until
    resumed = await sandbox.slash(ana, "rapport snooze", duration="off")
    assert "resume" in resumed.text
    assert prefs(sandbox, ana).snoozed_until is None


async def test_mute_and_unmute_refuse_bots_yourself_and_the_unmuted(sandbox: Sandbox) -> None:
    """Muting a person works; a bot, yourself, or unmuting someone not muted gets a clear no."""
    ana, bob = await sandbox.members("Ana", "Bob")
    robo = await sandbox.member("Robo", bot=True)
    not_muted = await sandbox.slash(ana, "rapport unmute", member=bob)
    assert not_muted.ephemeral
    assert "isn't muted" in not_muted.text
    muted = await sandbox.slash(ana, "rapport mute", member=bob)
    assert "won't nudge you about Bob" in muted.text
    assert prefs(sandbox, ana).muted == {bob.id}
    assert "is a bot" in (await sandbox.slash(ana, "rapport mute", member=robo)).text
    assert "can't mute yourself" in (await sandbox.slash(ana, "rapport mute", member=ana)).text
    assert "Unmuted" in (await sandbox.slash(ana, "rapport unmute", member=bob)).text
    assert prefs(sandbox, ana).muted == frozenset()


async def test_status_shows_pending_drifting_and_who_usually_starts(sandbox: Sandbox) -> None:
    """Status lists what awaits an answer (with its link), drifting people and reciprocity."""
    ana, bob, sam = await sandbox.members("Ana", "Bob", "Sam")
    # Ana and Sam talked every few days two months ago, Sam usually starting; then silence.
    for d in (70, 66, 62, 58, 54):
        first = await sandbox.say(sam, "#general", "hey", mentions=[ana], at=days_ago(d))
        await sandbox.say(ana, "#general", "hi", reply_to=first, at=days_ago(d - 0.5))
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    answer = await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    reply = await sandbox.slash(ana, "rapport status")
    assert reply.ephemeral
    text = reply.text
    assert f"{sandbox.cached_name(bob)}** replied to you" in text
    assert answer.jump_url in text
    drifting = text.split("Drifting apart")[1].split("Leaderboard")[0]
    assert sandbox.cached_name(sam) in drifting
    strongest = text.split("Strongest relationships")[1]
    assert f"{sandbox.cached_name(sam)}** — 5 out, 5 in, they usually start" in strongest
    board = text.split("__**Leaderboard**__")[1].split("__**Nudges**__")[0]
    position = sandbox.services.leaderboard.position(sandbox.guild.id, ana.id, "week")
    if position is None:
        assert "Not on this period's board yet" in board
    else:
        assert f"#{position[0]} of {position[1]} this period" in board
    assert "0 nudges sent, 0 acted on" in text


async def test_long_status_pages_with_buttons_for_the_caller_only(sandbox: Sandbox) -> None:
    """A long status comes in pages; the buttons turn them for the caller and refuse others."""
    ana, bob = await sandbox.members("Ana", "Bob")
    friends = await sandbox.members(*(f"Friend{i}" for i in range(16)))
    for i, friend in enumerate(friends):
        await sandbox.say(ana, "#general", "hello", mentions=[friend], at=days_ago(20 - i))
    reply = await sandbox.slash(ana, "rapport status")
    assert "Page 1 of 2" in reply.text
    assert reply.message is not None
    nope = await sandbox.click(bob, reply.message, PAGE_NEXT)
    assert nope.ephemeral
    assert "someone else" in nope.text
    turned = await sandbox.click(ana, reply.message, PAGE_NEXT)
    assert "Page 2 of 2" in turned.text
    back = await sandbox.click(ana, reply.message, PAGE_PREV)
    assert "Page 1 of 2" in back.text


async def test_export_is_a_json_file_of_both_directions_without_text(sandbox: Sandbox) -> None:
    """Export sends a private JSON file with the member's pairs as actor and as target, no text."""
    import json

    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    post = await sandbox.say(bob, "#design", "secret plans for the launch", at=days_ago(3))
    await sandbox.say(ana, "#design", "love these plans", reply_to=post, at=days_ago(2))
    await sandbox.say(cy, "#general", "ping about the offsite", mentions=[ana], at=days_ago(1))
    await sandbox.slash(ana, "rapport settings", timezone="Europe/Paris")
    reply = await sandbox.slash(ana, "rapport export")
    assert reply.ephemeral
    ((name, blob),) = reply.files
    assert name.endswith(".json")
    raw = blob.decode()
    for text in ("secret plans", "love these plans", "offsite"):
        assert text not in raw
    data = json.loads(raw)
    assert data["member_id"] == ana.id
    assert data["settings"]["timezone"] == "Europe/Paris"
    rels = {r["other_id"]: r for r in data["ledger"]["relationships"]}
    assert rels[bob.id]["counts_out"]["reply"] == 1
    assert rels[cy.id]["counts_in"]["mention"] == 1
    assert [i["from_member_id"] for i in data["ledger"]["pending_for_member"]] == [cy.id]
    assert [i["member_id"] for i in data["ledger"]["pending_from_member"]] == [bob.id]
    assert data["nudges"] == {"digests": 0, "sent": 0, "acted_on": 0}


async def test_forget_after_confirm_removes_the_member_from_others(sandbox: Sandbox) -> None:
    """Forget asks first (only the caller may confirm), then erases the member everywhere."""
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(bob, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(ana, "#design", "looks great", reply_to=post, at=days_ago(2))
    before = await sandbox.slash(bob, "rapport join")
    assert f"{sandbox.cached_name(ana)} answered your post" in before.text
    assert sandbox.cached_name(ana) in (await sandbox.slash(bob, "rapport status")).text

    ask = await sandbox.slash(ana, "rapport forget")
    assert ask.ephemeral
    assert "can't be undone" in ask.text
    assert ask.message is not None
    assert "someone else" in (await sandbox.click(bob, ask.message, "rapport:forget:confirm")).text
    cancelled = await sandbox.click(ana, ask.message, "rapport:forget:cancel")
    assert "Nothing was deleted" in cancelled.text
    assert sandbox.services.ledger.pairs_of(sandbox.guild.id, bob.id)

    ask = await sandbox.slash(ana, "rapport forget")
    assert ask.message is not None
    done = await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    assert "Everything about you is deleted" in done.text
    gid = sandbox.guild.id
    assert sandbox.services.ledger.pairs_of(gid, bob.id) == []
    assert sandbox.services.ledger.pending_for(gid, bob.id, datetime.now(UTC)) == []
    assert sandbox.cached_name(ana) not in (await sandbox.slash(bob, "rapport status")).text
    assert sandbox.cached_name(ana) not in (await sandbox.slash(bob, "rapport join")).text
    assert not prefs(sandbox, ana).tracked

    await sandbox.say(ana, "#design", "still here", mentions=[bob])
    assert sandbox.services.ledger.pairs_of(gid, bob.id) == []
    back = await sandbox.slash(ana, "rapport track")
    assert back.ephemeral
    assert "Tracking is back on" in back.text
    await sandbox.say(ana, "#design", "hello again", mentions=[bob])
    assert [p.other_id for p in sandbox.services.ledger.pairs_of(gid, bob.id)] == [ana.id]


@pytest.mark.sandbox_config({"nudges": {"digest_hour": "any", "quiet_hours": "off"}})
async def test_forgotten_members_never_appear_in_digests(sandbox: Sandbox) -> None:
    """After Ana forgets, Bob's digest still names Cy's unanswered reply but never Ana's."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    await sandbox.slash(bob, "rapport join")  # first: the join preview is never sent again
    post = await sandbox.say(bob, "#design", "draft is up", at=days_ago(4))
    await sandbox.say(ana, "#design", "looks great", reply_to=post, at=days_ago(3))
    await sandbox.say(cy, "#design", "love it", reply_to=post, at=days_ago(2))
    ask = await sandbox.slash(ana, "rapport forget")
    assert ask.message is not None
    await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    await sandbox.run_job("send_due_digests")
    (digest,) = sandbox.dms_to(bob)
    assert "Cy" in digest.text
    assert "Ana" not in digest.text


async def test_help_lists_every_command_as_a_mention_and_the_privacy_statement(
    sandbox: Sandbox,
) -> None:
    """Help explains Rapport, links each command by its synced id and states the privacy terms."""
    (ana,) = await sandbox.members("Ana")
    reply = await sandbox.slash(ana, "rapport help")
    assert reply.ephemeral
    rid = command_id(sandbox, "rapport")
    for sub in ("join", "leave", "status", "settings", "snooze", "mute", "unmute"):
        assert f"</rapport {sub}:{rid}>" in reply.text
    for sub in ("export", "forget", "track", "map"):
        assert f"</rapport {sub}:{rid}>" in reply.text
    assert f"</leaderboard:{command_id(sandbox, 'leaderboard')}>" in reply.text
    assert "Keep in touch" in reply.text
    assert "Remind me to reply" in reply.text
    assert "never what anyone wrote" in reply.text
    assert "rapport-admin" not in reply.text


async def test_keep_in_touch_sets_and_clears_a_cadence(sandbox: Sandbox) -> None:
    """The user menu offers cadences; the pick overrides the learned one, and clear removes it."""
    ana, bob = await sandbox.members("Ana", "Bob")
    robo = await sandbox.member("Robo", bot=True)
    await sandbox.say(ana, "#general", "hi", mentions=[bob], at=days_ago(5))
    emu, guild = sandbox.emulator, sandbox.guild
    menu = await emu.user_menu(ana, guild, "Keep in touch", bob)
    await sandbox.settle()
    assert menu.ephemeral
    assert "keep in touch with Bob" in menu.text
    assert menu.message is not None
    picked = await sandbox.click(ana, menu.message, CADENCE_SELECT, values=["2w"])
    assert "every 2 weeks" in picked.text
    view = sandbox.services.ledger.pair(guild.id, ana.id, bob.id)
    assert view is not None
    assert view.cadence_override == timedelta(weeks=2)
    menu = await emu.user_menu(ana, guild, "Keep in touch", bob)
    await sandbox.settle()
    assert menu.message is not None
    cleared = await sandbox.click(ana, menu.message, CADENCE_SELECT, values=["clear"])
    assert "Cleared" in cleared.text
    assert sandbox.services.ledger.pair(guild.id, ana.id, bob.id).cadence_override is None
    assert "bot" in (await emu.user_menu(ana, guild, "Keep in touch", robo)).text
    assert "That's you" in (await emu.user_menu(ana, guild, "Keep in touch", ana)).text


async def test_guild_only_commands_are_refused_in_dms(sandbox: Sandbox) -> None:
    """Discord offers only /rapport in DMs (for forget everywhere); the bot refuses every other
    /rapport command there politely, and any other command if a client sends it anyway."""
    (ana,) = await sandbox.members("Ana")
    with pytest.raises(CommandError, match="cannot be used in a DM"):
        await sandbox.slash_in_dm(ana, "rapport-admin stats")
    reply = await sandbox.slash_in_dm(ana, "rapport status")
    assert reply.ephemeral
    assert "works in a server, not in DMs" in reply.text
    # An outdated client ignoring the contexts: the bot itself must refuse.
    for command in sandbox.emulator.commands():
        command["contexts"] = None
        command["dm_permission"] = True
    reply = await sandbox.slash_in_dm(ana, "rapport-admin stats")
    assert reply.ephemeral
    assert "works in a server, not in DMs" in reply.text


async def test_a_command_from_an_unknown_guild_is_refused(sandbox: Sandbox) -> None:
    """A guild the bot never received gets a polite refusal, not someone else's data."""
    emu = sandbox.emulator
    other = emu.add_guild("Stranger Things")
    emu.add_channel(other, "general")
    eve = await emu.add_member(other, "Eve")
    reply = await emu.slash(eve, other, "rapport status")
    await sandbox.settle()
    assert reply.ephemeral
    assert "don't have this server's data" in reply.text


@pytest.mark.parametrize("command", ["rapport status", "rapport export"])
async def test_work_that_grows_with_the_server_answers_thinking_first(
    sandbox: Sandbox, command: str
) -> None:
    """Status and export take seconds on a big server, so they acknowledge before working."""
    ana = await sandbox.member("Ana")
    reply = await sandbox.slash(ana, command)
    assert reply.deferred
    assert reply.ephemeral
    assert reply.text or reply.files


async def test_the_first_help_answers_in_time_when_discord_is_slow(sandbox: Sandbox) -> None:
    """The first help asks Discord for the command ids; a slow answer doesn't keep Ana waiting."""
    ana = await sandbox.member("Ana")
    sandbox.emulator.slow("GET /applications/{application_id}/commands", 2.5)
    reply = await sandbox.slash(ana, "rapport help")
    assert reply.error is None
    assert "</rapport join:" in reply.text
    assert max(sandbox.emulator.first_responses) < 1.0
