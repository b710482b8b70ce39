"""'We talked elsewhere': DMs, voice and coffee are invisible to the bot, so a member can say so."""

from __future__ import annotations

import pytest

from sandbox.state import Member, Message
from tests.conftest import Sandbox, days_ago

ANY_TIME = {"nudges": {"digest_hour": "any", "quiet_hours": ""}}
pytestmark = pytest.mark.sandbox_config(ANY_TIME)


async def join(sandbox: Sandbox, *members: Member) -> None:
    """Members join first: what /rapport join previews is never sent again."""
    for m in members:
        await sandbox.slash(m, "rapport join")


async def history_with(sandbox: Sandbox, starter: Member, other: Member) -> None:
    """Eight exchanges five days apart, each started by `starter`, the last 22 days ago."""
    last = None
    for day in (57, 52, 47, 42, 37, 32, 27, 22):
        post = await sandbox.say(starter, "#general", "hey", at=days_ago(day), reply_to=last)
        last = await sandbox.say(other, "#general", "hi!", reply_to=post, at=days_ago(day - 0.1))


def about(sandbox: Sandbox, member: Member, name: str) -> list[Message]:
    """The member's DMs with a drifting line about `name`."""
    return [dm for dm in sandbox.dms_to(member) if f"You haven't talked with {name}" in dm.text]


async def test_the_button_on_a_drifting_line_resets_the_pair_after_a_restart(
    sandbox: Sandbox,
) -> None:
    """Pressed after a restart, 'Talked with Sam elsewhere' answers privately, counts as acted
    on, keeps Sam's own turn of the line from coming, and the line returns once the usual
    gap has passed again."""
    ana, sam = await sandbox.members("Ana", "Sam")
    await join(sandbox, ana, sam)
    await history_with(sandbox, sam, ana)  # Sam always starts: Ana waits, so hears first
    await sandbox.run_job("send_due_digests")
    (dm,) = about(sandbox, ana, "Sam")
    button = f"rapport:elsewhere:{sandbox.guild.id}:"
    (custom_id,) = [c for c in dm.custom_ids() if c.startswith(button)]
    assert custom_id.endswith(f":{sam.id}")
    assert "Talked with Sam elsewhere" in str(dm.components)

    await sandbox.restart()
    reply = await sandbox.click(ana, dm, custom_id)
    assert reply.ephemeral
    assert "Noted — you talked with Sam outside Discord" in reply.text
    assert ":D>" in reply.text  # the date the line may come back, in the reader's time zone
    outcomes = sandbox.services.nudges.member_outcomes(sandbox.guild.id, ana.id)
    assert outcomes["acted_on"] == 1

    await sandbox.clock.advance(days=8)  # Sam's turn would have come a week after Ana's
    assert about(sandbox, sam, "Ana") == []
    assert len(about(sandbox, ana, "Sam")) == 1
    await sandbox.clock.advance(days=8)  # three usual gaps (15 days) since the talk
    assert len(about(sandbox, ana, "Sam")) == 2
    assert "You haven't talked with Sam in 2 weeks" in about(sandbox, ana, "Sam")[-1].text


async def test_the_command_holds_the_line_back_until_the_usual_gap_passes_again(
    sandbox: Sandbox,
) -> None:
    """/rapport talked-elsewhere before any digest: the next digest leaves Sam out (Bob's
    reply still comes), /rapport status lists the talk and no longer Sam as drifting (nor does
    the close-up), the leaderboard's counts don't move, and 16 days later Sam's line is back."""
    ana, sam, bob = await sandbox.members("Ana", "Sam", "Bob")
    await join(sandbox, ana)
    await history_with(sandbox, sam, ana)
    # Status names from the member cache: a mention without the members intent.
    shown = sandbox.cached_name(sam)
    before = await sandbox.slash(ana, "rapport status")
    assert shown in before.text.split("Drifting apart")[1].split("Leaderboard")[0]
    reply = await sandbox.slash(ana, "rapport talked-elsewhere", member=sam)
    assert reply.ephemeral
    assert "Noted — you talked with Sam outside Discord" in reply.text

    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    assert "Bob answered your post" in dm.text
    assert "Sam" not in dm.text

    closeup = await sandbox.slash(ana, "rapport status", member=sam)
    assert "No — it would count as drifting after" in closeup.text
    after = await sandbox.slash(ana, "rapport status")
    assert shown not in after.text.split("Drifting apart")[1].split("Talked elsewhere")[0]
    assert f"**{shown}** — <t:" in after.text.split("Talked elsewhere")[1]
    strongest = "Strongest relationships"
    sam_line = f"**{shown}** — 8 out, 7 in, they usually start"
    assert sam_line in before.text.split(strongest)[1]
    assert sam_line in after.text.split(strongest)[1]

    await sandbox.clock.advance(days=16)
    (line,) = about(sandbox, ana, "Sam")
    assert "You haven't talked with Sam in 2 weeks" in line.text


async def test_the_command_refuses_a_bot_and_yourself(sandbox: Sandbox) -> None:
    """Only people: a bot or yourself gets a clear private refusal and nothing is stored."""
    (ana,) = await sandbox.members("Ana")
    yourself = await sandbox.slash(ana, "rapport talked-elsewhere", member=ana)
    assert yourself.ephemeral
    assert "That's you" in yourself.text
    assert sandbox.services.members.get(sandbox.guild.id, ana.id).elsewhere == ()
