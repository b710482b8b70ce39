"""Child process of the kill -9 test: flushes numbered batches forever, printing each one done.

Batch s writes RECORDS documents "s:j" to guild s % 3, deletes batch s - KEEP's documents and sets
"latest" to s, so the surviving store must look exactly like the state after one whole batch.
Compactions are made frequent so that kills land inside them too.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from rapport.store.tinydb import TinyDBStore

RECORDS = 40
KEEP = 5


async def main(path: Path) -> None:
    store = TinyDBStore(path, compact_bytes=16_384)
    await store.open()
    latest = (await store.load("rec", 0)).get("latest")
    seq = latest["seq"] if latest else 0
    while True:
        seq += 1
        for j in range(RECORDS):
            store.put("rec", seq % 3, f"{seq}:{j}", {"seq": seq, "j": j, "w": {"reply": 3.2}})
        if seq > KEEP:
            for j in range(RECORDS):
                store.delete("rec", (seq - KEEP) % 3, f"{seq - KEEP}:{j}")
        store.put("rec", 0, "latest", {"seq": seq})
        await store.flush()
        print(seq, flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
