"""What a message's text says about an interaction, read in memory and never stored."""

from __future__ import annotations

import re

THANKS_WORDS = (
    "thanks",
    "thank you",
    "thank u",
    "thx",
    "ty",
    "tysm",
    "merci",
    "danke",
    "gracias",
    "obrigado",
    "obrigada",
)
THANKS_EMOJI = frozenset({"🙏", "❤️", "❤", "🙏🏻", "🙏🏼", "🙏🏽", "🙏🏾", "🙏🏿"})

_THANKS = re.compile(
    r"(?<![\w'])("
    + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in THANKS_WORDS)
    + r")(?![\w'])",
    re.IGNORECASE,
)
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


def says_thanks(text: str) -> bool:
    """Whether the text thanks someone ("thanks!", "thank you", "ty", "merci", ...)."""
    return bool(text) and _THANKS.search(text) is not None


def has_link(text: str) -> bool:
    """Whether the text shares a link."""
    return bool(text) and _LINK.search(text) is not None


def is_thanks_emoji(emoji: str) -> bool:
    """Whether a reaction emoji says thanks (🙏 or ❤️)."""
    return emoji in THANKS_EMOJI
