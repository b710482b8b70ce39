"""Keep Rapport's message catalogs in step with the code: extract, update, check.

    python tools/messages.py extract   # code + command strings -> rapport/locales/rapport.pot,
                                       # then every <lang>/LC_MESSAGES/rapport.po updated from it
    python tools/messages.py init xx   # start a catalog for a new language (then translate it)
    python tools/messages.py check     # every message translated in every catalog, each compiles

Messages come from two places: gettext calls in rapport/ and cogs/ (`t.gettext`, `t.ngettext`,
`t.pgettext`, `N_`), found by Babel's extractor; and the command tree (names, descriptions,
options, choices, menus), which the bot builds here without connecting, as Discord will see it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from rapport import i18n  # noqa: E402

SOURCES = ("rapport", "cogs")
POT = i18n.LOCALES_DIR / f"{i18n.DOMAIN}.pot"
KEYWORDS = {
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "N_": None,
    "_": None,
}


def code_messages() -> list[tuple[str | tuple[str, str], str | None, str, int]]:
    """(id or (singular, plural), context, file, line) for every marked string in the code."""
    out = []
    for source in SOURCES:
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / source,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
        ):
            out.append((message, context, f"{source}/{filename}", lineno))
    return out


async def _tree_strings() -> list[tuple[str, str]]:
    """The command tree's strings, from the real cogs loaded into an unconnected bot."""
    from cogs._bot import RapportBot, extension_names
    from cogs._l10n import command_strings
    from rapport.compose import build_services
    from rapport.settings.config import settings_from_mapping
    from rapport.store.memory import MemoryStore

    settings = settings_from_mapping({"discord": {"token": "x"}})
    services = build_services(settings, MemoryStore())
    client = RapportBot(services)  # never connected, so nothing to close
    for name in extension_names():
        await client.load_extension(name)
    return await command_strings(client.tree)


def command_messages() -> list[tuple[str, str]]:
    """(context, English) for every string the command tree sends Discord."""
    return asyncio.run(_tree_strings())


def template() -> Catalog:
    """The catalog template: every message id in the code and the command tree."""
    pot = new_catalog("en")
    pot.locale = None
    for message, context, filename, lineno in code_messages():
        pot.add(message, None, [(filename, lineno)], context=context)
    for context, message in command_messages():
        pot.add(message, None, [("commands", 0)], context=context)
    return pot


def new_catalog(lang: str) -> Catalog:
    """An empty catalog for a language, with Rapport's header."""
    return Catalog(
        locale=lang,
        domain=i18n.DOMAIN,
        project="Rapport",
        version="",
        copyright_holder="Rapport's contributors",
        fuzzy=False,
    )


def _read(path: Path, lang: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=i18n.DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    # File names without line numbers: an edit elsewhere in a file does not touch every catalog.
    write_po(
        buf,
        catalog,
        width=100,
        omit_header=False,
        ignore_obsolete=True,
        sort_by_file=False,
        include_lineno=False,
    )
    path.write_bytes(buf.getvalue())


def extract() -> None:
    """Write the template and bring every shipped catalog up to date with it."""
    pot = template()
    if POT.exists():
        # Keep the header's date unless the messages changed (no churn from a re-run).
        old = _read(POT, "en")
        if {m.id for m in old} == {m.id for m in pot}:
            pot.creation_date = old.creation_date
    _write(POT, pot)
    print(f"{len(pot)} messages -> {POT.relative_to(ROOT)}")
    for lang in i18n.SHIPPED:
        path = i18n.catalog_path(lang)
        catalog = _read(path, lang) if path.exists() else new_catalog(lang)
        catalog.update(pot, no_fuzzy_matching=True)
        _write(path, catalog)
        print(f"{lang}: {summary(catalog)}")


def init(lang: str) -> None:
    """Start the catalog of a new language from the template."""
    path = i18n.catalog_path(lang)
    if path.exists():
        raise SystemExit(f"{path} exists already")
    pot = _read(POT, "en")
    catalog = new_catalog(lang)
    catalog.update(pot, no_fuzzy_matching=True)
    _write(path, catalog)
    print(
        f"created {path.relative_to(ROOT)}; translate it, add {lang!r} to SHIPPED in rapport/i18n.py"
    )


def untranslated(catalog: Catalog) -> list[str]:
    """Message ids with no (or a fuzzy) translation."""
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def summary(catalog: Catalog) -> str:
    """ "312 messages, 0 untranslated"."""
    total = sum(1 for m in catalog if m.id)
    return f"{total} messages, {len(untranslated(catalog))} untranslated"


def missing(pot: Catalog, catalog: Catalog) -> list[str]:
    """Ids in the template that the catalog lacks."""
    return [
        m.id if isinstance(m.id, str) else m.id[0]
        for m in pot
        if m.id and catalog.get(m.id, context=m.context) is None
    ]


def check(langs: Iterable[str] = i18n.SHIPPED) -> int:
    """Every template id in every catalog, translated (English may leave them empty)."""
    pot = template()
    failures = 0
    for lang in langs:
        catalog = _read(i18n.catalog_path(lang), lang)
        write_mo(io.BytesIO(), catalog)  # compiles
        gone = missing(pot, catalog)
        todo = [] if lang == i18n.DEFAULT else untranslated(catalog)
        print(f"{lang}: {summary(catalog)}; {len(gone)} missing")
        for text in (gone + todo)[:20]:
            print(f"    {text!r}")
        failures += len(gone) + len(todo)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("extract")
    sub.add_parser("check")
    new = sub.add_parser("init")
    new.add_argument("lang")
    args = parser.parse_args(argv)
    if args.what == "extract":
        extract()
        return 0
    if args.what == "init":
        init(args.lang)
        return 0
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
