"""The baseline the admin digest compares nudges with: the same situations, un-nudged.

Once per UTC day and guild the scan takes up to SAMPLE members who get no digests (not
enrolled, or their DMs closed), rotating through them, runs the same rules over them, and
records each situation found as a control: kind, member, the person it is about, when.
Every scan then settles open controls exactly as it settles sent nudges: acted on when the
member contacted that person (for share: shared something) after it, within ACT_WINDOW.

Stored in table ``nudge_baseline``, one document per guild: ids, kinds and epoch seconds only.
docs/nudges.md ("The admin digest") says what the comparison means and what it doesn't.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapport.clock import epoch
from rapport.nudges.rules import Nudge
from rapport.nudges.state import ACT_WINDOW
from rapport.store.base import Doc, Store, decode_each

TABLE = "nudge_baseline"
KEY = "controls"
SAMPLE = 50
"""Members observed per guild and day: enough for a rate within weeks, cheap on a big server."""
LOOK_AT = 20 * SAMPLE
"""Members looked at per day to find the sample (most are eligible under opt-in enrollment)."""
KEEP = timedelta(days=35)
"""Controls are kept past the admin digest's 4-week window so the window is always full."""

Acted = Callable[[int, str, int, int], bool]
"""acted(member, kind, about, at): whether the member made that contact after `at`."""


@dataclass
class Controls:
    """One guild's controls: [situation, kind, member, about, at, outcome] each."""

    day: int = -1
    cursor: int = 0
    items: list[list[Any]] = field(default_factory=list)

    def to_doc(self) -> Doc:
        """The stored form."""
        return {"day": self.day, "cursor": self.cursor, "items": self.items}

    @classmethod
    def from_doc(cls, doc: Doc) -> Controls:
        """Read the stored form back."""
        return cls(
            int(doc.get("day", -1)),
            int(doc.get("cursor", 0)),
            [list(it) for it in doc.get("items", [])],
        )


class Baseline:
    """Every loaded guild's controls: sampling, settling, staging."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_guild: dict[int, Controls] = {}
        self.dirty: set[int] = set()

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's controls once."""
        if guild_id in self.by_guild:
            return
        docs = await self.store.load(TABLE, guild_id)
        decoded = decode_each(
            TABLE, guild_id, {KEY: docs.get(KEY, {})}, lambda _, d: Controls.from_doc(d)
        )
        self.by_guild[guild_id] = decoded[KEY]

    def controls(self, guild_id: int) -> list[list[Any]]:
        """The guild's controls (empty when none were recorded)."""
        found = self.by_guild.get(guild_id)
        return found.items if found is not None else []

    def due(self, guild_id: int, now: datetime) -> bool:
        """Whether today's sample (UTC day) is still to be taken."""
        c = self.by_guild.get(guild_id)
        return c is None or c.day != epoch(now) // 86400

    def sample(
        self, guild_id: int, pool: Sequence[int], eligible: Callable[[int], bool], now: datetime
    ) -> list[int]:
        """Today's members to observe: up to SAMPLE eligible ones, rotating through the pool
        from day to day, looking at no more than LOOK_AT of it (a big server stays cheap)."""
        c = self.by_guild.setdefault(guild_id, Controls())
        c.day = epoch(now) // 86400
        self.dirty.add(guild_id)
        chosen: list[int] = []
        looked = 0
        start = c.cursor % len(pool) if pool else 0
        while looked < min(len(pool), LOOK_AT) and len(chosen) < SAMPLE:
            member_id = pool[(start + looked) % len(pool)]
            looked += 1
            if eligible(member_id):
                chosen.append(member_id)
        c.cursor = start + looked
        return chosen

    def record(self, guild_id: int, nudges: Iterable[Nudge], now: datetime) -> int:
        """Keep each situation found as a control, once per member and situation."""
        c = self.by_guild.setdefault(guild_id, Controls())
        seen = {(it[2], it[0]) for it in c.items}
        added = 0
        for n in nudges:
            if (n.member_id, n.situation) in seen:
                continue
            seen.add((n.member_id, n.situation))
            c.items.append([n.situation, n.kind, n.member_id, n.about_id or 0, epoch(now), None])
            added += 1
        if added:
            self.dirty.add(guild_id)
        return added

    def settle(self, guild_id: int, now: datetime, acted: Acted) -> None:
        """Each open control: acted on (contact seen), or not once ACT_WINDOW has passed."""
        c = self.by_guild.get(guild_id)
        if c is None:
            return
        t = epoch(now)
        changed = False
        for it in c.items:
            if it[5] is not None:
                continue
            did = acted(it[2], it[1], it[3], it[4])
            if did or t > it[4] + ACT_WINDOW.total_seconds():
                it[5] = did
                changed = True
        kept = [it for it in c.items if it[4] >= t - KEEP.total_seconds()]
        if changed or len(kept) != len(c.items):
            c.items = kept
            self.dirty.add(guild_id)

    def forget_member(self, guild_id: int, member_id: int) -> None:
        """Drop every control by or about a member (/rapport forget)."""
        c = self.by_guild.get(guild_id)
        if c is None:
            return
        kept = [it for it in c.items if member_id not in (it[2], it[3])]
        if len(kept) != len(c.items):
            c.items = kept
            self.dirty.add(guild_id)

    def forget_guild(self, guild_id: int) -> None:
        """Drop a guild's controls from memory (its data is being deleted)."""
        self.by_guild.pop(guild_id, None)
        self.dirty.discard(guild_id)

    def stage(self) -> int:
        """Put changed guilds' controls into the store; returns how many."""
        for guild_id in self.dirty:
            c = self.by_guild.get(guild_id)
            if c is not None:
                self.store.put(TABLE, guild_id, KEY, c.to_doc())
        n = len(self.dirty)
        self.dirty.clear()
        return n
