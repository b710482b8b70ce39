"""People: each member's choices, each guild's policy, and a member's privacy rights."""

from rapport.people.guilds import GuildPolicy, GuildService
from rapport.people.members import MemberService, Preferences
from rapport.people.privacy import Privacy

__all__ = ["GuildPolicy", "GuildService", "MemberService", "Preferences", "Privacy"]
