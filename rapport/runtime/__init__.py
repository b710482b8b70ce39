"""Runtime: the scheduler, the write-behind flush loop, cluster shards, heartbeat and click relay."""

from rapport.runtime.cluster import SNOOZE, owns
from rapport.runtime.flush import FlushLoop
from rapport.runtime.retention import Retention
from rapport.runtime.scheduler import JobScheduler

__all__ = ["SNOOZE", "FlushLoop", "JobScheduler", "Retention", "owns"]
