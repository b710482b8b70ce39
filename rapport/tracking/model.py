"""The values the core passes around: interactions in, read-side views out.

Immutable values with no Discord in them (frozen dataclasses; MessageFacts, built once per
gateway message, is a NamedTuple), so the ledger, the nudge rules and the leaderboard can be
tested with explicit ids and times. Every time is an aware UTC datetime taken from a message
snowflake, never from the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

DISCORD_EPOCH_MS = 1420070400000
"""Milliseconds from the Unix epoch to Discord's epoch (2015-01-01 UTC)."""


def snowflake_time(snowflake: int) -> datetime:
    """The creation time a Discord id carries, so times never come from the wall clock."""
    # Positional tz: called per gateway message, and keyword parsing is a third of the call.
    return _fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


_fromtimestamp = datetime.fromtimestamp


def time_snowflake(dt: datetime, *, high: bool = False) -> int:
    """The smallest (or, with high, largest) id Discord could have given at `dt`."""
    if dt.tzinfo is None:
        raise ValueError("time_snowflake needs an aware datetime")
    ms = int(dt.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) + ((1 << 22) - 1 if high else 0)


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """The link Discord opens at one message (channel is the thread when it is in one)."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


class Kind(StrEnum):
    """What one interaction was.

    There is no separate "greet": a newcomer counts as greeted when someone replies to,
    mentions or answers the thread of a member who joined recently (see `Newcomer`).
    """

    REPLY = "reply"
    MENTION = "mention"
    REACTION = "reaction"
    THREAD = "thread"  # an answer in a thread someone else started
    THANKS = "thanks"
    SHARE = "share"  # a link or a file; no target
    JOIN = "join"  # a member joined the guild; no target


@dataclass(frozen=True, slots=True)
class Interaction:
    """One directed interaction, as the tracking cog saw it (ids only, never text)."""

    guild_id: int
    actor_id: int
    target_id: int | None
    channel_id: int
    kind: Kind
    message_id: int
    at: datetime
    thread_id: int | None = None

    @property
    def jump_url(self) -> str:
        """Link to the message (inside the thread when there is one)."""
        return jump_url(self.guild_id, self.thread_id or self.channel_id, self.message_id)


class MessageFacts(NamedTuple):
    """The facts of one message the ledger derives interactions from.

    The cog only translates a discord message into this; the rules (who a thread answer
    links to, which targets a thanks applies to, what is a share) live in the ledger.
    `channel_id` is the text channel; `thread_id` the thread the message is in, if any.
    `reply_to_id` is the author of the referenced message; `mentions` the user mentions
    (roles, @everyone and @here excluded by the cog). `thanks` and `closes` (a thank-you, "got
    it", "you're welcome": the message owes no answer) are the cog's reading of the content
    (which is never stored). `author_joined_at` is when the author joined the server, so a
    newcomer's first messages count whichever of join and message arrives first. A NamedTuple rather than a frozen dataclass: one is
    built per gateway message, and this builds in a third of the time, just as immutable.
    """

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    at: datetime
    thread_id: int | None = None
    thread_starter_id: int | None = None
    reply_to_id: int | None = None
    reply_to_message_id: int | None = None
    mentions: frozenset[int] = frozenset()
    has_link: bool = False
    has_file: bool = False
    thanks: bool = False
    closes: bool = False
    author_joined_at: datetime | None = None

    @property
    def message_channel_id(self) -> int:
        """The channel id Discord files the message under (the thread when in one)."""
        return self.thread_id or self.channel_id


@dataclass(frozen=True, slots=True)
class Answers:
    """How one side of a pair answers the other (live traffic only, recent habits weighing most).

    `asked`: the other's messages that called for an answer (replies, mentions, thread
    answers that did not close an exchange); `by_time`: the answers, counted per answer-time
    bucket (ANSWER_TIMES). Items still waiting are in `asked` but not yet answered or not.
    """

    asked: int = 0
    by_time: tuple[int, ...] = (0,) * 7

    @property
    def answered(self) -> int:
        """How many of the asks were answered."""
        return sum(self.by_time)

    def typical(self) -> int | None:
        """The answer-time bucket the middle answer falls in (None without answers)."""
        n = self.answered
        if not n:
            return None
        half, seen = (n + 1) // 2, 0
        for i, c in enumerate(self.by_time):
            seen += c
            if seen >= half:
                return i
        return None  # unreachable: the counts sum to n


ANSWER_TIMES = (
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=3),
)
"""Upper bounds of the answer-time buckets 0-5; bucket 6 is longer than three days."""


@dataclass(frozen=True, slots=True)
class PairView:
    """One member's relationship with one other person, both directions together.

    `_out` fields are member -> other, `_in` fields other -> member (`answers_out`: how the
    member answers the other; `answers_in`: how the other answers the member). Contact (last
    contact, contact days, usual gap) counts replies, mentions, thread answers and thanks
    either way; reactions only add to counts and weight.
    """

    guild_id: int
    member_id: int
    other_id: int
    first_out: datetime | None
    last_out: datetime | None
    first_in: datetime | None
    last_in: datetime | None
    last_contact: datetime | None
    counts_out: dict[Kind, int]
    counts_in: dict[Kind, int]
    weight_out: float
    weight_in: float
    contact_days: int
    usual_gap: timedelta | None
    cadence_override: timedelta | None
    last_message_url: str | None
    started_out: int
    started_in: int
    other_left: bool = False
    answers_out: Answers = Answers()
    answers_in: Answers = Answers()

    @property
    def weight(self) -> float:
        """Decayed strength of the relationship, both directions together."""
        return self.weight_out + self.weight_in

    @property
    def cadence(self) -> timedelta | None:
        """The gap the member expects: their own setting first, else the learned one."""
        return self.cadence_override or self.usual_gap


@dataclass(frozen=True, slots=True)
class PendingItem:
    """Someone replied to, mentioned, answered or thanked the member, not yet answered.

    `kind` is reply, mention or thread; `warm` marks a thanks (only in data stored before
    thanks stopped owing answers); `answer` marks an answer to the member's own post or
    thread. `channel_id` is the message's own channel (the thread when in one).
    """

    guild_id: int
    member_id: int
    from_member_id: int
    kind: Kind
    message_id: int
    channel_id: int
    at: datetime
    warm: bool
    answer: bool = False
    counted: bool = False  # seen live: it counts in the pair's answers (see Answers)

    @property
    def jump_url(self) -> str:
        """Link to the message that is waiting for an answer."""
        return jump_url(self.guild_id, self.channel_id, self.message_id)


@dataclass(frozen=True, slots=True)
class ChannelActivity:
    """What one member did in one text channel (threads count to their parent)."""

    channel_id: int
    last_active: datetime
    messages: int
    shares: int
    replies_drawn: int


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """One member's own activity: for the share and welcome rules and /rapport status."""

    guild_id: int
    member_id: int
    last_active: datetime | None
    last_share: datetime | None
    channels: dict[int, ChannelActivity]
    left: bool = False

    @property
    def best_share_channel(self) -> int | None:
        """The channel where the member's shares drew the most replies (then most shares)."""
        shared = [c for c in self.channels.values() if c.shares]
        if not shared:
            return None
        return max(shared, key=lambda c: (c.replies_drawn, c.shares, c.last_active)).channel_id


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """One of a newcomer's first messages."""

    channel_id: int
    message_id: int
    at: datetime
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A member who joined recently, their first messages and who answered them."""

    guild_id: int
    member_id: int
    joined_at: datetime
    first_messages: tuple[FirstMessage, ...]
    answered_by: frozenset[int]


@dataclass(frozen=True, slots=True)
class PeriodStats:
    """One member's leaderboard counters for one period (ISO week or month).

    `given`: replies, mentions and thread answers given, capped per person per day;
    `people`: distinct people given to; `inbound`: messages replying to or mentioning the
    member; `answered`: of those, answered within 48 h; `thanks`: thanks given (capped like
    `given`); `shares_drew`: the member's shares that drew a reply. Reactions count nowhere.
    """

    given: int = 0
    people: int = 0
    inbound: int = 0
    answered: int = 0
    thanks: int = 0
    shares_drew: int = 0
