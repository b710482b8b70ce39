"""/rapport status says how often people used to talk as the digests do: never "every ~1 day"."""

from __future__ import annotations

from datetime import timedelta

from cogs import _embeds
from tests.unit.test_nudges_rules import BOB, pair


def test_status_says_almost_every_day_for_a_daily_rhythm() -> None:
    """A pair that talked every day reads "almost every day", a weekly one "about once a week"."""
    names = {BOB: "Bob"}.get
    for gap, words in (
        (timedelta(days=1), "almost every day"),
        (timedelta(days=7), "about once a week"),
    ):
        picture = _embeds.Picture(
            drifting=[pair(BOB, gap=gap)],
            pending=[],
            strongest=[],
            position=None,
            on_leaderboard=False,
            outcomes=None,
        )
        text = "\n".join(
            f.value or "" for e in _embeds.status_pages(picture, names) for f in e.fields
        ) + "\n".join(e.description or "" for e in _embeds.status_pages(picture, names))
        assert f"(you used to talk {words})" in text
        assert "~1 day" not in text
