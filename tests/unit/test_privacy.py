"""Export and forget over the real core services: what a member gets, and what is left after."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rapport.nudges.dm_queue import SendResult
from rapport.nudges.rules import Digest
from rapport.nudges.service import NudgeService
from rapport.people.guilds import GuildService
from rapport.people.members import MemberService
from rapport.people.privacy import EXPORT_FORMAT, Privacy
from rapport.runtime.flush import FlushLoop
from rapport.settings.config import NudgeSettings, Settings
from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
G, CHAN = 1, 500
ANA, BOB, CY = 10, 20, 30


def build() -> tuple[Ledger, MemberService, NudgeService, Privacy]:
    store = MemoryStore()
    settings = Settings()
    guilds = GuildService(store, settings)
    members = MemberService(store, settings, guilds, lambda: NOW)
    ledger = Ledger(store)
    nudges = NudgeService(store, settings, members, ledger, FlushLoop(store, 60), lambda: NOW)
    return ledger, members, nudges, Privacy(ledger, members, lambda: NOW, nudges)


def message(
    author: int, *, days_ago: float, reply_to: int | None = None, mention: int = 0, guild: int = G
):
    at = NOW - timedelta(days=days_ago)
    return MessageFacts(
        guild_id=guild,
        channel_id=CHAN,
        message_id=time_snowflake(at) + author,
        author_id=author,
        at=at,
        reply_to_id=reply_to,
        mentions=frozenset({mention} if mention else ()),
    )


def history(ledger: Ledger) -> None:
    """Bob replies to Ana; Ana mentions Cy; Cy replies to Bob (nothing of Ana's)."""
    ledger.record_message(message(BOB, days_ago=3, reply_to=ANA))
    ledger.record_message(message(ANA, days_ago=2, mention=CY))
    ledger.record_message(message(CY, days_ago=1, reply_to=BOB))


async def test_export_holds_both_directions_settings_and_nudges_as_json() -> None:
    """The export names the member's pairs as actor and as target, their settings and outcomes."""
    ledger, members, _, privacy = build()
    history(ledger)
    await members.configure(G, ANA, timezone="Europe/Paris", kinds=["drifting"])
    data = await privacy.export(G, ANA)
    json.dumps(data)  # every value is JSON-able
    assert data["format"] == EXPORT_FORMAT
    assert data["member_id"] == ANA
    rels = {r["other_id"]: r for r in data["ledger"]["relationships"]}
    assert rels[BOB]["counts_in"]["reply"] == 1
    assert rels[CY]["counts_out"]["mention"] == 1
    assert set(rels) == {BOB, CY}
    assert data["settings"]["timezone"] == "Europe/Paris"
    assert data["effective_settings"]["kinds"] == ["drifting"]
    assert data["nudges"] == {"digests": 0, "sent": 0, "acted_on": 0}


async def test_forget_erases_the_member_from_everyone_and_stops_tracking() -> None:
    """After forget nobody's pairs or pending items name the member, and tracking is off."""
    ledger, members, _, privacy = build()
    history(ledger)
    await privacy.forget(G, ANA)
    assert ledger.pairs_of(G, ANA) == []
    assert [p.other_id for p in ledger.pairs_of(G, BOB)] == [CY]
    assert ledger.pending_for(G, CY, NOW) == []
    assert ANA not in ledger.members(G)
    assert not members.is_tracked(G, ANA)
    assert not members.preferences(G, ANA).enrolled
    data = await privacy.export(G, ANA)
    assert data["ledger"]["relationships"] == []
    assert data["ledger"]["pending_from_member"] == []


async def test_forget_leaves_other_members_untouched() -> None:
    """Forgetting one member leaves the pairs between the others as they were."""
    ledger, _, _, privacy = build()
    history(ledger)
    before = ledger.pair(G, BOB, CY)
    await privacy.forget(G, ANA)
    assert ledger.pair(G, BOB, CY) == before


async def test_forget_works_without_a_nudge_service() -> None:
    """The privacy core needs only the ledger and member settings; nudges are optional."""
    ledger, members, _, _ = build()
    history(ledger)
    privacy = Privacy(ledger, members, lambda: NOW)
    await privacy.forget(G, ANA)
    assert ledger.pairs_of(G, ANA) == []
    assert (await privacy.export(G, ANA))["nudges"] is None


async def test_export_everywhere_covers_the_guilds_this_process_owns_and_counts_the_rest() -> None:
    """In a cluster, the guilds other processes own are left out (their newest state is theirs)
    and counted, so the member can be told to export there; a guild without Ana is not named."""
    ledger, _, _, privacy = build()
    history(ledger)
    ledger.record_message(message(BOB, days_ago=1, reply_to=ANA, guild=2))
    ledger.record_message(message(BOB, days_ago=1, mention=CY, guild=3))
    everywhere = await privacy.export_everywhere(ANA)
    assert [g["guild_id"] for g in everywhere.data["guilds"]] == [G, 2]
    assert everywhere.elsewhere == 0
    json.dumps(everywhere.data)
    privacy.owns = lambda guild_id: guild_id != 2
    everywhere = await privacy.export_everywhere(ANA)
    assert [g["guild_id"] for g in everywhere.data["guilds"]] == [G]
    assert everywhere.elsewhere == 1


class SlowClaims(MemoryStore):
    """A store whose claims are granted only when the test says (a database under load)."""

    def __init__(self) -> None:
        super().__init__()
        self.claiming, self.grant = asyncio.Event(), asyncio.Event()

    async def claim(self, key: str, owner: str, until: datetime, now: datetime) -> bool:
        self.claiming.set()
        await self.grant.wait()
        return await super().claim(key, owner, until, now)


async def test_a_forget_during_a_digest_claim_sends_nothing_and_leaves_no_claim() -> None:
    """A digest claim that lands after the forget dropped the member's claims goes too, unsent."""
    store = SlowClaims()
    cfg = replace(NudgeSettings(), digest_hour=None, quiet_hours=None, dms_per_second=1000.0)
    settings = replace(Settings(), nudges=cfg)
    members = MemberService(store, settings, GuildService(store, settings), lambda: NOW)
    ledger = Ledger(store)
    nudges = NudgeService(store, settings, members, ledger, FlushLoop(store, 60), lambda: NOW)
    privacy = Privacy(ledger, members, lambda: NOW, nudges)
    sent: list[Digest] = []

    async def send(digest: Digest) -> SendResult:
        sent.append(digest)
        return SendResult.SENT

    nudges.attach(send)
    await members.enroll(G, ANA)
    ledger.record_message(message(BOB, days_ago=2, reply_to=ANA))
    scan = asyncio.create_task(nudges.scan())
    await store.claiming.wait()
    await privacy.forget(G, ANA)
    store.grant.set()
    await scan
    assert sent == []
    assert store._claims == {}
    await nudges.detach()
