"""Every user-facing string goes through the catalogs, and every catalog has all of them.

Two nets: extraction (the code's marked strings and the command tree's) must find nothing a
shipped catalog lacks or leaves untranslated; and the main answers rendered in a pseudo-locale,
whose every message is rewritten in look-alike letters, must show no raw English word, so a
string that skips the catalogs shows up.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import discord
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from discord import app_commands

from cogs import _digest, _embeds, _leaderboard_render
from cogs._errors import error_message
from cogs._l10n import valid_name
from rapport import i18n
from rapport.errors import UserFacingError
from rapport.leaderboard.card import render_card
from rapport.leaderboard.scoring import build_board
from rapport.nudges import rules
from rapport.people.members import _validate
from rapport.settings.config import LeaderboardWeights
from rapport.tracking.model import Kind, PeriodStats
from tests.unit.test_nudges_rules import ANA, BOB, NOW, item, pair, prefs
from tools import messages

PSEUDO = "qps"
# Look-alike letters: the text stays readable to a person, and no English word survives.
_LOOKALIKE = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥîĵķĺɱñöþʠŕšţûṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)
_KEEP = re.compile(r"(\{[a-z_]*\}|\*\*|__|`|\[|\]|\(|\)|\\n|https?://\S+)")


def pseudo(text: str) -> str:
    """The text in look-alike letters, placeholders and markup left as they are."""
    return "".join(
        part if _KEEP.fullmatch(part) else part.translate(_LOOKALIKE) for part in _KEEP.split(text)
    )


@pytest.fixture(scope="module")
def template() -> Catalog:
    """The catalog template, extracted from the code and the command tree now."""
    return messages.template()


@pytest.fixture
def t(template: Catalog) -> Iterator[i18n.Translation]:
    """The pseudo-locale, registered for the test."""
    catalog = Catalog(locale="en", domain=i18n.DOMAIN)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            string: str | tuple[str, ...] = tuple(pseudo(m) for m in message.id)
        elif message.context in ("command name", "option name"):
            string = pseudo(message.id).lower()
        else:
            string = pseudo(message.id)
        catalog.add(message.id, string, context=message.context)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    i18n.register(PSEUDO, gettext.GNUTranslations(buf))
    # Durations and dates come from Babel's data: Japanese ones hold no ASCII word to mistake.
    yield i18n.Translation(PSEUDO, i18n.translator(PSEUDO).catalog, "ja")
    i18n.unregister(PSEUDO)


# Words an answer may show in English whatever the language: names, ids and values the member
# typed or chose (time zones, kinds as typed), and Discord's own markup.
ALLOWED = {"Ana", "Bob", "Sam", "UTC", "Rapport", "rapport", "admin", "jump", "https", "discord",
           "com", "channels", "Europe", "Paris", "JSON", "Design", "soon", "True", "Mars",
           "Base", "qps", "nope", "drifting", "unanswered", "thanks", "share", "welcome"}  # fmt: skip


def spaced(text: str) -> str:
    """The text with CLDR's no-break and thin spaces as plain ones (for comparing)."""
    return re.sub(r"\s", " ", text)


def english_words(text: str) -> list[str]:
    """Runs of three or more plain ASCII letters that are not allowed values."""
    text = re.sub(r"https?://\S+|<[^>]*>|\{[a-z_]*\}", " ", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ALLOWED]


def embed_text(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    for field in embed.fields:
        parts += [field.name or "", field.value or ""]
    return "\n".join(parts)


def view_text(view: discord.ui.View | None) -> str:
    parts: list[str] = []
    for child in view.children if view else []:
        if isinstance(child, discord.ui.Button):
            parts.append(child.label or "")
        if isinstance(child, discord.ui.Select):
            parts.append(child.placeholder or "")
            parts += [o.label for o in child.options]
    return "\n".join(parts)


def test_every_message_is_in_every_catalog_and_translated(template: Catalog) -> None:
    """Extraction finds no message id a shipped catalog lacks or leaves untranslated."""
    assert len(template) > 300
    how = "run `python tools/messages.py extract`, translate, then `check` (README: Languages)"
    for lang in i18n.SHIPPED:
        catalog = messages._read(i18n.catalog_path(lang), lang)
        assert messages.missing(template, catalog) == [], f"{lang}: {how}"
        if lang != i18n.DEFAULT:
            assert messages.untranslated(catalog) == [], f"{lang}: {how}"


def test_translations_keep_their_placeholders() -> None:
    """A translation fills the same {placeholders} as its English id (else .format breaks)."""
    field = re.compile(r"\{[a-z_]*\}")
    for lang in i18n.SHIPPED:
        for message in messages._read(i18n.catalog_path(lang), lang):
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not message.id or not any(strings):
                continue
            wanted = set(field.findall(ids[-1])) - {"{n}"}
            for string in strings:
                assert wanted <= set(field.findall(string)), (lang, ids[0], string)
                assert set(field.findall(string)) <= set(field.findall(ids[-1])), (lang, string)


def test_localised_command_names_follow_discords_rules() -> None:
    """Every localised slash-command and option name is lowercase, spaceless, at most 32 long."""
    for lang in i18n.SHIPPED:
        for message in messages._read(i18n.catalog_path(lang), lang):
            if message.context in ("command name", "option name") and message.string:
                assert valid_name(message.string), (lang, message.string)


def test_status_settings_and_help_show_no_raw_english(t: i18n.Translation) -> None:
    """The member answers rendered in the pseudo-locale keep no English word."""
    names = {ANA: "Ana", BOB: "Bob"}.get
    picture = _embeds.Picture(
        drifting=[pair(BOB)],
        pending=[item(BOB), item(BOB, kind=Kind.MENTION), item(BOB, kind=Kind.THREAD)],
        strongest=[pair(BOB)],
        position=(2, 9),
        on_leaderboard=True,
        outcomes={"sent": 3, "acted_on": 1},
    )
    texts = [embed_text(e) for e in _embeds.status_pages(picture, names, t)]
    hidden = _embeds.Picture((), (), (), None, False, None)
    texts += [embed_text(e) for e in _embeds.status_pages(hidden, names, t)]
    me = prefs(snoozed_until=NOW + timedelta(days=2), muted=frozenset({BOB}))
    texts.append(embed_text(_embeds.settings_embed(me, NOW, changed=True, t=t)))
    texts.append(embed_text(_embeds.welcome_embed(me, NOW, None, dms_closed=True, t=t)))
    available = {n for n, _ in _embeds.MEMBER_COMMANDS + _embeds.ADMIN_COMMANDS}
    available |= {n for n, _ in _embeds.MENUS}
    texts.append(embed_text(_embeds.help_embed({}, available, admin=True, t=t)))
    texts += [_embeds.forget_warning(t), _embeds.forgotten(t), _embeds.privacy_short(t)]
    for text in texts:
        assert english_words(text) == [], text


def test_the_digest_and_its_buttons_show_no_raw_english(t: i18n.Translation) -> None:
    """Every kind of digest line, the embed and every button and select are translated."""
    at = NOW - timedelta(days=2)
    items = tuple(
        rules.Nudge(
            kind,
            ANA,
            BOB,
            f"{kind}:{detail}",
            at,
            url="https://discord.com/x",
            channel_id=5,
            usual_gap=timedelta(days=5),
            detail=detail,
        )
        for kind, detail in [
            (rules.DRIFTING, ""),
            (rules.UNANSWERED, "reply"),
            (rules.UNANSWERED, "mention"),
            (rules.UNANSWERED, "thread"),
            (rules.THANKS, ""),
            (rules.SHARE, ""),
            (rules.WELCOME, ""),
        ]
    )
    digest = rules.Digest(1, ANA, items, True, "abc123", NOW)
    embed, view = _digest.render(digest, "Design", {BOB: "Bob"}.get, lambda c: "#5", NOW, t)
    reminder = rules.Digest(1, ANA, (rules.Nudge(rules.REMINDER, ANA, BOB, "r", at),), False,
                            "def456", NOW)  # fmt: skip
    texts = [embed_text(embed), view_text(view), embed_text(_digest.render(reminder, "Design",
             {BOB: "Bob"}.get, lambda c: "#5", NOW, t)[0])]  # fmt: skip
    texts.append(view_text(_digest.remind_view(1, 2, 3, 4, t)))
    texts += [_digest.click_reply(a, t, name="Bob") for a in _digest.CLICK_REPLIES]
    texts.append(_digest.snoozed_reply(NOW, t))
    for text in texts:
        assert english_words(text) == [], text


def test_the_leaderboard_post_and_card_show_no_raw_english(t: i18n.Translation) -> None:
    """The board's embed (title, fields, formula) is translated, and the card draws with it."""
    stats = {ANA: PeriodStats(given=4, people=3, answered=2, inbound=2, thanks=1)}
    board = build_board(
        "2026-W47", stats, LeaderboardWeights(), previous={}, previous_key="2026-W46"
    )
    embed = _leaderboard_render.embed(board, {ANA: "Ana"}, top=10, so_far=True, t=t)
    assert english_words(embed_text(embed)) == []
    assert render_card(board, {ANA: "Ana"}, t=t).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "error",
    [
        app_commands.MissingPermissions(["manage_guild"]),
        app_commands.BotMissingPermissions(["send_messages", "embed_links"]),
        app_commands.NoPrivateMessage(),
        app_commands.CommandOnCooldown(app_commands.Cooldown(1, 60), 42.0),
        app_commands.CheckFailure(),
    ],
)
def test_command_errors_show_no_raw_english(
    t: i18n.Translation, error: app_commands.AppCommandError
) -> None:
    """Every explained command error is translated."""
    text = error_message(error, t)
    assert text
    assert english_words(text) == [], text


def test_core_refusals_are_translated(t: i18n.Translation) -> None:
    """A UserFacingError from the core reaches the member in their language."""
    for name, value in [("timezone", "Mars/Base"), ("digest_hour", 99), ("kinds", ["nope"])]:
        with pytest.raises(UserFacingError) as caught:
            _validate(name, value)
        assert english_words(caught.value.in_language(t)) == [], caught.value


@pytest.mark.parametrize(
    ("locale", "last_seen", "guild", "override", "expected"),
    [
        ("de", None, "fr", None, "de"),
        ("pt-BR", None, None, None, "pt_BR"),
        ("es-419", None, None, None, "es"),
        ("ko", None, "fr", None, "fr"),
        (None, "ja", "fr", None, "ja"),
        (None, None, "en-GB", None, "en"),
        ("de", None, None, "ja", "ja"),
        ("de", None, None, "auto", "de"),
        ("ko", "zh-CN", "ru", None, "en"),
    ],
)
def test_the_language_is_the_first_shipped_of_override_interaction_seen_server(
    locale: str | None, last_seen: str | None, guild: str | None, override: str | None,
    expected: str,
) -> None:  # fmt: skip
    """Override, then the interaction's locale, then the last seen one, then the server's."""
    assert i18n.resolve(override, interaction=locale, last_seen=last_seen, guild=guild) == expected


@pytest.mark.parametrize(
    ("lang", "delta", "words"),
    [
        ("en", timedelta(days=21, hours=4), "3 weeks"),
        ("de", timedelta(days=21, hours=4), "3 Wochen"),
        ("fr", timedelta(days=5), "5 jours"),
        ("ja", timedelta(days=5), "5 日"),
        ("pt_BR", timedelta(hours=5), "5 horas"),
        ("es", timedelta(days=90), "3 meses"),
    ],
)
def test_durations_come_from_the_languages_own_words(
    lang: str, delta: timedelta, words: str
) -> None:
    """Babel's locale data words a duration, never string concatenation."""
    assert spaced(i18n.translator(lang).duration(delta)) == words


def test_plural_forms_follow_the_language() -> None:
    """One member / two members, in each language's plural rules."""
    de = i18n.translator("de")
    assert "1 Mitglied" in de.ngettext("**Muted:** {n} member", "**Muted:** {n} members", 1)
    assert "2 Mitglieder" in de.ngettext("**Muted:** {n} member", "**Muted:** {n} members", 2)
    fr = i18n.translator("fr")
    assert "0 membre" in fr.ngettext("**Muted:** {n} member", "**Muted:** {n} members", 0)


@pytest.mark.parametrize(
    ("silent", "words"),
    [
        (timedelta(days=8), "Du hast seit 8 Tagen nicht mehr mit Sam gesprochen."),
        (timedelta(days=1), "Du hast seit 1 Tag nicht mehr mit Sam gesprochen."),
        (timedelta(weeks=3), "Du hast seit 3 Wochen nicht mehr mit Sam gesprochen."),
        (timedelta(days=70), "Du hast seit 2 Monaten nicht mehr mit Sam gesprochen."),
    ],
)
def test_a_german_silence_says_seit_with_the_dative(silent: timedelta, words: str) -> None:
    """German says how long a silence has lasted as "seit 8 Tagen", not "8 Tage lang"."""
    line = rules.Nudge(rules.DRIFTING, ANA, BOB, "d", NOW - silent)
    assert rules.describe(line, lambda _: "Sam", NOW, t=i18n.translator("de")) == words
    english = rules.describe(line, lambda _: "Sam", NOW)
    assert spaced(english).startswith("You haven't talked with Sam in ")


@pytest.mark.parametrize("lang", i18n.SHIPPED)
def test_thanks_counts_read_naturally_in_every_language(lang: str) -> None:
    """Once, several times by one person, once each by several, or a mix: never '1 time by 1
    person', and each case in the catalog's own words and plural forms."""
    from cogs._kudos_render import thanked_by

    t = i18n.translator(lang)
    cases = [thanked_by(1, 1, t), thanked_by(3, 1, t), thanked_by(2, 2, t), thanked_by(5, 3, t)]
    assert len(set(cases)) == 4, cases
    if lang == i18n.DEFAULT:
        assert [spaced(c) for c in cases] == [
            "thanked once",
            "thanked 3 times by one person",
            "thanked by 2 people",
            "thanked 5 times by 3 people",
        ]
    else:
        english = i18n.translator(i18n.DEFAULT)
        assert all(
            c != thanked_by(*n, english)
            for c, n in zip(cases, [(1, 1), (3, 1), (2, 2), (5, 3)], strict=True)
        )


def test_german_says_someone_was_thanked_with_gedankt() -> None:
    """Being thanked is "gedankt" in German: "bedankt" only goes with "sich" (who thanks)."""
    from cogs._kudos_render import thanked_by

    t = i18n.translator("de")
    cases = [thanked_by(1, 1, t), thanked_by(3, 1, t), thanked_by(2, 2, t), thanked_by(5, 3, t)]
    assert [spaced(c) for c in cases] == [
        "einmal gedankt",
        "von einer Person 3-mal gedankt",
        "von 2 Personen gedankt",
        "von 3 Personen 5-mal gedankt",
    ]


def test_week_ranges_and_months_read_as_each_language_writes_them() -> None:
    """A leaderboard period is worded with the language's own date formats."""
    from rapport.leaderboard.scoring import period_label

    assert spaced(period_label("2026-W48")) == "week 48 of 2026 (Nov 23 – 29)"
    assert period_label("2026-11", i18n.translator("de")) == "November 2026"
    assert period_label("2026-11", i18n.translator("ja")) == "2026年11月"
    assert datetime(2026, 1, 1, tzinfo=UTC)  # aware datetimes only


async def test_private_buttons_and_menus_show_no_raw_english(t: i18n.Translation) -> None:
    """Paging, forget confirmation and the keep-in-touch picker are labelled from the catalogs."""
    from cogs._views import CadencePicker, ConfirmForget, Pages

    async def noop(*_: object) -> str:
        return ""

    views = [
        Pages(ANA, [discord.Embed(), discord.Embed()], t=t),
        ConfirmForget(ANA, noop, t=t),
        CadencePicker(ANA, noop, t=t),
    ]
    for view in views:
        assert english_words(view_text(view)) == [], view_text(view)
    english = view_text(CadencePicker(ANA, noop))
    assert "Weekly" in english
