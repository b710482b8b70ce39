"""Joining and leaving the digests: what /rapport join previews and /rapport leave answers.

The join answer previews what the first digest would hold, in the digest's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from cogs._l10n import command
from rapport.i18n import N_, Translation
from rapport.nudges import rules


def preview(
    nudges: Iterable[rules.Nudge], name: Callable[[int], str], now: datetime, t: Translation
) -> list[str]:
    """The join preview's lines, each in the digest's own words, with its link."""
    lines = []
    for nudge in nudges:
        text = rules.describe(nudge, name, now, t=t)
        lines.append(f"{text} [{t.gettext(N_('jump'))}]({nudge.url})" if nudge.url else text)
    return lines


def left(t: Translation) -> str:
    """The answer to /rapport leave: digests stop, tracking does not."""
    return t.gettext(
        N_(
            "No more digests. Rapport still notices your interactions (for others' "
            "digests and the leaderboard); {forget} deletes them and stops that too."
        ),
        forget=command(t, "rapport forget"),
    )
