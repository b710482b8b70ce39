"""RapportBot: the discord.py client built with the core's services, and its command tree."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from cogs import _l10n
from cogs._digest import click_reply, snoozed_reply
from cogs._errors import answer_error
from cogs._once import trace_config
from cogs._respond import DMS_CLOSED_NOTE, reply_private
from rapport import i18n
from rapport.compose import Services
from rapport.errors import StartupConfigError, StoreError
from rapport.i18n import N_
from rapport.ids import is_id
from rapport.runtime import SNOOZE, owns

log = logging.getLogger(__name__)

COGS_DIR = Path(cogs.__file__).parent
SYNC_TABLE = "bot_meta"
SYNC_GUILD = 0
# Option types whose value is an id: user, channel, role, mentionable, attachment.
ID_OPTIONS = (6, 7, 8, 9, 11)
FORGED_ID = N_("That request carries an id Discord never issues, so I can't use it.")
DMS_CLOSED = N_(
    "I couldn't deliver your last digest: your DMs from this server are closed. Open DMs from "
    "server members (Server menu → Privacy Settings → Direct Messages), then run {join}."
)


def intents_for(message_content: bool, members: bool) -> discord.Intents:
    """The gateway intents Rapport needs; the two privileged ones follow the config."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = members
    intents.presences = False
    return intents


def extension_names() -> list[str]:
    """Every cog module under cogs/ (helpers start with an underscore and are skipped)."""
    return sorted(
        f"cogs.{m.name}"
        for m in pkgutil.iter_modules([str(COGS_DIR)])
        if not m.name.startswith("_")
    )


class RapportTree(app_commands.CommandTree):
    """The one place app-command errors become a clear, private answer."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse politely a command from a guild this bot does not know, or with a forged id."""
        if not ids_are_valid(interaction.data):
            log.warning("refused a command with an id outside Discord's range")
            if interaction.type is discord.InteractionType.application_command:
                t = _l10n.for_interaction(interaction)
                await reply_private(interaction, t.gettext(FORGED_ID))
            return False
        # discord.py fills interaction.guild with a placeholder for unknown guilds: ask the cache.
        if (
            interaction.guild_id is not None
            and interaction.client.get_guild(interaction.guild_id) is None
        ):
            t = _l10n.for_interaction(interaction)
            await reply_private(
                interaction,
                t.gettext(
                    N_("I don't have this server's data yet — ask an admin to re-invite Rapport.")
                ),
            )
            return False
        if interaction.guild_id is not None:
            # DMs (digests, reminders) follow the language of the member's latest command.
            members = interaction.client.services.members  # type: ignore[attr-defined]
            await members.seen_locale(
                interaction.guild_id, interaction.user.id, interaction.locale.value
            )
            command = interaction.command.qualified_name if interaction.command else ""
            # /rapport join says it in its own answer (and reopens delivery).
            if command != "rapport join" and await members.tell_dms_closed(
                interaction.guild_id, interaction.user.id
            ):
                t = _l10n.for_interaction(interaction, members)
                interaction.extras[DMS_CLOSED_NOTE] = t.gettext(
                    DMS_CLOSED, join=_l10n.command(t, "rapport join")
                )
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Turn any failure into a private message; log what is not the user's doing."""
        services = getattr(interaction.client, "services", None)
        command = interaction.command.qualified_name if interaction.command else "?"
        await answer_error(
            interaction,
            error,
            what=f"command {command}",
            members=services.members if services else None,
        )


def ids_are_valid(data: Any) -> bool:
    """Whether every id an app command carries (options, target, resolved data) is a real one."""
    if not isinstance(data, dict):
        return True
    if "target_id" in data and not is_id(data["target_id"]):
        return False
    for kind in (data.get("resolved") or {}).values():
        if isinstance(kind, dict) and not all(is_id(key) for key in kind):
            return False
    stack = list(data.get("options") or [])
    while stack:
        option = stack.pop()
        if not isinstance(option, dict):
            return False
        stack.extend(option.get("options") or [])
        is_ref = option.get("type") in ID_OPTIONS and not option.get("focused")
        if is_ref and not is_id(option.get("value")):
            return False
    return True


class SyncListeners:
    """Run CPU-only listeners inline on dispatch, not as one asyncio task per event each.

    discord.py wraps every listener of every event in a task (a few µs each, on every message);
    tracking is synchronous bookkeeping, so it runs inline, before the async listeners.
    """

    def add_sync_listener(self, event: str, func: Callable[..., None]) -> None:
        """Call `func(*args)` synchronously whenever `event` is dispatched."""
        listeners: dict[str, list[Callable[..., None]]] = self.__dict__.setdefault(
            "_sync_listeners", {}
        )
        listeners.setdefault(event, []).append(func)

    def remove_sync_listener(self, event: str, func: Callable[..., None]) -> None:
        """Stop calling `func` for `event`."""
        listeners = self.__dict__.get("_sync_listeners", {}).get(event, [])
        if func in listeners:
            listeners.remove(func)

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """Inline listeners first (errors logged, never raised into the gateway), then the rest."""
        for func in self.__dict__.get("_sync_listeners", {}).get(event_name, ()):
            try:
                func(*args, **kwargs)
            except Exception:
                log.exception("inline listener %s for %s failed", func.__qualname__, event_name)
        super().dispatch(event_name, *args, **kwargs)  # type: ignore[misc]


class RapportBot(SyncListeners, commands.AutoShardedBot):
    """The bot, built with the core's services (see discord.py's advanced_startup example)."""

    def __init__(self, services: Services, **options: Any) -> None:
        """`options` go to discord.py (tests shorten guild_ready_timeout, for example)."""
        settings = services.settings
        self.services = services
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents_for(settings.discord.message_content, settings.discord.members_intent),
            tree_cls=RapportTree,
            help_command=None,
            owner_ids=set(settings.discord.owner_ids) or None,
            shard_count=settings.discord.shard_count,
            shard_ids=list(settings.discord.shard_ids) if settings.discord.shard_ids else None,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=1000,
            http_trace=options.pop("http_trace", None) or trace_config(),
            **options,
        )
        self.commands_synced: bool | None = None

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: object
    ) -> None:
        """A command whose answer did not go through reply_private still carries the DMs note."""
        note = interaction.extras.pop(DMS_CLOSED_NOTE, None)
        if note:
            await reply_private(interaction, note)

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process's shards carry the guild (always, without a shard config)."""
        cfg = self.services.settings.discord
        return owns(guild_id, cfg.shard_ids, cfg.shard_count)

    async def relay_click(
        self,
        interaction: discord.Interaction,
        action: str,
        guild_id: int,
        digest_id: str,
        other_id: int = 0,
    ) -> bool:
        """Pass a digest click for a guild another process owns on to it; True when passed.

        DM clicks all arrive at the shard 0 process, but only the guild's owner holds (and
        writes) its state: it applies the click within RELAY_EVERY (rapport/runtime/cluster.py).
        """
        relay = self.services.relay
        if relay is None or self.owns_guild(guild_id):
            return False
        await relay.forward(
            str(interaction.id), guild_id, interaction.user.id, action, digest_id, other_id
        )
        t = i18n.translator(
            i18n.resolve(
                self.services.members.get(guild_id, interaction.user.id).language,
                interaction=interaction.locale.value,
            )
        )
        if action == "snooze":
            text = snoozed_reply(self.services.clock() + SNOOZE, t)
        else:
            # The guild isn't cached in this process, so "not about" can't name the person.
            text = click_reply("notabout_unnamed" if action == "notabout" else action, t)
        await reply_private(interaction, text)
        return True

    def runs_shard_zero(self) -> bool:
        """Whether this process runs shard 0 (DMs and their button clicks arrive there)."""
        ids = self.services.settings.discord.shard_ids
        return not ids or 0 in ids

    async def setup_hook(self) -> None:
        """Load stored guilds, every cog, start flushing and scheduling, sync commands if changed.

        Stored guilds load before the gateway connects, so no event lands in an empty guild.
        """
        for guild_id in sorted(await self.services.store.guild_ids()):
            if guild_id != SYNC_GUILD and self.owns_guild(guild_id):
                await self.services.open_guild(guild_id)
        # The loaded state lives as long as the process: keep the collector from rescanning it
        # (a full collection over millions of objects stalls the event loop). Not collected
        # first: that one full collection was itself a stall (~0.4 s of CPU at a million pairs),
        # and loading leaves next to no cyclic garbage to keep.
        gc.freeze()
        for name in extension_names():
            await self.load_extension(name)
        await self.tree.set_translator(_l10n.CatalogTranslator())
        self.services.flusher.start()
        self.services.scheduler.start()
        await self.sync_commands_if_changed()

    def command_payload(self) -> list[dict]:
        """The command definitions Discord would receive, for the change-detection hash."""
        return [cmd.to_dict(self.tree) for cmd in self.tree.get_commands()]

    def _sync_target(self) -> discord.Object | None:
        guild_id = self.services.settings.discord.dev_guild_id
        if self.services.settings.discord.sync_commands == "guild" and guild_id:
            return discord.Object(id=guild_id)
        return None

    async def sync_commands(self) -> int:
        """Sync now to the configured target (global, or the dev guild); returns the count."""
        target = self._sync_target()
        if target is not None:
            self.tree.copy_global_to(guild=target)
        try:
            synced = await self.tree.sync(guild=target)
        except (discord.Forbidden, discord.NotFound) as exc:
            if target is None:
                raise
            raise StartupConfigError(
                f"discord.dev_guild_id = {target.id}: Discord refused to sync commands to that "
                f"guild ({exc.status}: {exc.text}). Invite the bot there (with the "
                "applications.commands scope), or set the id of a guild it is in."
            ) from None
        store = self.services.store
        store.put(SYNC_TABLE, SYNC_GUILD, "commands", {"hash": self._command_hash()})
        await self.services.flusher.flush()
        log.info("synced %d commands to %s", len(synced), target.id if target else "every guild")
        return len(synced)

    def _command_hash(self) -> str:
        target = self._sync_target()
        blob = json.dumps(
            {
                # Commands belong to an application: a store reused with another one syncs.
                "application": self.application_id,
                "target": target.id if target else None,
                "commands": self.command_payload(),
                # Localisations are synced too: a changed catalog is a changed tree.
                "catalogs": i18n.fingerprint(),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    async def sync_commands_if_changed(self) -> None:
        """Sync only when the tree differs from the last sync (Discord caps creates per day)."""
        mode = self.services.settings.discord.sync_commands
        if mode == "off":
            self.commands_synced = False
            return
        if not self.runs_shard_zero():
            # Commands are per application, not per shard: one process of a cluster syncs.
            log.info("not syncing application commands: the shard 0 process does")
            self.commands_synced = False
            return
        stored = await self.services.store.load(SYNC_TABLE, SYNC_GUILD)
        if stored.get("commands", {}).get("hash") == self._command_hash():
            log.info("application commands unchanged since the last sync; not syncing")
            self.commands_synced = False
            return
        await self.sync_commands()
        self.commands_synced = True

    async def close(self) -> None:
        """Stop the scheduler, flush the store, then close the connection."""
        self.services.scheduler.shutdown()
        try:
            await self.services.flusher.stop()
        except (OSError, StoreError) as exc:  # disk full, say: one line, no traceback
            log.error("the final flush failed (%s); the store holds the last completed one", exc)
        except Exception:
            log.exception("the final flush failed; the store holds the last completed flush")
        await super().close()
