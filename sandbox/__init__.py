"""A Discord API emulator on loopback that the unmodified discord.py client connects to."""

from sandbox.emulator import CommandError, Emulator, Reply, RequestRecord, Violation
from sandbox.state import Channel, Guild, Member, Message, Role, User, snowflake_time

__all__ = [
    "Channel",
    "CommandError",
    "Emulator",
    "Guild",
    "Member",
    "Message",
    "Reply",
    "RequestRecord",
    "Role",
    "User",
    "Violation",
    "snowflake_time",
]
