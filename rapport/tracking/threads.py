"""Who started each thread: the author of its starter message, which is who a thread answers.

Discord's thread object names its creator (``owner_id``): often the asker, but just as often a
moderator who split the conversation off or an auto-thread bot. The starter message's author is
who the answers in the thread are for; the Discord glue looks it up once per thread and keeps
it here (in memory: after a restart it is looked up again on the thread's next message).
"""

from __future__ import annotations

from collections import OrderedDict

#: Threads remembered at most (the oldest looked-up thread is forgotten first).
LIMIT = 200_000


class ThreadStarters:
    """thread id -> the starter message's author id."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._starters: OrderedDict[int, int] = OrderedDict()
        self._limit = limit

    def get(self, thread_id: int) -> int | None:
        """The starter's id, when known."""
        return self._starters.get(thread_id)

    def remember(self, thread_id: int, starter_id: int) -> None:
        """Record who started a thread."""
        self._starters[thread_id] = starter_id
        self._starters.move_to_end(thread_id)
        while len(self._starters) > self._limit:
            self._starters.popitem(last=False)
