"""Member commands through the sandbox: /rapport ... as members type them, answers as they see them."""

from __future__ import annotations

from tests.conftest import Sandbox


async def test_join_says_what_is_tracked_and_shows_settings(sandbox: Sandbox) -> None:
    """Joining explains what is and isn't stored, shows the settings and a digest preview."""
    (ana,) = await sandbox.members("Ana")
    reply = await sandbox.slash(ana, "rapport join")
    assert reply.ephemeral
    assert "never" in reply.text and "message text" in reply.text
    assert "Time zone" in reply.text
