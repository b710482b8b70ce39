"""How long the nudge scan takes over a big guild, and how long it ever holds the event loop.

Builds MEMBERS enrolled members and PAIRS pairs directly in a Ledger and a MemberService over
a MemoryStore (not through Discord): each pair has replies both ways on a few days, some long
silent (drifting), and every tenth member has an unanswered reply. Every member may get a
digest at any hour (the worst case: all of them are due in the same run). Times the planning
part of the scan (`NudgeService.plan_due`: rules, planner, queueing; delivery is paced at
1 DM/s and not part of it) while a 1 ms ticker coroutine records how late it wakes up.

    .venv/bin/python bench/scan.py [--quick] [--members N --pairs N]

Last line: {"bench": "scan", "members", "pairs", "scan_s", "max_stall_ms"}
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._world import GUILD, NOW, populate
from rapport.compose import build_services
from rapport.nudges.service import NudgeService
from rapport.people.members import MemberSettings
from rapport.settings.config import NudgeSettings, Settings
from rapport.store.memory import MemoryStore


def build(members: int, pairs: int, seed: int = 7) -> tuple[NudgeService, float]:
    """The services with the world in them; returns them and the build time."""
    started = time.perf_counter()
    store = MemoryStore()
    cfg = replace(NudgeSettings(), digest_hour=None, quiet_hours=None)
    settings = replace(Settings(), nudges=cfg)
    services = build_services(settings, store, lambda: NOW)
    ids = populate(services.ledger, members, pairs, seed=seed, contacts=(10, 5, 0))
    services.members._members[GUILD] = {m: MemberSettings(m, enrolled=True) for m in ids}
    return services.nudges, time.perf_counter() - started


async def measure(nudges: NudgeService, budget: int | None) -> tuple[float, float, float, int]:
    """Scan time, longest stall of a 1 ms ticker (wall, and CPU of the loop's thread), planned.

    The CPU figure is what the scan itself held the loop for; wall minus CPU is the machine
    giving the core to other processes (this bench often shares two cores).
    """
    await nudges.members.ensure(GUILD)
    await nudges.ensure(GUILD)
    stall = stall_cpu = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall, stall_cpu
        while not done.is_set():
            t, c = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.001)
            stall = max(stall, time.perf_counter() - t - 0.001)
            stall_cpu = max(stall_cpu, time.thread_time() - c)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    planned = await nudges.plan_due(NOW, budget=budget)
    took = time.perf_counter() - started
    done.set()
    await tick
    return took, stall * 1000, stall_cpu * 1000, planned


def ledger_reads(nudges: NudgeService, members: int) -> dict[str, float]:
    """Seconds the ledger's read calls take over every member, one call kind at a time."""
    ledger, ids = nudges.ledger, nudges.members.known(GUILD)
    out = {}
    for name, call in (
        ("pairs_of", lambda m: ledger.pairs_of(GUILD, m, now=NOW)),
        (
            "silent_pairs",
            lambda m: ledger.silent_pairs(
                GUILD, m, NOW - timedelta(days=21), now=NOW, min_contact_days=3, both_ways=True
            ),
        ),
        ("pending_for", lambda m: ledger.pending_for(GUILD, m, NOW)),
        ("activity", lambda m: ledger.activity(GUILD, m)),
    ):
        started = time.perf_counter()
        for m in ids:
            call(m)
        out[name] = time.perf_counter() - started
    return out


class GcPauses:
    """The longest garbage-collector pause (a stall the scan cannot yield around)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._t = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 members, 100,000 pairs")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument(
        "--all", action="store_true", help="plan every member in one scan (no queue budget)"
    )
    args = parser.parse_args()
    members = args.members or (10_000 if args.quick else 100_000)
    pairs = args.pairs or (100_000 if args.quick else 1_000_000)
    nudges, built = build(members, pairs)
    print(f"built {members:,} members and {pairs:,} pairs in {built:.1f} s")
    pauses = GcPauses()
    budget = members if args.all else None
    took, stall, stall_cpu, planned = asyncio.run(measure(nudges, budget))
    print(
        f"scan: {took:.2f} s for {members:,} members, {planned:,} digests queued "
        + (
            " (--all: no budget)"
            if budget
            else f" (budget {nudges.budget:,} = what the 1 DM/s queue sends in 15 min)"
        )
    )
    print(f"longest event-loop stall during the scan: {stall:.1f} ms ({stall_cpu:.1f} ms CPU)")
    print(f"longest garbage-collector pause during the scan: {pauses.longest * 1000:.1f} ms")
    # The other worst case: a scan that must look at every member and finds none due (all
    # before their digest hour), so the budget never cuts it short.
    members_service = nudges.members
    members_service._members[GUILD] = {
        m: replace(s, digest_hour=23) for m, s in members_service._members[GUILD].items()
    }
    nudges.queue.drop(lambda _: True)
    full, full_stall, full_cpu, _ = asyncio.run(measure(nudges, None))
    print(
        f"scan over all {members:,} members with none due: {full:.2f} s, "
        f"longest stall {full_stall:.1f} ms ({full_cpu:.1f} ms CPU)"
    )
    reads = ledger_reads(nudges, members)
    print(
        "ledger reads over every member: "
        + ", ".join(f"{name} {secs:.2f} s" for name, secs in reads.items())
    )
    print(
        json.dumps(
            {
                "bench": "scan",
                "members": members,
                "pairs": pairs,
                "scan_s": round(took, 3),
                "max_stall_ms": round(stall, 1),
                "max_stall_cpu_ms": round(stall_cpu, 1),
                "budget": budget or nudges.budget,
                "none_due_scan_s": round(full, 3),
                "none_due_max_stall_ms": round(max(full_stall, 0), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
