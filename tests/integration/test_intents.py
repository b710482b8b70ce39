"""The intent matrix: members on/off x message content on/off, one community each.

Both privileged intents are settings an operator may turn off (or Discord may refuse past 100
servers); every combination must track, name and nudge correctly. What only message text can
tell (thanks, links) is the one thing allowed to differ.
"""

from __future__ import annotations

import pytest

from rapport.tracking.model import Kind
from tests.conftest import Sandbox, days_ago

ANY_TIME = {"digest_hour": "any", "quiet_hours": ""}
MATRIX = [
    pytest.param(
        members,
        content,
        marks=pytest.mark.sandbox_config(
            {
                "discord": {"members_intent": members, "message_content": content},
                "nudges": ANY_TIME,
            }
        ),
        id=f"members-{'on' if members else 'off'}-content-{'on' if content else 'off'}",
    )
    for members in (True, False)
    for content in (True, False)
]


@pytest.mark.parametrize(("members", "content"), MATRIX)
async def test_every_intent_combination_tracks_names_and_nudges(
    sandbox: Sandbox, members: bool, content: bool
) -> None:
    """Replies, mentions, reactions and thread answers count; names and digests read right."""
    ana, bob, cy = await sandbox.members("Ana", "Bob", "Cy")
    await sandbox.slash(ana, "rapport join")  # before Cy's mention: her digest, not the preview
    g, ledger = sandbox.guild.id, sandbox.services.ledger
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "thanks, looks great", reply_to=post, at=days_ago(2))
    await sandbox.say(cy, "#general", "ana, a question", mentions=[ana], at=days_ago(2))
    await sandbox.react(cy, post, "👍")
    thread = await sandbox.thread(ana, "#help", "keys?")
    await sandbox.say(cy, thread, "rotate them")

    bob_ana = ledger.pair(g, bob.id, ana.id).counts_out
    cy_ana = ledger.pair(g, cy.id, ana.id).counts_out
    assert bob_ana[Kind.REPLY] == 1
    assert cy_ana[Kind.MENTION] == 1
    assert cy_ana[Kind.REACTION] == 1
    assert cy_ana[Kind.THREAD] == 1
    assert bob_ana[Kind.THANKS] == (1 if content else 0)  # only the text says "thanks"

    await sandbox.react(cy, post, "👍", remove=True)
    assert ledger.pair(g, cy.id, ana.id).counts_out[Kind.REACTION] == 0

    status = await sandbox.slash(ana, "rapport status")
    assert status.error is None
    board = await sandbox.slash(ana, "leaderboard", period="all")
    (answer,) = board.followups or [board.message]
    assert "Bob" in answer.text
    assert str(bob.id) not in answer.text

    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    assert "Cy mentioned you" in dm.text


@pytest.mark.sandbox_config({"discord": {"members_intent": False}, "nudges": ANY_TIME})
async def test_not_about_someone_uncached_answers_in_time_when_discord_is_slow(
    sandbox: Sandbox,
) -> None:
    """Naming a person the cache lacks takes a REST call: the click is acknowledged first."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.slash(ana, "rapport join")
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    sandbox.emulator.slow("GET /guilds/{guild_id}/members/{user_id}", 2.5)
    select = next(c for c in dm.custom_ids() if c.startswith("rapport:notabout:"))
    first = len(sandbox.emulator.first_responses)
    reply = await sandbox.click(ana, dm, select, values=[str(bob.id)])
    assert "won't nudge you about Bob" in reply.text
    assert sandbox.emulator.first_responses[first] < 1.0
