"""Rapport in the member's language: message catalogs, locale choice, durations and dates.

Every user-facing string is an English message id looked up in a gettext catalog
(rapport/locales/<lang>/LC_MESSAGES/rapport.po). The .po files are the only committed form: each
is compiled in memory the first time its language is asked for (Babel reads it, gettext uses it),
so there is no .mo to forget to rebuild. Durations, dates and numbers come from Babel's CLDR
data for the same language, never from string concatenation.

Which language: the member's override (`/rapport settings language`), else the interaction's
locale for answers, else the member's last seen interaction locale for DMs, else the server's
preferred locale; English when none of them is shipped. Nothing here imports discord.
"""

from __future__ import annotations

import gettext
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel import Locale, UnknownLocaleError
from babel.dates import (
    TIMEDELTA_UNITS,
    format_date,
    format_interval,
    format_skeleton,
    format_timedelta,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

DOMAIN = "rapport"
LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT = "en"
AUTO = "auto"
# The languages shipped, as catalog names (the folder under locales/), in the order offered.
SHIPPED = ("en", "de", "fr", "es", "pt_BR", "ja")
# Extra catalogs registered at run time (tests register a pseudo-locale).
_REGISTERED: dict[str, gettext.NullTranslations] = {}


def N_(message: str) -> str:
    """Mark a message for extraction without translating it (it is translated where shown)."""
    return message


def catalog_path(lang: str) -> Path:
    """Where a language's .po file lives."""
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def shipped() -> tuple[str, ...]:
    """The catalog names members can choose, English first."""
    return (*SHIPPED, *(k for k in _REGISTERED if k not in SHIPPED))


def match(locale: str | None) -> str | None:
    """The shipped catalog for a Discord or POSIX locale ("de", "pt-BR", "es-419"), or None."""
    if not locale:
        return None
    code = str(locale).replace("-", "_")
    langs = shipped()
    if code in langs:
        return code
    lowered = {lang.lower(): lang for lang in langs}
    if code.lower() in lowered:
        return lowered[code.lower()]
    base = code.split("_")[0].lower()
    return lowered.get(base) or next((lang for lang in langs if lang.split("_")[0] == base), None)


def resolve(
    override: str | None = None,
    interaction: str | None = None,
    last_seen: str | None = None,
    guild: str | None = None,
) -> str:
    """The catalog to use: the first of these that is shipped, else English.

    Answers pass the interaction's locale; DMs pass the member's last seen one; posts pass
    only the guild's preferred locale.
    """
    if override and override != AUTO:
        found = match(override)
        if found:
            return found
    for candidate in (interaction, last_seen, guild):
        found = match(candidate)
        if found:
            return found
    return DEFAULT


@cache
def _compiled(lang: str) -> gettext.NullTranslations:
    """A language's catalog compiled from its .po in memory (English when it has none)."""
    path = catalog_path(lang)
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def register(lang: str, translations: gettext.NullTranslations) -> None:
    """Add (or replace) a catalog at run time, e.g. a pseudo-locale in tests."""
    _REGISTERED[lang] = translations
    translator.cache_clear()


def unregister(lang: str) -> None:
    """Remove a catalog added with register()."""
    _REGISTERED.pop(lang, None)
    translator.cache_clear()


def fingerprint() -> str:
    """A hash of every shipped catalog, so a changed translation re-syncs the commands."""
    h = hashlib.sha256()
    for lang in SHIPPED:
        path = catalog_path(lang)
        if path.exists():
            h.update(lang.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


# Translation has a method named `date`: inside the class, annotations see it, not the type.
_Date = date
_Day = date | datetime


@dataclass(frozen=True, slots=True)
class Translation:
    """Messages, durations, dates and numbers in one language."""

    lang: str
    catalog: gettext.NullTranslations
    babel: str

    # --- messages ------------------------------------------------------------------------------

    def gettext(self, message: str, /, **params: Any) -> str:
        """The message in this language, with `{name}` placeholders filled from params."""
        text = self.catalog.gettext(message)
        return text.format(**params) if params else text

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """The plural form for n (params may use `{n}`), filled like gettext()."""
        text = self.catalog.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **params)

    def pgettext(self, context: str, message: str, /) -> str:
        """A message with a context (command names, button labels that need one)."""
        return self.catalog.pgettext(context, message)

    # --- durations, dates, numbers ------------------------------------------------------------

    def duration(self, delta: timedelta, *, approximate: bool = False) -> str:
        """'3 weeks', '5 days', '2 hours' in this language ('~' marks an approximate one)."""
        delta = _positive(delta)
        text = format_timedelta(
            delta, granularity=_unit(delta), threshold=_EXACT, locale=self.babel
        )
        return self.gettext(N_("~{duration}"), duration=text) if approximate else text

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """ngettext() for a message with a context (the same English words used another way)."""
        text = self.catalog.npgettext(context, singular, plural, n)
        return text.format(n=self.number(n), **params)

    def duration_since(self, delta: timedelta) -> str:
        """duration()'s words in the form that says how long something has lasted until now:
        the same in most languages, but German needs the dative ("seit 8 Tagen", never
        "seit 8 Tage"), which Babel does not give, so the catalogs carry it per unit."""
        delta = _positive(delta)
        unit = _unit(delta)
        n = max(1, round(delta.total_seconds() / _SECONDS[unit]))
        if unit == "year":
            return self.npgettext("since", "{n} year", "{n} years", n)
        if unit == "month":
            return self.npgettext("since", "{n} month", "{n} months", n)
        if unit == "week":
            return self.npgettext("since", "{n} week", "{n} weeks", n)
        if unit == "day":
            return self.npgettext("since", "{n} day", "{n} days", n)
        if unit == "hour":
            return self.npgettext("since", "{n} hour", "{n} hours", n)
        if unit == "minute":
            return self.npgettext("since", "{n} minute", "{n} minutes", n)
        return self.npgettext("since", "{n} second", "{n} seconds", n)

    def ago(self, delta: timedelta) -> str:
        """'2 days ago', 'vor 2 Tagen', '2 日前' (the same units as duration())."""
        delta = _positive(delta)
        return format_timedelta(
            -delta,
            granularity=_unit(delta),
            threshold=_EXACT,
            add_direction=True,
            locale=self.babel,
        )

    def date(self, day: date | datetime, skeleton: str = "yMMMd") -> str:
        """A date as the language writes it (CLDR skeleton, e.g. "yMMMM" for a month)."""
        return format_skeleton(skeleton, day, locale=self.babel)

    def long_date(self, day: _Day) -> str:
        """A full date ("November 29, 2026", "29. November 2026")."""
        return format_date(day, format="long", locale=self.babel)

    def date_range(self, start: _Date, end: _Date) -> str:
        """A span of days ("Nov 23 – 29", "23.–29. Nov.")."""
        return format_interval(start, end, "MMMd", locale=self.babel)

    def number(self, value: float, decimals: int = 0) -> str:
        """A number with this language's separators."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.babel)

    def percent(self, share: float) -> str:
        """A share as a percentage ("42 %" in German)."""
        return format_percent(share, locale=self.babel)

    def join(self, items: list[str]) -> str:
        """A list as the language joins it ("a, b and c")."""
        from babel.lists import format_list

        return format_list(items, locale=self.babel) if items else ""

    def display_name(self) -> str:
        """The language's own name for itself ("Deutsch", "日本語")."""
        return language_name(self.lang)


def _positive(delta: timedelta) -> timedelta:
    return max(delta, timedelta(0))


# Babel picks the largest unit above its threshold; Rapport picks the unit itself (hours up to
# two days, days up to two weeks, weeks up to two months) and lets Babel word it.
_EXACT = 1e12
_SECONDS = dict(TIMEDELTA_UNITS)
_Unit = Literal["year", "month", "week", "day", "hour", "minute", "second"]


def _unit(delta: timedelta) -> _Unit:
    # Thresholds on the rounded value: 13.8 days is "2 weeks" like 14 days, never "14 days".
    seconds = delta.total_seconds()
    days = seconds / 86400
    if round(seconds) < 60:
        return "second"
    if round(seconds / 60) < 60:
        return "minute"
    if days < 2:
        return "day" if seconds >= 86400 - 1800 else "hour"
    if round(days) < 14:
        return "day"
    if days < 60:
        return "week"
    if days < 730:
        return "month"
    return "year"


def language_name(lang: str) -> str:
    """A catalog's language in its own words ("Deutsch", "Português (Brasil)")."""
    try:
        loc = Locale.parse(lang)
    except (ValueError, TypeError, UnknownLocaleError):
        return lang
    name = loc.get_display_name(loc) or lang
    return name[:1].upper() + name[1:]


def _babel_locale(lang: str) -> str:
    try:
        Locale.parse(lang)
    except (ValueError, TypeError, UnknownLocaleError):
        return DEFAULT
    return lang


@cache
def translator(locale: str | None = None) -> Translation:
    """The Translation for a locale (resolved to a shipped catalog; English otherwise)."""
    lang = match(locale) or DEFAULT
    catalog = _REGISTERED.get(lang) or _compiled(lang)
    return Translation(lang, catalog, _babel_locale(lang))


ENGLISH = translator(DEFAULT)

__all__ = [
    "AUTO",
    "DEFAULT",
    "ENGLISH",
    "N_",
    "SHIPPED",
    "Translation",
    "catalog_path",
    "fingerprint",
    "language_name",
    "match",
    "register",
    "resolve",
    "shipped",
    "translator",
    "unregister",
]
