"""Member and guild settings: defaults, validation with clear refusals, persistence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from rapport.errors import UserFacingError
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.settings.config import NudgeSettings, Settings
from rapport.store.memory import MemoryStore

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
G, ANA, BOB = 1, 10, 20


def services(settings: Settings | None = None, store: MemoryStore | None = None):
    store = store or MemoryStore()
    settings = settings or Settings()
    guilds = GuildService(store, settings)
    return store, guilds, MemberService(store, settings, guilds, lambda: NOW)


async def test_a_new_member_follows_the_config_defaults() -> None:
    """Without choices of their own a member gets the config's hour, quiet hours and cap."""
    _, _, members = services()
    await members.ensure(G)
    prefs = members.preferences(G, ANA)
    assert prefs.digest_hour == 18
    assert prefs.quiet_hours is not None
    assert prefs.quiet_hours.contains(time(23, 0))
    assert prefs.max_dms_per_week == 3
    assert not prefs.enrolled
    assert prefs.tracked


@pytest.mark.parametrize(("mode", "enrolled"), [("opt-in", False), ("opt-out", True)])
async def test_enrollment_mode_decides_for_members_who_never_chose(
    mode: str, enrolled: bool
) -> None:
    """Under opt-out everyone gets digests until they leave; under opt-in only who joins."""
    settings = replace(Settings(), nudges=replace(NudgeSettings(), enrollment=mode))
    _, _, members = services(settings)
    await members.ensure(G)
    assert members.preferences(G, ANA).enrolled is enrolled
    assert (ANA in members.enrolled_members(G, [ANA, BOB])) is enrolled


async def test_admin_enrollment_overrides_the_config() -> None:
    """An admin's /rapport-admin setup enrollment wins over the config file."""
    _, guilds, members = services()
    await guilds.update(G, enrollment="opt-out")
    await members.ensure(G)
    assert members.preferences(G, ANA).enrolled


async def test_join_then_leave_stops_digests_but_not_tracking() -> None:
    """Leaving stops DMs; only forgetting stops tracking."""
    _, _, members = services()
    await members.enroll(G, ANA)
    assert members.preferences(G, ANA).enrolled
    await members.leave(G, ANA)
    prefs = members.preferences(G, ANA)
    assert not prefs.enrolled
    assert prefs.tracked
    assert members.is_tracked(G, ANA)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("timezone", "Europe/Paris", "Europe/Paris"),
        ("digest_hour", 9, 9),
        ("digest_hour", "any", "any"),
        ("quiet_hours", "23:00-07:00", "23:00-07:00"),
        ("quiet_hours", "off", "off"),
        ("max_dms_per_week", 0, 0),
        ("max_dms_per_week", 14, 14),
        ("kinds", ["drifting", "thanks"], ("drifting", "thanks")),
        ("on_leaderboard", False, False),
    ],
)
async def test_valid_settings_are_kept(option: str, value: object, expected: object) -> None:
    """Each setting accepts the values the command documents."""
    _, _, members = services()
    saved = await members.configure(G, ANA, **{option: value})
    assert getattr(saved, option) == expected


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "time zone"),
        ("timezone", "europe/pari", "Europe/Paris"),
        ("digest_hour", 24, "0 to 23"),
        ("digest_hour", "noon", "0 to 23"),
        ("quiet_hours", "late", "quiet-hours"),
        ("max_dms_per_week", 15, "0 to 14"),
        ("max_dms_per_week", -1, "0 to 14"),
        ("kinds", ["drifting", "gossip"], "gossip"),
        ("kinds", [], "Nudge kinds"),
    ],
)
async def test_bad_settings_are_refused_with_what_is_expected(
    option: str, value: object, message: str
) -> None:
    """A bad value raises a user-facing error naming what is expected, and changes nothing."""
    _, _, members = services()
    before = members.get(G, ANA)
    with pytest.raises(UserFacingError, match=message):
        await members.configure(G, ANA, **{"on_leaderboard": False, option: value})
    assert members.get(G, ANA) == before


async def test_effective_preferences_resolve_own_choices() -> None:
    """A member's own zone, hour "any" and quiet hours "off" replace the defaults."""
    _, _, members = services()
    await members.configure(
        G, ANA, timezone="Asia/Tokyo", digest_hour="any", quiet_hours="off", kinds=["share"]
    )
    prefs = members.preferences(G, ANA)
    assert str(prefs.zone) == "Asia/Tokyo"
    assert prefs.digest_hour is None
    assert prefs.quiet_hours is None
    assert prefs.kinds == {"share"}


@pytest.mark.parametrize(
    ("duration", "ok"),
    [(timedelta(hours=1), True), (timedelta(days=90), True), (timedelta(days=91), False)],
)
async def test_snooze_is_limited_to_ninety_days(duration: timedelta, ok: bool) -> None:
    """Snoozes pause digests until a time, at most 90 days away."""
    _, _, members = services()
    if ok:
        await members.snooze(G, ANA, duration)
        prefs = members.preferences(G, ANA)
        assert prefs.snoozed(NOW)
        assert not prefs.snoozed(NOW + duration)
    else:
        with pytest.raises(UserFacingError, match="90 days"):
            await members.snooze(G, ANA, duration)


async def test_mute_and_unmute_a_person() -> None:
    """A muted person is listed until unmuted; muting yourself or unmuting twice is refused."""
    _, _, members = services()
    await members.mute(G, ANA, BOB)
    assert members.preferences(G, ANA).muted == {BOB}
    with pytest.raises(UserFacingError, match="yourself"):
        await members.mute(G, ANA, ANA)
    await members.unmute(G, ANA, BOB)
    assert members.preferences(G, ANA).muted == frozenset()
    with pytest.raises(UserFacingError, match="isn't muted"):
        await members.unmute(G, ANA, BOB)


async def test_opt_out_stops_tracking_until_track() -> None:
    """After forget a member is neither tracked nor enrolled; track resumes tracking only."""
    _, _, members = services()
    await members.enroll(G, ANA)
    await members.opt_out(G, ANA)
    assert not members.is_tracked(G, ANA)
    assert not members.preferences(G, ANA).enrolled
    await members.track(G, ANA)
    assert members.is_tracked(G, ANA)
    assert not members.preferences(G, ANA).enrolled


async def test_settings_survive_a_restart_through_the_store() -> None:
    """Staged settings written by one service are read back by the next."""
    store, guilds, members = services()
    await members.configure(G, ANA, timezone="Europe/Berlin", max_dms_per_week=5)
    await members.mute(G, ANA, BOB)
    await members.snooze(G, ANA, timedelta(days=3))
    await guilds.exclude_channels(G, [555])
    assert members.stage() == 1
    assert guilds.stage() == 1
    await store.flush()

    _, guilds2, members2 = services(store=store)
    await members2.ensure(G)
    assert members2.get(G, ANA) == members.get(G, ANA)
    assert guilds2.policy(G).ignores_channel(555)


async def test_guilds_are_kept_apart() -> None:
    """A setting in one guild does not leak into another."""
    store, _, members = services()
    await members.configure(G, ANA, digest_hour=7)
    await members.ensure(2)
    assert members.get(2, ANA).digest_hour is None
    members.stage()
    await store.flush()
    assert await store.load("member_settings", 2) == {}


async def test_bad_guild_settings_are_refused() -> None:
    """An unknown enrollment mode or time zone in setup is refused before anything changes."""
    _, guilds, _ = services()
    with pytest.raises(UserFacingError, match="opt-in, opt-out"):
        await guilds.update(G, enrollment="maybe")
    with pytest.raises(UserFacingError, match="time zone"):
        await guilds.update(G, timezone="Atlantis/Capital")
    assert guilds.get(G).enrollment is None
