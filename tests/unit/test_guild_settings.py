"""A server's settings over config.toml: the one resolver, its checks, resets and the store."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rapport.errors import UserFacingError
from rapport.leaderboard.service import LeaderboardService, next_fire
from rapport.people.guilds import SETTINGS, GuildService
from rapport.people.members import MemberService
from rapport.settings.config import settings_from_mapping
from rapport.settings.timeparse import parse_schedule
from rapport.store.memory import MemoryStore

G = 1
ANA, BOB = 10, 11
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = {"nudges": {"drift_after": "30d", "kinds": ["drifting", "unanswered"]}}


class Holders:
    """Roles as a dict: role id -> its members."""

    def __init__(self, roles: dict[int, set[int]]) -> None:
        self.roles = roles

    def holders(self, guild_id: int, role_ids: Collection[int]) -> set[int]:
        return set().union(*(self.roles.get(r, set()) for r in role_ids))

    def holds(self, guild_id: int, member_id: int, role_id: int) -> bool:
        return member_id in self.roles.get(role_id, set())


def services(store: MemoryStore | None = None) -> tuple[MemoryStore, GuildService, MemberService]:
    store = store or MemoryStore()
    settings = settings_from_mapping(CONFIG)
    guilds = GuildService(store, settings)
    return store, guilds, MemberService(store, settings, guilds, lambda: NOW)


async def test_config_is_the_default_and_a_servers_choice_overrides_it() -> None:
    """Untouched, every value is config.toml's; a choice wins and is named as the server's."""
    _, guilds, _ = services()
    await guilds.ensure(G)
    policy = guilds.policy(G)
    assert policy.drift_after == timedelta(days=30)
    assert policy.nudge_kinds == {"drifting", "unanswered"}
    assert policy.own == frozenset()
    await guilds.update(G, drift_after="6w", leaderboard_period="month", leaderboard=False)
    policy = guilds.policy(G)
    assert (policy.drift_after, policy.leaderboard_period, policy.leaderboard) == (
        timedelta(weeks=6),
        "month",
        False,
    )
    assert policy.own == {"drift_after", "leaderboard_period", "leaderboard"}


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("nudge_kinds", "drifting, gossip", "takes nudge kinds"),
        ("nudge_kinds", "", "takes nudge kinds"),
        ("drift_after", "30m", "from 1h to 365d"),
        ("share_after", "400d", "from 1h to 365d"),
        ("stale_after", "soon", "takes a duration"),
        ("leaderboard_schedule", "0 9 * *", "5-field crontab"),
        ("leaderboard_schedule", "2d", "5-field crontab"),
        ("leaderboard_period", "year", "must be one of"),
        ("enrollment", "maybe", "must be one of"),
        ("timezone", "Mars/Base", "isn't a time zone"),
        ("drift_min", "31d", "must be at most"),
        ("unanswered_after", "8d", "must be longer than"),
        ("kudos_max_per_day", 101, "whole number from 0"),
        ("kudos_max_per_day", "3", "whole number from 0"),
    ],
)
async def test_a_bad_value_names_the_option_and_changes_nothing(
    option: str, value: str, words: str
) -> None:
    """Each refusal says what is expected; nothing is kept, not even the good values beside it."""
    _, guilds, _ = services()
    before = await guilds.ensure(G)
    with pytest.raises(UserFacingError, match=words) as refused:
        await guilds.update(G, leaderboard=False, **{option: value})
    params = refused.value.params
    if option not in ("timezone", "enrollment"):
        assert option in (params.get("option"), params.get("low_option"), params.get("high_option"))
    assert guilds.get(G) == before


async def test_a_clash_names_the_option_the_admin_changed() -> None:
    """drift_after below the config's drift_min is refused by naming drift_after."""
    _, guilds, _ = services()
    with pytest.raises(UserFacingError) as refused:
        await guilds.update(G, drift_after="3d")
    assert refused.value.params["option"] == "drift_after"


@pytest.mark.parametrize(("value", "stored"), [("all", None), ("none", ())])
async def test_all_and_none_kinds(value: str, stored: tuple[str, ...] | None) -> None:
    """“all” is every kind Rapport has; “none” sends no digests at all."""
    _, guilds, _ = services()
    updated = await guilds.update(G, nudge_kinds=value)
    if stored is None:
        assert set(updated.nudge_kinds or ()) == {
            "drifting",
            "unanswered",
            "thanks",
            "share",
            "welcome",
        }
    else:
        assert updated.nudge_kinds == stored
        assert guilds.policy(G).nudge_kinds == frozenset()


async def test_reset_and_default_go_back_to_the_config() -> None:
    """reset names settings (or all); a text value of “default” resets that one."""
    _, guilds, _ = services()
    await guilds.update(G, drift_after="6w", share_after="3d", track_only=frozenset({5}))
    await guilds.update(G, **dict.fromkeys(guilds.setting_names(["drift-after"])))
    assert guilds.policy(G).drift_after == timedelta(days=30)
    await guilds.update(G, share_after="Default")
    assert guilds.policy(G).own == {"track_only"}
    await guilds.update(G, **dict.fromkeys(guilds.setting_names(["all"])))
    assert guilds.policy(G).own == frozenset()
    assert guilds.setting_names(["all"]) == list(SETTINGS)
    with pytest.raises(UserFacingError, match="takes setting names"):
        guilds.setting_names(["colour"])


async def test_a_servers_settings_survive_a_restart_and_a_bad_stored_value_falls_back() -> None:
    """Choices are stored and read back; an unreadable stored threshold uses config.toml's."""
    store, guilds, _ = services()
    await guilds.update(
        G,
        staff_roles=(7, 8),
        track_only=frozenset({5, 6}),
        leaderboard_schedule="0  18 * * fri",
        stale_after="5d",
    )
    guilds.stage()
    await store.flush()
    _, again, _ = services(store)
    await again.ensure(G)
    assert again.get(G) == guilds.get(G)
    assert again.policy(G).leaderboard_schedule.cron == "0 18 * * fri"
    store.put("guild_settings", G, "settings", {"drift_after": "a while"})
    await store.flush()
    _, third, _ = services(store)
    await third.ensure(G)
    assert third.policy(G).drift_after == timedelta(days=30)


@pytest.mark.parametrize("mode", ["opt-in", "opt-out"])
async def test_the_enrollment_role_gates_joining_and_who_is_enrolled(mode: str) -> None:
    """Only holders can join; under opt-out only holders are enrolled; without the role, all."""
    _, guilds, members = services()
    guilds.roles = Holders({99: {ANA}})
    await guilds.update(G, enrollment=mode, enrollment_role=99)
    await members.enroll(G, ANA)
    with pytest.raises(UserFacingError, match="<@&99>"):
        await members.enroll(G, BOB)
    assert members.preferences(G, ANA).enrolled
    assert not members.preferences(G, BOB).enrolled
    await guilds.update(G, enrollment_role=None)
    await members.enroll(G, BOB)
    assert members.preferences(G, BOB).enrolled


async def test_a_members_kinds_stay_within_the_servers() -> None:
    """A member's own kinds are cut to what the server allows; naming another is refused."""
    _, guilds, members = services()
    await guilds.update(G, nudge_kinds="share, drifting, welcome")
    await members.configure(G, ANA, kinds=["share", "drifting"])
    assert members.preferences(G, ANA).kinds == {"share", "drifting"}
    await guilds.update(G, nudge_kinds="share, welcome")
    assert members.preferences(G, ANA).kinds == {"share"}
    assert members.preferences(G, BOB).kinds == {"share", "welcome"}
    with pytest.raises(UserFacingError, match="doesn't send thanks nudges; choose from: share"):
        await members.configure(G, BOB, kinds=["thanks", "share"])
    await members.configure(G, BOB, kinds=["drifting", "unanswered", "thanks", "share", "welcome"])
    assert members.preferences(G, BOB).kinds == {"share", "welcome"}


@pytest.mark.parametrize(
    ("track_only", "channel", "parent", "ignored"),
    [
        (None, 1, None, False),
        ({2}, 1, None, True),
        ({2}, 2, None, False),
        ({2}, 30, 2, False),  # a thread of a tracked channel
        ({2}, 30, 1, True),
    ],
)
async def test_track_only_channels(
    track_only: set[int] | None, channel: int, parent: int | None, ignored: bool
) -> None:
    """Only the server's track-only channels and their threads are tracked."""
    _, guilds, _ = services()
    if track_only is not None:
        await guilds.update(G, track_only=frozenset(track_only))
    assert guilds.policy(G).ignores_channel(channel, None, parent) is ignored


async def test_staff_are_off_the_board() -> None:
    """Members holding a staff role are left out of every board."""
    store, guilds, members = services()
    guilds.roles = Holders({7: {BOB}})
    board = LeaderboardService(store, guilds.settings, None, members, guilds, lambda: NOW)  # type: ignore[arg-type]
    assert BOB not in board.excluded(G)
    await guilds.update(G, staff_roles=(7,))
    assert BOB in board.excluded(G)
    assert ANA not in board.excluded(G)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 9 * * mon", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # NOW is a Thursday
        ("0 12 * * *", datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),  # strictly after now
        ("6h", NOW + timedelta(hours=6)),
    ],
)
def test_next_fire_is_strictly_after_now(schedule: str, expected: datetime) -> None:
    """The minute tick looks again only once the server's schedule fires next."""
    assert next_fire(parse_schedule(schedule), NOW, ZoneInfo("UTC")) == expected
