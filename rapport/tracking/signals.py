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
THANKS_EMOJI = frozenset({"🙏", "🙏🏻", "🙏🏼", "🙏🏽", "🙏🏾", "🙏🏿"})
"""A ❤️ is appreciation, not a thank-you ("shipped v2 today!" ❤️); [tracking] thanks_emoji adds more."""

_THANKS = re.compile(
    r"(?<![\w'])("
    + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in THANKS_WORDS)
    + r")(?![\w'])",
    re.IGNORECASE,
)
# "no thanks", "no, thank you", "thanks but no thanks": a refusal, not a thank-you.
_REFUSAL = re.compile(
    r"(?<![\w'])no[\s,.!]*(thanks|thank\s+you|thx|ty)(?![\w'])|no\s+thanks", re.IGNORECASE
)
# Words that close an exchange: nothing more is owed after them.
_CLOSING = re.compile(
    r"(?<![\w'])(got\s+it|that\s+(fixed|worked|did|solved)\s+it|(it|that)\s+works?(\s+now)?|"
    r"works\s+now|you'?re\s+(very\s+)?welcome|yw|np|no\s+(problem|worries)|"
    r"no\s+thanks\s+needed|anytime|glad\s+(it|that|i\s+could)\s+help\w*|sounds\s+good|perfect)(?![\w'])",
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
    match = _THANKS.search(text)
    if match is None:
        return False
    return "no" not in text.lower() or _REFUSAL.search(text) is None


def closes_exchange(text: str, thanks: bool | None = None) -> bool:
    """Whether a message closes an exchange, owing no answer: a thank-you, "got it", "that
    fixed it", "you're welcome" — unless it also asks something.

    `thanks` is `says_thanks(text)` when the caller already has it (the cog, per message).
    """
    if not text or "?" in text:
        return False
    if thanks is None:
        thanks = says_thanks(text)
    return thanks or _CLOSING.search(text) is not None


def has_link(text: str) -> bool:
    """Whether the text shares a link."""
    # "://" has no case, and no link matches without it.
    return bool(text) and "://" in text and _LINK.search(text) is not None


def is_thanks_emoji(emoji: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a reaction says thanks: 🙏 (any skin tone) or one of `extra` ([tracking]
    thanks_emoji; a custom emoji matches by its name or its full ``<:name:id>`` form)."""
    if emoji in THANKS_EMOJI or emoji in extra:
        return True
    if extra and emoji.startswith("<"):
        name = emoji.strip("<>").lstrip("a").strip(":").split(":")[0]
        return name in extra
    return False
