"""The cyclic garbage collector paused while long-lived state is built, then that state frozen.

Building a big guild's state (its documents, the leaderboard's rankings) allocates hundreds of
thousands of objects that live as long as the guild; each full collection meanwhile walks all of
them, one step of a few hundred ms on the event loop at 100,000 members (measured). Pauses
nest, and may overlap across tasks (a guild's rankings are built in the background while the
next loader runs): the collector comes back once the last one ends, not when the first does.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector; when the last pause ends, freeze what was built and resume it
    (unless it was off before the first pause)."""
    global _paused, _resume
    if _paused == 0:
        _resume = gc.isenabled()
        gc.disable()
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0 and _resume:
            gc.freeze()
            gc.enable()


__all__ = ["collector_paused"]
