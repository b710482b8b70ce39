"""The cyclic garbage collector paused while long-lived state is built, then that state frozen;
and the memory the build freed handed back to the system.

Building a big guild's state (its documents, the leaderboard's rankings) allocates hundreds of
thousands of objects that live as long as the guild; each full collection meanwhile walks all of
them, one step of a few hundred ms on the event loop at 100,000 members (measured). Pauses
nest, and may overlap across tasks (a guild's rankings are built in the background while the
next loader runs): the collector comes back once the last one ends, not when the first does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

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


@cache
def _trimmer() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS); looked up on
    first use, not at import (finding the C library can run ``ldconfig``)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
        return trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Hand the heap pages freed since the last call back to the system; False where the C
    library can't (it is a saving, never needed for correctness).

    glibc keeps freed heap memory mapped: a big guild's load leaves ~100 MB of its temporaries
    (the stored chunks, the sort's arrays) counted in the process's RSS until reused, which is
    what a container's memory limit sees. One call takes a few ms at a million pairs (measured).
    """
    trim = _trimmer()
    if trim is None:
        return False
    trim(0)
    return True


__all__ = ["collector_paused", "release_free_memory"]
