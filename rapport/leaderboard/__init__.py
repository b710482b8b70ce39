"""The leaderboard: scoring (pure), the board and its PNG card, the once-per-period post.

Public: the board and its scoring, the card, the service (periods, boards, the record of posts)
and the post-once protocol with its `Poster` port. Other packages and the cogs import from here.
"""

from rapport.leaderboard.card import render_card
from rapport.leaderboard.posting import LeaderboardPosts, Poster, PostOutcome, PostResult, Target
from rapport.leaderboard.scoring import (
    Board,
    Standing,
    build_board,
    connections,
    improvement,
    period_label,
)
from rapport.leaderboard.service import LeaderboardService

__all__ = [
    "Board",
    "LeaderboardPosts",
    "LeaderboardService",
    "PostOutcome",
    "PostResult",
    "Poster",
    "Standing",
    "Target",
    "build_board",
    "connections",
    "improvement",
    "period_label",
    "render_card",
]
