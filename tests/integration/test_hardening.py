"""Hardening (#17) through the sandbox: one member's bad input never breaks the server for others."""

from __future__ import annotations

import logging

import pytest

from rapport.people.guilds import KEY as GUILD_KEY
from rapport.people.guilds import TABLE as GUILD_TABLE
from rapport.people.guilds import GuildSettings
from rapport.people.members import TABLE as MEMBER_TABLE
from rapport.people.members import MemberSettings
from tests.conftest import Sandbox, days_ago
from tests.integration.test_commands_admin import admin

APOLOGY = "Sorry"


async def server_wide_features_work(sandbox: Sandbox, boss, other) -> None:
    """Stats, the public board, another member's status, the scan and the weekly post all answer."""
    for member, command in (
        (boss, "rapport-admin stats"),
        (other, "leaderboard"),
        (other, "rapport status"),
        (other, "rapport settings"),
    ):
        reply = await sandbox.slash(member, command)
        assert reply.error is None, command
        assert APOLOGY not in reply.text, command
    assert await sandbox.run_job("send_due_digests")
    assert await sandbox.run_job("post_weekly_leaderboard")


async def busy_server(sandbox: Sandbox):
    ana, bob = await sandbox.members("Ana", "Bob")
    boss = await admin(sandbox)
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.restart()  # the admin role reaches the bot
    return ana, bob, boss


@pytest.mark.parametrize("typed", ["UTC\t", " Europe/Paris ", "Europe/Paris\u00a0", "UTC\x85"])
async def test_a_time_zone_with_stray_spaces_is_stored_clean(sandbox: Sandbox, typed: str) -> None:
    """A time zone typed with spaces, tabs or odd whitespace is stored as the zone's name."""
    ana, bob, boss = await busy_server(sandbox)
    await sandbox.slash(ana, "rapport join")
    reply = await sandbox.slash(ana, "rapport settings", timezone=typed)
    assert "Saved" in reply.text
    await sandbox.restart()
    assert sandbox.services.members.get(sandbox.guild.id, ana.id).timezone == typed.strip()
    await server_wide_features_work(sandbox, boss, bob)


async def test_an_unreadable_stored_choice_breaks_nothing_and_the_member_is_told(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored choice that can't be read falls back to the default for everyone's features,
    is logged once, and the member is told how to repair it."""
    ana, bob, boss = await busy_server(sandbox)
    await sandbox.slash(bob, "rapport join")
    assert sandbox.store is not None
    bad = MemberSettings(ana.id, enrolled=True).to_doc() | {
        "timezone": "UTC\t",
        "quiet_hours": "25:00-99:00",
        "digest_hour": "noon",
        "max_dms_per_week": "many",
    }
    sandbox.store.put(MEMBER_TABLE, sandbox.guild.id, str(ana.id), bad)
    guild = GuildSettings(sandbox.guild.id).to_doc() | {"timezone": "Mars/Base"}
    sandbox.store.put(GUILD_TABLE, sandbox.guild.id, GUILD_KEY, guild)
    await sandbox.store.flush()
    await sandbox.restart()
    with caplog.at_level(logging.WARNING):
        await server_wide_features_work(sandbox, boss, bob)
    mine = await sandbox.slash(ana, "rapport status")
    assert APOLOGY not in mine.text
    assert "quiet_hours" in mine.text
    assert "/rapport settings" in mine.text
    warnings = [r for r in caplog.records if "unreadable stored settings" in r.getMessage()]
    assert len(warnings) == 1
    fixed = await sandbox.slash(
        ana, "rapport settings", quiet_hours="off", digest_hour="9", max_dms_per_week=3
    )
    assert "could not be read" not in fixed.text
