"""Child process of the kill -9 test: flushes numbered batches forever, printing each one done.

Batch s writes RECORDS documents "s:j" to guild s % 3 in table "rec", as many record documents
(kept packed, see rapport/store/base.py) in table "packed", deletes batch s - KEEP's documents and
sets "latest" to s, so the surviving store must look exactly like the state after one whole batch.
Compactions are made frequent so that kills land inside them too; every CLOSE_EVERY batches the
store is closed (a shutdown) and opened and loaded again, so kills land in those paths as well.
With a second argument "purge", every other batch is followed by a purge beside the next flushes
(as a forget's is), so kills land in purges, and in purges owed at open, too.
"""

from __future__ import annotations

import asyncio
import struct
import sys
from pathlib import Path

from rapport.store.base import record_doc
from rapport.store.tinydb import TinyDBStore

RECORDS = 40
KEEP = 5
CLOSE_EVERY = 4
RECORD = struct.Struct("<II56x")  # seq, j: a 64-byte record


def packed_doc(seq: int, j: int) -> dict[str, str]:
    """The record document of record (seq, j)."""
    return record_doc(RECORD.pack(seq, j))


async def opened(path: Path) -> tuple[TinyDBStore, int]:
    store = TinyDBStore(path, compact_bytes=16_384)
    await store.open()
    for guild in (2, 1):
        await store.load("rec", guild)
        async for _ in store.stream_records("packed", guild):
            pass
    latest = (await store.load("rec", 0)).get("latest")
    return store, latest["seq"] if latest else 0


async def main(path: Path, purge: bool) -> None:
    store, seq = await opened(path)
    purges: list[asyncio.Task[None]] = []
    while True:
        seq += 1
        for j in range(RECORDS):
            store.put("rec", seq % 3, f"{seq}:{j}", {"seq": seq, "j": j, "w": {"reply": 3.2}})
            store.put("packed", seq % 3, f"{seq}:{j}", packed_doc(seq, j))
        if seq > KEEP:
            for j in range(RECORDS):
                store.delete("rec", (seq - KEEP) % 3, f"{seq - KEEP}:{j}")
                store.delete("packed", (seq - KEEP) % 3, f"{seq - KEEP}:{j}")
        store.put("rec", 0, "latest", {"seq": seq})
        await store.flush()
        print(seq, flush=True)
        if purge and seq % 2 == 0:
            purges.append(asyncio.create_task(store.purge()))
        if seq % CLOSE_EVERY == 0:
            await store.close()
            store, _ = await opened(path)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2:] == ["purge"]))
