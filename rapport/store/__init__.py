"""Where the core's durable state lives: one Store interface, chosen by configuration."""

from __future__ import annotations

from pathlib import Path

from rapport.store.base import SCHEMA_VERSION, FlushStats, Store
from rapport.store.tinydb import TinyDBStore

__all__ = ["SCHEMA_VERSION", "FlushStats", "Store", "TinyDBStore", "open_store"]


def open_store(backend: str, *, path: Path, dsn: str = "", flush_interval: float = 2.0) -> Store:
    """Build (not yet open) the configured backend; the caller awaits ``open()``."""
    if backend == "tinydb":
        return TinyDBStore(path, flush_interval=flush_interval)
    if backend == "postgres":
        raise NotImplementedError("the PostgreSQL store comes with the scale-out issue")
    raise ValueError(f"unknown store backend {backend!r}; expected 'tinydb' or 'postgres'")
