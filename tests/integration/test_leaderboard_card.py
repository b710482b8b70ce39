"""The leaderboard card through the sandbox: the server's icon and members' avatars read from the
CDN with discord.py's asset API (kept, with initials when there is none or the CDN fails), and
the highlights the post's embed gives."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image

from rapport.leaderboard.card import AVATAR, ICON, avatar_box, card_size, icon_box
from rapport.leaderboard.pictures import color_for, picture
from sandbox.state import Member
from tests.conftest import Sandbox
from tests.integration.test_leaderboard import converse, last_week

TEAMS = {"leaderboard": {"teams": ["Design", "Support"]}}


async def community(sandbox: Sandbox) -> dict[str, Member]:
    """Ana and Bob (Design), Cy and Dee (Support); Bob never set an avatar."""
    design = sandbox.emulator.add_role(sandbox.guild, "Design")
    support = sandbox.emulator.add_role(sandbox.guild, "Support")
    (ana,) = await sandbox.members("Ana", roles=[design])
    (bob,) = await sandbox.members("Bob", roles=[design], avatar=False)
    cy, dee = await sandbox.members("Cy", "Dee", roles=[support])
    await sandbox.restart()  # the emulator sends no GUILD_ROLE_CREATE: a new session brings them
    return {"ana": ana, "bob": bob, "cy": cy, "dee": dee}


def card_of(message) -> Image.Image:
    """The card attached to a post."""
    ((_, body),) = message.files
    return Image.open(io.BytesIO(body)).convert("RGB")


async def served(sandbox: Sandbox, path: str) -> bytes:
    """What the emulated CDN serves at a path, read as any client would."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.emulator.api_base + path) as r,
    ):
        assert r.status == 200
        return await r.read()


def shows(card: Image.Image, box: tuple[int, int, int, int], data: bytes, **shape: int) -> bool:
    """Whether the card shows exactly this picture in the box (where the picture is opaque)."""
    width = box[2] - box[0]
    expected = picture(data, width, **shape)
    assert expected is not None
    drawn = card.crop(box)
    return all(
        drawn.getpixel((x, y)) == expected.getpixel((x, y))[:3]
        for x in range(width)
        for y in range(width)
        if expected.getpixel((x, y))[3] == 255
    )


def avatar_path(member: Member) -> str:
    """Where discord.py asks the CDN for a member's avatar on the card."""
    return f"/avatars/{member.id}/{member.user.avatar}.png?size=64"


def downloads(sandbox: Sandbox, member: Member) -> int:
    """How many times the bot asked the CDN for anything of this member's."""
    return sum(1 for p in sandbox.emulator.cdn_requests if f"/avatars/{member.id}/" in p)


@pytest.mark.sandbox_config(TEAMS)
async def test_the_card_shows_the_servers_icon_and_each_members_avatar(sandbox: Sandbox) -> None:
    """The weekly card carries the server's icon and Cy's and Ana's avatars as the CDN serves
    them; Bob, who has none, gets his initials on his colour and is never looked up."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    card = card_of(post)
    icon = f"/icons/{sandbox.guild.id}/{sandbox.guild.icon}.png?size=128"
    assert icon in sandbox.emulator.cdn_requests
    assert shows(card, icon_box(), await served(sandbox, icon), radius=16)
    for row, name in enumerate(("cy", "ana")):  # Cy > Ana > Bob, as in test_leaderboard
        path = avatar_path(people[name])
        assert path in sandbox.emulator.cdn_requests
        assert shows(card, avatar_box(row), await served(sandbox, path)), name
    bob = people["bob"]
    assert downloads(sandbox, bob) == 0
    colours = {c for _, c in card.crop(avatar_box(2)).getcolors(AVATAR * AVATAR) or []}
    assert color_for(bob.id) in colours


@pytest.mark.sandbox_config(TEAMS)
async def test_pictures_are_kept_until_the_member_changes_theirs(sandbox: Sandbox) -> None:
    """A second board downloads nothing again; after Ana uploads a new avatar, only hers."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    asked = len(sandbox.emulator.cdn_requests)
    assert asked == 3  # the icon, Cy's and Ana's avatars
    await sandbox.slash(people["bob"], "leaderboard", period="all")
    assert len(sandbox.emulator.cdn_requests) == asked
    ana = people["ana"]
    await sandbox.emulator.set_avatar(ana)
    await sandbox.settle()
    reply = await sandbox.slash(people["bob"], "leaderboard", period="all")
    assert sandbox.emulator.cdn_requests[asked:] == [avatar_path(ana)]
    (answer,) = reply.followups or [reply.message]
    assert shows(card_of(answer), avatar_box(1), await served(sandbox, avatar_path(ana)))


@pytest.mark.sandbox_config(TEAMS)
@pytest.mark.parametrize("status", [500, 503])
async def test_a_failing_cdn_never_holds_up_the_board(sandbox: Sandbox, status: int) -> None:
    """Every picture answered with a 5xx: the board posts with initials, and the next board
    asks again (a server error is not remembered as "no avatar")."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    sandbox.emulator.cdn_error(status, times=100)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    assert sandbox.services.leaderboard.problem(sandbox.guild.id) is None
    cy = people["cy"]
    colours = {c for _, c in card_of(post).crop(avatar_box(0)).getcolors(AVATAR * AVATAR) or []}
    assert color_for(cy.id) in colours
    assert downloads(sandbox, cy) == 1
    sandbox.emulator.cdn_error(status, times=0)
    reply = await sandbox.slash(people["bob"], "leaderboard", period="all")
    (answer,) = reply.followups or [reply.message]
    assert downloads(sandbox, cy) == 2
    assert shows(card_of(answer), avatar_box(0), await served(sandbox, avatar_path(cy)))


@pytest.mark.sandbox_config(TEAMS)
async def test_a_picture_the_cdn_does_not_have_is_not_asked_again(sandbox: Sandbox) -> None:
    """A 404 (an avatar gone from the CDN): initials on the card, and that URL is not asked again."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    sandbox.emulator.cdn_error(404, times=100)
    assert await sandbox.run_job("post_weekly_leaderboard")
    assert len(sandbox.posts("leaderboard")) == 1
    asked = len(sandbox.emulator.cdn_requests)
    assert asked == 3
    await sandbox.slash(people["bob"], "leaderboard", period="all")
    assert len(sandbox.emulator.cdn_requests) == asked


@pytest.mark.sandbox_config(TEAMS)
async def test_a_slow_cdn_is_given_up_on_and_the_board_posts(sandbox: Sandbox) -> None:
    """Pictures slower than the bot's limit are given up: the board posts with initials."""
    people = await community(sandbox)
    await converse(sandbox, people, last_week)
    cog = sandbox.bot.get_cog("Leaderboard")
    cog.avatars.timeout = 0.2  # the limit is seconds; the test need not wait for it
    sandbox.emulator.cdn_delay = 1.0
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    cy = people["cy"]
    colours = {c for _, c in card_of(post).crop(avatar_box(0)).getcolors(AVATAR * AVATAR) or []}
    assert color_for(cy.id) in colours


@pytest.mark.sandbox_config(TEAMS)
async def test_a_server_without_an_icon_shows_its_initials(sandbox: Sandbox) -> None:
    """No icon: nothing is asked of the CDN for it and the header shows a coloured square."""
    sandbox.guild.icon = None
    people = await community(sandbox)  # restarts: the bot learns there is no icon
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    assert not [p for p in sandbox.emulator.cdn_requests if p.startswith("/icons/")]
    colours = {c for _, c in card_of(post).crop(icon_box()).getcolors(ICON * ICON) or []}
    assert (255, 255, 255) in colours


@pytest.mark.sandbox_config(TEAMS)
async def test_the_card_shows_the_highlights_the_embed_gives(sandbox: Sandbox) -> None:
    """Most improved and most connected team: the card has a row for each the embed names."""
    people = await community(sandbox)
    ana, bob, cy, dee = (people[n] for n in ("ana", "bob", "cy", "dee"))
    earlier = [
        await sandbox.say(m, "#help", "question", at=last_week(-7 * 24 + i))
        for i, m in enumerate((ana, cy, dee))
    ]
    for i, post in enumerate(earlier):
        await sandbox.say(bob, "#help", "try this", reply_to=post, at=last_week(-7 * 24 + 5 + i))
    await sandbox.say(ana, "#help", "thanks", reply_to=earlier[2], at=last_week(-7 * 24 + 9))
    await converse(sandbox, people, last_week)
    assert await sandbox.run_job("post_weekly_leaderboard")
    (post,) = sandbox.posts("leaderboard")
    fields = {f["name"]: f["value"] for f in post.embeds[0].get("fields", [])}
    assert "Ana" in fields["Most improved"]
    rows = len(post.embeds[0]["description"].splitlines())
    if not sandbox.members_intent:
        # Nobody's team role is known without the member list: no teams, no team highlight.
        assert "Most connected team" not in fields
        assert card_of(post).size == card_size(rows, 0, 1)
        return
    assert "links with other teams" in fields["Most connected team"]
    assert card_of(post).size == card_size(rows, 2, 2)
