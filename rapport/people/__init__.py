"""People: each member's choices, each guild's policy, and a member's privacy rights."""

from rapport.people._server_values import THRESHOLDS
from rapport.people.guilds import SETTINGS, GuildPolicy, GuildService, Roles
from rapport.people.members import MemberService, Preferences
from rapport.people.privacy import Privacy

__all__ = [
    "SETTINGS",
    "THRESHOLDS",
    "GuildPolicy",
    "GuildService",
    "MemberService",
    "Preferences",
    "Privacy",
    "Roles",
]
