"""Kudos: a thanks a member chooses to give (/thanks, "Thank the author"), credited to the receiver.

The rules live here; the cog only asks Discord who is who and posts. Decisions
(docs/decisions.md, "Kudos"):

- A kudos is recorded as ids and a time: giver, receiver, channel, the public post (none when
  private), the message thanked for (the menu). The giver's `for` words go into the Discord post
  at their request and are never stored.
- At most `[kudos] max_per_day` (or the server's `kudos_max_per_day`, /rapport-admin setup)
  given per member in any 24 hours (0 turns kudos off);
  thanking yourself, a bot, someone who left or someone who opted out of tracking is refused,
  and so is a giver who opted out, or a channel excluded from tracking.
- It credits the receiver (thanks received: /rapport status, the "most thanked" board) and
  counts for the pair in the ledger as a thanks: contact, and what the giver owed the receiver
  is answered; the receiver owes nothing for it and is never nudged about it.
- Forget removes every kudos the member gave or received; retention drops those older than
  `[tracking] retain`; export lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from rapport.clock import epoch, from_epoch, iso
from rapport.errors import UserFacingError
from rapport.i18n import N_
from rapport.people.members import MemberService
from rapport.settings.config import Settings
from rapport.store.base import Doc, Store, decode_each

log = logging.getLogger(__name__)

TABLE = "kudos"
WINDOW = timedelta(hours=24)
"""The span `[kudos] max_per_day` counts over: any 24 hours, not a calendar day in some zone."""
LATEST = 3
"""Givers /rapport status names."""
RECENT = timedelta(days=7)
ALL = "all"


@dataclass(frozen=True, slots=True)
class Kudos:
    """One thanks given: ids and a time, never the words."""

    id: int  # the interaction's id: unique, so a record is written once
    giver_id: int
    receiver_id: int
    channel_id: int
    at: datetime
    private: bool = False
    post_id: int = 0  # the public post, once made
    message_id: int = 0  # the message thanked for ("Thank the author")

    def to_doc(self) -> Doc:
        """The stored form."""
        return {
            "from": self.giver_id,
            "to": self.receiver_id,
            "channel": self.channel_id,
            "at": epoch(self.at),
            "private": self.private,
            "post": self.post_id,
            "message": self.message_id,
        }

    @classmethod
    def from_doc(cls, key: str, doc: Doc) -> Kudos:
        """Read the stored form back."""
        return cls(
            id=int(key),
            giver_id=int(doc["from"]),
            receiver_id=int(doc["to"]),
            channel_id=int(doc["channel"]),
            at=from_epoch(doc["at"]),
            private=bool(doc.get("private", False)),
            post_id=int(doc.get("post", 0)),
            message_id=int(doc.get("message", 0)),
        )


@dataclass(frozen=True, slots=True)
class Received:
    """The thanks a member received, for /rapport status (their own eyes only)."""

    recent: int  # in the last 7 days
    total: int  # everything kept
    latest: tuple[Kudos, ...]  # newest first


@dataclass(frozen=True, slots=True)
class Thanked:
    """One line of the "most thanked" board."""

    member_id: int
    rank: int
    thanks: int
    givers: int


@dataclass(frozen=True, slots=True)
class Target:
    """What the cog knows about whom the member wants to thank."""

    member_id: int
    name: str
    bot: bool = False
    present: bool = True  # still in the server


class CapReached(UserFacingError):
    """The giver has given `[kudos] max_per_day` thanks in the last 24 hours."""

    def __init__(self, most: int, wait: timedelta) -> None:
        self.most, self.wait = most, wait
        super().__init__(N_("You've reached today's thanks."))

    def in_language(self, t: Any) -> str:
        """The refusal, with how long until the next thanks, in the language of `t`."""
        text: str = t.ngettext(
            "You've given {n} thank-you in the last 24 hours, the most Rapport records — the "
            "next one is possible in {wait}. A thank-you in your own words is never capped.",
            "You've given {n} thanks in the last 24 hours, the most Rapport records — the next "
            "one is possible in {wait}. A thank-you in your own words is never capped.",
            self.most,
            wait=t.duration(self.wait),
        )
        return text


class KudosLedger(Protocol):
    """The ledger's part in a kudos (rapport.tracking.Ledger)."""

    def record_kudos(
        self,
        guild_id: int,
        giver_id: int,
        receiver_id: int,
        channel_id: int,
        at: datetime,
        message_id: int = 0,
    ) -> None:
        """Fold the thanks into the pair."""

    def has_left(self, guild_id: int, member_id: int) -> bool:
        """Whether the member left the server."""


class KudosService:
    """Gives, counts and forgets kudos, one guild at a time, staged to the store in batches."""

    def __init__(
        self, store: Store, settings: Settings, members: MemberService, ledger: KudosLedger
    ) -> None:
        self.store = store
        self.settings = settings
        self.members = members
        self.ledger = ledger
        self._kudos: dict[int, dict[int, Kudos]] = {}  # guild -> id -> kudos, oldest first
        self._dirty: set[tuple[int, int]] = set()

    async def ensure(self, guild_id: int) -> None:
        """Load a guild's kudos once (a guild loader)."""
        if guild_id in self._kudos:
            return
        docs = await self.store.load(TABLE, guild_id)
        found = decode_each(TABLE, guild_id, docs, Kudos.from_doc)
        self._kudos[guild_id] = {k.id: k for k in sorted(found.values(), key=lambda k: k.at)}

    def _guild(self, guild_id: int) -> dict[int, Kudos]:
        return self._kudos.setdefault(guild_id, {})

    # --- giving -------------------------------------------------------------------------------

    def given_since(self, guild_id: int, giver_id: int, since: datetime) -> list[Kudos]:
        """The kudos a member gave after `since`, oldest first."""
        return [
            k for k in self._guild(guild_id).values() if k.giver_id == giver_id and k.at > since
        ]

    def check(
        self,
        guild_id: int,
        giver_id: int,
        target: Target,
        now: datetime,
        *,
        channel_ignored: bool = False,
    ) -> None:
        """Raise UserFacingError (private, in the giver's language) when this thanks can't be given."""
        # In any 24 hours (the server's choice, else [kudos] max_per_day); 0: kudos are off.
        most = self.members.guilds.policy(guild_id).kudos_max_per_day
        if most <= 0:
            raise UserFacingError(N_("Thanks through Rapport are turned off on this server."))
        if target.bot:
            raise UserFacingError(
                N_("{name} is a bot — thanks through Rapport go to people."), name=target.name
            )
        if target.member_id == giver_id:
            raise UserFacingError(N_("That's you — thanks go to someone else (nice work, though)."))
        if not target.present or self.ledger.has_left(guild_id, target.member_id):
            raise UserFacingError(
                N_(
                    "{name} isn't in this server any more — Rapport credits and tells nothing "
                    "to someone who left."
                ),
                name=target.name,
            )
        if not self.members.is_tracked(guild_id, giver_id):
            raise UserFacingError(
                N_("You asked Rapport not to track you here, so it can't record a thanks from you.")
            )
        if not self.members.is_tracked(guild_id, target.member_id):
            raise UserFacingError(
                N_(
                    "{name} asked Rapport not to keep track of them, so it can't credit them — "
                    "a thank-you in your own words reaches them just the same."
                ),
                name=target.name,
            )
        if channel_ignored:
            raise UserFacingError(
                N_(
                    "Rapport doesn't work in this channel (an admin excluded it) — thank them "
                    "from another one."
                )
            )
        given = self.given_since(guild_id, giver_id, now - WINDOW)
        if len(given) >= most:
            raise CapReached(most, given[-most].at + WINDOW - now)

    async def give(
        self,
        guild_id: int,
        giver_id: int,
        target: Target,
        channel_id: int,
        now: datetime,
        *,
        kudos_id: int,
        private: bool = False,
        message_id: int = 0,
        channel_ignored: bool = False,
    ) -> Kudos:
        """Check and record a thanks (before it is posted, so the cap holds); see `posted`."""
        await self.ensure(guild_id)
        self.check(guild_id, giver_id, target, now, channel_ignored=channel_ignored)
        kudos = Kudos(
            id=kudos_id,
            giver_id=giver_id,
            receiver_id=target.member_id,
            channel_id=channel_id,
            at=now,
            private=private,
            message_id=message_id,
        )
        self._guild(guild_id)[kudos.id] = kudos
        self._dirty.add((guild_id, kudos.id))
        return kudos

    def posted(self, guild_id: int, kudos: Kudos, post_id: int = 0) -> Kudos:
        """The thanks went out (publicly as `post_id`, or privately): credit the pair."""
        if post_id:
            kudos = replace(kudos, post_id=post_id)
            self._guild(guild_id)[kudos.id] = kudos
            self._dirty.add((guild_id, kudos.id))
        self.ledger.record_kudos(
            guild_id, kudos.giver_id, kudos.receiver_id, kudos.channel_id, kudos.at, post_id
        )
        return kudos

    def withdraw(self, guild_id: int, kudos: Kudos) -> None:
        """The post failed: the thanks was never given."""
        if self._guild(guild_id).pop(kudos.id, None) is not None:
            self._dirty.add((guild_id, kudos.id))

    # --- reading ------------------------------------------------------------------------------

    def received(self, guild_id: int, member_id: int, now: datetime) -> Received:
        """What a member was thanked with: in the last 7 days, in all, and the latest givers."""
        got = [k for k in self._guild(guild_id).values() if k.receiver_id == member_id]
        latest: list[Kudos] = []
        for k in reversed(got):
            if all(k.giver_id != seen.giver_id for seen in latest):
                latest.append(k)
            if len(latest) == LATEST:
                break
        return Received(
            recent=sum(1 for k in got if k.at > now - RECENT),
            total=len(got),
            latest=tuple(latest),
        )

    def most_thanked(
        self,
        guild_id: int,
        period: str,
        *,
        excluded: Collection[int] = frozenset(),
        keep: Callable[[int], bool] | None = None,
        top: int = 5,
    ) -> tuple[Thanked, ...]:
        """The period's most thanked members ("2026-W48", "2026-11" or "all", UTC dates, as the
        ledger's periods): most thanks, then most people thanking, then the lower id."""
        thanks: dict[int, int] = {}
        givers: dict[int, set[int]] = {}
        start, end = _span(period)
        for k in self._guild(guild_id).values():
            if not start <= k.at < end:
                continue
            thanks[k.receiver_id] = thanks.get(k.receiver_id, 0) + 1
            givers.setdefault(k.receiver_id, set()).add(k.giver_id)
        rows = [
            (n, len(givers[m]), m)
            for m, n in thanks.items()
            if m not in excluded and (keep is None or keep(m))
        ]
        rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
        return tuple(Thanked(m, rank, n, g) for rank, (n, g, m) in enumerate(rows[:top], start=1))

    # --- privacy and retention ----------------------------------------------------------------

    def export_member(self, guild_id: int, member_id: int) -> dict[str, Any]:
        """The kudos a member gave and received, as JSON-able values (ids and times)."""

        def row(k: Kudos, other: str, other_id: int) -> dict[str, Any]:
            return {
                other: other_id,
                "at": iso(k.at),
                "channel_id": k.channel_id,
                "private": k.private,
                "post_message_id": k.post_id or None,
                "thanked_message_id": k.message_id or None,
            }

        kept = self._guild(guild_id).values()
        return {
            "given": [row(k, "to", k.receiver_id) for k in kept if k.giver_id == member_id],
            "received": [row(k, "from", k.giver_id) for k in kept if k.receiver_id == member_id],
        }

    def forget_member(self, guild_id: int, member_id: int) -> int:
        """Delete every kudos the member gave or received; returns how many."""
        kept = self._guild(guild_id)
        gone = [i for i, k in kept.items() if member_id in (k.giver_id, k.receiver_id)]
        for i in gone:
            del kept[i]
            self._dirty.add((guild_id, i))
        return len(gone)

    def prune(self, now: datetime, retain: timedelta) -> int:
        """Drop kudos older than `retain`, in every guild held; returns how many."""
        cutoff = now - retain
        n = 0
        for guild_id, kept in self._kudos.items():
            for i in [i for i, k in kept.items() if k.at < cutoff]:
                del kept[i]
                self._dirty.add((guild_id, i))
                n += 1
        return n

    def forget_guild(self, guild_id: int) -> None:
        """Drop a guild's kudos from memory (its documents go with the guild's)."""
        self._kudos.pop(guild_id, None)
        self._dirty = {key for key in self._dirty if key[0] != guild_id}

    def stage(self) -> int:
        """Put changed kudos into the store (deleting those gone); returns how many."""
        for guild_id, kudos_id in self._dirty:
            found = self._kudos.get(guild_id, {}).get(kudos_id)
            if found is None:
                self.store.delete(TABLE, guild_id, str(kudos_id))
            else:
                self.store.put(TABLE, guild_id, str(kudos_id), found.to_doc())
        n = len(self._dirty)
        self._dirty.clear()
        return n


def _span(period: str) -> tuple[datetime, datetime]:
    """The UTC moments a period key ("2026-W48", "2026-11", "all") runs from and up to."""
    if period == ALL:
        return datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    if "-W" in period:
        iso_year, iso_week = period.split("-W")
        monday = date.fromisocalendar(int(iso_year), int(iso_week), 1)
        start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        return start, start + timedelta(days=7)
    year, month = (int(x) for x in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, (start + timedelta(days=32)).replace(day=1)


__all__ = ["CapReached", "Kudos", "KudosLedger", "KudosService", "Received", "Target", "Thanked"]
