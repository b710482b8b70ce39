"""At most once through a 5xx: a message POST that Discord answers with a server error is not
retried, because Discord may have created the message before failing to say so.

discord.py retries 500, 502, 504 and 524 up to four times (sleeping 1 + 3 + 5 + 7 s), which for a
DM can both send it twice and hold up every DM queued behind it. Inside `at_most_once()`, an
aiohttp trace stops that: the first 5xx on a POST to a channel's messages raises `MaybeSent`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp

_ONCE: ContextVar[bool] = ContextVar("rapport_at_most_once", default=False)


class MaybeSent(Exception):
    """Discord answered a message POST with a 5xx: the message may or may not exist."""

    def __init__(self, status: int) -> None:
        super().__init__(f"Discord answered {status}; the message may have gone out")
        self.status = status


@contextlib.contextmanager
def at_most_once() -> Iterator[None]:
    """Within this block, a message POST answered with a 5xx raises MaybeSent, never retries."""
    token = _ONCE.set(True)
    try:
        yield
    finally:
        _ONCE.reset(token)


async def _on_request_end(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
) -> None:
    if not _ONCE.get() or params.method != "POST" or params.response.status < 500:
        return
    if params.url.path.endswith("/messages"):
        raise MaybeSent(params.response.status)


def trace_config() -> aiohttp.TraceConfig:
    """The trace the bot's HTTP session runs with (discord.py's ``http_trace``)."""
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_on_request_end)
    return trace
