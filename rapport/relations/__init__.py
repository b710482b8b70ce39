"""Relationships up close: one pair for /rapport status member:@X, and the member's map.

Above the nudges (the drifting rule) and the leaderboard (the card's fonts and colours).
"""

from rapport.relations.closeup import (
    MAP_PEOPLE,
    Closeup,
    EgoMap,
    Relations,
    Side,
    Standing,
    Tie,
    parse_cadence,
)
from rapport.relations.drawing import render_map

__all__ = [
    "MAP_PEOPLE",
    "Closeup",
    "EgoMap",
    "Relations",
    "Side",
    "Standing",
    "Tie",
    "parse_cadence",
    "render_map",
]
