"""Slash commands, context menus and components, answered by the real app-command tree."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from sandbox import CommandError, Emulator, Guild
from tests.sandbox.conftest import make_bot, running
from tests.timing import until


class Snooze(discord.ui.View):
    """A view with one button and one select, answered by editing the message."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Snooze", custom_id="snooze")
    async def snooze(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Acknowledge by editing the clicked message."""
        await interaction.response.edit_message(content="snoozed", view=None)

    @discord.ui.select(
        custom_id="pick", options=[discord.SelectOption(label="a"), discord.SelectOption(label="b")]
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        """Answer with what was picked, privately."""
        await interaction.response.send_message(f"picked {select.values[0]}", ephemeral=True)


def build_tree(bot: discord.Client) -> None:
    """A small command tree exercising each kind of answer."""
    tree = bot.tree
    group = app_commands.Group(name="rapport", description="Rapport commands")

    @group.command(name="thank", description="Thank a member")
    async def thank(
        interaction: discord.Interaction, member: discord.Member, times: int = 1
    ) -> None:
        await interaction.response.send_message(
            f"{interaction.user.display_name} thanks {member.display_name} x{times}", ephemeral=True
        )

    @group.command(name="report", description="A slow answer")
    async def report(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0)  # the answer comes later, after the defer
        await interaction.followup.send("report ready", embed=discord.Embed(title="Week"))

    @group.command(name="nudge", description="Send the snooze view")
    async def nudge(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("a nudge", view=Snooze())

    @group.command(name="silent", description="Never answers")
    async def silent(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0)

    @group.command(name="twice", description="Answers twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        try:
            await interaction.client.http.request(
                discord.http.Route(
                    "POST",
                    "/interactions/{id}/{token}/callback",
                    id=interaction.id,
                    token=interaction.token,
                ),
                json={"type": 4, "data": {"content": "second"}},
            )
        except discord.HTTPException as error:
            await interaction.followup.send(f"second refused: {error.code}")

    @group.command(name="colour", description="Pick a colour")
    async def colour(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    @colour.autocomplete("name")
    async def colour_names(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["red", "green", "blue"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    @app_commands.context_menu(name="Who is this")
    async def who(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"that is {member.name}", ephemeral=True)

    @app_commands.context_menu(name="Quote")
    async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"> {message.content}")

    tree.add_command(group)
    tree.add_command(who)
    tree.add_command(quote)


@pytest.fixture
async def synced(emulator: Emulator, guild: Guild) -> AsyncIterator[commands.Bot]:
    """A connected bot whose tree is synced to the guild."""
    bot = make_bot()
    build_tree(bot)
    async with running(emulator, bot):
        bot.tree.copy_global_to(guild=discord.Object(guild.id))
        await bot.tree.sync(guild=discord.Object(guild.id))
        yield bot
    assert emulator.violations == []
    assert emulator.unknown_routes == []


async def test_sync_keeps_the_definitions_with_ids(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """Synced guild commands are kept with ids, application id and versions."""
    names = {c["name"] for c in emulator.commands(guild)}
    assert names == {"rapport", "Who is this", "Quote"}
    assert all(
        c["application_id"] == str(emulator.application_id) for c in emulator.commands(guild)
    )
    assert emulator.violations == []


async def test_slash_command_with_options_answers_ephemerally(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """A subcommand with a member option gets its resolved member and answers privately."""
    ana = await emulator.add_member(guild, "Ana")
    bob = await emulator.add_member(guild, "Bob")
    reply = await emulator.slash(ana, guild, "rapport thank", {"member": bob, "times": 2})
    assert reply.content == "Ana thanks Bob x2"
    assert reply.ephemeral
    assert emulator.channel_messages(emulator.channel(guild, "general")) == []
    assert emulator.violations == []


async def test_deferred_answer_arrives_as_followup(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """A deferred command is answered by its followup."""
    ana = await emulator.add_member(guild, "Ana")
    reply = await emulator.slash(ana, guild, "rapport report")
    assert reply.deferred
    assert [m.content for m in reply.followups] == ["report ready"]
    assert reply.followups[0].embeds[0]["title"] == "Week"


async def test_button_and_select_clicks_reach_the_view(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """Clicking a button edits the message; picking in a select gets a private answer."""
    ana = await emulator.add_member(guild, "Ana")
    reply = await emulator.slash(ana, guild, "rapport nudge")
    assert reply.message is not None
    picked = await emulator.click(ana, reply.message, "pick", values=["b"])
    assert picked.content == "picked b"
    clicked = await emulator.click(ana, reply.message, "snooze")
    assert clicked.type == 7
    assert reply.message.content == "snoozed"
    assert reply.message.components == []


async def test_unanswered_interaction_expires_with_10062(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """An interaction nobody answers in time is unknown afterwards."""
    ana = await emulator.add_member(guild, "Ana")
    reply = await emulator.slash(ana, guild, "rapport silent")
    assert reply.error == "10062 Unknown interaction"


async def test_second_initial_response_fails_with_40060(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """Answering an interaction twice is refused with 40060."""
    ana = await emulator.add_member(guild, "Ana")
    reply = await emulator.slash(ana, guild, "rapport twice")
    await until(lambda: reply.followups, "the refusal of the second answer")
    assert reply.content == "first"
    assert [m.content for m in reply.followups] == ["second refused: 40060"]


async def test_autocomplete_offers_choices(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """Typing in an autocompleted option returns the bot's choices."""
    ana = await emulator.add_member(guild, "Ana")
    choices = await emulator.autocomplete(ana, guild, "rapport colour", {"name": "gr"}, "name")
    assert [c["value"] for c in choices] == ["green"]


async def test_context_menus_see_their_target(
    emulator: Emulator, guild: Guild, synced: object
) -> None:
    """User and message context menus receive the resolved target."""
    ana = await emulator.add_member(guild, "Ana")
    bob = await emulator.add_member(guild, "Bob")
    said = await emulator.say(bob, emulator.channel(guild, "general"), "quotable")
    assert (await emulator.user_menu(ana, guild, "Who is this", bob)).content == "that is bob"
    assert (await emulator.message_menu(ana, guild, "Quote", said)).content == "> quotable"


async def test_slash_command_in_a_dm(emulator: Emulator, guild: Guild) -> None:
    """A global command invoked in the member's DM carries the user and answers there."""
    bot = make_bot()

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"pong {interaction.user.name}")

    ana = await emulator.add_member(guild, "Ana")
    async with running(emulator, bot):
        await bot.tree.sync()
        reply = await emulator.slash(ana, None, "ping")
    assert reply.content == "pong ana"
    assert [m.content for m in emulator.dms_to(ana)] == ["pong ana"]


class Feedback(discord.ui.Modal, title="Feedback"):
    """A one-field modal."""

    text = discord.ui.TextInput(label="Text", custom_id="text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Echo the text privately."""
        await interaction.response.send_message(f"got {self.text.value}", ephemeral=True)


async def test_modal_and_file_answers(emulator: Emulator, guild: Guild) -> None:
    """A modal can be filled and submitted; a deferred answer can arrive by edit with a file."""
    bot = make_bot()

    @bot.tree.command(name="feedback", description="Open the feedback form")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    @bot.tree.command(name="card", description="Send the card")
    async def card(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(
            content="your card", attachments=[discord.File(io.BytesIO(b"PNG"), "card.png")]
        )

    @bot.tree.command(name="photo", description="Send a photo at once")
    async def photo(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(file=discord.File(io.BytesIO(b"JPG"), "a.jpg"))

    ana = await emulator.add_member(guild, "Ana")
    async with running(emulator, bot):
        await bot.tree.sync()
        shot = await emulator.slash(ana, guild, "photo")
        assert shot.files == [("a.jpg", b"JPG")]
        form = await emulator.slash(ana, guild, "feedback")
        assert form.type == 9
        answer = await emulator.submit_modal(ana, form, {"text": "lovely"}, guild=guild)
        assert answer.content == "got lovely"
        sent = await emulator.slash(ana, guild, "card")
    assert (sent.content, sent.files) == ("your card", [("card.png", b"PNG")])
    assert emulator.violations == []


async def test_commands_are_offered_only_where_discord_offers_them(
    emulator: Emulator, guild: Guild
) -> None:
    """A guild-only command is not offered in DMs; an admin command only to members allowed."""
    bot = make_bot()

    @bot.tree.command(name="settings", description="Change the settings")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def settings(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("settings", ephemeral=True)

    admins = emulator.add_role(guild, "Admins", permissions=1 << 5)
    ana = await emulator.add_member(guild, "Ana")
    boss = await emulator.add_member(guild, "Boss", roles=[admins])
    async with running(emulator, bot):
        await bot.tree.sync()
        with pytest.raises(CommandError, match="cannot be used in a DM"):
            await emulator.slash(boss, None, "settings")
        with pytest.raises(CommandError, match="lacks the permissions"):
            await emulator.slash(ana, guild, "settings")
        assert (await emulator.slash(boss, guild, "settings")).content == "settings"


class Digest(discord.ui.View):
    """A persistent digest view, as the nudge DMs carry."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Done", custom_id="digest:done")
    async def done(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Thank the member privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"noted, {interaction.user.display_name}", ephemeral=True)


async def test_button_in_a_dm_reaches_a_persistent_view(emulator: Emulator, guild: Guild) -> None:
    """A button on a DM the bot sent before is handled by the persistent view."""
    bot = make_bot()
    ana = await emulator.add_member(guild, "Ana")
    async with running(emulator, bot):
        bot.add_view(Digest())
        user = await bot.fetch_user(ana.id)
        await user.send("your digest", view=Digest())
        (dm,) = emulator.dms_to(ana)
        reply = await emulator.click(ana, dm, "digest:done")
    assert reply.ephemeral
    assert reply.content == "noted, Ana"
    assert emulator.violations == []


async def test_thread_from_before_login_is_cached(emulator: Emulator, guild: Guild) -> None:
    """Threads made before the bot connects come in GUILD_CREATE and carry their messages."""
    ana = await emulator.add_member(guild, "Ana")
    general = emulator.channel(guild, "general")
    thread = await emulator.create_thread(general, ana, "old ideas")
    bot = make_bot()
    async with running(emulator, bot):
        await emulator.say(ana, thread, "still here")
        await emulator.sync()
        cached = bot.get_guild(guild.id).get_thread(thread.id)
        history = [m.content async for m in cached.history(limit=5)]
    assert cached.parent_id == general.id
    assert history == ["still here"]


async def test_an_interaction_token_answers_for_15_minutes_of_the_sandbox_clock(
    emulator: Emulator, guild: Guild, synced: commands.Bot
) -> None:
    """Followups work within 15 minutes of the interaction; after that, 50027."""
    from datetime import timedelta

    ana = await emulator.add_member(guild, "Ana")
    bob = await emulator.add_member(guild, "Bob")
    await emulator.slash(ana, guild, "rapport thank", {"member": bob})
    (token,) = emulator.interactions_by_token
    hook = discord.Webhook.partial(emulator.application_id, token, client=synced)
    await hook.send("still in time")
    start = emulator.clock()
    emulator.clock = lambda: start + timedelta(minutes=16)
    with pytest.raises(discord.HTTPException) as expired:
        await hook.send("too late")
    assert (expired.value.status, expired.value.code) == (401, 50027)
