"""Read a guild's history through the API (discord.py paces the requests) into the ledger.

Each page of up to 100 messages is recorded and marked in one synchronous call, so a flush never
sees half a page, a second run skips what is marked, and a restart resumes where reading stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from cogs._facts import message_facts, resolve_thread_starter
from cogs._l10n import for_interaction
from rapport.i18n import N_
from rapport.people import GuildService, MemberService
from rapport.tracking import BackfillJob, BackfillService, Ledger, ThreadStarters

log = logging.getLogger(__name__)

PAGE = 100
Progress = Callable[[BackfillJob, int, int], Awaitable[None]]
Readable = discord.TextChannel | discord.Thread


async def readable_channels(guild: discord.Guild) -> list[Readable]:
    """Text and announcement channels, and the threads (active and archived) of those and of
    forums (a forum post is a thread), whose history the bot may read."""
    me = guild.me
    channels: list[Readable] = []
    parents: list[discord.TextChannel | discord.ForumChannel] = [
        *guild.text_channels,
        *guild.forums,
    ]
    for channel in parents:
        perms = channel.permissions_for(me)
        if not (perms.view_channel and perms.read_message_history):
            continue
        if isinstance(channel, discord.TextChannel):
            channels.append(channel)
        try:
            async for thread in channel.archived_threads(limit=None):
                channels.append(thread)
        except discord.HTTPException as exc:
            log.info("cannot list archived threads of #%s: %s", channel.name, exc)
    channels.extend(t for t in guild.threads if t not in channels)
    return channels


async def backfill_guild(
    guild: discord.Guild,
    service: BackfillService,
    ledger: Ledger,
    members: MemberService,
    guilds: GuildService,
    progress: Progress | None = None,
    starters: ThreadStarters | None = None,
) -> BackfillJob:
    """Read the job's window in every readable channel, then mark the job finished.

    When another task is already reading this guild's job, return its job as it stands.
    """
    if not service.claim_reading(guild.id):
        log.info("the backfill of %s is already being read; not starting it again", guild.name)
        job = service.job(guild.id)
        assert job is not None
        return job
    try:
        channels = await readable_channels(guild)
        for done, channel in enumerate(channels, start=1):
            job = service.job(guild.id)
            assert job is not None
            if channel.id not in job.channels_done:
                await _read_channel(guild, channel, service, ledger, members, guilds, starters)
                service.channel_done(guild.id, channel.id)
            if progress is not None:
                await progress(service.job(guild.id), done, len(channels))  # type: ignore[arg-type]
        return service.finish(guild.id)
    finally:
        service.release_reading(guild.id)


async def _read_channel(
    guild: discord.Guild,
    channel: Readable,
    service: BackfillService,
    ledger: Ledger,
    members: MemberService,
    guilds: GuildService,
    starters: ThreadStarters | None = None,
) -> None:
    after = service.resume_point(guild.id, channel.id)
    page: list[discord.Message] = []
    if isinstance(channel, discord.Thread) and starters is not None:
        await resolve_thread_starter(channel, starters)

    def record() -> None:
        nonlocal after
        facts = [f for m in page if (f := message_facts(m, members, guilds, starters)) is not None]
        ledger.record_history(guild.id, channel.id, facts, after + 1, page[-1].id)
        service.read(guild.id, len(page))
        after = page[-1].id
        page.clear()

    try:
        async for message in channel.history(
            limit=None, after=discord.Object(after), oldest_first=True
        ):
            page.append(message)
            if len(page) == PAGE:
                record()
    except discord.Forbidden:
        log.info("no access to the history of %s; skipping it", channel.name)
    if page:
        record()


@dataclass(frozen=True, slots=True)
class Backfiller:
    """What reading history needs: the backfill service, where it goes, and a flush after."""

    backfill: BackfillService
    ledger: Ledger
    members: MemberService
    guilds: GuildService
    flush: Callable[[], Awaitable[object]]
    #: Who started each thread (answers in it are credited to them).
    starters: ThreadStarters | None = None


async def backfill_command(interaction: discord.Interaction, days: int, s: Backfiller) -> None:
    """The body of /rapport-admin backfill: start, then report progress by editing the answer."""
    guild = interaction.guild
    assert guild is not None
    job = s.backfill.start(guild.id, days)  # UserFacingError on a bad range or a running job
    t = for_interaction(interaction, s.members)
    await interaction.response.send_message(
        t.ngettext(
            "Reading the last {n} day of history…",
            "Reading the last {n} days of history…",
            days,
        ),
        ephemeral=True,
    )
    last_edit = 0.0

    async def progress(job: BackfillJob, done: int, total: int) -> None:
        nonlocal last_edit
        now = asyncio.get_running_loop().time()
        if done < total and now - last_edit < 2:
            return
        last_edit = now
        # An answer 15 minutes old can't be edited any more; the backfill carries on regardless.
        with contextlib.suppress(discord.HTTPException):
            await interaction.edit_original_response(
                content=t.gettext(
                    N_("Reading history: {done}/{total} channels, {messages} messages."),
                    done=done,
                    total=total,
                    messages=t.number(job.messages),
                )
            )

    job = await backfill_guild(
        guild, s.backfill, s.ledger, s.members, s.guilds, progress, starters=s.starters
    )
    await s.flush()
    try:
        await interaction.edit_original_response(
            content=t.ngettext(
                "Backfill done: {messages} messages from the last {n} day read into "
                "{pairs} relationships. Running it again is safe: nothing is counted twice.",
                "Backfill done: {messages} messages from the last {n} days read into "
                "{pairs} relationships. Running it again is safe: nothing is counted twice.",
                days,
                messages=t.number(job.messages),
                pairs=t.number(s.ledger.pair_count(guild.id)),
            )
        )
    except discord.HTTPException:
        log.info("backfill of %s finished after its answer expired", guild.name)
