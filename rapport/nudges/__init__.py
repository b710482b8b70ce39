"""Nudges: the rules, the planner, the send-once protocol (`service`) and the paced DM queue.

Public: the values a digest is made of, the service and its `Sender` port, the DM queue's
results, what /rapport status shows (`status`), the weekly admin digest (`admin_digest`). Other packages and the cogs import from here.
"""

from rapport.nudges.admin_digest import AdminDigest, AdminDigests
from rapport.nudges.dm_queue import DmQueue, SendResult
from rapport.nudges.rules import Digest, Nudge, describe
from rapport.nudges.service import NudgeService, Sender
from rapport.nudges.status import Picture, Status

__all__ = [
    "AdminDigest",
    "AdminDigests",
    "Digest",
    "DmQueue",
    "Nudge",
    "NudgeService",
    "Picture",
    "SendResult",
    "Sender",
    "Status",
    "describe",
]
