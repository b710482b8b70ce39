"""The gateway v10 websocket: sessions, sequence numbers, RESUME replay and zlib-stream.

A session outlives its connection so a client that drops can RESUME and receive every event it
missed, as Discord promises; per-session payloads let the message-content intent blank content
for one bot and not another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from sandbox.emulator import Emulator

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
#: Older events are forgotten; a RESUME from before them is refused, as Discord does.
MAX_REPLAY = 20000
#: How long ``sync`` waits for a disconnected session to come back before it stops waiting.
RECONNECT_GRACE = 3.0
#: Members per GUILD_MEMBERS_CHUNK, and how soon a session's repeated "every member" request of
#: a guild is refused (RATE_LIMITED), as Discord does.
CHUNK_SIZE = 1000
ALL_MEMBERS_EVERY = 30.0
#: Discord's default member count from which a guild is "large" (IDENTIFY may lower it).
LARGE_THRESHOLD = 50

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = {
    "members": GUILD_MEMBERS,
    "presences": GUILD_PRESENCES,
    "message_content": MESSAGE_CONTENT,
}

#: Gateway commands whose data the contract checks, by opcode.
SENDS = {2: "IDENTIFY", 3: "PRESENCE_UPDATE", 6: "RESUME", 8: "REQUEST_GUILD_MEMBERS"}


@dataclass(eq=False)
class Session:
    """One IDENTIFY: its shard, intents and every dispatch it was sent, for RESUME."""

    id: str
    shard: tuple[int, int]
    intents: int
    large_threshold: int = LARGE_THRESHOLD
    #: When each guild's members were last asked for all at once in this session.
    all_members_asked: dict[int, float] = field(default_factory=dict)
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None
    resumable: bool = True
    attached: asyncio.Event = field(default_factory=asyncio.Event)

    def has(self, intent: int) -> bool:
        """Whether IDENTIFY asked for this intent."""
        return bool(self.intents & intent)

    def owns(self, guild_id: int | None) -> bool:
        """Whether this shard receives the guild's events (DMs go to shard 0)."""
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id


class Connection:
    """One websocket, with its own zlib stream and the heartbeats awaited by ``sync``."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compress: bool) -> None:
        self.ws = ws
        self.request = request
        self._compressor = zlib.compressobj() if compress else None
        self._lock = asyncio.Lock()
        self.session: Session | None = None
        self.heard_seq = -1
        self.heartbeat = asyncio.Event()

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one gateway frame, compressed with Z_SYNC_FLUSH when the client asked."""
        text = json.dumps(frame, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return
            try:
                if self._compressor is None:
                    await self.ws.send_str(text)
                else:
                    data = self._compressor.compress(text.encode())
                    data += self._compressor.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError):
                log.debug("gateway send on a closing socket dropped")

    def abort(self) -> None:
        """Cut the TCP connection without a close frame, like a network failure."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class Gateway:
    """Every session and connection of the emulator's gateway."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.refused_intents = 0
        #: How many connections asked for zlib-stream / plain JSON, and how many RESUMEs succeeded.
        self.compressed_connections = 0
        self.plain_connections = 0
        self.resumes = 0
        self.identifies = 0
        #: GUILD_MEMBERS_CHUNK dispatches sent; True leaves member requests unanswered (a
        #: chunking that never completes, as after a rate limit or a lost connection).
        self.member_chunks = 0
        self.ignore_member_requests = False

    # -- dispatch -------------------------------------------------------------------------

    async def dispatch(
        self,
        event: str,
        build: Callable[[Session], dict[str, Any] | None],
        *,
        guild_id: int | None,
        intent: int = 0,
        sessions: Iterable[Session] | None = None,
    ) -> int:
        """Send an event to every session that owns the guild and asked for the intent.

        ``build`` renders the payload per session (None skips it). Returns how many got it.
        """
        sent = 0
        for session in list(sessions if sessions is not None else self.sessions.values()):
            if not session.resumable or not session.owns(guild_id):
                continue
            if intent and not session.has(intent):
                continue
            payload = build(session)
            if payload is None:
                continue
            await self._send_dispatch(session, event, payload)
            sent += 1
        return sent

    async def _send_dispatch(self, session: Session, event: str, payload: dict[str, Any]) -> None:
        self.emulator.check_dispatch(event, payload)
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": payload}
        session.log.append(frame)
        if len(session.log) > MAX_REPLAY:
            del session.log[: len(session.log) - MAX_REPLAY]
        if session.connection is not None:
            await session.connection.send(frame)

    # -- control --------------------------------------------------------------------------

    async def broadcast(self, frame: dict[str, Any]) -> None:
        """Send a control frame (op 7, op 9) to every live connection."""
        for conn in list(self.connections):
            await conn.send(frame)

    async def drop(self) -> None:
        """Cut every connection; sessions stay resumable."""
        for conn in list(self.connections):
            conn.abort()
            self._detach(conn)

    async def sync(self, within: float) -> None:
        """Return once every live session's client has read everything dispatched so far.

        A heartbeat request (op 1) makes discord.py answer from its read loop, in order, with
        the last sequence it read; waiting for that number to reach ours proves it has read up
        to here. Sessions between connections are waited for until they come back.
        """
        async with asyncio.timeout(within):
            for session in list(self.sessions.values()):
                target = session.seq
                while session.resumable:
                    if session.connection is None:
                        # A client that was killed never comes back: give up on it after a
                        # grace period rather than hang every later barrier.
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(session.attached.wait(), RECONNECT_GRACE)
                        if session.connection is None:
                            break
                    conn = session.connection
                    assert conn is not None
                    if conn.heard_seq >= target:
                        break
                    conn.heartbeat.clear()
                    await conn.send({"op": 1, "d": None})
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(conn.heartbeat.wait(), 0.5)
        # discord.py hands events to handler tasks; let them start before the caller looks.
        for _ in range(5):
            await asyncio.sleep(0)

    # -- the websocket --------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway connection until it closes."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, request, request.query.get("compress") == "zlib-stream")
        self.connections.add(conn)
        if request.query.get("compress") == "zlib-stream":
            self.compressed_connections += 1
        else:
            self.plain_connections += 1
        try:
            await conn.send({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                await self._receive(conn, frame.get("op"), frame.get("d"))
        except ConnectionError:
            log.debug("gateway connection lost")
        finally:
            close_code = ws.close_code
            self._detach(conn)
            session = conn.session
            # A clean close (1000/1001) ends the session; anything else may RESUME.
            if session is not None and close_code in (1000, 1001) and session.connection is None:
                session.resumable = False
                self.sessions.pop(session.id, None)
        return ws

    def _detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            session.attached.clear()

    async def _receive(self, conn: Connection, op: int | None, data: Any) -> None:
        if op in SENDS:
            self.emulator.check_send(SENDS[op], data)
        if op == 1:
            conn.heard_seq = data if isinstance(data, int) else -1
            conn.heartbeat.set()
            await conn.send({"op": 11})
        elif op == 2:
            await self._identify(conn, data)
        elif op == 6:
            await self._resume(conn, data)
        elif op == 8:
            await self._request_members(conn, data)
        # op 3 (presence) and op 4 (voice) need no answer here.

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        emulator = self.emulator
        if data.get("token", "").removeprefix("Bot ") != emulator.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if "intents" not in data:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        intents = int(data["intents"])
        if intents & self.refused_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard_id, count = data.get("shard") or (0, 1)
        if not 0 <= shard_id < count:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        # A fresh IDENTIFY for a shard supersedes its disconnected sessions.
        for old in list(self.sessions.values()):
            if old.shard == (shard_id, count) and old.connection is None:
                old.resumable = False
                self.sessions.pop(old.id)
        threshold = int(data.get("large_threshold") or LARGE_THRESHOLD)
        session = Session(secrets.token_hex(16), (shard_id, count), intents, threshold)
        self.identifies += 1
        self.sessions[session.id] = session
        self._attach(conn, session)
        guilds = [
            g for g in emulator.guilds if session.owns(g.id) and g.id not in emulator.removed_guilds
        ]
        ready = {
            "v": 10,
            "user": emulator.bot_user.payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": emulator.gateway_url,
            "shard": [shard_id, count],
            "application": {"id": str(emulator.application_id), "flags": 0, "flags_new": "0"},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["rapport-sandbox"],
        }
        await self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            payload = guild.payload(members=True)
            if not session.has(GUILD_PRESENCES):
                # Without the presences intent Discord lists only the bot itself (and members
                # in voice): the rest come by REQUEST_GUILD_MEMBERS, in chunks.
                payload["members"] = [
                    m for m in payload["members"] if m["user"]["id"] == str(emulator.bot_user.id)
                ]
            payload["large"] = len(guild.members) > session.large_threshold
            await self._send_dispatch(session, "GUILD_CREATE", payload)
        emulator.guilds_sent.update(g.id for g in guilds)

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        seq = data.get("seq") or 0
        oldest = session.log[0]["s"] if session and session.log else 1
        if session is None or not session.resumable or seq + 1 < oldest:
            await conn.send({"op": 9, "d": False})
            return
        if session.connection is not None and session.connection is not conn:
            old = session.connection
            self._detach(old)
            old.abort()
        self._attach(conn, session)
        self.resumes += 1
        for frame in list(session.log):
            if frame["s"] > seq:
                await conn.send(frame)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["rapport-sandbox"]})

    def _attach(self, conn: Connection, session: Session) -> None:
        conn.session = session
        session.connection = conn
        session.attached.set()

    async def _request_members(self, conn: Connection, data: dict[str, Any]) -> None:
        session = conn.session
        guild = self.emulator.guild_by_id(int(data.get("guild_id", 0)))
        if (
            session is None
            or guild is None
            or not session.has(GUILD_MEMBERS)
            or self.ignore_member_requests
        ):
            return
        members = list(guild.members.values())
        not_found: list[str] = []
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.id in wanted]
            not_found = [str(u) for u in sorted(wanted - {m.id for m in members})]
        elif data.get("query"):
            query = data["query"].lower()
            members = [m for m in members if m.name.lower().startswith(query)]
        elif not data.get("limit"):
            # Every member: Discord allows it once per guild in ALL_MEMBERS_EVERY seconds.
            now = asyncio.get_running_loop().time()
            last = session.all_members_asked.get(guild.id)
            if last is not None and now - last < ALL_MEMBERS_EVERY:
                meta: dict[str, Any] = {"guild_id": str(guild.id)}
                if data.get("nonce"):
                    meta["nonce"] = data["nonce"]
                retry = ALL_MEMBERS_EVERY - (now - last)
                limited = {"opcode": 8, "retry_after": round(retry, 3), "meta": meta}
                await self._send_dispatch(session, "RATE_LIMITED", limited)
                return
            session.all_members_asked[guild.id] = now
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunks = [members[i : i + CHUNK_SIZE] for i in range(0, len(members), CHUNK_SIZE)] or [[]]
        self.member_chunks += len(chunks)
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in chunk],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if index == 0 and not_found:
                payload["not_found"] = not_found
            if data.get("nonce"):
                payload["nonce"] = data["nonce"]
            await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", payload)

    async def close(self) -> None:
        """Close every websocket (server shutdown)."""
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001)
        self.connections.clear()
