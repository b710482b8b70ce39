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
"""Changing this list? Keep _THANKS_NEEDLES below covering every word."""
THANKS_EMOJI = frozenset({"🙏", "❤️", "❤", "🙏🏻", "🙏🏼", "🙏🏽", "🙏🏾", "🙏🏿"})

_THANKS = re.compile(
    r"(?<![\w'])("
    + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in THANKS_WORDS)
    + r")(?![\w'])",
    re.IGNORECASE,
)
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


# Runs on every tracked message: a substring test rules most texts out before the regex.
# Each needle is in every word of THANKS_WORDS it stands for ("thank" for "thanks", "thank
# you", "thank u"; "ty" for "tysm"), lowercase, so for ASCII text (where lower() and the
# regex's IGNORECASE agree) no needle means no match. Other text goes to the regex as is.
_THANKS_NEEDLES = ("thank", "thx", "ty", "merci", "danke", "gracias", "obrigad")


def says_thanks(text: str) -> bool:
    """Whether the text thanks someone ("thanks!", "thank you", "ty", "merci", ...)."""
    if not text:
        return False
    if text.isascii():
        low = text.lower()
        # Unrolled: a generator over _THANKS_NEEDLES costs more than the regex on short text.
        if not (
            "thank" in low
            or "thx" in low
            or "ty" in low
            or "merci" in low
            or "danke" in low
            or "gracias" in low
            or "obrigad" in low
        ):
            return False
    return _THANKS.search(text) is not None


def has_link(text: str) -> bool:
    """Whether the text shares a link."""
    # "://" has no case, and no link matches without it.
    return bool(text) and "://" in text and _LINK.search(text) is not None


def is_thanks_emoji(emoji: str) -> bool:
    """Whether a reaction emoji says thanks (🙏 or ❤️)."""
    return emoji in THANKS_EMOJI
