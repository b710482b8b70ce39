"""The one confirm step before Rapport deletes someone's data, and what it says.

`/rapport forget` (here, or `scope:everywhere`: every server that runs Rapport, also from a DM
with the bot) and `/rapport-admin forget user_id` (a member who left, or one still here) both
show a warning with the same Confirm / Cancel buttons (`cogs._views.ConfirmForget`, only for
the one who asked, expiring after 2 minutes); the deletion itself is the core's
(rapport/people/privacy.py).
"""

from __future__ import annotations

import logging

import discord

from cogs import _embeds as render
from cogs import _scope
from cogs._l10n import command
from cogs._respond import reply_private
from cogs._views import ConfirmForget
from rapport.errors import UserFacingError
from rapport.i18n import N_, Translation
from rapport.ids import parse_id
from rapport.people import Privacy

log = logging.getLogger(__name__)

NO_HERE = N_(
    "In a DM there is no “here”: run {forget} in the server, or use {everywhere} to be "
    "forgotten in every server that runs Rapport."
)
FORGET_EVERYWHERE_WARNING = N_(
    "This deletes everything Rapport holds about you in every server that runs it — your "
    "relationships, the items waiting on you, your place in everyone else's picture and the "
    "leaderboards — and stops tracking you in each of them. It can't be undone. {export} in a "
    "server first if you want a copy of its data."
)
FORGOTTEN_EVERYWHERE = N_(
    "Done. Rapport deleted everything about you and no longer tracks you in every server that "
    "runs it; nobody will be nudged about you. {track} in a server lets it track you there "
    "again from now on."
)
HANDED_OVER = N_(
    "Some of those servers are served by another Rapport process: it deletes your data there "
    "within a minute."
)
ADMIN_WARNING = N_(
    "This deletes everything Rapport holds about <@{user}> in this server — their "
    "relationships, the items waiting on them and on others, their place in everyone else's "
    "picture and the leaderboard, their settings and nudge history — and stops tracking them "
    "here. It can't be undone."
)
ADMIN_STILL_HERE = N_(
    "<@{user}> is still a member of this server: they could do this themselves with {forget}, "
    "and {track} is how they would let Rapport track them again."
)
ADMIN_FORGOTTEN = N_(
    "Done. Rapport deleted what it held about <@{user}> in this server and no longer tracks "
    "them here; nobody will be nudged about them."
)


async def ask_member(
    interaction: discord.Interaction, privacy: Privacy, scope: str | None, t: Translation
) -> None:
    """/rapport forget: warn, then delete on the member's confirm (in a DM: everywhere)."""
    member_id = interaction.user.id
    guild_id = interaction.guild_id
    everywhere = _scope.everywhere(
        interaction, scope, NO_HERE, t, forget=command(t, "rapport forget")
    )

    async def confirmed() -> str:
        if guild_id is not None:
            await privacy.forget(guild_id, member_id)
            log.info("forgot a member on request in guild %s", guild_id)
        if not everywhere:
            return render.forgotten(t)
        done = await privacy.forget_everywhere(member_id)
        text = t.gettext(FORGOTTEN_EVERYWHERE, track=command(t, "rapport track"))
        return f"{text} {t.gettext(HANDED_OVER)}" if done.handed_over else text

    if everywhere:
        warning = t.gettext(FORGET_EVERYWHERE_WARNING, export=command(t, "rapport export"))
    else:
        warning = render.forget_warning(t)
    view = ConfirmForget(member_id, confirmed, t=t)
    view.origin = interaction
    await reply_private(interaction, warning, view=view)


async def ask_admin(
    interaction: discord.Interaction, privacy: Privacy, user_id: str, t: Translation
) -> None:
    """/rapport-admin forget user_id: the same step, for someone who may have left."""
    assert interaction.guild is not None  # the admin command is guild-only
    guild = interaction.guild
    target = parse_id(user_id.strip().removeprefix("<@").removesuffix(">").lstrip("!"))
    if target is None:
        raise UserFacingError(
            N_(
                "“{value}” isn't a Discord user id. Copy it with Developer Mode on (User "
                "Settings → Advanced), right-click the member → Copy User ID."
            ),
            value=user_id,
        )
    if interaction.client.user is not None and target == interaction.client.user.id:
        raise UserFacingError(N_("That's Rapport itself — it keeps no data about itself."))
    await privacy.members.ensure(guild.id)
    if not privacy.holds(guild.id, target):
        await reply_private(
            interaction,
            t.gettext(N_("Rapport holds nothing about <@{user}> in this server."), user=target),
        )
        return
    warning = t.gettext(ADMIN_WARNING, user=target)
    if await _still_here(guild, target):
        still = t.gettext(
            ADMIN_STILL_HERE,
            user=target,
            forget=command(t, "rapport forget"),
            track=command(t, "rapport track"),
        )
        warning = f"{warning}\n\n{still}"

    async def confirmed() -> str:
        await privacy.forget(guild.id, target)
        log.info("an admin had a member's data forgotten in guild %s", guild.id)
        return t.gettext(ADMIN_FORGOTTEN, user=target)

    view = ConfirmForget(interaction.user.id, confirmed, t=t, confirm=N_("Forget them"))
    view.origin = interaction
    await reply_private(interaction, warning, view=view)


async def _still_here(guild: discord.Guild, user_id: int) -> bool:
    """Whether the user is a member of the server now (the cache, else one REST lookup)."""
    if guild.get_member(user_id) is not None:
        return True
    try:
        await guild.fetch_member(user_id)
    except discord.NotFound:
        return False
    except discord.HTTPException:
        log.warning("could not look up whether member %s is still in guild %s", user_id, guild.id)
        return False
    return True
