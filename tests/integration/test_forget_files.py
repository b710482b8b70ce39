"""After a forget, no file under the data directory keeps what was deleted about the member."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Sandbox, days_ago


def naming(data_dir: Path, member_id: int) -> dict[str, int]:
    """Each file under the data directory that names the member: how many times."""
    needle = str(member_id).encode()
    found = {p.name: p.read_bytes().count(needle) for p in data_dir.rglob("*") if p.is_file()}
    return {name: n for name, n in found.items() if n}


async def test_a_forgotten_member_is_in_no_older_store_file(sandbox: Sandbox) -> None:
    """Ana's records sat in the snapshot, its .bak and a journal; once she is forgotten and the
    purge that follows the next flush is done, only her "don't track" record names her (by
    her id as text; packed records are tests/unit/test_store_purge.py's)."""
    ana, bob = await sandbox.members("Ana", "Bob")
    for day in (9, 6, 3):
        post = await sandbox.say(ana, "#general", "draft is up", at=days_ago(day))
        await sandbox.say(bob, "#general", "nice", reply_to=post, at=days_ago(day - 0.5))
        await sandbox.flush()
        await sandbox.services.store.compact()
    await sandbox.say(bob, "#general", "ping", mentions=[ana], at=days_ago(1))
    await sandbox.flush()
    before = naming(sandbox.data_dir, ana.id)
    assert {"rapport.json.bak", "rapport.json"} < set(before)  # and a journal
    ask = await sandbox.slash(ana, "rapport forget")
    await sandbox.click(ana, ask.message, "rapport:forget:confirm")
    await sandbox.flush()
    purging = sandbox.services.flusher._purging
    assert purging is not None
    await purging
    assert naming(sandbox.data_dir, ana.id) == {"rapport.json": 1, "rapport.json.bak": 1}
    snapshot = sandbox.data_dir / "rapport.json"
    assert snapshot.samefile(sandbox.data_dir / "rapport.json.bak")
    assert b'"tracked":false' in next(
        line for line in snapshot.read_bytes().splitlines() if str(ana.id).encode() in line
    )
