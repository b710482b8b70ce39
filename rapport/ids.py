"""Discord ids (snowflakes) as Rapport accepts them: whole numbers from 1 to 2**63 - 1.

Discord's ids are unsigned 64-bit, but every real one is below 2**63 (its top bits are a
timestamp), and PostgreSQL's bigint and the stores' JSON hold exactly that range. A larger or
non-numeric id can only come from a forged request; it is refused where it enters.
"""

from __future__ import annotations

from typing import TypeGuard

MAX_ID = 2**63 - 1


def is_id(value: object) -> TypeGuard[int | str]:
    """Whether `value` (an int, or the decimal text Discord sends) is an id Rapport accepts."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return False
        value = int(value)
    return type(value) is int and 1 <= value <= MAX_ID


def parse_id(value: object) -> int | None:
    """The id in `value`, or None when it is not one Rapport accepts."""
    return int(value) if is_id(value) else None
