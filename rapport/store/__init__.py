"""Where the core's durable state lives: one Store interface, chosen by configuration."""

from __future__ import annotations

from pathlib import Path

from rapport.store.base import SCHEMA_VERSION, FlushStats, Store
from rapport.store.tinydb import TinyDBStore

__all__ = ["SCHEMA_VERSION", "FlushStats", "Store", "TinyDBStore", "open_store"]


def open_store(
    backend: str,
    *,
    path: Path = Path("data/rapport.json"),
    dsn: str = "",
    schema: str = "rapport",
) -> Store:
    """Build (not yet open) the configured backend; the caller awaits ``open()``.

    ``path`` is the TinyDB file; ``dsn`` and ``schema`` say where the PostgreSQL store lives.
    """
    if backend == "tinydb":
        return TinyDBStore(path)
    if backend == "postgres":
        if not dsn:
            raise ValueError(
                "the postgres store needs a dsn ([storage] dsn or RAPPORT_DATABASE_URL)"
            )
        # Imported here so that a TinyDB deployment never loads asyncpg.
        from rapport.store.postgres import PostgresStore

        return PostgresStore(dsn, schema=schema)
    raise ValueError(f"unknown store backend {backend!r}; expected 'tinydb' or 'postgres'")
