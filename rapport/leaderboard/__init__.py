"""The leaderboard: scoring (pure), the board and its PNG card, the once-per-period post."""

from rapport.leaderboard.scoring import Board, build_board
from rapport.leaderboard.service import LeaderboardService

__all__ = ["Board", "LeaderboardService", "build_board"]
