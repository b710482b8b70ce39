"""Buttons and selects fail the way commands do: one private answer, the bug logged."""

from __future__ import annotations

import logging

import pytest

from rapport.errors import UserFacingError
from tests.conftest import Sandbox, days_ago

pytestmark = pytest.mark.sandbox_config({"nudges": {"digest_hour": "any", "quiet_hours": ""}})


def fail(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("the store is on fire")


async def test_a_failing_digest_button_apologises_and_logs(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug behind Done gets the member the same private apology a failing command does."""
    ana, bob = await sandbox.members("Ana", "Bob")
    await sandbox.slash(ana, "rapport join")  # first: its preview is never sent again
    post = await sandbox.say(ana, "#design", "draft is up", at=days_ago(3))
    await sandbox.say(bob, "#design", "looks great", reply_to=post, at=days_ago(2))
    await sandbox.run_job("send_due_digests")
    (dm,) = sandbox.dms_to(ana)
    monkeypatch.setattr(sandbox.services.nudges, "done", fail)
    done = next(c for c in dm.custom_ids() if c.startswith("rapport:done:"))
    with caplog.at_level(logging.ERROR, logger="cogs._errors"):
        reply = await sandbox.click(ana, dm, done)
    assert "something went wrong on my side" in reply.text
    assert reply.ephemeral
    assert any(r.exc_info and "the store is on fire" in str(r.exc_info[1]) for r in caplog.records)


async def test_a_user_facing_error_behind_a_view_button_is_shown_as_is(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal from the core behind a confirm button reaches the member in its own words."""
    (ana,) = await sandbox.members("Ana")
    await sandbox.slash(ana, "rapport join")

    async def refuse(*_args: object) -> None:
        raise UserFacingError("Forgetting is paused while a backfill runs.")

    members_cog = sandbox.bot.get_cog("Members")  # the test reaches in; cogs never do
    monkeypatch.setattr(members_cog.privacy, "forget", refuse)
    ask = await sandbox.slash(ana, "rapport forget")
    assert ask.message is not None
    reply = await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    assert "Forgetting is paused while a backfill runs." in reply.text
    assert reply.ephemeral
