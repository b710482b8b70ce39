"""The leaderboard service: which period is due, once per period across restarts, exclusions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rapport.leaderboard.service import LeaderboardService, completed_period, last_fire
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.settings.config import LeaderboardSettings, ScheduleSettings, Settings
from rapport.settings.timeparse import parse_schedule
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts

G = 1
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday in 2026-W48
LAST_WEEK = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


def service(
    store: MemoryStore | None = None, settings: Settings | None = None, ledger: Ledger | None = None
) -> LeaderboardService:
    """A service as bot.py builds it, on a memory store."""
    store = store or MemoryStore()
    settings = settings or Settings()
    guilds = GuildService(store, settings)
    members = MemberService(store, settings, guilds, lambda: NOW)
    return LeaderboardService(
        store, settings, ledger or Ledger(store), members, guilds, lambda: NOW
    )


def replies(
    ledger: Ledger, author: int, targets: list[int], at: datetime, channel: int = 9
) -> None:
    """`author` replies once to a fresh message of each target."""
    for i, target in enumerate(targets):
        mid = 1_000_000 + author * 1000 + target * 10 + i
        ledger.record_message(MessageFacts(G, channel, mid, target, at))
        answer = MessageFacts(
            G, channel, mid + 5, author, at + timedelta(minutes=1), reply_to_id=target,
            reply_to_message_id=mid,
        )  # fmt: skip
        ledger.record_message(answer)


@pytest.mark.parametrize(
    ("kind", "at", "zone", "period"),
    [
        ("week", datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "UTC", "2026-W47"),
        ("week", datetime(2026, 11, 29, 23, 0, tzinfo=UTC), "UTC", "2026-W47"),
        # Monday 01:00 in Tokyo is still Sunday in UTC: the guild's zone decides.
        ("week", datetime(2026, 11, 22, 16, 0, tzinfo=UTC), "Asia/Tokyo", "2026-W47"),
        ("week", datetime(2026, 11, 22, 16, 0, tzinfo=UTC), "UTC", "2026-W46"),
        ("month", datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "UTC", "2026-11"),
        ("month", datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "UTC", "2025-12"),
    ],
)
def test_the_post_shows_the_period_that_just_ended(
    kind: str, at: datetime, zone: str, period: str
) -> None:
    """A post at `at` shows the last complete week or month in the guild's time zone."""
    assert completed_period(kind, at, ZoneInfo(zone)) == period


def test_last_fire_is_the_latest_schedule_time_in_the_zone() -> None:
    """For "0 9 * * mon" on a Thursday, the last fire is Monday 09:00 in the guild's zone."""
    monday_9 = parse_schedule("0 9 * * mon")
    fire = last_fire(monday_9, NOW, ZoneInfo("Europe/Berlin"))
    assert fire == datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert last_fire(parse_schedule("30s"), NOW, ZoneInfo("UTC")) is None


def test_a_late_run_still_posts_the_period_the_schedule_meant() -> None:
    """Run on Sunday after a missed Monday, the due period is still last week's."""
    svc = service()
    assert svc.due_period(G, datetime(2026, 11, 29, 20, 0, tzinfo=UTC)) == "2026-W47"
    assert svc.due_period(G, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) == "2026-W46"


def test_monthly_boards_follow_the_config_period() -> None:
    """With period = "month", the weekly schedule shows last month (posted once)."""
    settings = Settings(
        leaderboard=LeaderboardSettings(period="month"),
        schedule=ScheduleSettings(leaderboard=parse_schedule("0 9 * * mon")),
    )
    assert service(settings=settings).due_period(G, NOW) == "2026-10"


async def test_a_period_is_claimed_once_even_after_a_restart() -> None:
    """A second service on the same store (a restart, or another process) can't claim again."""
    store = MemoryStore()
    first, second = service(store), service(store)
    assert await first.claim(G, "2026-W47", NOW)
    first.mark_posted(G, "2026-W47", 5, 6, NOW)
    first.stage()
    await store.flush()
    assert not await second.claim(G, "2026-W47", NOW + timedelta(hours=1))
    await second.ensure(G)
    assert second.posted(G, "2026-W47") is not None
    assert await second.claim(G, "2026-W48", NOW + timedelta(days=7))


async def test_a_released_claim_lets_a_later_run_retry() -> None:
    """When sending surely failed, the claim is given back and the next run may post."""
    store = MemoryStore()
    first = service(store)
    assert await first.claim(G, "2026-W47", NOW)
    await first.release(G, "2026-W47")
    assert await service(store).claim(G, "2026-W47", NOW)


async def test_a_problem_is_kept_until_the_next_successful_post() -> None:
    """A recorded problem survives a restart and clears once a post goes out."""
    store = MemoryStore()
    svc = service(store)
    svc.set_problem(G, "the leaderboard channel “x” was not found", NOW)
    svc.stage()
    await store.flush()
    again = service(store)
    await again.ensure(G)
    assert again.problem(G) == "the leaderboard channel “x” was not found"
    again.mark_posted(G, "2026-W47", 5, 6, NOW)
    assert again.problem(G) is None


async def test_hidden_and_opted_out_members_are_left_out_and_have_no_position() -> None:
    """Hiding from the board or opting out of tracking removes a member; others close ranks."""
    store = MemoryStore()
    ledger = Ledger(store)
    replies(ledger, 10, [20, 30, 40], LAST_WEEK)
    replies(ledger, 20, [30], LAST_WEEK)
    replies(ledger, 50, [30, 40], LAST_WEEK)
    svc = service(store, ledger=ledger)
    await svc.members.ensure(G)
    assert svc.position(G, 10, "2026-W47") == (1, 3)
    await svc.members.configure(G, 10, on_leaderboard=False)
    await svc.members.opt_out(G, 50)
    assert svc.position(G, 10, "2026-W47") is None
    assert svc.position(G, 20, "2026-W47") == (1, 1)
    assert svc.board(G, "2026-W47", {"T": {10, 20, 50}}).teams[0].size == 1


def test_cards_saved_by_earlier_versions_are_deleted_and_nothing_else(tmp_path: Path) -> None:
    """Only leaderboard-<guild>-<period>.png files go: a saved card can show a forgotten member."""
    svc = service()
    svc.data_dir = tmp_path
    cards = [tmp_path / "leaderboard-1-2026-W47.png", tmp_path / "leaderboard-22-2026-11.png"]
    kept = [tmp_path / "leaderboard-notes.png", tmp_path / "rapport.json", tmp_path / "map.png"]
    for path in cards + kept:
        path.write_bytes(b"\x89PNG")
    assert svc.remove_saved_cards() == 2
    assert [p for p in cards if p.exists()] == []
    assert all(p.exists() for p in kept)
    assert svc.remove_saved_cards() == 0


async def test_the_terminal_text_shows_the_period_the_post_would_show() -> None:
    """The demo's text names last week's members in rank order, with the formula."""
    ledger = Ledger(MemoryStore())
    replies(ledger, 10, [20, 30], LAST_WEEK)
    replies(ledger, 20, [30], LAST_WEEK, channel=8)  # not an answer to Ana in her channel
    text = service(ledger=ledger).text(G, names={10: "Ana", 20: "Bob"})
    assert "week 47" in text
    assert text.index("Ana") < text.index("Bob")
    assert "score =" in text
