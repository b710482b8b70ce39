"""PostgreSQL for tests: the server at RAPPORT_TEST_DSN, one fresh schema per test, dropped after.

Several test processes may share the server, so schema names carry the pid and a random part.
Without a server the tests skip, saying loudly that the backend was not tested; with
RAPPORT_TEST_REQUIRE_POSTGRES=1 (for CI) they fail instead.
"""

from __future__ import annotations

import os
import secrets

import asyncpg
import pytest

DSN = os.environ.get("RAPPORT_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")
_unreachable: list[str] = []  # the first connection error, remembered for the whole run
_checked: list[bool] = []


async def require_postgres() -> None:
    """Skip (or fail, when required) the calling test unless the server answers."""
    if not _checked:
        try:
            conn = await asyncpg.connect(DSN, timeout=5)
            await conn.close()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _unreachable.append(f"{type(exc).__name__}: {exc}")
        _checked.append(True)
    if _unreachable:
        why = (
            f"PostgreSQL not reachable at {DSN} ({_unreachable[0]}): "
            "the postgres backend was NOT tested"
        )
        if os.environ.get("RAPPORT_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(why)
        pytest.skip(why)


def fresh_schema() -> str:
    """A schema name no other test or test process uses."""
    return f"rapport_test_{os.getpid()}_{secrets.token_hex(4)}"


async def drop_schema(schema: str) -> None:
    """Remove a test's schema and everything in it."""
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def execute(sql: str, *args: object) -> None:
    """Run one statement on its own connection (to change the database behind a store's back)."""
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def fetch(sql: str, *args: object) -> list[tuple[object, ...]]:
    """Rows of one query, as tuples, on its own connection."""
    conn = await asyncpg.connect(DSN)
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()
