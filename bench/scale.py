"""One big guild on each store backend: load at start, nudge scan, flush, memory.

Builds MEMBERS enrolled members and PAIRS pairs once, through the real Ledger
(`record_message`: two exchanges each way per pair, the last 1 to 45 days ago) and
MemberService, and stages them into a MemoryStore to get the documents the bot would write.
Then, for each backend (TinyDB first, then PostgreSQL):

- flush: a fresh store; put every document (what a full ledger stage does), then one flush,
  while a 1 ms ticker coroutine records the longest event-loop stall; then 10,000 changed
  documents flushed again (the steady state: what a 2 s flush interval sees on a busy server).
- load: a new process opens the store and loads the guild the way the bot does
  (Services.open_guild: every service's state, the collector paused; then gc.freeze), ticker running.
- scan: in that process, `NudgeService.plan_due` (rules, planner, queueing with the default
  budget; delivery is paced and not part of it); then, as the scan job does after it, the
  leaderboard's rankings built (``leaderboard_warm_s``, ``leaderboard_warm_stall_ms``).
- memory: that process's RSS after load and scan (psutil), its peak RSS (during load), and
  its RSS once the rankings are built (``rss_after_warm_mb``).
- close: closing the store after the flushes (what a shutdown waits for).
- migration: ``--migrate-store`` from this backend to the other one, in a new process: its
  time and its peak RSS (``migrate_s``, ``migrate_peak_rss_mb``).

    .venv/bin/python bench/scale.py [--quick] [--members N --pairs N] [--dsn DSN] [--runs N]

The PostgreSQL run uses a fresh schema on --dsn (default RAPPORT_TEST_DSN or the local test
server) and drops it at the end. With --runs N the world is built once, each backend measured N
times (a JSON line per run, with "run"), and every figure printed after is the median of the N
runs ("runs": N on the last lines). Last two lines, TinyDB then PostgreSQL:
{"bench": "scale", "backend", "pairs", "load_s", "scan_s", "flush_s", "rss_mb", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import psutil

from bench._world import GUILD, NOW, populate
from rapport.compose import Services, build_services
from rapport.settings.config import NudgeSettings, Settings
from rapport.store import Store, open_store
from rapport.store.memory import MemoryStore

SMALL_CHANGE = 10_000
DSN = os.environ.get("RAPPORT_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")
GOALS = {"load_s": 5.0, "scan_s": 2.0, "stall_ms": 50.0}


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settings() -> Settings:
    """Every member may get a digest at any hour: the scan's worst case."""
    return replace(Settings(), nudges=replace(NudgeSettings(), digest_hour=None, quiet_hours=None))


class StallMeter:
    """A coroutine that sleeps 1 ms at a time and keeps the worst lateness: the loop's stall."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - start - 0.001)

    async def measure(self, work: Awaitable[Any]) -> tuple[Any, float, float]:
        """The work's result, seconds it took and the longest stall (ms) seen meanwhile."""
        self.worst = 0.0
        task = asyncio.create_task(self._tick())
        await asyncio.sleep(0.01)  # let the ticker start before the work does
        start = time.perf_counter()
        result = await work
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.01)  # a stall just before the work returned shows on the next tick
        task.cancel()
        return result, elapsed, self.worst * 1000


# --- the world ----------------------------------------------------------------------------------


async def build(members: int, pairs: int, seed: int = 7) -> dict[tuple[str, int], dict[str, Any]]:
    """Every document the bot would store for the guild, built through the real services."""
    store = MemoryStore()
    cfg = settings()
    services = build_services(cfg, store, lambda: NOW)
    ids = populate(services.ledger, members, pairs, seed=seed, contacts=(7, 0))
    for m in ids:
        await services.members.enroll(GUILD, m)
    services.guilds.stage()
    services.members.stage()
    services.ledger.stage()
    await store.flush()
    return store._data


# --- one backend, in this process: stage + flush ------------------------------------------------


def make_store(backend: str, where: str, schema: str) -> Store:
    if backend == "tinydb":
        return open_store("tinydb", path=Path(where))
    return open_store("postgres", dsn=where, schema=schema)


async def flush_figures(
    backend: str, where: str, schema: str, docs: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, float]:
    """Stage everything into a fresh store, flush it; then a small change; then close."""
    store = make_store(backend, where, schema)
    await store.open()
    meter = StallMeter()
    started = time.perf_counter()
    for (table, guild), table_docs in docs.items():
        for key, doc in table_docs.items():
            store.put(table, guild, key, doc)
    stage_s = time.perf_counter() - started
    stats, flush_s, flush_stall = await meter.measure(store.flush())
    rng = random.Random(1)
    pairs = docs[("pairs", GUILD)]
    for key in rng.sample(sorted(pairs), min(SMALL_CHANGE, len(pairs))):
        store.put("pairs", GUILD, key, pairs[key])
    _, small_s, small_stall = await meter.measure(store.flush())
    _, close_s, close_stall = await meter.measure(store.close())
    return {
        "records": stats.records,
        "stage_s": stage_s,
        "flush_s": flush_s,
        "flush_stall_ms": flush_stall,
        "small_flush_s": small_s,
        "small_flush_stall_ms": small_stall,
        "close_s": close_s,
        "close_stall_ms": close_stall,
    }


# --- one backend, in a fresh process: load + scan + memory --------------------------------------


async def load_and_scan(backend: str, where: str, schema: str) -> dict[str, float]:
    """What a restarted bot does for the guild, timed, with the loop's stalls."""
    gc.collect()
    cfg = settings()
    store = make_store(backend, where, schema)
    meter = StallMeter()

    async def load() -> Services:
        await store.open()
        services = build_services(cfg, store, lambda: NOW)
        await services.open_guild(GUILD)
        # As RapportBot.setup_hook does: the loaded state lives as long as the process.
        gc.freeze()
        return services

    services, load_s, load_stall = await meter.measure(load())
    nudges = services.nudges
    planned, scan_s, scan_stall = await meter.measure(nudges.plan_due(NOW))
    rss = psutil.Process().memory_info().rss / 2**20
    peak = peak_rss_mb()
    # As the scan job does next: the leaderboard's rankings of the guilds just loaded.
    _, warm_s, warm_stall = await meter.measure(services.leaderboard.warm_loaded())
    figures = {
        "load_s": load_s,
        "load_stall_ms": load_stall,
        "scan_s": scan_s,
        "scan_stall_ms": scan_stall,
        "planned": planned,
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "leaderboard_warm_s": warm_s,
        "leaderboard_warm_stall_ms": warm_stall,
        "rss_after_warm_mb": psutil.Process().memory_info().rss / 2**20,
        "members_loaded": len(nudges.members.known(GUILD)),
        "pairs_loaded": nudges.ledger.pair_count(GUILD),
    }
    nudges.queue.drop(lambda _: True)
    await store.close()
    return figures


async def store_only(backend: str, where: str, schema: str, tables: str) -> dict[str, float]:
    """The store's share of the load: open, then every table of the guild, no services."""
    store = make_store(backend, where, schema)
    meter = StallMeter()

    async def load() -> list[dict[str, Any]]:
        await store.open()
        return [await store.load(table, GUILD) for table in tables.split(",")]

    # Kept until measured: freeing millions of objects at once is a stall of its own, and
    # the ledger's, not the store's.
    loaded, load_s, load_stall = await meter.measure(load())
    count = sum(len(docs) for docs in loaded)
    await store.close()
    return {"store_load_s": load_s, "store_load_stall_ms": load_stall, "store_docs": count}


async def migrate_only(src: str, dst: str, src_schema: str, dst_schema: str) -> dict[str, float]:
    """What ``bot.py --migrate-store SRC DST`` does, timed, with this process's peak RSS."""
    from rapport.store.migrate import location, migrate

    started = time.perf_counter()
    report = await migrate(location(src, schema=src_schema), location(dst, schema=dst_schema))
    return {
        "migrate_s": time.perf_counter() - started,
        "migrate_peak_rss_mb": peak_rss_mb(),
        "migrated_docs": report.documents,
    }


def child(*args: str) -> dict[str, float]:
    """Run one measurement in a new interpreter, so its RSS and caches are its own."""
    out = subprocess.run(
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- driver -------------------------------------------------------------------------------------


def migration(backend: str, where: str, schema: str, dsn: str, tmp: str) -> dict[str, float]:
    """Migrate this backend's store to the other backend (a fresh target), in a new process."""
    target_schema = f"rapport_bench_{os.getpid()}_{secrets.token_hex(3)}"
    if backend == "tinydb":
        src, dst = f"tinydb:{where}", f"postgres:{dsn}"
    else:
        src, dst = f"postgres:{where}", f"tinydb:{Path(tmp) / 'migrated.json'}"
    try:
        return child("--child-migrate", src, dst, schema, target_schema)
    finally:
        if backend == "tinydb":
            asyncio.run(drop_schema(dsn, target_schema))


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def row(name: str, value: float, unit: str, goal: float | None = None) -> str:
    mark = "" if goal is None else ("  ok" if value < goal else f"  OVER the {goal:g} {unit} goal")
    return f"  {name:<34} {value:>10.2f} {unit}{mark}"


def main() -> None:
    """Print the figures; the last two lines are JSON, TinyDB then PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 members, 100,000 pairs")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--dsn", default=DSN, help="PostgreSQL server for the postgres run")
    parser.add_argument("--backends", default="tinydb,postgres")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "WHERE", "SCHEMA"))
    parser.add_argument("--child-store", nargs=4, metavar=("BACKEND", "WHERE", "SCHEMA", "TABLES"))
    parser.add_argument(
        "--child-migrate", nargs=4, metavar=("SRC", "DST", "SRC_SCHEMA", "DST_SCHEMA")
    )
    parser.add_argument("--no-migrate", action="store_true", help="skip the migration figures")
    parser.add_argument(
        "--runs", type=int, default=1, help="measure N times on one built world; print medians"
    )
    args = parser.parse_args()
    if args.child_migrate:
        print(json.dumps(asyncio.run(migrate_only(*args.child_migrate))))
        return
    if args.child:
        print(json.dumps(asyncio.run(load_and_scan(*args.child))))
        return
    if args.child_store:
        print(json.dumps(asyncio.run(store_only(*args.child_store))))
        return
    members = args.members or (10_000 if args.quick else 100_000)
    pairs = args.pairs or (100_000 if args.quick else 1_000_000)
    started = time.perf_counter()
    docs = asyncio.run(build(members, pairs))
    count = sum(len(d) for d in docs.values())
    print(
        f"built {members:,} members and {pairs:,} pairs ({count:,} documents) through the "
        f"Ledger in {time.perf_counter() - started:.0f} s"
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="rapport-scale-") as tmp:
        for run in range(args.runs):
            # A fresh directory per run: a run never opens the store an earlier one left.
            where_dir = Path(tmp) / f"run{run + 1}"
            where_dir.mkdir()
            for backend in args.backends.split(","):
                where = str(where_dir / "rapport.json") if backend == "tinydb" else args.dsn
                schema = f"rapport_bench_{os.getpid()}_{secrets.token_hex(3)}"
                try:
                    flushed = asyncio.run(flush_figures(backend, where, schema, docs))
                    gc.collect()
                    loaded = child("--child", backend, where, schema)
                    tables = ",".join(sorted({table for table, _ in docs}))
                    loaded |= child("--child-store", backend, where, schema, tables)
                    if not args.no_migrate:
                        loaded |= migration(backend, where, schema, args.dsn, str(where_dir))
                finally:
                    if backend == "postgres":
                        asyncio.run(drop_schema(args.dsn, schema))
                runs.setdefault(backend, []).append({**flushed, **loaded})
                if args.runs > 1:
                    figures = json_line(backend, members, runs[backend][-1])
                    print(json.dumps({**figures, "run": run + 1}), flush=True)
    # With several runs, every figure is the median of its runs.
    results = [(b, {k: median([f[k] for f in fs]) for k in fs[0]}) for b, fs in runs.items()]
    for backend, f in results:
        print(f"\n{backend}: {f['records']:,} documents, {f['pairs_loaded']:,} pairs loaded")
        print(row("stage every document (put)", f["stage_s"], "s"))
        print(row("flush all (one batch)", f["flush_s"], "s"))
        print(row("  longest loop stall in it", f["flush_stall_ms"], "ms", GOALS["stall_ms"]))
        print(row(f"flush {SMALL_CHANGE:,} changed pairs", f["small_flush_s"], "s"))
        print(row("  longest loop stall in it", f["small_flush_stall_ms"], "ms", GOALS["stall_ms"]))
        print(row("close", f["close_s"], "s"))
        print(row("  longest loop stall in it", f["close_stall_ms"], "ms", GOALS["stall_ms"]))
        print(row("load at start (new process)", f["load_s"], "s", GOALS["load_s"]))
        print(row("  longest loop stall in it", f["load_stall_ms"], "ms", GOALS["stall_ms"]))
        print(row("  of which the store: open + load", f["store_load_s"], "s"))
        print(
            row("    longest loop stall in it", f["store_load_stall_ms"], "ms", GOALS["stall_ms"])
        )
        print(row(f"nudge scan ({f['planned']:,} queued)", f["scan_s"], "s", GOALS["scan_s"]))
        print(row("  longest loop stall in it", f["scan_stall_ms"], "ms", GOALS["stall_ms"]))
        print(row("leaderboard rankings, after it", f["leaderboard_warm_s"], "s"))
        print(row("  longest loop stall in it", f["leaderboard_warm_stall_ms"], "ms"))
        print(row("RSS after load and scan", f["rss_mb"], "MiB"))
        print(row("  and once the rankings are built", f["rss_after_warm_mb"], "MiB"))
        print(row("  peak RSS (during load)", f["peak_rss_mb"], "MiB"))
        if "migrate_s" in f:
            other = "PostgreSQL" if backend == "tinydb" else "TinyDB"
            print(row(f"migrate to {other} (new process)", f["migrate_s"], "s"))
            print(row("  its peak RSS", f["migrate_peak_rss_mb"], "MiB"))
    for backend, f in results:
        line = json_line(backend, members, f)
        if args.runs > 1:
            line["runs"] = args.runs
        print(json.dumps(line))


def json_line(backend: str, members: int, f: dict[str, Any]) -> dict[str, Any]:
    """One backend's figures as the JSON line the bench prints."""
    line: dict[str, Any] = {"bench": "scale", "backend": backend, "pairs": f["pairs_loaded"]}
    for key in ("load_s", "scan_s", "flush_s", "rss_mb"):
        line[key] = round(f[key], 3)
    line["members"] = members
    line |= {k: round(v, 3) if isinstance(v, float) else v for k, v in f.items() if k not in line}
    return line


if __name__ == "__main__":
    main()
