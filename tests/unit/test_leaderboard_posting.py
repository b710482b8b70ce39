"""The post-once protocol in the core, through a fake Poster: posted, refused, unknown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rapport.leaderboard.posting import LeaderboardPosts, PostOutcome, PostResult, Target
from rapport.leaderboard.scoring import Board
from rapport.leaderboard.service import LeaderboardService
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.settings.config import ScheduleSettings, Settings, StorageSettings
from rapport.settings.timeparse import parse_schedule
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts

G = 1
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday in 2026-W48
LAST_WEEK = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
CHANNEL = Target(5, "leaderboard")


class FakePoster:
    """Answers each send with the next outcome; `where` is the target or a problem text."""

    def __init__(self, *outcomes: PostOutcome, where: Target | str = CHANNEL) -> None:
        self.outcomes = list(outcomes)
        self.where = where
        self.sent: list[str] = []

    def guild_ids(self) -> list[int]:
        return [G]

    def target(self, guild_id: int, spec: str | int) -> Target | str:
        return self.where

    def teams(self, guild_id: int, specs: Sequence[str | int]) -> dict[str, set[int]]:
        return {}

    def keep(self, guild_id: int) -> Callable[[int], bool] | None:
        return None

    async def card(self, guild_id: int, board: Board) -> bytes:
        return b"png"

    async def send(self, guild_id: int, target: Target, board: Board, png: bytes) -> PostResult:
        self.sent.append(board.period)
        outcome = self.outcomes.pop(0)
        return PostResult(outcome, 77 if outcome is PostOutcome.POSTED else 0, "nope")


async def another_process_can_claim(posts: LeaderboardPosts, period: str) -> bool:
    """Whether a second process sharing the store could take the period's claim now."""
    key = f"leaderboard:{G}:{period}"
    return await posts.service.store.claim(key, "another process", NOW + timedelta(days=1), NOW)


def world(tmp_path: Path, schedule: str = "0 9 * * mon") -> tuple[LeaderboardPosts, Ledger]:
    """The post protocol over a memory store, with last week's replies in the ledger."""
    store = MemoryStore()
    settings = replace(
        Settings(),
        schedule=replace(ScheduleSettings(), leaderboard=parse_schedule(schedule)),
        storage=replace(StorageSettings(), path=str(tmp_path / "rapport.json")),
    )
    guilds = GuildService(store, settings)
    members = MemberService(store, settings, guilds, lambda: NOW)
    ledger = Ledger(store)
    for i in range(3):
        mid = 1_000_000 + i * 10
        ledger.record_message(MessageFacts(G, 9, mid, 20 + i, LAST_WEEK))
        ledger.record_message(
            MessageFacts(G, 9, mid + 1, 10, LAST_WEEK + timedelta(minutes=1), reply_to_id=20 + i)
        )
    service = LeaderboardService(store, settings, ledger, members, guilds, lambda: NOW)
    return LeaderboardPosts(service, guilds, settings, lambda: NOW), ledger


async def test_a_posted_board_is_recorded_and_never_posted_again(tmp_path: Path) -> None:
    """Once Discord took the post, the period is recorded and the next run sends nothing."""
    posts, _ = world(tmp_path)
    poster = FakePoster(PostOutcome.POSTED, PostOutcome.POSTED)
    posts.attach(poster)
    await posts.post_due()
    await posts.post_due()
    assert poster.sent == ["2026-W47"]
    assert posts.service.posted(G, "2026-W47") == {
        "channel_id": 5,
        "message_id": 77,
        "at": int(NOW.timestamp()),
    }


async def test_a_refused_post_frees_the_period_for_any_process(tmp_path: Path) -> None:
    """A certain refusal releases the claim and says why."""
    posts, _ = world(tmp_path)
    posts.attach(FakePoster(PostOutcome.REFUSED))
    await posts.post_due()
    assert posts.service.problem(G) == "Discord refused the post in #leaderboard: nope"
    assert await another_process_can_claim(posts, "2026-W47")


async def test_a_refused_post_is_tried_again_by_the_next_run(tmp_path: Path) -> None:
    """After a refusal the next run posts, and the problem is cleared."""
    posts, _ = world(tmp_path)
    poster = FakePoster(PostOutcome.REFUSED, PostOutcome.POSTED)
    posts.attach(poster)
    await posts.post_due()
    await posts.post_due()
    assert poster.sent == ["2026-W47", "2026-W47"]
    assert posts.service.problem(G) is None


async def test_an_unknown_outcome_keeps_the_claim_so_nothing_repeats(tmp_path: Path) -> None:
    """When the post may have gone out, the period is never tried again."""
    posts, _ = world(tmp_path)
    poster = FakePoster(PostOutcome.UNKNOWN, PostOutcome.POSTED)
    posts.attach(poster)
    await posts.post_due()
    await posts.post_due()
    assert poster.sent == ["2026-W47"]
    assert "not retried" in (posts.service.problem(G) or "")
    assert not await another_process_can_claim(posts, "2026-W47")


async def test_an_unusable_channel_is_a_problem_and_nothing_is_sent(tmp_path: Path) -> None:
    """The poster's reason is kept for /rapport-admin stats and no claim is taken."""
    posts, _ = world(tmp_path)
    poster = FakePoster(where="the leaderboard channel “x” was not found")
    posts.attach(poster)
    await posts.post_due()
    assert poster.sent == []
    assert posts.service.problem(G) == "the leaderboard channel “x” was not found"
    assert await posts.service.claim(G, "2026-W47", NOW)


async def test_nothing_is_posted_without_a_poster(tmp_path: Path) -> None:
    """Before the cog attaches (or after it unloads) the job does nothing."""
    posts, _ = world(tmp_path)
    poster = FakePoster(PostOutcome.POSTED)
    posts.attach(poster)
    posts.detach()
    await posts.post_due()
    assert poster.sent == []


@pytest.mark.parametrize(("schedule", "posted"), [("0 9 * * mon", True), ("7d", False)])
async def test_the_start_catches_up_only_a_crontab_schedule(
    tmp_path: Path, schedule: str, posted: bool
) -> None:
    """At start a missed crontab post goes out late; an interval schedule simply runs on."""
    posts, _ = world(tmp_path, schedule)
    poster = FakePoster(PostOutcome.POSTED)
    posts.attach(poster)
    await posts.catch_up()
    assert bool(poster.sent) is posted
