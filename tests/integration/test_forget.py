"""Forget, completely: everywhere at once (also from a DM), and an admin forgetting who left."""

from __future__ import annotations

import json

import pytest

from sandbox.state import Guild, Member
from tests.conftest import Sandbox, days_ago

ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)
MANAGE_GUILD = 1 << 5


async def second_server(sandbox: Sandbox, name: str) -> Guild:
    """Another server running Rapport (the bot sees it at its next IDENTIFY)."""
    guild = sandbox.emulator.add_guild(name)
    sandbox.emulator.add_channel(guild, "general")
    return guild


async def also_in(sandbox: Sandbox, guild: Guild, who: Member) -> Member:
    """The same Discord account, a member of another server too."""
    return await sandbox.emulator.add_member(guild, who.user.name, user=who.user)


def exported(reply: object) -> dict:
    (name, blob) = reply.files[0]  # type: ignore[attr-defined]
    assert name.endswith(".json")
    return json.loads(blob)


async def test_forget_everywhere_from_a_dm_erases_both_servers_and_no_other(
    sandbox: Sandbox,
) -> None:
    """Ana, in two servers, asks from her DM with the bot: after the confirm nothing about her
    is left in either (her relationships, what waits on others, their digests), she is no
    longer tracked in either, and a third server she never joined gets no record of her."""
    ana, bob = await sandbox.members("Ana", "Bob")
    second = await second_server(sandbox, "Second")
    third = await second_server(sandbox, "Third")
    ana2 = await also_in(sandbox, second, ana)
    cat = await sandbox.emulator.add_member(second, "Cat")
    fay = await sandbox.emulator.add_member(second, "Fay")
    dan = await sandbox.emulator.add_member(third, "Dan")
    await sandbox.restart()  # the bot connects to all three servers
    await sandbox.emulator.slash(cat, second, "rapport join", {})

    post = await sandbox.say(bob, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(ana, "#design", "looks great", reply_to=post, at=days_ago(2))
    general2 = sandbox.emulator.channel(second, "general")
    await sandbox.say(ana2, general2, "can you look?", mentions=[cat], at=days_ago(2))
    await sandbox.say(fay, general2, "and this?", mentions=[cat], at=days_ago(2))
    await sandbox.say(dan, sandbox.emulator.channel(third, "general"), "hello", at=days_ago(2))
    privacy = sandbox.services.privacy
    assert privacy.holds(sandbox.guild.id, ana.id)
    assert privacy.holds(second.id, ana.id)

    refused = await sandbox.slash_in_dm(ana, "rapport status")
    assert "works in a server, not in DMs" in refused.text
    here = await sandbox.slash_in_dm(ana, "rapport forget", scope="here")
    assert "In a DM there is no “here”" in here.text
    ask = await sandbox.slash_in_dm(ana, "rapport forget", scope="everywhere")
    assert ask.ephemeral
    assert "in every server that runs it" in ask.text
    assert privacy.holds(second.id, ana.id)  # nothing happens before the confirm
    done = await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    assert "no longer tracks you in every server that runs it" in done.text

    members = sandbox.services.members
    for guild in (sandbox.guild, second):
        assert not sandbox.services.ledger.knows(guild.id, ana.id), guild.name
        assert not members.preferences(guild.id, ana.id).tracked, guild.name
    assert ana.id not in members.known(third.id)
    assert privacy.holds(third.id, dan.id)
    export = exported(await sandbox.emulator.slash(ana2, second, "rapport export", {}))
    assert export["ledger"].get("relationships") == []

    await sandbox.run_job("send_due_digests")
    (digest,) = sandbox.dms_to(cat)
    assert "Fay mentioned you" in digest.text
    assert "Ana" not in digest.text
    # Tracking stays off for her in both servers until she asks again.
    await sandbox.say(ana2, general2, "back again", mentions=[cat])
    assert not sandbox.services.ledger.knows(second.id, ana.id)


async def test_forget_everywhere_in_a_server_also_forgets_there(sandbox: Sandbox) -> None:
    """Run in a server, scope:everywhere covers that server and the other one."""
    ana, bob = await sandbox.members("Ana", "Bob")
    second = await second_server(sandbox, "Second")
    ana2 = await also_in(sandbox, second, ana)
    cat = await sandbox.emulator.add_member(second, "Cat")
    await sandbox.restart()
    await sandbox.say(bob, "#general", "hi", mentions=[ana], at=days_ago(2))
    general2 = sandbox.emulator.channel(second, "general")
    await sandbox.say(cat, general2, "hi", mentions=[ana2], at=days_ago(2))
    ask = await sandbox.slash(ana, "rapport forget", scope="everywhere")
    await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    for guild in (sandbox.guild, second):
        assert not sandbox.services.members.preferences(guild.id, ana.id).tracked, guild.name
        assert not sandbox.services.ledger.knows(guild.id, ana.id), guild.name


async def admin(sandbox: Sandbox) -> Member:
    """A member whose role grants Manage Server."""
    role = sandbox.emulator.add_role(sandbox.guild, "Admins", permissions=MANAGE_GUILD)
    return await sandbox.member("Boss", roles=[role])


async def test_an_admin_forgets_a_member_who_left_after_the_same_confirm(
    sandbox: Sandbox,
) -> None:
    """/rapport-admin forget takes the id of someone who left, asks the admin (and only the
    admin) to confirm, answers privately, and then Bob is gone from Ana's picture."""
    boss = await admin(sandbox)
    ana, bob = await sandbox.members("Ana", "Bob")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.emulator.remove_member(sandbox.guild, bob)
    await sandbox.settle()
    assert sandbox.services.privacy.holds(sandbox.guild.id, bob.id)

    bad = await sandbox.slash(boss, "rapport-admin forget", user_id="bob")
    assert bad.ephemeral
    assert "isn't a Discord user id" in bad.text
    ask = await sandbox.slash(boss, "rapport-admin forget", user_id=str(bob.id))
    assert ask.ephemeral
    assert f"<@{bob.id}>" in ask.text
    assert "It can't be undone" in ask.text
    assert "still a member" not in ask.text
    nosy = await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    assert "someone else" in nosy.text
    assert sandbox.services.privacy.holds(sandbox.guild.id, bob.id)
    done = await sandbox.click(boss, ask.message, "rapport:forget:confirm")
    assert "Rapport deleted what it held about" in done.text
    assert not sandbox.services.ledger.knows(sandbox.guild.id, bob.id)
    status = await sandbox.slash(ana, "rapport status")
    assert "replied to you" not in status.text
    assert not sandbox.services.members.preferences(sandbox.guild.id, bob.id).tracked


async def test_an_admin_is_told_when_the_member_is_still_here(sandbox: Sandbox) -> None:
    """Allowed for a member still present, but the warning says they could do it themselves;
    an id Rapport knows nothing about gets a plain answer and no confirm."""
    boss = await admin(sandbox)
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.say(bob, "#general", "hi", mentions=[ana], at=days_ago(2))
    ask = await sandbox.slash(boss, "rapport-admin forget", user_id=f"<@{ana.id}>")
    assert "is still a member of this server" in ask.text
    assert ask.components
    unknown = await sandbox.slash(boss, "rapport-admin forget", user_id="123456789012345678")
    assert "Rapport holds nothing about" in unknown.text
    assert not unknown.components


async def test_no_card_showing_a_member_is_left_on_disk_after_they_forget(
    sandbox: Sandbox,
) -> None:
    """The weekly card shows Ana; once she is forgotten no file under the data directory holds
    it (the card lives only in the post), and a card an earlier version saved there is deleted
    at the next start."""
    from tests.integration.test_leaderboard import community, converse, last_week

    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    cards = [body for name, body in post.files if name.endswith(".png")]
    assert cards
    ana = people["ana"]
    ask = await sandbox.slash(ana, "rapport forget")
    await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    await sandbox.flush()

    def holding_a_card() -> list[str]:
        files = [p for p in sandbox.data_dir.rglob("*") if p.is_file()]
        return [p.name for p in files if any(card in p.read_bytes() for card in cards)]

    assert holding_a_card() == []
    saved = sandbox.data_dir / f"leaderboard-{sandbox.guild.id}-2026-W01.png"
    saved.write_bytes(cards[0])
    await sandbox.restart()
    assert not saved.exists()
    assert holding_a_card() == []


async def test_export_everywhere_from_a_dm_keeps_each_server_apart_and_only_hers(
    sandbox: Sandbox,
) -> None:
    """Ana, in two servers, exports from her DM with the bot: one file, one entry per server she
    is in (never a third she never joined), each holding only her own data; "here" in a DM is
    explained, and in a server scope:everywhere gives the same file."""
    ana, bob = await sandbox.members("Ana", "Bob")
    second = await second_server(sandbox, "Second")
    third = await second_server(sandbox, "Third")
    ana2 = await also_in(sandbox, second, ana)
    cat = await sandbox.emulator.add_member(second, "Cat")
    dan = await sandbox.emulator.add_member(third, "Dan")
    await sandbox.restart()
    post = await sandbox.say(bob, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(ana, "#design", "looks great", reply_to=post, at=days_ago(2))
    general2 = sandbox.emulator.channel(second, "general")
    await sandbox.say(ana2, general2, "can you look?", mentions=[cat], at=days_ago(2))
    await sandbox.say(cat, general2, "and this, Dan?", mentions=[dan], at=days_ago(2))
    await sandbox.say(dan, sandbox.emulator.channel(third, "general"), "hello", at=days_ago(2))

    here = await sandbox.slash_in_dm(ana, "rapport export", scope="here")
    assert "In a DM there is no “here”" in here.text
    assert not here.files
    reply = await sandbox.slash_in_dm(ana, "rapport export")
    assert reply.ephemeral
    assert "in every server that runs it" in reply.text
    ((name, blob),) = reply.files
    assert name == f"rapport-export-{ana.id}.json"
    data = json.loads(blob)
    assert data["member_id"] == ana.id
    by_guild = {entry["guild_id"]: entry for entry in data["guilds"]}
    assert set(by_guild) == {sandbox.guild.id, second.id}
    first = by_guild[sandbox.guild.id]["ledger"]["relationships"]
    assert [r["other_id"] for r in first] == [bob.id]
    there = by_guild[second.id]["ledger"]["relationships"]
    assert [r["other_id"] for r in there] == [cat.id]
    assert all(entry["member_id"] == ana.id for entry in data["guilds"])
    assert str(dan.id) not in blob.decode()  # Cat's ties to Dan are not Ana's data

    in_server = await sandbox.slash(ana, "rapport export", scope="everywhere")
    ((_, again),) = in_server.files
    assert {e["guild_id"] for e in json.loads(again)["guilds"]} == set(by_guild)
    only_here = exported(await sandbox.slash(ana, "rapport export"))
    assert only_here["guild_id"] == sandbox.guild.id
