"""A believable generated community for the demo: members, teams, channels and weeks of history.

Everything comes from one seed, so the same seed replays the same history. Times are offsets
from the demo's now (sandbox/demo.py's DEMO_NOW, a fixed moment, never the wall clock), so the
history always ends just before it and reads the same on any day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

NAMES = [
    "Ana",
    "Bob",
    "Chen",
    "Dara",
    "Eli",
    "Farah",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kemi",
    "Lee",
    "Mara",
    "Nico",
    "Oona",
    "Pax",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Vik",
    "Wren",
    "Xia",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bea",
    "Cato",
    "Dev",
]
TEAMS = ["Aurora", "Borealis", "Comet"]
CHANNELS = ["general", "design", "help", "resources", "random", "introductions", "leaderboard"]
TALK_CHANNELS = ["general", "design", "help", "random"]

OPENERS = [
    "morning all — what is everyone working on?",
    "draft of the onboarding flow is up, feedback welcome",
    "anyone tried the new build yet?",
    "quick question about the release checklist",
    "is the staging server down for anyone else?",
    "pushed a fix for the flaky login test",
    "what's the best way to structure the docs folder?",
    "I'm stuck on the cache invalidation bug",
    "retro notes are in the shared doc",
    "lunch-and-learn on Thursday, who's in?",
]
ANSWERS = [
    "looks great, one small note on the spacing",
    "yes, works for me on the latest build",
    "try clearing the cache and restarting",
    "I had the same problem last week — it's the config flag",
    "count me in",
    "nice work, that was a tricky one",
    "I'd split it by audience: guides, reference, how-tos",
    "let me take a look after standup",
]
THANKS = [
    "thanks, that fixed it!",
    "thank you so much",
    "ty, that helps",
    "thanks! really appreciate it",
    "merci, parfait",
]
SHARES = [
    "found this write-up on accessible colour palettes: https://example.org/a11y-colours",
    "great talk on incident reviews https://example.org/talks/incidents",
    "handy cheat sheet for git rebase: https://example.org/git-rebase",
    "this article on writing good docs is gold https://example.org/docs-that-work",
    "sharing the design tokens spec: https://example.org/tokens",
]
GREETINGS = [
    "hi everyone, just joined — I work on the mobile app",
    "hello! new here, excited to learn from you all",
    "hey folks, I'm the new data engineer",
]


@dataclass(frozen=True)
class Person:
    """A generated member: name, team role, when they joined, and whether they enroll."""

    name: str
    team: str
    joined_days_ago: int
    enrolls: bool
    is_bot: bool = False
    #: Whether they set an avatar (one in four did not: the card draws their initials).
    avatar: bool = True


@dataclass(frozen=True)
class Event:
    """One thing that happens in the history, `days_ago` before the demo's now."""

    kind: str  # "say" | "react" | "join" | "thread"
    actor: str
    days_ago: float
    channel: str = ""
    text: str = ""
    reply_to: int | None = None  # index of an earlier "say"/"thread" event
    mentions: tuple[str, ...] = ()
    emoji: str = ""
    target: int | None = None  # index of the message reacted to


@dataclass
class Community:
    """A whole generated server."""

    seed: int
    people: list[Person]
    events: list[Event] = field(default_factory=list)

    def at(self, event: Event, now: datetime) -> datetime:
        """The moment an event happened, relative to the demo's now."""
        return now - timedelta(days=event.days_ago)

    @property
    def teams(self) -> list[str]:
        """Team names (each a role in the server)."""
        return TEAMS


def generate(seed: int = 7, *, weeks: int = 7) -> Community:
    """Build a community of 15–30 people with `weeks` of history, newcomers and drifting pairs."""
    rng = random.Random(seed)
    size = rng.randint(18, 26)
    names = rng.sample(NAMES, size)
    newcomers = set(names[-3:])
    people = [
        Person(
            name=name,
            team=TEAMS[i % len(TEAMS)],
            joined_days_ago=rng.randint(1, 6) if name in newcomers else weeks * 7 + 30,
            enrolls=name not in newcomers and rng.random() < 0.5,
            avatar=i % 4 != 3,  # not drawn from rng: the same seed keeps the same history
        )
        for i, name in enumerate(names)
    ]
    regulars = [p.name for p in people if p.name not in newcomers]
    # Affinity: teammates talk more; a few close pairs talk a lot; some pairs drift apart.
    close = {tuple(sorted(rng.sample(regulars, 2))) for _ in range(size // 2)}
    drifted = set(sorted(close)[: max(2, len(close) // 3)])
    team_of = {p.name: p.team for p in people}
    community = Community(seed, people)
    events = community.events

    def partner(author: str, day: float) -> str:
        weights = []
        for other in regulars:
            if other == author:
                weights.append(0.0)
                continue
            w = 3.0 if team_of[other] == team_of[author] else 1.0
            pair = tuple(sorted((author, other)))
            if pair in close:
                w = 0.0 if pair in drifted and day < 21 else 12.0
            weights.append(w)
        return rng.choices(regulars, weights)[0]

    for day_index in range(weeks * 7, 0, -1):
        # Drifted pairs stop talking three weeks before the end of the history.
        for _ in range(rng.randint(3, 7)):
            author = rng.choice(regulars)
            channel = rng.choice(TALK_CHANNELS)
            t = day_index - rng.uniform(0.3, 0.8)  # days ago; later moments are smaller
            post = len(events)
            events.append(Event("say", author, t, channel, rng.choice(OPENERS)))
            for _ in range(rng.randint(0, 3)):
                replier = partner(author, day_index)
                pair = tuple(sorted((author, replier)))
                if pair in drifted and day_index < 21:
                    continue
                t -= rng.uniform(0.005, 0.03)
                answer = len(events)
                events.append(Event("say", replier, t, channel, rng.choice(ANSWERS), reply_to=post))
                roll = rng.random()
                if roll < 0.3:
                    t -= rng.uniform(0.002, 0.01)
                    events.append(
                        Event("say", author, t, channel, rng.choice(THANKS), reply_to=answer)
                    )
                elif roll < 0.6:
                    events.append(Event("react", author, t - 0.001, emoji="👍", target=answer))
            if rng.random() < 0.2:
                mentioned = partner(author, day_index)
                events.append(
                    Event(
                        "say",
                        author,
                        t - 0.01,
                        channel,
                        "what do you think?",
                        mentions=(mentioned,),
                    )
                )
        if rng.random() < 0.35:
            sharer = rng.choice(regulars)
            events.append(Event("say", sharer, day_index - 0.3, "resources", rng.choice(SHARES)))
        if rng.random() < 0.15:
            asker = rng.choice(regulars)
            thread = len(events)
            events.append(
                Event("thread", asker, day_index - 0.4, "help", "How do I rotate the API keys?")
            )
            helper = partner(asker, day_index)
            events.append(
                Event("say", helper, day_index - 0.45, "help", rng.choice(ANSWERS), reply_to=thread)
            )

    for person in people:
        if person.name in newcomers:
            events.append(Event("join", person.name, person.joined_days_ago))
            greeting = len(events)
            events.append(
                Event(
                    "say",
                    person.name,
                    person.joined_days_ago - 0.1,
                    "introductions",
                    rng.choice(GREETINGS),
                )
            )
            if rng.random() < 0.4:
                greeter = rng.choice(regulars)
                events.append(
                    Event(
                        "say",
                        greeter,
                        person.joined_days_ago - 0.2,
                        "introductions",
                        "welcome aboard! 👋",
                        reply_to=greeting,
                    )
                )
    community.events = chronological(events)
    return community


def chronological(events: list[Event]) -> list[Event]:
    """Order events oldest first (as a live gateway delivers them), keeping references intact."""
    order = sorted(range(len(events)), key=lambda i: (-events[i].days_ago, i))
    new_index = {old: new for new, old in enumerate(order)}

    def moved(index: int | None) -> int | None:
        return None if index is None else new_index[index]

    return [
        replace(events[i], reply_to=moved(events[i].reply_to), target=moved(events[i].target))
        for i in order
    ]
