"""The demo (`python bot.py --demo`): one seed tells one story, whenever it runs."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sandbox.community import generate
from sandbox.demo import DEMO_NOW

ROOT = Path(__file__).resolve().parents[2]


def demo(seed: int, where: Path) -> str:
    """What the demo prints on stdout for `seed`, run from `where` (its data/ goes there)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--demo", "--seed", str(seed)],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_one_seed_prints_one_story_on_any_day(tmp_path: Path) -> None:
    """Two runs print the same thing, and its week is the one before the demo's own now, not today's."""
    first = demo(3, tmp_path)
    year, week, _ = (DEMO_NOW - timedelta(days=7)).isocalendar()
    assert f"Leaderboard — week {week} of {year}" in first
    assert demo(3, tmp_path) == first


def test_the_demo_shows_the_digests_members_get_one_in_german(tmp_path: Path) -> None:
    """Members enroll days before the scan: digests go out (the first never repeats the preview)."""
    out = demo(1, tmp_path)
    found = re.search(r"(\d+) digests sent", out)
    assert found is not None
    assert int(found.group(1)) >= 5
    assert "(their Discord is in German)" in out
    assert "Ein paar Menschen" in out


def test_the_demo_shows_a_kudos_post_and_the_most_thanked_board(tmp_path: Path) -> None:
    """Two members thank someone (/thanks with words, the message menu); the weekly post credits them."""
    out = demo(1, tmp_path)
    assert re.search(r"🙏 \w+ thanks @\w+: “the patient answers in #help this week”", out)
    assert re.search(r"🙏 \w+ thanks @\w+ for this message \[jump\]", out)
    board = out.split("Most thanked — week 9 of 2026")[1]
    assert "thanked once" in board
    assert not re.search(r"\b1 (time|person)\b", board)


def test_only_the_communitys_newcomers_are_welcomed(tmp_path: Path) -> None:
    """A "is new here … say hi?" line names one of the generated newcomers, never a regular
    whose weeks of history the same demo prints."""
    out = demo(1, tmp_path)
    newcomers = {p.name for p in generate(1).people if p.joined_days_ago <= 7}
    welcomed = set(re.findall(r"(\w+) (?:is new here|ist neu hier|joined|ist vor)", out))
    assert welcomed <= newcomers
    assert not re.search(r"\*\w", out), "Discord markup (*italic*) shown raw"


def test_the_demo_shows_the_admin_digest_with_links_and_no_text(tmp_path: Path) -> None:
    """An admin picks #admins; the weekly admin digest is posted there: totals and links only."""
    out = demo(2, tmp_path)
    assert "#admins" in out
    assert "Rapport admin digest — Design Guild" in out
    assert "Response rate, last 8 weeks" in out
    assert out.rstrip().endswith("admin digest posted")
