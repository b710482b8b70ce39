"""`python bot.py --demo`: the real bot against the local Discord emulator, with a generated community.

No token and no network: the emulator serves Discord's REST and gateway on loopback, the bot is
the same code that runs against Discord. The history is replayed through the gateway, members
enroll with the real slash command, the nudge scan and the leaderboard post run, an admin picks
a channel for the weekly admin digest, which goes out, and what members and admins would see is
printed. The same seed gives the same output, on any day: the demo runs on its own
clock, which starts at DEMO_NOW and never reads the wall, and the history is laid before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import app
from cogs._bot import RapportBot
from rapport.compose import open_configured_store
from rapport.settings.config import settings_from_mapping
from sandbox import Emulator
from sandbox.clock import SandboxClock
from sandbox.community import CHANNELS, Community, generate
from sandbox.spec import schema_checking_available
from sandbox.state import Channel, Guild, Member, Message

#: The demo's now: a Wednesday morning, so "last week" and "2 days ago" read the same every run.
DEMO_NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
DIGEST_JOB = "send_due_digests"
ENROLL_BEFORE = timedelta(days=3)
"""Members run /rapport join this long before DEMO_NOW; their digests go out at DEMO_NOW."""
GERMAN = "de"
LEADERBOARD_JOB = "post_weekly_leaderboard"
ADMIN_DIGEST_JOB = "send_admin_digests"
ADMINS_CHANNEL = "admins"
"""The channel the server's admin picks for the weekly admin digest (only admins read it)."""
MANAGE_GUILD = 1 << 5
REACTION_TURNS = 20
"""Turns of the event loop the replay gives the bot to read a reaction before going on."""


def demo_settings(emulator: Emulator, data_dir: Path, community: Community) -> Any:
    """The bot's config for the demo: the emulator's endpoints, digests due whatever the hour."""
    return settings_from_mapping(
        {
            "discord": {
                "token": emulator.token,
                "api_base": emulator.api_base,
                "gateway_url": emulator.gateway_url,
                "cdn_base": emulator.api_base,
            },
            "storage": {"path": str(data_dir / "rapport.json"), "flush_interval": "5s"},
            "schedule": {
                "nudge_scan": "365d",
                "leaderboard": "365d",
                "retention": "365d",
                "admin_digest": "365d",
            },
            # Digests are due whatever the hour; the emulator has no DM rate limit to respect.
            "nudges": {"digest_hour": "any", "quiet_hours": "", "dms_per_second": 50.0},
            "leaderboard": {"channel": "leaderboard", "teams": list(community.teams)},
            "logging": {"level": "WARNING"},
        }
    )


def render_message(message: Message) -> str:
    """A bot message as a member would read it, in plain text (links shown as [jump])."""
    lines = [message.content] if message.content else []
    for embed in message.embeds:
        if embed.get("title"):
            lines.append(f"[bold]{embed['title']}[/bold]")
        if embed.get("description"):
            lines.append(embed["description"])
        for field in embed.get("fields", []):
            lines.append(f"[bold]{field['name']}[/bold]\n{field['value']}")
        if embed.get("footer", {}).get("text"):
            lines.append(f"[dim]{embed['footer']['text']}[/dim]")
    buttons = [
        c.get("label") or c.get("placeholder") or ""
        for row in message.components
        for c in row.get("components", [])
    ]
    if buttons:
        lines.append("  ".join(f"[reverse] {b} [/reverse]" for b in buttons if b))
    text = "\n".join(lines)
    return _markdown(_hide_urls(_mentions(text, message.channel.guild)))


def _mentions(text: str, guild: Guild | None) -> str:
    """Channel and member mentions as Discord's client shows them: #name and @name."""
    if guild is None:
        return text
    import re

    channels = {c.id: c.name for c in guild.channels}
    names = {m.id: m.nick or m.user.name for m in guild.members.values()}

    def one(match: re.Match[str]) -> str:
        sign, ident = match.group(1), int(match.group(2))
        name = (channels if sign == "#" else names).get(ident)
        return match.group(0) if name is None else f"{sign}{name}"

    return re.sub(r"<([#@])!?(\d+)>", one, text)


def _markdown(text: str) -> str:
    """Discord's bold, italic and code spans as terminal styles (no stray asterisks)."""
    import re

    text = re.sub(r"\*\*(.+?)\*\*", r"[bold]\1[/bold]", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+?)\*(?![\w*])", r"[italic]\1[/italic]", text)
    return re.sub(r"`([^`]+)`", r"\1", text)


def _hide_urls(text: str) -> str:
    """Jump links carry run-specific ids; show them as [jump] so one seed prints one output."""
    import re

    return re.sub(r"\(?https://discord\.com/channels/[0-9/]+\)?", "[jump]", text)


class Replay:
    """The community's history, replayed through the gateway up to the clock's now, in steps."""

    def __init__(self, emulator: Emulator, community: Community) -> None:
        self.emulator = emulator
        self.community = community
        self.guild = emulator.guilds[0]
        self.members: dict[str, Member] = {}
        self.roles: dict[str, Any] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: list[Message | Channel | None] = []
        self.done = 0

    async def start(self) -> None:
        """The server's roles, channels and the members who were there before the history."""
        self.roles = {
            t: await self.emulator.create_role(self.guild, t) for t in self.community.teams
        }
        self.channels = {name: self.emulator.channel(self.guild, name) for name in CHANNELS}
        for person in self.community.people:
            if person.joined_days_ago > 7:
                # Joined when the community says, not at the clock's now (ENROLL_BEFORE the
                # end): else every regular who speaks in the last days reads as a newcomer.
                self.members[person.name] = await self.emulator.add_member(
                    self.guild,
                    person.name,
                    roles=[self.roles[person.team]],
                    at=DEMO_NOW - timedelta(days=person.joined_days_ago),
                    avatar=person.avatar,
                )

    async def until_now(self, console: Console | None = None) -> int:
        """Replay every event up to the clock's now (a progress bar on `console`); returns how many."""
        now = self.emulator.clock()
        due = [
            e for e in self.community.events[self.done :] if self.community.at(e, DEMO_NOW) <= now
        ]
        with Progress(
            TextColumn("replaying history"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=console is None,
        ) as progress:
            task = progress.add_task("replay", total=len(due))
            for event in due:
                self.messages.append(await self._one(event))
                progress.advance(task)
        self.done += len(due)
        await self.emulator.sync()
        return len(due)

    async def _one(self, event: Any) -> Message | Channel | None:
        emulator, members = self.emulator, self.members
        at = self.community.at(event, DEMO_NOW)
        if event.kind == "join":
            person = next(p for p in self.community.people if p.name == event.actor)
            members[person.name] = await emulator.add_member(
                self.guild, person.name, roles=[self.roles[person.team]], at=at,
                avatar=person.avatar,
            )  # fmt: skip
            return None
        if event.kind == "thread":
            thread = await emulator.create_thread(
                self.channels[event.channel], members[event.actor], event.text, at=at
            )
            # The bot may look up a thread's starter over REST (its message can be out of the
            # message cache); events it records meanwhile would land in an order that depends
            # on the machine's load. One seed tells one story: wait for that lookup here.
            await emulator.sync()
            await settle()
            return thread
        if event.kind == "react":
            target = self.messages[event.target] if event.target is not None else None
            if isinstance(target, Message):
                await emulator.react(members[event.actor], target, event.emoji)
                # discord.py runs a reaction's listener as a task, which a busy machine may run
                # after the messages that follow it: the week's answered-within-48h counts (the
                # admin digest prints them) would change from run to run. Let it land first: the
                # bot shares this loop, and loopback delivers the frame within a few turns.
                # (emulator.sync() would prove it, but heartbeats are paced ~110 a minute.)
                for _ in range(REACTION_TURNS):
                    await asyncio.sleep(0)
                await settle()
            return None
        parent = self.messages[event.reply_to] if event.reply_to is not None else None
        where = parent if isinstance(parent, Channel) else self.channels[event.channel]
        return await emulator.say(
            members[event.actor],
            where,
            event.text,
            at=at,
            reply_to=parent if isinstance(parent, Message) else None,
            mentions=[members[n] for n in event.mentions],
        )


async def run_demo(seed: int = 7) -> int:
    """Run the whole demo; returns the exit status."""
    started = time.perf_counter()
    console = Console(highlight=False)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # "voice will NOT be supported"
    data_dir = Path("data") / f"demo-{seed}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    community = generate(seed)
    with app.endpoints_restored():
        return await _run(seed, started, console, data_dir, community)


async def _run(
    seed: int, started: float, console: Console, data_dir: Path, community: Community
) -> int:
    """The demo proper, with discord.py's endpoints restored by the caller."""
    checking = schema_checking_available()
    if not checking:
        # On stderr, like the timing: the same seed prints the same stdout either way.
        Console(stderr=True).print(
            "[dim]requests not checked against Discord's schema "
            "(pip install -r requirements-dev.txt to check them)[/dim]"
        )
    # Frozen between jumps: the bot, its jobs and the emulator's ids read this clock, never the wall.
    # Members enroll ENROLL_BEFORE the demo's now; the rest of the history happens after that.
    clock = SandboxClock(DEMO_NOW - ENROLL_BEFORE, ticking=False)
    async with Emulator(check_schema=checking, clock=clock) as emulator:
        # Its clock stands still between jumps, so no rate-limit window would ever pass.
        emulator.ratelimits.counting = False
        guild = emulator.add_guild("Design Guild")
        for name in CHANNELS:
            emulator.add_channel(guild, name)
        settings = demo_settings(emulator, data_dir, community)
        store = await open_configured_store(settings)
        bot = await app.start_bot(settings, store, clock, guild_ready_timeout=0.05)
        connect = asyncio.create_task(bot.connect())
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 15)
            console.print(
                f"[bold]Rapport demo[/bold] — seed {seed}: “{guild.name}”, "
                f"{len(community.people)} members, teams {', '.join(community.teams)}"
            )
            history = Replay(emulator, community)
            await history.start()
            events = await history.until_now(console)
            await settle()
            members = history.members
            enrolled = [p.name for p in community.people if p.enrolls and p.name in members]
            await enroll(emulator, bot, guild, [members[n] for n in enrolled], console)
            await show_kudos(emulator, bot, guild, history, enrolled, console)
            # Life goes on after /rapport join: the last days of the history happen, a day at a
            # time, and the digests go out at the demo's now (the first never repeats the preview).
            while clock() < DEMO_NOW:
                await clock.advance(min(timedelta(days=1), DEMO_NOW - clock()))
                events += await history.until_now()
                await settle()
            ledger = bot.services.ledger
            interactions = ledger.interactions_total(guild.id)
            console.print(
                f"replayed {events} events: {interactions} interactions between "
                f"{ledger.pair_count(guild.id)} pairs"
            )
            german = first_with_a_digest(bot, guild.id, members, enrolled)
            if german is not None:
                # Their Discord speaks German: any command records it, their digest follows it.
                members[german].user.locale = GERMAN
                await emulator.slash(members[german], guild, "rapport status")
                await settle()
            digests = await show_digests(emulator, bot, members, enrolled, console, german)
            posted = await show_leaderboard(emulator, bot, guild, data_dir, console)
            admin_digest = await show_admin_digest(emulator, bot, guild, console)
        finally:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(connect, 5)
            await store.close()
        problems = emulator.violations + emulator.unknown_routes
    for problem in problems:
        console.print(f"[red]emulator: {problem}[/red]")
    # On stderr, so that one seed prints one output on stdout.
    Console(stderr=True).print(f"[dim]finished in {time.perf_counter() - started:.1f} s[/dim]")
    console.print(  # one line, however narrow the terminal
        f"demo: {len(members)} members, {interactions} interactions, {digests} digests sent, "
        f"{'leaderboard posted' if posted else 'no leaderboard posted'}, "
        f"{'admin digest posted' if admin_digest else 'no admin digest'}",
        soft_wrap=True,
    )
    return 1 if problems else 0


async def settle() -> None:
    """Let the bot's event handlers finish, and the work they hand to tasks of Rapport's own.

    A thread message waits for its starter's lookup ("rapport: starter …"); a leaderboard read
    before that lookup lands would miss the answer it credits, and one seed would not print one
    story.
    """
    for _ in range(100):
        pending = [
            t
            for t in asyncio.all_tasks()
            if not t.done() and t.get_name().startswith(("discord.py: on_", "rapport: starter "))
        ]
        if not pending:
            return
        await asyncio.wait(pending, timeout=5)


async def enroll(
    emulator: Emulator, bot: RapportBot, guild: Any, members: list[Member], console: Console
) -> None:
    """Enrolled members run /rapport join, as they would in Discord."""
    has_join = any(
        c["name"] == "rapport" and any(o["name"] == "join" for o in c.get("options", []))
        for c in emulator.commands()
    )
    if not has_join:
        console.print("[yellow]/rapport join is not built yet: nobody enrolls[/yellow]")
        return
    for member in members:
        reply = await emulator.slash(member, guild, "rapport join")
        # What the join previews is never sent again (issue 12): show it where members see it.
        shown = render_message(reply.message).splitlines() if reply.message else []
        preview = [line for line in shown if line.lstrip().startswith("•")]
        if preview:
            title = f"/rapport join preview for {member.user.name}"
            console.print(Panel("\n".join(preview), title=title, expand=False))
    console.print(f"{len(members)} members ran /rapport join")


KUDOS_WORDS = "the patient answers in #help this week"


async def show_kudos(
    emulator: Emulator,
    bot: RapportBot,
    guild: Any,
    history: Replay,
    enrolled: list[str],
    console: Console,
) -> int:
    """Two members thank their closest contact: one with /thanks and words, one with the
    "Thank the author" menu on that person's latest message; print the posts as members see them."""
    if not any(c["name"] == "thanks" for c in emulator.commands()):
        console.print("[yellow]/thanks is not built yet: no kudos[/yellow]")
        return 0
    members = history.members
    name_of = {m.id: n for n, m in members.items()}
    now = bot.services.clock()
    posted = 0
    for i, giver in enumerate(sorted(enrolled)[:2]):
        pairs = bot.services.ledger.pairs_of(guild.id, members[giver].id, now=now)
        closest = next((name_of[p.other_id] for p in pairs if p.other_id in name_of), None)
        if closest is None:
            continue
        general = emulator.channel(guild, "general")
        if i == 0:
            reply = await emulator.slash(
                members[giver],
                guild,
                "thanks",
                {"member": members[closest], "for": KUDOS_WORDS},
                channel=general,
            )
        else:
            said = [
                m
                for m in history.messages
                if isinstance(m, Message) and m.author is members[closest].user
            ]
            if not said:
                continue
            reply = await emulator.message_menu(members[giver], guild, "Thank the author", said[-1])
        await settle()
        if reply.message is None or reply.ephemeral:
            continue
        posted += 1
        # A link's label would read as console markup: show it, then the link as [jump].
        text = re.sub(r"\[([^\[\]]+)\]\[jump\]", r"\1 \\[jump]", render_message(reply.message))
        for member_id, name in name_of.items():
            text = text.replace(f"<@{member_id}>", f"@{name}")
        where = reply.message.channel.name
        console.print(Panel(text, title=f"#{where} — a thanks from {giver}", expand=False))
    return posted


def first_with_a_digest(
    bot: RapportBot, guild_id: int, members: dict[str, Member], enrolled: list[str]
) -> str | None:
    """The first enrolled member (by name) whose digest would hold someone now (a share line
    alone sends no DM)."""
    now = bot.services.clock()
    for name in sorted(enrolled):
        digest = bot.services.nudges.preview(guild_id, members[name].id, now)
        if digest is not None and any(n.about_id is not None for n in digest.items):
            return name
    return None


async def show_digests(
    emulator: Emulator,
    bot: RapportBot,
    members: dict[str, Member],
    enrolled: list[str],
    console: Console,
    german: str | None = None,
) -> int:
    """Run the nudge scan and print every DM digest as its member reads it."""
    if DIGEST_JOB not in bot.services.scheduler.names:
        console.print("[yellow]the nudge scan is not built yet: no digests[/yellow]")
        return 0
    await bot.services.scheduler.run(DIGEST_JOB)
    await settle()
    sent = 0
    for name in sorted(enrolled):
        for message in emulator.dms_to(members[name]):
            sent += 1
            title = f"DM to {name}" + (" (their Discord is in German)" if name == german else "")
            console.print(Panel(render_message(message), title=title, expand=False))
    return sent


async def show_leaderboard(
    emulator: Emulator, bot: RapportBot, guild: Any, data_dir: Path, console: Console
) -> bool:
    """Run the weekly leaderboard post and print it with the card's path."""
    if LEADERBOARD_JOB not in bot.services.scheduler.names:
        console.print("[yellow]the leaderboard is not built yet: no post[/yellow]")
        return False
    await bot.services.scheduler.run(LEADERBOARD_JOB)
    await settle()
    channel = emulator.channel(guild, "leaderboard")
    posts = [m for m in emulator.channel_messages(channel) if m.author is emulator.bot_user]
    for post in posts:
        console.print(Panel(render_message(post), title="#leaderboard", expand=False))
        for filename, data in post.files:
            path = data_dir / filename
            path.write_bytes(data)
            console.print(f"leaderboard card: {path}")
    return bool(posts)


async def show_admin_digest(
    emulator: Emulator, bot: RapportBot, guild: Any, console: Console
) -> bool:
    """An admin picks #admins for the weekly admin digest; it goes out and is printed."""
    if ADMIN_DIGEST_JOB not in bot.services.scheduler.names:
        console.print("[yellow]the admin digest is not built yet[/yellow]")
        return False
    role = await emulator.create_role(guild, "Admins", permissions=MANAGE_GUILD)
    admin = await emulator.add_member(guild, "Morgan", roles=[role])
    channel = await emulator.create_channel(guild, ADMINS_CHANNEL)
    await emulator.sync()  # the bot knows the channel and the role before the admin picks it
    await settle()
    await emulator.slash(admin, guild, "rapport-admin admin-digest", {"channel": channel})
    await bot.services.scheduler.run(ADMIN_DIGEST_JOB)
    await settle()
    posts = [m for m in emulator.channel_messages(channel) if m.author is emulator.bot_user]
    for post in posts:
        # "[first message](url)" reads "first message [jump]" (rich would eat "[first message]").
        text = re.sub(r"\[([^\][]+)\]\[jump\]", r"\1 \\[jump]", render_message(post))
        console.print(Panel(text, title=f"#{ADMINS_CHANNEL}", expand=False))
    return bool(posts)
