"""How long the leaderboard card takes to draw: milliseconds per card, median of three.

Three boards: one member; ten members with two teams, both highlights, an icon and avatars
(a third of them without, drawn as initials); the same with names in Japanese, Arabic and
with emoji. The pictures are 64 px PNGs (icons 128 px), as the bot asks Discord's CDN for them.

    .venv/bin/python bench/card.py [--repeat 3]

Last line: {"bench": "card", "<case>_ms" and "<case>_cpu_ms" for each case, "png_bytes"}; the
first render of a process (fonts loading) is not counted.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from rapport.i18n import translator  # noqa: E402
from rapport.leaderboard import build_board, render_card  # noqa: E402
from rapport.settings.config import LeaderboardWeights  # noqa: E402
from rapport.tracking.model import PeriodStats  # noqa: E402
from sandbox.cdn import identicon  # noqa: E402

LATIN = ["Ana", "Bob Marley", "Chidi", "Dörte", "Eleanor", "Fatima", "Gus", "Hyun", "Ines", "Jo"]
MIXED = [
    "さくら",
    "محمد علي",
    "Ana 🌸",
    "Łukasz",
    "🔥🔥",
    "Hyun 현",
    "Zoë",
    "Ines",
    "山田太郎",
    "Jo",
]


def png(seed: str, size: int) -> bytes:
    """A picture as the CDN would send it."""
    out = io.BytesIO()
    identicon(seed, size).save(out, format="PNG")
    return out.getvalue()


def case(names: list[str]) -> dict:
    """A board of these members (two teams, both highlights), with pictures for two thirds."""
    ids = list(range(1, len(names) + 1))
    stats = {m: PeriodStats(given=m, people=m) for m in ids}
    previous = {m: PeriodStats(given=12 - m, people=12 - m) for m in ids}
    half = len(ids) // 2
    teams = {"Design": set(ids[:half]), "Support": set(ids[half:])} if half else {}
    board = build_board(
        "2026-W47", stats, LeaderboardWeights(), previous=previous, previous_key="2026-W46",
        teams=teams, pairs={(1, len(ids)): 2},
    )  # fmt: skip
    return {
        "board": board,
        "names": dict(zip(ids, names, strict=True)),
        "server": "Rapport Bench",
        "icon": png("icon", 128),
        "avatars": {m: png(f"avatar:{m}", 64) for m in ids if m % 3},
    }


def timed(kwargs: dict, repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds over `repeat` renders, and the PNG's size (the CPU
    figure holds on a busy machine, where the wall clock also counts waiting for a core)."""
    t = translator("en")
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        body = render_card(top=10, t=t, **kwargs)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    Image.open(io.BytesIO(body)).verify()
    return statistics.median(wall), statistics.median(cpu), len(body)


def main() -> None:
    """Print each case's median and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    timed(case(LATIN), 1)  # fonts load and glyph checks fill their caches
    results = {}
    for label, names in (
        ("one_member", LATIN[:1]),
        ("ten_members", LATIN),
        ("mixed_scripts", MIXED),
    ):
        ms, cpu, size = timed(case(names), repeat)
        results[f"{label}_ms"] = round(ms, 1)
        results[f"{label}_cpu_ms"] = round(cpu, 1)
        if label == "ten_members":
            results["png_bytes"] = size
        print(f"{label}: {ms:.1f} ms per card, {cpu:.1f} ms of CPU (median of {repeat})")
    print(json.dumps({"bench": "card", **results}))


if __name__ == "__main__":
    main()
