"""The core half of the composition root: settings -> store -> services, and their schedules.

`app.py` (top level) finishes the composition with the Discord half (endpoints, the bot and its
cogs), which the core may not import; bot.py, the demo, tests and benchmarks all build through
the two. Cogs receive only the services they need.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rapport.clock import Clock, system_clock
from rapport.collector import collector_paused, release_free_memory
from rapport.leaderboard.posting import OWN_SCHEDULES_JOB, OWN_SCHEDULES_TICK, LeaderboardPosts
from rapport.leaderboard.service import CATCH_UP_JOB, JOB, LeaderboardService
from rapport.nudges.admin_digest import JOB as ADMIN_DIGEST_JOB
from rapport.nudges.admin_digest import AdminDigests
from rapport.nudges.service import NudgeService
from rapport.nudges.status import Status
from rapport.people.guilds import GuildService
from rapport.people.kudos import KudosService
from rapport.people.members import MemberService
from rapport.people.privacy import Privacy
from rapport.runtime.cluster import RELAY_EVERY, ClickRelay, apply_click, ownership
from rapport.runtime.flush import FlushLoop
from rapport.runtime.retention import RemovedGuilds, Retention
from rapport.runtime.scheduler import JobScheduler
from rapport.settings.config import Settings
from rapport.settings.timeparse import parse_schedule
from rapport.store import open_store
from rapport.store.base import DECODE_ERRORS, BadDocument, Store
from rapport.tracking.backfill import BackfillService
from rapport.tracking.ledger import Ledger
from rapport.tracking.threads import ThreadStarters

GuildLoader = Callable[[int], Awaitable[object]]


LEDGER_TABLES = "pairs/members/pending/newcomers/periods/coverage/totals"
# Pairs from which a guild's load frees enough memory to hand back at once (a trim costs a few
# ms; many small guilds at a start would each pay it for little).
BIG_GUILD_PAIRS = 100_000


@dataclass
class Services:
    """Everything the cogs call into, built once by `build_services`."""

    settings: Settings
    store: Store
    flusher: FlushLoop
    scheduler: JobScheduler
    clock: Clock
    guilds: GuildService
    members: MemberService
    ledger: Ledger
    leaderboard: LeaderboardService
    posts: LeaderboardPosts
    backfill: BackfillService
    nudges: NudgeService
    status: Status
    kudos: KudosService
    privacy: Privacy
    admin_digests: AdminDigests
    guild_loaders: list[GuildLoader] = field(default_factory=list)
    # Who started each thread (the starter message's author), looked up by the Discord glue.
    threads: ThreadStarters = field(default_factory=ThreadStarters)
    # Digest clicks for guilds another process of the cluster owns (None: not sharded).
    relay: ClickRelay | None = None

    async def open_guild(self, guild_id: int) -> None:
        """Load one guild's state into every service (idempotent; called when a guild appears).

        The collector is paused meanwhile and the loaded state frozen after: the documents a
        big guild decodes set off full collections over everything the process holds (three of
        ~0.1 s each at a million pairs, measured), and the state lives as long as the guild.
        """
        with collector_paused():
            await self._open_guild(guild_id)
        if self.ledger.pair_count(guild_id) >= BIG_GUILD_PAIRS:
            release_free_memory()  # its load's temporaries: ~100 MB at a million pairs

    async def _open_guild(self, guild_id: int) -> None:
        try:
            await self.members.ensure(guild_id)
            try:
                await self.ledger.load_guild(guild_id)
            except DECODE_ERRORS as exc:
                raise BadDocument(LEDGER_TABLES, guild_id, "?", exc) from None
            await self.backfill.ensure(guild_id)
            for load in self.guild_loaders:
                await load(guild_id)
        except BadDocument:
            # Whatever was read must not be written back over the store someone has to repair.
            self.flusher.freeze()
            raise


def build_services(settings: Settings, store: Store, clock: Clock = system_clock) -> Services:
    """Compose the core's services around one store, their stagers and their schedules."""
    flusher = FlushLoop(store, settings.storage.flush_interval.total_seconds())
    scheduler = JobScheduler(settings.nudges.zone, clock=clock)
    guilds = GuildService(store, settings)
    members = MemberService(store, settings, guilds, clock)
    ledger = Ledger(
        store,
        half_life=settings.tracking.half_life,
        answer_window=settings.nudges.answer_window,
        reads_text=settings.discord.message_content,
    )
    kudos = KudosService(store, settings, members, ledger)
    flusher.add_stager(kudos.stage)
    leaderboard = LeaderboardService(
        store, settings, ledger.reads, members, guilds, clock, kudos=kudos
    )
    flusher.add_stager(leaderboard.stage)
    # Earlier versions saved each posted card under data/; one could show a forgotten member.
    leaderboard.remove_saved_cards()
    posts = LeaderboardPosts(leaderboard, guilds, settings, clock)
    scheduler.add(JOB, posts.post_due, settings.schedule.leaderboard)
    if posts.catches_up:
        # A crontab post missed (the bot was down, or the guild's zone) is caught up hourly.
        scheduler.add(
            CATCH_UP_JOB, partial(posts.post_due, own_schedule=None), parse_schedule("1h")
        )
    # Servers with a board schedule of their own (/rapport-admin setup) are looked at every minute.
    scheduler.add(OWN_SCHEDULES_JOB, posts.post_own_schedules, parse_schedule(OWN_SCHEDULES_TICK))
    backfill = BackfillService(store, ledger.reads, clock)
    for service in (ledger, members, guilds, backfill):
        flusher.add_stager(service.stage)
    nudges = NudgeService(store, settings, members, ledger, flusher, clock)
    # In a cluster, this process scans only its shards' guilds (clicks may load others).
    nudges.owns = ownership(settings)
    flusher.add_stager(nudges.stage)
    status = Status(settings, members, ledger.reads, nudges, leaderboard.rank, kudos)
    privacy = Privacy(ledger, members, clock, nudges, kudos)
    privacy.store = store
    privacy.purge_soon = flusher.purge_soon
    privacy.owns = nudges.owns

    async def scan_then_warm() -> int:
        """The nudge scan, then the rankings of the guilds loaded meanwhile (built beside the
        first scan after a start, they took the loop from it)."""
        planned = await nudges.scan()
        await leaderboard.warm_loaded()
        return planned

    scheduler.add("send_due_digests", scan_then_warm, settings.schedule.nudge_scan)
    admin_digests = AdminDigests(nudges, guilds, clock)
    scheduler.add(ADMIN_DIGEST_JOB, admin_digests.send_due, settings.schedule.admin_digest)
    retention = Retention(ledger.retention, flusher, settings.tracking.retain, clock)
    retention.kudos = kudos
    retention.removed_guilds = RemovedGuilds(
        guilds,
        (ledger.unload_guild, members.forget_guild, nudges.forget_guild, kudos.forget_guild),
        store,
        settings.storage.removed_guild_retention,
    )
    scheduler.add("apply_retention", retention.apply_retention, settings.schedule.retention)
    services = Services(
        settings=settings,
        store=store,
        flusher=flusher,
        scheduler=scheduler,
        clock=clock,
        guilds=guilds,
        members=members,
        ledger=ledger,
        leaderboard=leaderboard,
        posts=posts,
        backfill=backfill,
        nudges=nudges,
        status=status,
        kudos=kudos,
        privacy=privacy,
        admin_digests=admin_digests,
    )
    privacy.open_guild = services.open_guild
    services.guild_loaders.append(nudges.ensure)
    services.guild_loaders.append(kudos.ensure)
    services.guild_loaders.append(leaderboard.ensure)
    services.guild_loaders.append(leaderboard.warm_later)
    if settings.discord.shard_ids:
        # Digest clicks reach the shard 0 process whoever owns the guild: relay them.
        relay = ClickRelay(
            store,
            flusher,
            nudges.owns,
            partial(apply_click, nudges, members, privacy=privacy),
            clock,
        )
        scheduler.add("apply_relayed_clicks", relay.apply_owned, parse_schedule(RELAY_EVERY))
        services.relay = relay
        # A forget everywhere reaches the guilds other processes hold the same way.
        privacy.hand_over = relay.forward_forget
    return services


async def open_configured_store(settings: Settings) -> Store:
    """Open the configured backend (refusing an unreadable or newer store)."""
    storage = settings.storage
    store = open_store(
        storage.backend,
        path=Path(storage.path),
        dsn=storage.dsn,
        schema=storage.schema,
    )
    await store.open()
    return store
