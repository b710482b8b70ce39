"""Rapport in the member's language, through the sandbox: commands, answers, digests, posts."""

from __future__ import annotations

import pytest

from sandbox.state import Member, Message
from tests.conftest import Sandbox, days_ago

ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
# Discord's locale for each shipped catalog (the ones a client sends).
DISCORD_LOCALES = {"de": "de", "fr": "fr", "es": "es-ES", "pt_BR": "pt-BR", "ja": "ja"}


def speaks(member: Member, locale: str) -> Member:
    """Set the language of the member's Discord client."""
    member.user.locale = locale
    return member


def buttons(message: Message) -> list[str]:
    """The labels and placeholders of a message's components."""
    out: list[str] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            if item.get("label") or item.get("placeholder"):
                out.append(item.get("label") or item.get("placeholder"))
            for option in item.get("options", []):
                out.append(option["label"])
            walk(item.get("components", []))

    walk(message.components)
    return out


async def test_a_german_member_gets_a_german_status(sandbox: Sandbox) -> None:
    """/rapport status answers a member whose Discord speaks German in German."""
    ana, bob = await sandbox.members("Ana", "Bob")
    speaks(ana, "de")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    reply = await sandbox.slash(ana, "rapport status")
    assert reply.ephemeral
    assert "Dein Rapport-Bild" in reply.text
    assert "Wartet auf deine Antwort" in reply.text
    assert f"**{sandbox.cached_name(bob)}** hat dir" in reply.text
    assert "Stärkste Beziehungen" in reply.text
    assert "Waiting for your answer" not in reply.text
    assert "Your Rapport picture" not in reply.text


async def test_an_english_member_of_the_same_server_still_reads_english(sandbox: Sandbox) -> None:
    """The language follows each member's client, not the last member who asked."""
    ana, bob = await sandbox.members("Ana", "Bob")
    speaks(ana, "de")
    await sandbox.slash(ana, "rapport status")
    reply = await sandbox.slash(bob, "rapport status")
    assert "Your Rapport picture" in reply.text
    assert "Dein Rapport-Bild" not in reply.text


@pytest.mark.sandbox_config(ANY_TIME)
async def test_a_german_member_gets_a_german_digest(sandbox: Sandbox) -> None:
    """The digest DM, its buttons and its durations follow the member's last seen locale."""
    ana, bob = await sandbox.members("Ana", "Bob")
    speaks(ana, "de")
    # Joining first: her client's locale is recorded here, and what the join previews is
    # never sent again (issue 12).
    await sandbox.slash(ana, "rapport join")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    assert "Bob" in dm.text
    assert "vor 2 Tagen" in dm.text
    assert "Ein paar Menschen, die einen Moment wert sind" in dm.text
    assert "Erledigt" in buttons(dm)
    assert "1 Woche pausieren" in buttons(dm)
    assert "ago" not in dm.text


@pytest.mark.sandbox_config(ANY_TIME)
async def test_a_digest_without_a_seen_locale_follows_the_server(sandbox: Sandbox) -> None:
    """With no interaction locale on record, a DM is in the server's preferred language."""
    sandbox.guild.preferred_locale = "fr"
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.services.members.enroll(sandbox.guild.id, ana.id)
    await sandbox.restart()  # the guild payload carries the new preferred locale
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    assert "Bob" in dm.text
    assert "il y a 2 jours" in dm.text
    assert "Quelques personnes qui valent bien un instant" in dm.text


async def test_the_language_setting_overrides_the_client(sandbox: Sandbox) -> None:
    """/rapport settings language:ja answers in Japanese even from an English client."""
    (ana,) = await sandbox.members("Ana")
    reply = await sandbox.slash(ana, "rapport settings", language="ja")
    assert "保存しました" in reply.text
    assert "日本語" in reply.text
    status = await sandbox.slash(ana, "rapport status")
    assert "あなたの Rapport" in status.text
    back = await sandbox.slash(ana, "rapport settings", language="auto")
    assert "Saved — your settings now" in back.text


async def test_errors_are_in_the_members_language(sandbox: Sandbox) -> None:
    """A refusal from the core reaches a Spanish member in Spanish."""
    (ana,) = await sandbox.members("Ana")
    speaks(ana, "es-ES")
    reply = await sandbox.slash(ana, "rapport snooze", duration="soon")
    assert "No entiendo la duración «soon»" in reply.text


async def test_synced_commands_carry_every_shipped_language(sandbox: Sandbox) -> None:
    """Every synced command, option and choice has a name and description in each language."""
    commands = sandbox.emulator.commands()
    assert commands
    for discord_locale in DISCORD_LOCALES.values():
        for command in commands:
            assert discord_locale in (command.get("name_localizations") or {}), command["name"]
            if command.get("type", 1) == 1:
                assert discord_locale in (command.get("description_localizations") or {})
            for option in _options(command):
                assert discord_locale in (option.get("name_localizations") or {}), option["name"]
                assert discord_locale in (option.get("description_localizations") or {})
                for choice in option.get("choices", []):
                    assert discord_locale in (choice.get("name_localizations") or {}), choice


async def test_localised_names_follow_discords_rules(sandbox: Sandbox) -> None:
    """Localised slash and option names are lowercase, without spaces, at most 32 characters."""
    for command in sandbox.emulator.commands():
        if command.get("type", 1) != 1:
            continue
        for item in [command, *_options(command)]:
            for name in (item.get("name_localizations") or {}).values():
                assert name == name.lower()
                assert " " not in name
                assert len(name) <= 32


async def test_the_german_commands_read_german(sandbox: Sandbox) -> None:
    """A German client offers /rapport einstellungen with a German description."""
    rapport = next(c for c in sandbox.emulator.commands() if c["name"] == "rapport")
    settings = next(o for o in rapport["options"] if o["name"] == "settings")
    assert settings["name_localizations"]["de"] == "einstellungen"
    assert settings["description_localizations"]["de"].startswith("Zeitzone")
    menus = {c["name"]: c for c in sandbox.emulator.commands() if c.get("type") == 2}
    assert menus["Keep in touch"]["name_localizations"]["de"] == "In Kontakt bleiben"


def _options(command: dict) -> list[dict]:
    out = []
    stack = list(command.get("options") or [])
    while stack:
        option = stack.pop()
        out.append(option)
        stack.extend(option.get("options") or [])
    return out


@pytest.mark.sandbox_config({"leaderboard": {"teams": ["Design", "Support"]}})
async def test_the_weekly_post_is_in_the_servers_language(sandbox: Sandbox) -> None:
    """A server whose primary language is Japanese gets its board, fields and formula in it."""
    from tests.integration.test_leaderboard import community, converse, last_week

    sandbox.guild.preferred_locale = "ja"
    people = await community(sandbox)  # restarts: the guild payload carries the locale
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    embed = post.embeds[0]
    assert embed["title"].startswith("ランキング — ")
    assert "週" in embed["title"]
    assert "スコア =" in embed["footer"]["text"]
    teams = [f for f in embed.get("fields", []) if f["name"].startswith("チーム")]
    assert bool(teams) is sandbox.members_intent  # team roles need the member list
    assert "Leaderboard" not in post.text
