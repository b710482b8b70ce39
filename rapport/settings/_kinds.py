"""Kinds of config value: each reads raw TOML into a typed value (or explains what it expected)
and writes it back for `describe`. Private to rapport.settings.config.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rapport.ids import is_id
from rapport.settings.timeparse import (
    DURATION_HINT,
    SCHEDULE_HINT,
    format_duration,
    parse_duration,
    parse_schedule,
    parse_timezone,
)

# --- kinds of value: one parser (raw TOML -> typed) and one dumper (typed -> raw) each -------


@dataclass(frozen=True)
class _Kind:
    parse: Callable[[object], Any]
    dump: Callable[[Any], object] = lambda value: value


def _require(raw: object, types: type | tuple[type, ...], expected: str) -> None:
    # bool is an int subclass: `true` must never pass for a number.
    if isinstance(raw, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ValueError(expected)
    if not isinstance(raw, types):
        raise ValueError(expected)


def _text(*, check: Callable[[str], str] | None = None, hint: str = "a string") -> _Kind:
    def parse(raw: object) -> str:
        _require(raw, str, f"expected {hint} (in quotes)")
        assert isinstance(raw, str)
        return check(raw) if check else raw

    return _Kind(parse)


def _flag() -> _Kind:
    def parse(raw: object) -> bool:
        _require(raw, bool, "expected true or false (without quotes)")
        return bool(raw)

    return _Kind(parse)


def _integer(low: int, high: int | None = None) -> _Kind:
    expected = f"expected a whole number from {low} to {high}"
    if high is None:
        expected = f"expected a whole number of at least {low}"

    def parse(raw: object) -> int:
        _require(raw, int, expected)
        assert isinstance(raw, int)
        if raw < low or (high is not None and raw > high):
            raise ValueError(expected)
        return raw

    return _Kind(parse)


def _number(low: float, *, above: bool = False, high: float | None = None) -> _Kind:
    expected = f"expected a number {'above' if above else 'of at least'} {low:g}"
    if high is not None:
        expected += f" and at most {high:g}"

    def parse(raw: object) -> float:
        _require(raw, (int, float), expected)
        assert isinstance(raw, int | float)
        try:
            value = float(raw)
        except OverflowError:  # an int beyond a float's range
            raise ValueError(expected) from None
        if not math.isfinite(value) or value < low or (above and value == low):
            raise ValueError(expected)
        if high is not None and value > high:
            raise ValueError(expected)
        return value

    return _Kind(parse)


def _choice(*options: str, fold_case: bool = False) -> _Kind:
    expected = "expected one of " + ", ".join(f'"{option}"' for option in options)

    def parse(raw: object) -> str:
        _require(raw, str, expected)
        assert isinstance(raw, str)
        value = raw.upper() if fold_case else raw
        if value not in options:
            raise ValueError(expected)
        return value

    return _Kind(parse)


def _optional_id() -> _Kind:
    """A Discord id, where 0 (TOML has no null) means none."""
    snowflake = _snowflake()

    def parse(raw: object) -> int | None:
        # type() rather than isinstance: False and 0.0 are not a way to say "none".
        return None if (type(raw) is int and raw == 0) or raw == "" else snowflake.parse(raw)

    return _Kind(parse, lambda value: 0 if value is None else value)


def _snowflake() -> _Kind:
    expected = "expected a Discord id (a whole number, copied with Developer Mode on)"

    def parse(raw: object) -> int:
        if isinstance(raw, str) and is_id(raw.strip()):
            raw = int(raw)
        _require(raw, int, expected)
        if not is_id(raw):
            raise ValueError(expected)
        assert isinstance(raw, int)
        return raw

    return _Kind(parse)


def _name_or_id(what: str, prefix: str) -> _Kind:
    expected = f"expected a {what} name (in quotes) or id (a whole number)"

    def parse(raw: object) -> str | int:
        if isinstance(raw, str) and raw.strip().isdecimal():
            if not is_id(raw.strip()):  # all digits, yet no Discord id (too long, or 0)
                raise ValueError(expected)
            raw = int(raw)
        _require(raw, (str, int), expected)
        if isinstance(raw, int):
            if not is_id(raw):
                raise ValueError(expected)
            return raw
        assert isinstance(raw, str)
        name = raw.strip().removeprefix(prefix)
        if not name:
            raise ValueError(expected)
        return name

    return _Kind(parse)


def _list_of(item: _Kind, what: str, *, empty_is_none: bool = False) -> _Kind:
    expected = f"expected a list of {what}"

    def parse(raw: object) -> tuple[Any, ...] | None:
        _require(raw, list, expected)
        assert isinstance(raw, list)
        values: list[Any] = []
        for entry in raw:
            try:
                value = item.parse(entry)
            except ValueError as exc:
                raise ValueError(f"{expected}; {_toml(entry)} is not one ({exc})") from None
            if value not in values:
                values.append(value)
        return None if empty_is_none and not values else tuple(values)

    return _Kind(parse, lambda value: [item.dump(v) for v in value or ()])


def _optional_count(high: int) -> _Kind:
    """A count from 1 to `high`, where 0 means none (let the library decide)."""
    count = _integer(0, high)

    def parse(raw: object) -> int | None:
        return count.parse(raw) or None

    return _Kind(parse, lambda value: value or 0)


def _url(*schemes: str, allow_empty: bool = False) -> Callable[[str], str]:
    expected = "expected a URL starting with " + " or ".join(f"{s}://" for s in schemes)
    if allow_empty:
        expected += ', or "" for none'

    def check(text: str) -> str:
        text = text.strip()
        if not text and allow_empty:
            return ""
        try:
            parts = urlsplit(text)
        except ValueError:  # e.g. an unclosed "[" in the host
            raise ValueError(expected) from None
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(expected)
        return text.rstrip("/")

    return check


def _from_text(parse: Callable[[str], Any], expected: str, dump: Callable[[Any], object]) -> _Kind:
    """A kind read from a string by a timeparse parser, whose ValueError already explains."""

    def parse_raw(raw: object) -> Any:
        _require(raw, str, expected)
        assert isinstance(raw, str)
        return parse(raw)

    return _Kind(parse_raw, dump)


NAME_MAX = 255  # bytes in one path component (Linux, macOS, Windows alike)
PATH_MAX = 4096


def _path(text: str) -> Path:
    """A file path that can be a file: no NUL, not a directory, not too long, under a directory."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("expected a file path")
    if "\x00" in cleaned:
        raise ValueError("expected a file path without NUL characters")
    path = Path(cleaned)
    encoded = [part.encode("utf-8", "surrogateescape") for part in path.parts]
    if len(cleaned.encode("utf-8", "surrogateescape")) > PATH_MAX or any(
        len(part) > NAME_MAX for part in encoded
    ):
        raise ValueError(f"expected a shorter path (at most {NAME_MAX} bytes per name)")
    if cleaned.endswith(("/", "\\")) or path.is_dir():
        raise ValueError("expected a file path, not a directory (e.g. data/rapport.json)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"expected a file path, but {parent} is a file, not a directory")
            break
    return path


def _timezone_name(text: str) -> str:
    parse_timezone(text)
    return text.strip()


_HOUR = _integer(0, 23)


def _digest_hour(raw: object) -> int | None:
    if isinstance(raw, str) and raw.strip().lower() == "any":
        return None
    try:
        hour: int = _HOUR.parse(raw)
        return hour
    except ValueError:
        raise ValueError('expected an hour from 0 to 23, or "any"') from None


_DURATION = _from_text(parse_duration, DURATION_HINT, format_duration)
_SCHEDULE = _from_text(parse_schedule, SCHEDULE_HINT, str)
_CHANNEL = _name_or_id("channel", "#")
MAX_WEIGHT = 1000.0
_WEIGHT = _number(0, high=MAX_WEIGHT)


def _toml(value: object) -> str:
    """A raw value written as TOML would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
