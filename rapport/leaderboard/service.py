"""The leaderboard service: which period is due, the board for a guild, once-per-period posts.

Decisions (docs in the README's "Leaderboard" section):

- The scheduled post shows the last complete period before the schedule's latest fire time,
  reckoned in the guild's time zone: a Monday 09:00 post shows last week (or, with
  `period = "month"`, last month, posted on the first run of the new month). Counters are
  bucketed by UTC date in the ledger, so a week's edges are UTC midnights.
- Exactly once per guild and period: a durable store claim per (guild, period), taken before
  sending and kept after (released only when sending failed for sure), plus a "posted" record.
  The claim's owner is unique to this process run, so a restart, or a second process sharing
  PostgreSQL, can never take it again. A crash between claiming and sending loses that
  period's post rather than doubling it.
- A missed schedule (the bot was down) is caught up at start and by an hourly check when the
  schedule is a crontab: late once, with the right period.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rapport.clock import Clock
from rapport.leaderboard.periods import (
    completed_period,
    current_period,
    last_fire,
    month_key,
    next_fire,
    week_key,
)
from rapport.leaderboard.ranking import Ranking, Rankings
from rapport.leaderboard.rows import Excluded, shown, team_links, team_links_built
from rapport.leaderboard.scoring import ALL, Board, assemble_board, previous_period, render_text
from rapport.people.guilds import GuildService
from rapport.people.kudos import KudosService
from rapport.people.members import MemberService
from rapport.settings.config import Settings
from rapport.store.base import Store
from rapport.tracking import LedgerReads

log = logging.getLogger(__name__)

JOB = "post_weekly_leaderboard"
"""The scheduler job that posts each guild's board for the period that just ended."""
CATCH_UP_JOB = "catch_up_leaderboard"
"""The hourly check that posts a missed or other-time-zone board (crontab schedules only)."""
TABLE = "leaderboard"
_CLAIM_FOR = timedelta(days=62)
_KEEP_POSTED = timedelta(days=400)
_SAVED_CARD = re.compile(r"leaderboard-\d+-[0-9A-Za-z-]+\.png")


class LeaderboardService:
    """Boards from the ledger, members' choices excluded; the record of what was posted."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        ledger: LedgerReads,
        members: MemberService,
        guilds: GuildService,
        clock: Clock,
        *,
        data_dir: Path | None = None,
        kudos: KudosService | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.ledger = ledger
        self.members = members
        self.guilds = guilds
        self.clock = clock
        self.kudos = kudos
        self.data_dir = data_dir if data_dir is not None else Path(settings.storage.path).parent
        # Unique per run: after a restart the old run's claims belong to someone else.
        self.owner = f"leaderboard:{uuid.uuid4().hex}"
        self._posted: dict[int, dict[str, dict[str, Any]]] = {}
        self._problems: dict[int, dict[str, Any]] = {}
        self._dirty: set[tuple[int, str]] = set()
        self._loaded: set[int] = set()
        self._rankings = Rankings()
        self._cold: set[int] = set()

    # ---- state -----------------------------------------------------------------------------

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's posted records and problem once (a guild loader)."""
        if guild_id in self._loaded:
            return
        docs = await self.store.load(TABLE, guild_id)
        stored = {k.removeprefix("posted:"): d for k, d in docs.items() if k.startswith("posted:")}
        # Anything recorded in memory before the load is newer than the store.
        self._posted[guild_id] = stored | self._posted.get(guild_id, {})
        if docs.get("problem") and guild_id not in self._problems:
            self._problems[guild_id] = docs["problem"]
        self._loaded.add(guild_id)

    def stage(self) -> int:
        """Put changed records into the store; returns how many."""
        n = 0
        for guild_id, key in self._dirty:
            if key == "problem":
                doc = self._problems.get(guild_id)
            else:
                doc = self._posted.get(guild_id, {}).get(key.removeprefix("posted:"))
            if doc is None:
                self.store.delete(TABLE, guild_id, key)
            else:
                self.store.put(TABLE, guild_id, key, doc)
            n += 1
        self._dirty.clear()
        return n

    # ---- boards ----------------------------------------------------------------------------

    def excluded(self, guild_id: int) -> set[int]:
        """Members who opted out of tracking or hid themselves, and the server's staff roles."""
        hidden = self.members.off_leaderboard(guild_id)
        staff = self.guilds.policy(guild_id).staff_roles
        return hidden | self.guilds.roles.holders(guild_id, staff) if staff else hidden

    async def warm_later(self, guild_id: int) -> None:
        """A guild loader: note the guild for `warm_loaded`; built now, beside the first nudge
        scan, its rankings slowed the scan fourfold (bench/scale.py, 100,000 members)."""
        self._cold.add(guild_id)

    async def warm_loaded(self) -> None:
        """Build the rankings of the guilds loaded since the last call (compose runs this
        after each nudge scan; a board asked for before then builds what it needs itself)."""
        while self._cold:
            await self.warm(self._cold.pop())

    async def warm(self, guild_id: int, now: datetime | None = None) -> None:
        """Have `ready` what the first boards and ranks will ask for (this week and month, all
        time, the period the post shows): built on request, it blocked the loop for seconds."""
        now = now or self.clock()
        periods = [
            ALL,
            self.due_period(guild_id, now),
            self.period_key(guild_id, "week", now),
            self.period_key(guild_id, "month", now),
        ]
        try:
            for period in dict.fromkeys(periods):  # with the one before, for movement
                await self.ready(guild_id, period)
        except Exception:  # a request builds it then
            log.exception("building the leaderboard's rankings failed in guild %s", guild_id)

    async def ready(self, guild_id: int, period: str) -> None:
        """Have the rankings a board of `period` reads (it and the period before, and the gains
        between them) built beside the loop, or wait for their build under way: a board asked
        for before the warm-up would otherwise build them in one step of seconds (/leaderboard
        and the post defer)."""
        await self._built(guild_id, period)
        if (before := previous_period(period)) is not None:
            await self._built(guild_id, before)
            weights = self.settings.leaderboard.weights
            await self._rankings.gains_built(self.ledger, guild_id, period, before, weights)

    async def _built(self, guild_id: int, period: str) -> None:
        weights = self.settings.leaderboard.weights
        await self._rankings.built(self.ledger, guild_id, period, weights)

    def ranking(self, guild_id: int, period: str) -> Ranking:
        """The period's kept ranking, brought up to date with what the ledger changed since."""
        weights = self.settings.leaderboard.weights
        return self._rankings.get(self.ledger, guild_id, period, weights)

    def period_key(self, guild_id: int, kind: str, now: datetime | None = None) -> str:
        """The current period of a kind ("week", "month", "all") in the guild's time zone."""
        zone = self.guilds.policy(guild_id).zone
        return current_period(kind, now or self.clock(), zone)

    def due_period(self, guild_id: int, now: datetime) -> str:
        """The period the scheduled post shows at `now`: the last one that ended (by the
        guild's own period and schedule, else config.toml's)."""
        policy = self.guilds.policy(guild_id)
        at = last_fire(policy.leaderboard_schedule, now, policy.zone) or now
        return completed_period(policy.leaderboard_period, at, policy.zone)

    def board(
        self,
        guild_id: int,
        period: str,
        teams: Mapping[str, Collection[int]] | None = None,
        *,
        keep: Callable[[int], bool] | None = None,
        thanked: bool = True,
        links: Mapping[tuple[int, int], int] | None = None,
    ) -> Board:
        """The board of one period; `keep` says who may appear (the cog: still in the server).

        Members who opted out or hid themselves are always left out. Standings are built for
        the rows shown (`top`, and the most improved) only, walking the kept order; `keep` is
        asked only of the members walked past. `thanked` adds the period's "most thanked"
        board (a rank alone doesn't need it); `links`, the team links if read already.
        """
        weights = self.settings.leaderboard.weights
        now = self.ranking(guild_id, period)
        before = previous_period(period)
        prior = gains = None
        if before is not None:
            prior = self.ranking(guild_id, before)
            gains = self._rankings.gains(self.ledger, guild_id, now, prior)
        pairs = team_links(self.ledger, guild_id, period, teams) if links is None else links
        hidden = self.excluded(guild_id)
        out = Excluded(hidden, keep)
        top, improved = shown(now, prior, gains, out, self.settings.leaderboard.top)
        board = assemble_board(
            period,
            top,
            weights,
            previous_key=before,
            most_improved=improved,
            teams=teams,
            scores=now.score_of,
            pairs=pairs,
            excluded=out,
        )
        if self.kudos is None or not thanked:
            return board
        most = self.kudos.most_thanked(guild_id, period, excluded=hidden, keep=keep)
        return dataclasses.replace(board, most_thanked=most)

    async def built_board(
        self,
        guild_id: int,
        period: str,
        teams: Mapping[str, Collection[int]] | None = None,
        *,
        keep: Callable[[int], bool] | None = None,
    ) -> Board:
        """`board` once what it reads is built beside the loop (`ready`, the team links), so
        its own step is short (/leaderboard and the post defer)."""
        await self.ready(guild_id, period)
        links = await team_links_built(self.ledger, guild_id, period, teams)
        return self.board(guild_id, period, teams, keep=keep, links=links)

    def text(
        self,
        guild_id: int,
        period: str | None = None,
        names: Mapping[int, str] | None = None,
        teams: Mapping[str, Collection[int]] | None = None,
    ) -> str:
        """The board as terminal text (the demo); by default the period the post would show."""
        period = period or self.due_period(guild_id, self.clock())
        board = self.board(guild_id, period, teams)
        return render_text(board, names, top=self.settings.leaderboard.top)

    def position(self, guild_id: int, member_id: int, period_key: str) -> tuple[int, int] | None:
        """(rank, out of how many), None when not on the board; `period_key` is a ledger key
        ("2026-W48", "2026-11"), "all", or "week"/"month" for the current one."""
        period = self._period(guild_id, period_key)
        return self.ranking(guild_id, period).position(member_id, self.excluded(guild_id))

    def _period(self, guild_id: int, key: str) -> str:
        return self.period_key(guild_id, key) if key in ("week", "month") else key

    async def rank(self, guild_id: int, member_id: int, period_key: str) -> tuple[int, int] | None:
        """`position` once its ranking is built beside the loop (before the warm-up, built on
        request, it held the loop for a second or more at 100,000 members)."""
        await self._built(guild_id, self._period(guild_id, period_key))
        return self.position(guild_id, member_id, period_key)

    # ---- once per period -------------------------------------------------------------------

    def posted(self, guild_id: int, period: str) -> dict[str, Any] | None:
        """The record of the post for a period, if it was made."""
        return self._posted.get(guild_id, {}).get(period)

    def _claim_key(self, guild_id: int, period: str) -> str:
        return f"leaderboard:{guild_id}:{period}"

    async def claim(self, guild_id: int, period: str, now: datetime) -> bool:
        """Take the right to post this period (durable; False if posted or someone holds it)."""
        if self.posted(guild_id, period) is not None:
            return False
        return await self.store.claim(
            self._claim_key(guild_id, period), self.owner, now + _CLAIM_FOR, now
        )

    async def release(self, guild_id: int, period: str) -> None:
        """Give the claim back after a send that surely failed, so a later run retries."""
        await self.store.release(self._claim_key(guild_id, period), self.owner)

    def mark_posted(
        self, guild_id: int, period: str, channel_id: int, message_id: int, now: datetime
    ) -> None:
        """Record the post (staged; the claim already keeps it from repeating) and prune."""
        records = self._posted.setdefault(guild_id, {})
        records[period] = {
            "channel_id": channel_id,
            "message_id": message_id,
            "at": int(now.timestamp()),
        }
        self._dirty.add((guild_id, f"posted:{period}"))
        cutoff = (now - _KEEP_POSTED).timestamp()
        for old in [p for p, d in records.items() if d.get("at", 0) < cutoff]:
            del records[old]
            self._dirty.add((guild_id, f"posted:{old}"))
        self.set_problem(guild_id, None, now)

    # ---- problems --------------------------------------------------------------------------

    def set_problem(self, guild_id: int, text: str | None, now: datetime) -> None:
        """Remember (or clear, with None) why the last post could not be made."""
        if text is None:
            if self._problems.pop(guild_id, None) is not None:
                self._dirty.add((guild_id, "problem"))
            return
        self._problems[guild_id] = {"text": text, "at": int(now.timestamp())}
        self._dirty.add((guild_id, "problem"))

    def problem(self, guild_id: int) -> str | None:
        """Why the last scheduled post could not be made (for /rapport-admin stats), or None."""
        found = self._problems.get(guild_id)
        return None if found is None else str(found["text"])

    # ---- cards saved by earlier versions ---------------------------------------------------

    def remove_saved_cards(self) -> int:
        """Delete the cards earlier versions saved as data/leaderboard-<guild>-<period>.png.

        A card shows members by name and face, and a saved one outlived `/rapport forget`.
        Cards now live only in the post that carries them, so none is written any more.
        """
        removed = 0
        for path in self.data_dir.glob("leaderboard-*.png"):
            if _SAVED_CARD.fullmatch(path.name) is None:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not delete the saved leaderboard card %s: %s", path, exc)
                continue
            removed += 1
        if removed:
            log.info("deleted %d leaderboard cards saved by an earlier version", removed)
        return removed


__all__ = [
    "CATCH_UP_JOB",
    "JOB",
    "LeaderboardService",
    "completed_period",
    "current_period",
    "last_fire",
    "month_key",
    "next_fire",
    "week_key",
]
