"""Backfill bookkeeping: which window a guild asked to rebuild, and how far reading has got.

The ledger already makes replays harmless (pages it recorded are marked, and a marked page is a
no-op), so this only needs to remember the job itself, to resume it after a restart and to
report progress. Documents hold ids, counts and times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from rapport.clock import Clock
from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.store.base import Doc, Store, decode_each
from rapport.tracking.model import time_snowflake

TABLE = "backfill"
KEY = "job"
MAX_DAYS = 365


@dataclass(frozen=True, slots=True)
class BackfillJob:
    """One guild's backfill: the window, the channels finished, the messages read."""

    guild_id: int
    days: int
    since: datetime
    started: datetime
    channels_done: frozenset[int] = field(default_factory=frozenset)
    messages: int = 0
    finished: datetime | None = None

    @property
    def since_id(self) -> int:
        """The smallest message id inside the window."""
        return time_snowflake(self.since)

    def to_doc(self) -> Doc:
        """The stored form."""
        return {
            "days": self.days,
            "since": int(self.since.timestamp()),
            "started": int(self.started.timestamp()),
            "channels_done": sorted(self.channels_done),
            "messages": self.messages,
            "finished": int(self.finished.timestamp()) if self.finished else None,
        }

    @classmethod
    def from_doc(cls, guild_id: int, doc: Doc) -> BackfillJob:
        """Read the stored form back."""
        return cls(
            guild_id=guild_id,
            days=doc["days"],
            since=datetime.fromtimestamp(doc["since"], UTC),
            started=datetime.fromtimestamp(doc["started"], UTC),
            channels_done=frozenset(doc.get("channels_done", ())),
            messages=doc.get("messages", 0),
            finished=datetime.fromtimestamp(doc["finished"], UTC) if doc.get("finished") else None,
        )


class Coverage(Protocol):
    """What backfill reads of the ledger (rapport.tracking.LedgerReads, or the Ledger)."""

    def covered(self, guild_id: int, channel_id: int) -> list[tuple[int, int]]:
        """The snowflake ranges of a channel the ledger has already recorded."""


class BackfillService:
    """Starts, advances and resumes backfill jobs; the reading itself is Discord glue."""

    def __init__(self, store: Store, ledger: Coverage, clock: Clock) -> None:
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self._jobs: dict[int, BackfillJob] = {}
        self._dirty: set[int] = set()
        self._reading: set[int] = set()

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's job (if any) once."""
        if guild_id not in self._jobs:
            doc = (await self.store.load(TABLE, guild_id)).get(KEY)
            if doc is not None:
                decoded = decode_each(
                    TABLE, guild_id, {KEY: doc}, lambda _, d: BackfillJob.from_doc(guild_id, d)
                )
                self._jobs[guild_id] = decoded[KEY]

    def job(self, guild_id: int) -> BackfillJob | None:
        """The guild's current or last job."""
        return self._jobs.get(guild_id)

    def unfinished(self) -> list[BackfillJob]:
        """Jobs a restart interrupted, to resume."""
        return [j for j in self._jobs.values() if j.finished is None]

    def start(self, guild_id: int, days: int) -> BackfillJob:
        """Begin a backfill of the last `days` days (1–365); refuses while one is running."""
        if not 1 <= days <= MAX_DAYS:
            raise UserFacingError(
                N_("Backfill between 1 and {max_days} days of history."), max_days=MAX_DAYS
            )
        current = self._jobs.get(guild_id)
        if current is not None and current.finished is None:
            raise UserFacingError(
                N_(
                    "A backfill of {days} days is already running "
                    "({channels} channels done, {messages} messages read)."
                ),
                days=current.days,
                channels=len(current.channels_done),
                messages=f"{current.messages:,}",
            )
        now = self.clock()
        job = BackfillJob(guild_id, days, since=now - timedelta(days=days), started=now)
        self._set(job)
        return job

    def claim_reading(self, guild_id: int) -> bool:
        """Whether the caller may read the guild's history now: one reader per job at a time.

        on_ready fires again after every fresh session (an invalid session, op 9), and the
        resumer it starts must not read alongside the reader already at work.
        """
        if guild_id in self._reading:
            return False
        self._reading.add(guild_id)
        return True

    def release_reading(self, guild_id: int) -> None:
        """The reader stopped (finished, failed or cancelled)."""
        self._reading.discard(guild_id)

    def resume_point(self, guild_id: int, channel_id: int) -> int:
        """The message id to read after: the end of what is already recorded from the window start."""
        job = self._jobs[guild_id]
        point = job.since_id - 1
        for lo, hi in self.ledger.covered(guild_id, channel_id):
            if lo <= point + 1 <= hi + 1:
                point = max(point, hi)
        return point

    def read(self, guild_id: int, messages: int) -> BackfillJob:
        """Count messages read."""
        job = self._jobs[guild_id]
        return self._set(replace(job, messages=job.messages + messages))

    def channel_done(self, guild_id: int, channel_id: int) -> BackfillJob:
        """A channel's window is fully read."""
        job = self._jobs[guild_id]
        return self._set(replace(job, channels_done=job.channels_done | {channel_id}))

    def finish(self, guild_id: int) -> BackfillJob:
        """The whole window is read."""
        return self._set(replace(self._jobs[guild_id], finished=self.clock()))

    def _set(self, job: BackfillJob) -> BackfillJob:
        self._jobs[job.guild_id] = job
        self._dirty.add(job.guild_id)
        return job

    def stage(self) -> int:
        """Put changed jobs into the store; returns how many."""
        for guild_id in self._dirty:
            self.store.put(TABLE, guild_id, KEY, self._jobs[guild_id].to_doc())
        count = len(self._dirty)
        self._dirty.clear()
        return count
