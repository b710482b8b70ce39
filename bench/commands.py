"""The core work behind every slash command and button, timed on one big guild.

Discord gives a command 3 s for its first response; the house rule is to defer anything that can
take over ~1 s. This builds MEMBERS enrolled members and PAIRS pairs (bench/_world.py, through the
real services), then times, for a few members each, what each handler calls in the core before
it answers (rendering and Discord's round trips aside). Each row names the handler, the
median and the slowest run, and whether the handler defers first.

    .venv/bin/python bench/commands.py [--quick] [--members N --pairs N] [--runs N]

The leaderboard's rankings are built first, as the bot does in the background once a guild is
loaded (its time and the longest loop stall meanwhile are printed); rows marked "(20 new
messages)" fold 20 new replies in first, as live traffic would between two requests. Last, the
weekly post's board asked for before any ranking is built (the cog awaits `built_board`).

Last line: {"bench": "commands", "members", "pairs", "leaderboard_warm_s",
"leaderboard_warm_stall_ms", "<handler>_s": slowest seconds, ..., "leaderboard_cold_s",
"leaderboard_cold_stall_ms"}
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._world import CHANNELS, GUILD, NOW, populate
from rapport.compose import Services, build_services
from rapport.people.privacy import Privacy
from rapport.relations import Relations
from rapport.settings.config import settings_from_mapping
from rapport.store.memory import MemoryStore
from rapport.tracking.model import MessageFacts

#: Handlers that answer "thinking" before their work (cogs/*.py), as the audit found them.
DEFERS = {
    "/rapport status",
    "/rapport map (data; drawn off the loop)",
    "/rapport export",
    "/leaderboard",
    "/leaderboard period:week (teams)",
    "/leaderboard period:month (teams)",
    "/leaderboard team:",
    "/leaderboard (20 new messages)",
    "/rapport status (20 new messages)",
    "/rapport-admin stats",
    "/rapport-admin sync",
    "/rapport-admin backfill",
    "/rapport forget: Forget me",
}

Work = Callable[[int], Awaitable[Any]]


def handlers(s: Services, privacy: Privacy, others: list[int]) -> dict[str, Work]:
    """Each handler's core work for one member (``m``), as the cog calls it."""
    g = GUILD
    relations = Relations(s.members, s.ledger.reads)

    def other(m: int, step: int) -> int:
        """Someone else in the guild, picked from ``m`` (never ``m``)."""
        found = others[(m * step) % len(others)]
        return found if found != m else others[(m * step + 1) % len(others)]

    async def status(m: int) -> Any:
        s.members.preferences(g, m)
        return await s.status.picture(g, m, NOW)

    async def closeup(m: int) -> Any:
        return relations.closeup(g, m, other(m, 11), NOW)

    async def ego_map(m: int) -> Any:
        return relations.ego_map(g, m, NOW)

    async def join(m: int) -> Any:
        s.members.preferences(g, m)
        await s.members.enroll(g, m)
        digest = s.nudges.preview(g, m, NOW)
        if digest is not None and digest.items:
            s.nudges.shown(g, m, digest, NOW)

    async def stats(m: int) -> Any:
        humans = set(others)  # the member cache, every human in the server
        figures = s.nudges.guild_stats(g)
        return (
            len(s.ledger.members(g)),
            len(s.members.enrolled_members(g, humans)),
            s.ledger.pair_count(g),
            s.ledger.interactions_total(g),
            figures,
        )

    async def export(m: int) -> Any:
        return json.dumps(await privacy.export(g, m), indent=2, sort_keys=True)

    async def forget(m: int) -> Any:
        await privacy.forget(g, m)

    async def leaderboard(m: int) -> Any:
        key = s.leaderboard.period_key(g, "all", NOW)
        return await s.leaderboard.built_board(g, key, {}, keep=None)

    # Three team roles of 5,000 members; everyone is still in the server.
    teams = {f"team {i}": set(others[i * 5_000 : (i + 1) * 5_000]) for i in range(3)}
    here = set(others).__contains__

    def board_of(kind: str) -> Work:
        async def work(m: int) -> Any:
            key = s.leaderboard.period_key(g, kind, NOW)
            return await s.leaderboard.built_board(g, key, teams, keep=here)

        return work

    async def one_team(m: int) -> Any:
        key = s.leaderboard.period_key(g, "week", NOW)
        name = next(iter(teams))
        one = {name: teams[name]}
        return await s.leaderboard.built_board(g, key, one, keep=teams[name].__contains__)

    async def weekly_post(m: int) -> Any:
        period = s.leaderboard.due_period(g, NOW)
        return await s.leaderboard.built_board(g, period, teams, keep=here)

    def after_messages(work: Work) -> Work:
        """`work` after 20 new replies from members all over the board (live traffic)."""
        step = iter(range(1 << 50, 1 << 51, 10))

        async def busy(m: int) -> Any:
            for i in range(20):
                a, b = other(m, 13 + i), other(m, 31 + i)
                mid = next(step)
                s.ledger.record_message(MessageFacts(g, CHANNELS[1], mid, b, NOW))
                reply = MessageFacts(g, CHANNELS[1], mid + 1, a, NOW, reply_to_id=b)
                s.ledger.record_message(reply)
            return await work(m)

        return busy

    async def settings(m: int) -> Any:
        await s.members.configure(g, m, timezone="Europe/Paris")
        return s.members.preferences(g, m)

    async def snooze(m: int) -> Any:
        await s.members.snooze(g, m, timedelta(days=3))

    async def mute(m: int) -> Any:
        await s.members.mute(g, m, other(m, 7))

    async def leave(m: int) -> Any:
        await s.members.leave(g, m)

    async def track(m: int) -> Any:
        await s.members.track(g, m)

    async def keep_in_touch(m: int) -> Any:
        s.ledger.set_cadence(g, m, other(m, 3), timedelta(days=7))

    async def digest_done(m: int) -> Any:
        await s.nudges.ensure(g)
        s.nudges.digest_items(g, m, "none")
        await s.nudges.done(g, m, "none")

    async def digest_feedback(m: int) -> Any:
        await s.nudges.ensure(g)
        await s.nudges.feedback(g, m, "fewer")

    async def remind(m: int) -> Any:
        await s.nudges.remind(g, m, CHANNELS[0], 1 << 40, other(m, 5), NOW, "4h")

    async def setup(m: int) -> Any:
        await s.guilds.update(g, timezone="Europe/Paris")
        return s.guilds.policy(g)

    async def exclude(m: int) -> Any:
        await s.guilds.exclude_channels(g, [CHANNELS[-1]])
        await s.guilds.exclude_channels(g, [CHANNELS[-1]], exclude=False)

    return {
        "/rapport join": join,
        "/rapport status": status,
        "/rapport status member:": closeup,
        "/rapport map (data; drawn off the loop)": ego_map,
        "/rapport settings": settings,
        "/rapport snooze": snooze,
        "/rapport mute": mute,
        "/rapport leave": leave,
        "/rapport track": track,
        "/rapport export": export,
        "Keep in touch (menu + select)": keep_in_touch,
        "/leaderboard": leaderboard,
        "/leaderboard period:week (teams)": board_of("week"),
        "/leaderboard period:month (teams)": board_of("month"),
        "/leaderboard team:": one_team,
        "weekly post (board)": weekly_post,
        "/rapport status (20 new messages)": after_messages(status),
        "/leaderboard (20 new messages)": after_messages(leaderboard),
        "/rapport-admin stats": stats,
        "/rapport-admin setup": setup,
        "/rapport-admin exclude/include-channel": exclude,
        "digest: Done": digest_done,
        "digest: keep/fewer/stop": digest_feedback,
        "Remind me to reply (select)": remind,
        # Last: it erases the members it runs for.
        "/rapport forget: Forget me": forget,
    }


async def beside_the_loop(work: Awaitable[Any]) -> tuple[float, float]:
    """Run `work` with a ticker beside it: (seconds taken, the longest gap between ticks)."""
    longest = 0.0
    done = False

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    ticker = asyncio.create_task(tick())
    t0 = time.perf_counter()
    await work
    took = time.perf_counter() - t0
    done = True
    await ticker
    return took, longest


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 members, 100,000 pairs")
    parser.add_argument("--members", type=int)
    parser.add_argument("--pairs", type=int)
    parser.add_argument("--runs", type=int, default=5, help="members timed per handler")
    args = parser.parse_args()
    members = args.members or (10_000 if args.quick else 100_000)
    pairs = args.pairs or (100_000 if args.quick else 1_000_000)

    started = time.perf_counter()
    cfg = settings_from_mapping({"discord": {"token": "bench"}})
    s = build_services(cfg, MemoryStore(), lambda: NOW)
    ids = populate(s.ledger, members, pairs)
    for m in ids:
        await s.members.enroll(GUILD, m)
    await s.nudges.ensure(GUILD)
    privacy = Privacy(s.ledger, s.members, lambda: NOW, s.nudges)
    print(f"world: {members:,} members, {pairs:,} pairs in {time.perf_counter() - started:.0f}s")
    gc.freeze()  # as the bot does once a guild is open (rapport/compose.py: open_guild)
    # As the bot does in the background once a guild is loaded (a guild loader).
    warm_s, warm_stall = await beside_the_loop(s.leaderboard.warm(GUILD, NOW))
    print(
        f"leaderboard rankings built in {warm_s:.1f}s, longest loop stall {warm_stall * 1e3:.0f} ms"
    )

    figures: dict[str, Any] = {"bench": "commands", "members": members, "pairs": pairs}
    figures["leaderboard_warm_s"] = round(warm_s, 3)
    figures["leaderboard_warm_stall_ms"] = round(warm_stall * 1e3, 1)
    print(f"{'handler':42} {'median':>9} {'slowest':>9}  defers")
    # Members spread over the ids, the busiest first (populate's waiting replies: every tenth).
    sample = [ids[(i * 7919) % len(ids)] for i in range(args.runs)]
    for name, work in handlers(s, privacy, ids).items():
        runs = []
        for m in sample:
            t0 = time.perf_counter()
            await work(m)
            runs.append(time.perf_counter() - t0)
        slowest = max(runs)
        defers = "yes" if name in DEFERS else ("NO  <- over 1 s" if slowest > 1 else "no")
        print(f"{name:42} {statistics.median(runs):8.3f}s {slowest:8.3f}s  {defers}")
        figures[f"{name}_s"] = round(slowest, 4)
    # A board asked for before the rankings are built (the warm-up runs after the first nudge
    # scan): the cog awaits `built_board`, which builds what the board reads beside the loop.
    s.leaderboard._rankings.kept.clear()
    period = s.leaderboard.due_period(GUILD, NOW)

    cold = s.leaderboard.built_board(GUILD, period, {}, keep=None)
    cold_s, cold_stall = await beside_the_loop(cold)
    print(f"weekly post's board before the warm-up: {cold_s:.2f}s, longest loop stall "
          f"{cold_stall * 1e3:.0f} ms")  # fmt: skip
    figures["leaderboard_cold_s"] = round(cold_s, 3)
    figures["leaderboard_cold_stall_ms"] = round(cold_stall * 1e3, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
