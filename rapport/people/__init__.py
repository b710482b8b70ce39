"""People: each member's choices, each guild's policy, the thanks they give, and their privacy rights."""

from rapport.people._server_values import THRESHOLDS
from rapport.people.guilds import SETTINGS, GuildPolicy, GuildService, Roles
from rapport.people.kudos import CapReached, Kudos, KudosService, Received, Target, Thanked
from rapport.people.members import MemberService, Preferences
from rapport.people.privacy import Everywhere, Privacy

__all__ = [
    "SETTINGS",
    "THRESHOLDS",
    "CapReached",
    "Everywhere",
    "GuildPolicy",
    "GuildService",
    "Kudos",
    "KudosService",
    "MemberService",
    "Preferences",
    "Privacy",
    "Received",
    "Roles",
    "Target",
    "Thanked",
]
