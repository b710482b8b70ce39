"""Hardening (#17) through the sandbox: one member's bad input never breaks the server for others."""

from __future__ import annotations

import dataclasses
import errno
import io
import logging

import pytest

import bot as entry
from cogs._bot import FORGED_ID
from cogs._digest import PICK_SOMEONE, STALE
from rapport.nudges.dm_queue import SendResult
from rapport.people.guilds import KEY as GUILD_KEY
from rapport.people.guilds import TABLE as GUILD_TABLE
from rapport.people.guilds import GuildSettings
from rapport.people.members import TABLE as MEMBER_TABLE
from rapport.people.members import MemberSettings
from rapport.settings.config import LoggingSettings
from rapport.store import tinydb as tinydb_store
from sandbox.state import User
from tests.conftest import Sandbox, days_ago
from tests.integration.test_commands_admin import admin

APOLOGY = "Sorry"
ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}


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


# --- 2. forged ids are refused where they enter; one bad document never blocks the rest -----


async def digest_for(sandbox: Sandbox, ana, bob):
    """Ana gets a digest about Bob (an unanswered reply); returns the DM."""
    await sandbox.slash(ana, "rapport join")  # first: its preview is never sent again
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    return dm


@pytest.mark.parametrize("forged", [2**64 + 5, 2**63, 0])
async def test_a_forged_member_id_is_refused_and_saving_goes_on(
    sandbox: Sandbox, forged: int
) -> None:
    """A member option whose id Discord never issues is refused; everyone's changes still save."""
    ana, bob = await sandbox.members("Ana", "Bob")
    ghost = User(forged, "Ghost")
    for command in ("rapport mute", "rapport unmute"):
        reply = await sandbox.slash(ana, command, member=ghost)
        assert reply.ephemeral
        assert reply.text == FORGED_ID
    assert sandbox.services.members.get(sandbox.guild.id, ana.id).muted == frozenset()
    await sandbox.slash(bob, "rapport join")
    await sandbox.restart()
    assert sandbox.services.members.preferences(sandbox.guild.id, bob.id).enrolled


async def test_a_forged_context_menu_target_is_refused(sandbox: Sandbox) -> None:
    """ "Keep in touch" on an id outside Discord's range is refused before anything is stored."""
    ana, bob = await sandbox.members("Ana", "Bob")
    bob.user.id = 2**64 + 5
    reply = await sandbox.emulator.user_menu(ana, sandbox.guild, "Keep in touch", bob)
    assert reply.text == FORGED_ID


@pytest.mark.sandbox_config(ANY_TIME)
async def test_forged_digest_button_ids_are_refused(sandbox: Sandbox) -> None:
    """A digest button or reminder whose custom id carries a forged guild id is refused."""
    ana, bob = await sandbox.members("Ana", "Bob")
    dm = await digest_for(sandbox, ana, bob)
    done = next(c for c in dm.custom_ids() if c.startswith("rapport:done:"))
    forged = f"rapport:done:{2**64 + 5}:{done.rsplit(':', 1)[1]}"
    component = dm.find_component(done)
    assert component is not None
    component["custom_id"] = forged
    reply = await sandbox.click(ana, dm, forged)
    assert reply.text == STALE
    await sandbox.flush()


@pytest.mark.sandbox_config(ANY_TIME)
@pytest.mark.parametrize("values", [["abc"], [""], [], [str(2**64 + 5)], ["0"]])
async def test_not_about_with_a_value_not_from_the_list_mutes_nobody(
    sandbox: Sandbox, values: list[str]
) -> None:
    """ "Not about…" with a non-numeric, empty or forged value asks to pick someone; no mute."""
    ana, bob = await sandbox.members("Ana", "Bob")
    dm = await digest_for(sandbox, ana, bob)
    select = next(c for c in dm.custom_ids() if c.startswith("rapport:notabout:"))
    reply = await sandbox.click(ana, dm, select, values=values)
    assert reply.text == PICK_SOMEONE
    assert sandbox.services.members.get(sandbox.guild.id, ana.id).muted == frozenset()


async def test_an_unsavable_document_is_reported_and_everyone_elses_changes_save(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A document the store can't hold (a bug let a forged id through) is dropped and logged;
    the flush goes on and another member's join survives a restart."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.services.members.mute(sandbox.guild.id, ana.id, 2**64 + 5)
    await sandbox.slash(bob, "rapport join")
    with caplog.at_level(logging.ERROR):
        await sandbox.flush()
    assert f"could not save document {ana.id} of guild {sandbox.guild.id}" in caplog.text
    assert MEMBER_TABLE in caplog.text
    await sandbox.restart()
    assert sandbox.services.members.preferences(sandbox.guild.id, bob.id).enrolled


# --- 3. a digest whose send ends in a 5xx or a timeout is maybe sent: never sent again -------

DM_ROUTE = "POST /channels/{channel_id}/messages"


def dm_posts(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.emulator.requests if r.route == DM_ROUTE)


async def two_members_with_a_digest_due(sandbox: Sandbox):
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    for member in (ana, cy):
        await sandbox.slash(member, "rapport join")  # first: its preview is never sent again
        post = await sandbox.say(member, "#design", "draft is up", at=days_ago(3))
        await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    return ana, cy


@pytest.mark.sandbox_config(ANY_TIME)
async def test_a_digest_answered_with_a_5xx_is_never_sent_again_and_holds_up_no_one(
    sandbox: Sandbox,
) -> None:
    """A 5xx after Discord created the DM: not retried, counted as sent (also after a restart),
    and the next member's digest goes out in the same scan."""
    ana, cy = await two_members_with_a_digest_due(sandbox)
    sandbox.emulator.server_error(DM_ROUTE, status=500, times=1)
    await sandbox.run_job("send_due_digests")
    assert dm_posts(sandbox) == 2  # one each: the failed one was not retried
    assert len(sandbox.dms_to(ana)) == 1
    assert len(sandbox.dms_to(cy)) == 1
    await sandbox.restart()
    await sandbox.clock.advance(hours=1)
    await sandbox.run_job("send_due_digests")
    assert dm_posts(sandbox) == 2


@pytest.mark.sandbox_config(ANY_TIME)
async def test_a_digest_send_that_times_out_counts_as_sent(sandbox: Sandbox) -> None:
    """A DM with no answer within the deadline counts as maybe sent, is not sent again, and
    the queue moves on to the next member instead of waiting."""
    await two_members_with_a_digest_due(sandbox)
    cog = sandbox.bot.get_cog("Nudges") if sandbox.bot else None
    assert cog is not None
    cog.send_deadline = 0.2
    sandbox.emulator.slow(DM_ROUTE, 3.0)
    await sandbox.run_job("send_due_digests")
    assert sandbox.services.nudges.queue.results[SendResult.UNKNOWN] == 2
    assert dm_posts(sandbox) == 2
    sandbox.emulator.slow(DM_ROUTE, 0)
    await sandbox.clock.advance(hours=1)
    await sandbox.run_job("send_due_digests")
    assert dm_posts(sandbox) == 2


# --- 4. no message text in logs, even at DEBUG ----------------------------------------------


async def test_debug_logging_never_records_message_text(sandbox: Sandbox) -> None:
    """At DEBUG, discord.py's gateway payloads and HTTP bodies are logged without their text."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    debug = dataclasses.replace(sandbox.settings, logging=LoggingSettings(level="DEBUG"))
    handler = entry.setup_logging(debug, stream)
    logging.getLogger("discord.http").setLevel(logging.DEBUG)  # an operator's own choice
    try:
        ana, bob = await sandbox.members("Ana", "Bob")
        post = await sandbox.say(ana, "#design", "SECRET draft at https://secret.example/a.png")
        await sandbox.say(bob, "#design", "SECRET reply, thanks!", reply_to=post)
        await sandbox.slash(ana, "rapport settings", timezone="SECRET/Zone")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("discord.http").setLevel(logging.NOTSET)
    logged = stream.getvalue()
    assert "MESSAGE_CREATE" in logged  # DEBUG was on and the events were logged
    assert "SECRET" not in logged
    assert "secret.example" not in logged


# --- 7. every option bounded; no answer over Discord's limits ---------------------------------


def leaf_options(sandbox: Sandbox) -> list[tuple[str, list[dict]]]:
    """(command path, its options) for every synced slash command and subcommand."""
    found: list[tuple[str, list[dict]]] = []

    def walk(path: str, options: list[dict]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            found.append((path, options))
        for sub in subs:
            walk(f"{path} {sub['name']}", sub.get("options", []))

    for command in sandbox.emulator.commands():
        if command.get("type", 1) == 1:
            walk(command["name"], command.get("options", []))
    return found


def fillers(sandbox: Sandbox, options: list[dict], member) -> dict:
    """A valid value for every required option."""
    values: dict = {}
    for option in options:
        if not option.get("required"):
            continue
        kind = option["type"]
        if option.get("choices"):
            values[option["name"]] = option["choices"][0]["value"]
        elif kind == 7:
            values[option["name"]] = sandbox.channel("#general")
        elif kind == 6:
            values[option["name"]] = member
        elif kind in (4, 10):
            values[option["name"]] = option.get("min_value", 1)
        else:
            values[option["name"]] = "1h"
    return values


async def test_every_option_is_bounded_in_its_definition(sandbox: Sandbox) -> None:
    """Discord is told every text option's maximum length and every number's range."""
    unbounded = []
    for path, options in leaf_options(sandbox):
        for option in options:
            if option.get("choices") or option["type"] not in (3, 4, 10):
                continue
            bounded = (
                "max_length" in option
                if option["type"] == 3
                else "min_value" in option and "max_value" in option
            )
            if not bounded:
                unbounded.append(f"/{path} {option['name']}")
    assert unbounded == []


async def test_over_long_text_gets_a_clipped_private_answer(sandbox: Sandbox) -> None:
    """A client sending 3,000 characters in any text option gets an answer Discord accepts."""
    _ana, bob, boss = await busy_server(sandbox)
    tried = 0
    for path, options in leaf_options(sandbox):
        for option in options:
            if option["type"] != 3:
                continue
            values = fillers(sandbox, options, bob) | {option["name"]: "é" * 3000}
            reply = await sandbox.slash(boss, path, **values)
            tried += 1
            assert reply.error is None, (path, option["name"], reply.error)
            assert APOLOGY not in reply.text, (path, option["name"])
    assert tried >= 8


async def test_snoozing_for_ever_gets_a_helpful_answer(sandbox: Sandbox) -> None:
    """/rapport snooze 99999999999w says how long a snooze can be, privately."""
    (ana,) = await sandbox.members("Ana")
    reply = await sandbox.slash(ana, "rapport snooze", duration="99999999999w")
    assert reply.ephemeral
    assert "90 days" in reply.text
    assert APOLOGY not in reply.text


# --- 8. /leaderboard from a DM ------------------------------------------------------------------


async def test_the_leaderboard_from_a_dm_is_refused_politely(sandbox: Sandbox) -> None:
    """A client ignoring guild-only sends /leaderboard from a DM: a plain private answer."""
    (ana,) = await sandbox.members("Ana")
    for command in sandbox.emulator.commands():
        command["contexts"] = None
        command["dm_permission"] = True
    reply = await sandbox.slash_in_dm(ana, "leaderboard")
    assert reply.ephemeral
    assert "works in a server, not in DMs" in reply.text


# --- 8. a full disk: one clear line, and stopping is clean --------------------------------------


def disk_full(fd: int, data: bytes) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


async def test_a_full_disk_is_logged_once_and_stopping_shows_no_traceback(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """While the disk is full every flush fails: one clear line, not a traceback per second;
    stopping then says what was lost in one line, without a traceback either."""
    (ana,) = await sandbox.members("Ana")
    monkeypatch.setattr(tinydb_store, "write_all", disk_full)
    await sandbox.slash(ana, "rapport join")
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            await sandbox.services.flusher.flush_logged()  # what the loop does every interval
        assert sandbox.bot is not None
        await sandbox.bot.close()
        assert sandbox.store is not None
        assert not await entry.close_store(sandbox.store)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["rapport.runtime.flush", "cogs._bot", "rapport"]
    assert "No space left" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
