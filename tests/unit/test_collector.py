"""The collector pause: overlapping pauses (a guild's rankings built in the background while the
next loader runs) keep it off until the last one ends, then freeze and resume it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from rapport.collector import collector_paused


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


def test_overlapping_pauses_resume_the_collector_after_the_last(collector: None) -> None:
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)  # the guild loaded; its rankings are still being built
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_a_collector_off_before_stays_off(collector: None) -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
