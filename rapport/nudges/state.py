"""The per-member nudge state NudgeService keeps, and the small values around it.

Stored in table ``nudge_state``, one document per member per guild: ids, situation keys and
epoch seconds only. See rapport/nudges/service.py for the protocol that reads and writes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rapport.clock import epoch, from_epoch
from rapport.nudges.planner import History
from rapport.nudges.rules import Digest
from rapport.store.base import Doc, Store, decode_stream

log = logging.getLogger(__name__)

TABLE = "nudge_state"
ACT_WINDOW = timedelta(days=7)
SENT_KEEP = timedelta(days=90)
DIGESTS_KEEP = timedelta(days=30)
DONE = "done"
"""A digest item's fifth field when the member pressed Done before any contact was seen."""
REMIND_CHOICES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "week": timedelta(days=7)}


@dataclass
class MemberState:
    """One member's nudge history in one guild (stored form: ids, keys and epoch seconds)."""

    sent: dict[str, list[int]] = field(default_factory=dict)  # key -> [at, about or 0]
    digests: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=lambda: {"digests": 0, "nudges": 0, "acted": 0})
    reset_at: int = 0
    feedback: str | None = None
    pending: dict[str, Any] | None = None
    reminders: list[dict[str, int]] = field(default_factory=list)

    def to_doc(self) -> Doc:
        """The stored form."""
        return {
            "sent": self.sent,
            "digests": self.digests,
            "totals": self.totals,
            "reset_at": self.reset_at,
            "feedback": self.feedback,
            "pending": self.pending,
            "reminders": self.reminders,
        }

    @classmethod
    def from_doc(cls, doc: Doc) -> MemberState:
        """Read the stored form back."""
        return cls(
            sent={k: list(v) for k, v in doc.get("sent", {}).items()},
            digests=list(doc.get("digests", [])),
            totals={"digests": 0, "nudges": 0, "acted": 0, **doc.get("totals", {})},
            reset_at=doc.get("reset_at", 0),
            feedback=doc.get("feedback"),
            pending=doc.get("pending"),
            reminders=list(doc.get("reminders", [])),
        )

    def history(self, in_flight: bool) -> History:
        """What the planner needs."""
        streak = 0
        for d in reversed(self.digests):
            if d["at"] < self.reset_at or any(it[3] for it in d["items"]):
                break
            streak += 1
        shares = [v[0] for k, v in self.sent.items() if k.startswith("s:")]
        return History(
            last_share_line=from_epoch(max(shares)) if shares else None,
            sent_keys=frozenset(self.sent),
            digest_times=tuple(from_epoch(d["at"]) for d in self.digests),
            ignored_streak=streak,
            feedback_pending=self.feedback is not None,
            in_flight=in_flight or self.pending is not None,
            digests_total=self.totals["digests"],
        )

    def open_items(self) -> bool:
        """Whether some sent item still waits for its outcome."""
        return any(it[3] is None for d in self.digests for it in d["items"])

    def record(self, marker: dict[str, Any]) -> None:
        """The digest of this marker was (or may have been) sent: remember its situations."""
        at = marker["at"]
        for key, _kind, about, _ in marker["items"]:
            self.sent[key] = [at, about or 0]
        for key, about in marker.get("also", ()):
            self.sent[key] = [at, about]  # the other answers a thank-you line named
        if marker.get("reminder"):
            self.reminders = [r for r in self.reminders if r["id"] != marker["reminder"]]
        else:
            self.digests.append({"id": marker["id"], "at": at, "items": marker["items"]})
            self.totals["digests"] += 1
            self.totals["nudges"] += len(marker["items"])
            if marker.get("ask"):
                self.feedback = marker["id"]
        self.pending = None

    def prune(self, now: datetime) -> None:
        """Forget situations and digests too old to matter (outcomes are settled by then)."""
        t = epoch(now)
        self.sent = {k: v for k, v in self.sent.items() if v[0] >= t - SENT_KEEP.total_seconds()}
        self.digests = [
            d
            for d in self.digests
            if d["at"] >= t - DIGESTS_KEEP.total_seconds()
            or any(it[3] is None for it in d["items"])
        ]


class MemberStates:
    """Every loaded guild's member states: loading them, changing them, staging the changes.

    NudgeService and its member actions are each handed this one object.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_guild: dict[int, dict[int, MemberState]] = {}
        self.dirty: set[tuple[int, int]] = set()

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's nudge state once; resolve markers a crash left (as sent, not resent)."""
        if guild_id in self.by_guild:
            return
        states = await decode_stream(
            self.store, TABLE, guild_id, lambda _, doc: MemberState.from_doc(doc), int
        )
        for member_id, st in states.items():
            if st.pending is not None:
                log.warning(
                    "digest %s to member %s may have been sent before a crash; not resending",
                    st.pending["id"],
                    member_id,
                )
                st.record(st.pending)
                self.dirty.add((guild_id, member_id))
        self.by_guild[guild_id] = states

    def get(self, guild_id: int, member_id: int) -> MemberState | None:
        """The member's state, if they have one."""
        return self.by_guild.get(guild_id, {}).get(member_id)

    def state(self, guild_id: int, member_id: int) -> MemberState:
        """The member's state, created empty when they have none."""
        per = self.by_guild.setdefault(guild_id, {})
        st = per.get(member_id)
        if st is None:
            st = per[member_id] = MemberState()
        return st

    def touch(self, guild_id: int, member_id: int) -> None:
        """The member's state changed: stage it with the next flush."""
        self.dirty.add((guild_id, member_id))

    def stage(self) -> int:
        """Put changed member states into the store; returns how many."""
        for guild_id, member_id in self.dirty:
            st = self.get(guild_id, member_id)
            if st is None:
                self.store.delete(TABLE, guild_id, str(member_id))
            else:
                self.store.put(TABLE, guild_id, str(member_id), st.to_doc())
        n = len(self.dirty)
        self.dirty.clear()
        return n


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One DM waiting in the queue."""

    digest: Digest
    reminder: int = 0  # the reminder id when this is a "remind me to reply"


def reminder_due(choice: str, now: datetime, zone: ZoneInfo) -> datetime:
    """When a reminder is due: 1h, 4h, tomorrow (9:00 in the member's zone), week."""
    if choice == "tomorrow":
        day = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(day, time(9, 0), tzinfo=zone).astimezone(UTC)
    if choice not in REMIND_CHOICES:
        raise ValueError(f"unknown reminder choice {choice!r}")
    return now + REMIND_CHOICES[choice]
