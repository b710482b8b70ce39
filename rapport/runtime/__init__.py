"""Runtime: the scheduler, the write-behind flush loop, cluster shards, heartbeat and click relay."""

from rapport.runtime.flush import FlushLoop
from rapport.runtime.retention import Retention
from rapport.runtime.scheduler import JobScheduler

__all__ = ["FlushLoop", "JobScheduler", "Retention"]
