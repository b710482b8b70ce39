"""Discord's side of Rapport's languages: command localisations and each interaction's language.

`CatalogTranslator` is set on the command tree: every command, option, choice and menu string
(discord.py wraps them all in `locale_str`) is looked up in the same gettext catalogs as the
messages, with a context per kind of string, and synced as `name_localizations` /
`description_localizations`. A localised slash-command name that breaks Discord's rules
(lowercase, no spaces, at most 32 characters) is left out rather than failing the sync.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from rapport import i18n
from rapport.i18n import Translation
from rapport.people import MemberService

log = logging.getLogger(__name__)

# The msgctxt of each kind of command string in the catalogs.
CONTEXTS = {
    Where.command_name: "command name",
    Where.command_description: "command description",
    Where.group_name: "command name",
    Where.group_description: "command description",
    Where.parameter_name: "option name",
    Where.parameter_description: "option description",
    Where.choice_name: "choice",
    Where.other: "command",
}
MENU = "menu name"
NAME_RULE = re.compile(r"^[-_\w]{1,32}$")
NAMES = (Where.command_name, Where.group_name, Where.parameter_name)
# Discord's length limits: names 32 (menus too), descriptions and choice names 100.
LIMITS = {Where.command_name: 32, Where.group_name: 32, Where.parameter_name: 32}


def context_of(string: app_commands.locale_str, context: app_commands.TranslationContext) -> str:
    """The catalog context for a command string (context menus have names of their own kind)."""
    if context.location is Where.command_name and isinstance(
        context.data, app_commands.ContextMenu
    ):
        return MENU
    return CONTEXTS[context.location]


def valid_name(name: str) -> bool:
    """Whether a localised slash-command or option name satisfies Discord's rules."""
    return bool(NAME_RULE.fullmatch(name)) and name == name.lower()


class CatalogTranslator(app_commands.Translator):
    """Command localisations from the message catalogs (English is the default, not a locale)."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext,
    ) -> str | None:
        """The string in `locale`'s shipped catalog, or None to leave it to Discord's default."""
        lang = i18n.match(locale.value)
        if lang is None or lang == i18n.DEFAULT:
            return None
        ctx = context_of(string, context)
        # A word the language shares with English ("status") is synced as it is, too.
        text = i18n.translator(lang).pgettext(ctx, string.message)
        if context.location in NAMES and ctx != MENU and not valid_name(text):
            log.warning("%s name %r for %s breaks Discord's rules; not synced", lang, text, string)
            return None
        if len(text) > LIMITS.get(context.location, 100):
            log.warning("%s text %r is too long for Discord; not synced", lang, text)
            return None
        return text


async def command_strings(tree: app_commands.CommandTree) -> list[tuple[str, str]]:
    """Every (context, English string) the tree asks translators for, in tree order.

    tools/messages.py puts them into the catalogs.
    """
    found: dict[tuple[str, str], None] = {}

    class Recorder(app_commands.Translator):
        async def translate(
            self,
            string: app_commands.locale_str,
            locale: discord.Locale,
            context: app_commands.TranslationContext,
        ) -> str | None:
            found.setdefault((context_of(string, context), string.message), None)
            return None

    recorder = Recorder()
    for command in _all_commands(tree):
        await command.get_translated_payload(tree, recorder)
    return list(found)


def _all_commands(tree: app_commands.CommandTree) -> Iterable[Any]:
    yield from tree.get_commands()
    for kind in (discord.AppCommandType.user, discord.AppCommandType.message):
        yield from tree.get_commands(type=kind)


# --- each interaction's language -------------------------------------------------------------


def guild_locale(guild: discord.Guild | None) -> str | None:
    """The server's preferred locale (what posts in it use)."""
    return guild.preferred_locale.value if guild is not None else None


def for_guild(guild: discord.Guild | None) -> Translation:
    """The language of a public post in a server: its preferred locale."""
    return i18n.translator(i18n.resolve(guild=guild_locale(guild)))


def for_interaction(
    interaction: discord.Interaction, members: MemberService | None = None
) -> Translation:
    """The language of a private answer: the member's override, else their client's locale."""
    override = None
    if members is not None and interaction.guild_id is not None:
        override = members.get(interaction.guild_id, interaction.user.id).language
    return i18n.translator(
        i18n.resolve(
            override,
            interaction=interaction.locale.value,
            guild=interaction.guild_locale.value if interaction.guild_locale else None,
        )
    )


def for_member(
    members: MemberService, guild: discord.Guild | None, guild_id: int, member_id: int
) -> Translation:
    """The language of a DM: override, else the member's last seen locale, else the server's."""
    own = members.get(guild_id, member_id)
    return i18n.translator(
        i18n.resolve(own.language, last_seen=own.locale, guild=guild_locale(guild))
    )


def command(t: Translation, path: str) -> str:
    """A command as the member's client shows it ("/rapport vergessen"), in code style."""
    return f"`/{localised_path(t, path)}`"


def localised_path(t: Translation, path: str) -> str:
    """Each word of a command path in the member's language (where its catalog names it)."""
    parts = []
    for word in path.split():
        text = t.pgettext("command name", word)
        parts.append(text if valid_name(text) else word)
    return " ".join(parts)
