"""/rapport status member:@X and /rapport map through the sandbox: one relationship up close."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from tests.conftest import Sandbox, days_ago

QUIET = {"nudges": {"digest_hour": "any", "quiet_hours": "off"}}


async def talk_every_four_days(sandbox: Sandbox, ana, sam) -> None:
    """Sam mentions Ana every four days; Ana replies two hours later each time."""
    for d in (20, 16, 12, 8, 4):
        first = await sandbox.say(sam, "#general", "hey", mentions=[ana], at=days_ago(d))
        await sandbox.say(ana, "#general", "hi!", reply_to=first, at=days_ago(d - 2 / 24))


async def test_status_member_shows_the_relationship_up_close(sandbox: Sandbox) -> None:
    """Who starts, each side's answer rate and typical time, last contact, usual gap, cadence."""
    ana, sam = await sandbox.members("Ana", "Sam")
    await talk_every_four_days(sandbox, ana, sam)
    reply = await sandbox.slash(ana, "rapport status", member=sam)
    assert reply.ephemeral
    text = reply.text
    assert "You and Sam" in text
    assert "they usually start (you started 0, they started 5)" in text
    # Ana answered all five mentions within two hours; Sam "answered" each of Ana's replies
    # only with the next mention, four days later (the last one is still waiting).
    you = text.split("You answer Sam")[1].split("Sam answers you")[0]
    assert "100% answered (5 of 5) · typically 1 to 4 hours" in you
    they = text.split("Sam answers you")[1]
    assert "100% answered (4 of 4) · typically over 3 days" in they
    assert "about every 4 days" in text
    shown = int(text.split("Last contact\n<t:")[1].split(":R>")[0])
    assert abs(shown - days_ago(4 - 2 / 24).timestamp()) < 60
    assert "None chosen" in text
    assert "would count as drifting after" in text
    # Sam's own view is his side of the same pair, mirrored.
    mirrored = (await sandbox.slash(sam, "rapport status", member=ana)).text
    assert "you usually start (you started 5, they started 0)" in mirrored


async def test_status_member_says_not_enough_history_rather_than_a_figure(
    sandbox: Sandbox,
) -> None:
    """One exchange gives no answer rate, no usual gap, no drifting verdict: it says so."""
    ana, bob = await sandbox.members("Ana", "Bob")
    first = await sandbox.say(bob, "#general", "hey", mentions=[ana], at=days_ago(2))
    await sandbox.say(ana, "#general", "hi", reply_to=first, at=days_ago(1.9))
    text = (await sandbox.slash(ana, "rapport status", member=bob)).text
    assert "%" not in text
    assert text.count("Not enough history yet") >= 4  # both answer lines, the gap, drifting


@pytest.mark.sandbox_config(QUIET)
async def test_a_cadence_chosen_in_status_beats_the_usual_gap(sandbox: Sandbox) -> None:
    """cadence:1w makes an 8-day silence drift, where the 4-day rhythm alone allows 12 days."""
    ana, sam = await sandbox.members("Ana", "Sam")
    await talk_every_four_days(sandbox, ana, sam)
    await sandbox.slash(ana, "rapport join")
    await sandbox.slash(ana, "rapport settings", kinds="drifting")
    await sandbox.clock.advance(days=4)
    assert sandbox.dms_to(ana) == []  # 8 days quiet: within three usual gaps
    saved = await sandbox.slash(ana, "rapport status", member=sam, cadence="1w")
    assert saved.ephemeral
    assert "Saved" in saved.text
    assert "every 7 days (your choice)" in saved.text
    assert "Yes — it has been quiet" in saved.text
    await sandbox.clock.advance(hours=1)
    (dm,) = sandbox.dms_to(ana)
    assert "Sam" in dm.text
    cleared = await sandbox.slash(ana, "rapport status", member=sam, cadence="off")
    assert "Cleared" in cleared.text
    assert "None chosen" in cleared.text


async def test_status_member_refuses_bad_input_privately(sandbox: Sandbox) -> None:
    """A bot, yourself, a cadence it can't read or a cadence without a member: a clear answer."""
    ana, bob = await sandbox.members("Ana", "Bob")
    (robo,) = await sandbox.members("Robo", bot=True)
    for options, words in (
        ({"member": robo}, "is a bot"),
        ({"member": ana}, "That's you"),
        ({"member": bob, "cadence": "fortnightly"}, "isn't a cadence I understand"),
        ({"member": bob, "cadence": "500d"}, "isn't a cadence I understand"),
        ({"cadence": "2w"}, "Pick the member the cadence is for"),
    ):
        reply = await sandbox.slash(ana, "rapport status", **options)
        assert reply.ephemeral, options
        assert words in reply.text, options
    prefs = sandbox.services.ledger.pair(sandbox.guild.id, ana.id, bob.id)
    assert prefs is None  # nothing was saved for a refused cadence


async def test_status_member_says_plainly_who_left_opted_out_or_never_talked(
    sandbox: Sandbox,
) -> None:
    """Nobody's history is shown for someone who left or opted out; a stranger has none."""
    ana, bob, cat, dan = await sandbox.members("Ana", "Bob", "Cat", "Dan")
    for other in (bob, cat):
        first = await sandbox.say(other, "#general", "hey", mentions=[ana], at=days_ago(3))
        await sandbox.say(ana, "#general", "hi", reply_to=first, at=days_ago(2.9))
    assert "You and Bob" in (await sandbox.slash(ana, "rapport status", member=bob)).text
    await sandbox.emulator.remove_member(sandbox.guild, bob)
    await sandbox.settle()
    left = await sandbox.slash(ana, "rapport status", member=bob)
    assert "Bob has left the server" in left.text
    assert "You and Bob" not in left.text
    ask = await sandbox.slash(cat, "rapport forget")
    await sandbox.click(cat, ask.message, "rapport:forget:confirm")
    gone = await sandbox.slash(ana, "rapport status", member=cat)
    assert "Cat opted out of tracking" in gone.text
    never = await sandbox.slash(ana, "rapport status", member=dan)
    assert "haven't interacted yet" in never.text


async def test_map_is_a_private_png_of_the_members_own_ties(sandbox: Sandbox) -> None:
    """/rapport map answers only the caller, with a PNG attached; it holds their ties alone."""
    ana, bob, sam, kim = await sandbox.members("Ana", "Bob", "Sam", "Kim")
    await talk_every_four_days(sandbox, ana, sam)
    await sandbox.say(bob, "#design", "look", mentions=[ana], at=days_ago(1))
    await sandbox.say(bob, "#design", "and you", mentions=[kim], at=days_ago(1))
    reply = await sandbox.slash(ana, "rapport map")
    assert reply.ephemeral
    ((name, blob),) = reply.files
    assert name == "rapport-map.png"
    image = Image.open(io.BytesIO(blob))
    assert image.format == "PNG"
    assert image.width >= 800
    assert "Only you see this" in reply.text
    ties = sandbox.services.ledger.pairs_of(sandbox.guild.id, ana.id)
    assert {p.other_id for p in ties} == {bob.id, sam.id}  # Bob and Kim's tie is not Ana's
    empty = await sandbox.slash(kim, "rapport map")
    assert empty.ephemeral
    assert empty.files[0][1] != blob


def test_map_cadence_words_are_in_every_catalog_hint() -> None:
    """The cadence suggestions are durations the option accepts (what autocomplete offers)."""
    from cogs._relations import CADENCE_SUGGESTIONS
    from rapport.relations import parse_cadence

    for value, _ in CADENCE_SUGGESTIONS:
        span = parse_cadence(value)
        assert span is None or timedelta(days=1) <= span <= timedelta(days=365)
