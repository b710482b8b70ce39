"""One error path for every interaction: app commands, buttons, selects and modals.

The command tree's `on_error`, `OwnedView.on_error` and the digest's persistent components all
answer through `answer_error`: a `UserFacingError` from the core becomes its text, check
failures and cooldowns a plain explanation, anything else is logged with its traceback and
the member gets a short apology, privately.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import discord
from discord import app_commands

from cogs import _l10n
from cogs._lookup import permission_names
from cogs._respond import reply_private
from rapport import i18n
from rapport.errors import UserFacingError, clip
from rapport.i18n import N_, Translation
from rapport.people import MemberService

log = logging.getLogger(__name__)

APOLOGY = N_("Sorry — something went wrong on my side. It has been logged; please try again later.")


async def answer_error(
    interaction: discord.Interaction,
    error: Exception,
    *,
    what: str,
    members: MemberService | None = None,
) -> None:
    """Tell the member what went wrong, privately; log what is not the member's doing.

    `what` names the failing command or component in the log.
    """
    t = _l10n.for_interaction(interaction, members)
    text = error_message(error, t)
    if text is None:
        log.error("%s failed", what, exc_info=error)
        text = t.gettext(APOLOGY)
    try:
        await reply_private(interaction, text)
    except discord.HTTPException:
        log.warning("could not tell the member about an error (interaction expired?)")


def error_message(error: Exception, t: Translation = i18n.ENGLISH) -> str | None:
    """The user-facing text for an app-command error, or None when it is a bug to log."""
    original = getattr(error, "original", None) or error
    if isinstance(original, UserFacingError):
        return original.in_language(t)
    if isinstance(error, app_commands.MissingPermissions):
        return t.gettext(
            N_("You need the {permissions} permission to use this command."),
            permissions=permission_names(error.missing_permissions, t),
        )
    if isinstance(error, app_commands.BotMissingPermissions):
        return t.gettext(
            N_("I need the {permissions} permission here to do that."),
            permissions=permission_names(error.missing_permissions, t),
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return t.gettext(N_("This command works in a server, not in DMs."))
    if isinstance(error, app_commands.CommandOnCooldown):
        return t.gettext(
            N_("Slow down a little — try again in {duration}."),
            duration=t.duration(timedelta(seconds=max(error.retry_after, 1))),
        )
    if isinstance(error, app_commands.TransformerError):
        value = clip(str(error.value))
        return t.gettext(N_("“{value}” isn't something I can use here."), value=value)
    if isinstance(error, app_commands.CheckFailure):
        return t.gettext(N_("You can't use this command here."))
    return None
