"""Nudges: the rules and planner (`rules`), the send-once protocol (`service`), the paced DM queue."""

from rapport.nudges.dm_queue import DmQueue, SendResult
from rapport.nudges.rules import Digest, Nudge
from rapport.nudges.service import NudgeService

__all__ = ["Digest", "DmQueue", "Nudge", "NudgeService", "SendResult"]
