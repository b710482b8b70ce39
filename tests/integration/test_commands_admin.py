"""/rapport-admin ... through the sandbox: server admins set Rapport up and read its totals."""

from __future__ import annotations

import pytest

from sandbox import CommandError
from tests.conftest import Sandbox, days_ago

MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
READ_HISTORY = 1 << 16


async def admin(sandbox: Sandbox, name: str = "Boss"):
    """A member whose role grants Manage Server (roles reach the bot on the next restart)."""
    role = sandbox.emulator.add_role(sandbox.guild, "Admins", permissions=MANAGE_GUILD)
    return await sandbox.member(name, roles=[role])


def drop_admin_hint(sandbox: Sandbox) -> None:
    """An admin lets everyone see /rapport-admin in Integrations: the hint no longer filters."""
    for command in sandbox.emulator.commands():
        if command["name"] == "rapport-admin":
            command["default_member_permissions"] = None


async def test_non_admins_are_refused_even_when_discord_offers_the_command(
    sandbox: Sandbox,
) -> None:
    """Discord hides admin commands from members; if shown anyway, the bot still refuses them."""
    (ana,) = await sandbox.members("Ana")
    with pytest.raises(CommandError, match="lacks the permissions"):
        await sandbox.slash(ana, "rapport-admin stats")
    drop_admin_hint(sandbox)
    for command, options in (
        ("rapport-admin setup", {"enrollment": "opt-out"}),
        ("rapport-admin exclude-channel", {"channel": sandbox.channel("#general")}),
        ("rapport-admin include-channel", {"channel": sandbox.channel("#general")}),
        ("rapport-admin stats", {}),
        ("rapport-admin sync", {}),
        ("rapport-admin forget", {"user_id": str(ana.id)}),
    ):
        reply = await sandbox.slash(ana, command, **options)
        assert reply.ephemeral, command
        assert "You need the Manage" in reply.text, command
        assert "permission to use this command" in reply.text, command
    assert sandbox.services.guilds.policy(sandbox.guild.id).enrollment == "opt-in"
    assert sandbox.services.guilds.policy(sandbox.guild.id).excluded_channels == frozenset()


async def test_setup_shows_and_changes_the_server_settings(sandbox: Sandbox) -> None:
    """Setup with no options shows the settings; with options it validates and saves each."""
    emu, guild = sandbox.emulator, sandbox.guild
    design = emu.add_role(guild, "Design")
    eng = emu.add_role(guild, "Eng")
    boss = await admin(sandbox)
    await sandbox.restart()
    shown = await sandbox.slash(boss, "rapport-admin setup")
    assert shown.ephemeral
    assert "`enrollment`: opt-in · *config.toml*" in shown.text
    board = sandbox.channel("#resources")
    saved = await sandbox.slash(
        boss,
        "rapport-admin setup",
        leaderboard_channel=board,
        enrollment="opt-out",
        teams=f"<@&{design.id}>, eng",
        timezone="Europe/Berlin",
    )
    assert "Saved" in saved.text
    assert board.mention in saved.text
    policy = sandbox.services.guilds.policy(guild.id)
    assert policy.leaderboard_channel == board.id
    assert (policy.enrollment, policy.teams, policy.zone.key) == (
        "opt-out",
        (design.id, eng.id),
        "Europe/Berlin",
    )
    for options, words in (
        ({"timezone": "Mars/Base"}, "isn't a time zone"),
        ({"teams": "Wizards"}, "isn't a role in this server"),
    ):
        refused = await sandbox.slash(boss, "rapport-admin setup", **options)
        assert refused.ephemeral
        assert words in refused.text
    assert sandbox.services.guilds.policy(guild.id) == policy
    cleared = await sandbox.slash(boss, "rapport-admin setup", teams="none")
    assert "`teams`: none · *set here*" in cleared.text
    zones = await emu.autocomplete(
        boss, guild, "rapport-admin setup", {"timezone": "berl"}, "timezone"
    )
    assert [c["value"] for c in zones] == ["Europe/Berlin"]


async def test_setup_refuses_a_channel_the_bot_cannot_post_in_and_stats_says_why(
    sandbox: Sandbox,
) -> None:
    """A leaderboard channel the bot can't post in is refused; stats lists what it can't do."""
    guild = sandbox.guild
    guild.everyone.permissions &= ~(SEND_MESSAGES | READ_HISTORY)
    boss = await admin(sandbox)
    await sandbox.restart()
    refused = await sandbox.slash(
        boss, "rapport-admin setup", leaderboard_channel=sandbox.channel("#leaderboard")
    )
    assert refused.ephemeral
    assert "I can't post in" in refused.text
    assert "Send Messages" in refused.text
    assert sandbox.services.guilds.get(guild.id).leaderboard_channel is None
    stats = await sandbox.slash(boss, "rapport-admin stats")
    assert "I can't read" in stats.text
    assert sandbox.channel("#design").mention in stats.text
    assert "I can't post the leaderboard" in stats.text


async def test_excluded_channels_stop_tracking_at_once_and_include_resumes(
    sandbox: Sandbox,
) -> None:
    """Excluding a channel stops tracking there immediately; including it resumes tracking."""
    boss = await admin(sandbox)
    ana, bob = await sandbox.members("Ana", "Bob")
    design = sandbox.channel("#design")
    gid = sandbox.guild.id
    excluded = await sandbox.slash(boss, "rapport-admin exclude-channel", channel=design)
    assert excluded.ephemeral
    assert "no longer tracks" in excluded.text
    again = await sandbox.slash(boss, "rapport-admin exclude-channel", channel=design)
    assert "already excluded" in again.text
    await sandbox.say(ana, "#design", "thoughts?", mentions=[bob])
    assert sandbox.services.ledger.pair(gid, ana.id, bob.id) is None
    included = await sandbox.slash(boss, "rapport-admin include-channel", channel=design)
    assert "tracks" in included.text
    assert "again" in included.text
    await sandbox.say(ana, "#design", "thoughts now?", mentions=[bob])
    assert sandbox.services.ledger.pair(gid, ana.id, bob.id) is not None
    not_excluded = await sandbox.slash(
        boss, "rapport-admin include-channel", channel=sandbox.channel("#general")
    )
    assert "isn't excluded" in not_excluded.text


async def test_stats_show_totals_and_never_a_member(sandbox: Sandbox) -> None:
    """Stats give server totals (tracked, enrolled, pairs, interactions, digests) and no names.

    Everyone who joined is tracked (their join is the welcome rule's data), the admin included;
    without the members intent joins go unseen, so only the three who talked are.
    """
    boss = await admin(sandbox)
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    post = await sandbox.say(ana, "#design", "draft", at=days_ago(3))
    await sandbox.say(bob, "#design", "nice", reply_to=post, at=days_ago(2))
    await sandbox.say(cy, "#general", "hi all", mentions=[ana, bob], at=days_ago(1))
    await sandbox.slash(ana, "rapport join")
    reply = await sandbox.slash(boss, "rapport-admin stats")
    assert reply.ephemeral
    text = reply.text
    for label, value in (
        ("Members tracked", "4" if sandbox.members_intent else "3"),
        ("Enrolled in digests", "1"),
        ("Pairs who interacted", "3"),
        ("Interactions recorded", "3"),
        ("Digests sent", "0"),
        ("Members with DMs closed", "0"),
    ):
        assert f"**{label}:** {value}" in text, label
    for name in ("Ana", "Bob", "Cy", str(ana.id)):
        assert name not in text
    assert ("Server Members intent is off" in text) is not sandbox.members_intent
    assert ("Message Content intent is off" in text) is not sandbox.message_content


@pytest.mark.sandbox_config({"discord": {"message_content": False, "members_intent": False}})
async def test_stats_say_which_intents_are_off(sandbox: Sandbox) -> None:
    """Without the privileged intents, stats say thanks/shares and welcomes are off."""
    boss = await admin(sandbox)
    reply = await sandbox.slash(boss, "rapport-admin stats")
    assert "Message Content intent is off: thanks and shares" in reply.text
    assert "Server Members intent is off" in reply.text
    assert "welcome" in reply.text


async def test_sync_re_syncs_the_commands_for_admins(sandbox: Sandbox) -> None:
    """An admin's sync re-sends the command tree to Discord and says how many commands."""
    boss = await admin(sandbox)
    before = sandbox.emulator.command_syncs
    reply = await sandbox.slash(boss, "rapport-admin sync")
    assert reply.ephemeral
    assert "Synced" in reply.text
    assert sandbox.emulator.command_syncs > before
    assert any(c["name"] == "rapport-admin" for c in sandbox.emulator.commands())
    soon = await sandbox.slash(boss, "rapport-admin sync")
    assert "Slow down" in soon.text


async def test_help_shows_admins_their_commands_too(sandbox: Sandbox) -> None:
    """An admin's /rapport help adds the admin commands as clickable mentions."""
    boss = await admin(sandbox)
    reply = await sandbox.slash(boss, "rapport help")
    admin_id = next(c["id"] for c in sandbox.emulator.commands() if c["name"] == "rapport-admin")
    for sub in ("setup", "exclude-channel", "include-channel", "stats", "sync"):
        assert f"</rapport-admin {sub}:{admin_id}>" in reply.text


@pytest.mark.sandbox_config({"leaderboard": {"channel": "#Leaderboard"}})
async def test_stats_find_the_leaderboard_channel_as_the_post_does(sandbox: Sandbox) -> None:
    """A channel named in another case is the one the weekly post uses, and stats agree."""
    boss = await admin(sandbox)
    poster = sandbox.bot.get_cog("Leaderboard")  # the test reaches in; cogs never do
    target = poster.target(sandbox.guild.id, "#Leaderboard")
    assert target.channel_id == sandbox.channel("#leaderboard").id
    text = (await sandbox.slash(boss, "rapport-admin stats")).text
    assert "doesn't exist" not in text
    assert "(not found)" not in text
    # The only problems left, if any, are the intents this run turned off.
    assert ("All good." in text) is (sandbox.members_intent and sandbox.message_content)


@pytest.mark.sandbox_config({"discord": {"members_intent": False}})
async def test_stats_count_opt_out_members_the_cache_never_held(sandbox: Sandbox) -> None:
    """Without the members intent, opt-out stats still count everyone tracking has met."""
    boss = await admin(sandbox)
    await sandbox.slash(boss, "rapport-admin setup", enrollment="opt-out")
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft is up")
    await sandbox.say(bob, "#design", "looks good", reply_to=post)
    reply = await sandbox.slash(boss, "rapport-admin stats")
    assert "**Enrolled in digests:** 3" in reply.text  # the admin, Ana and Bob
