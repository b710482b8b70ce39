"""Reading thanks and links from text that is never stored."""

from __future__ import annotations

import pytest

from rapport.tracking.signals import (
    _THANKS,
    THANKS_WORDS,
    closes_exchange,
    has_link,
    is_thanks_emoji,
    says_thanks,
)


@pytest.mark.parametrize(
    ("text", "thanks"),
    [
        ("thanks!", True),
        ("Thank you so much", True),
        ("thank   you", True),
        ("thx mate", True),
        ("ty", True),
        ("ty for the help", True),
        ("merci beaucoup", True),
        ("Danke!", True),
        ("gracias amigo", True),
        ("obrigado", True),
        ("twenty tyres", False),
        ("thanksgiving plans?", False),
        ("no thanks needed", False),
        ("no thanks, I'm fine", False),
        ("No, thank you", False),
        ("", False),
        ("the party is at 8", False),
    ],
)
def test_thanks_is_recognised_as_a_word_not_a_substring(text: str, thanks: bool) -> None:
    """Thanks words count on their own, in several languages, not inside other words."""
    assert says_thanks(text) is thanks


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("see https://example.org/x", True),
        ("http://a.b", True),
        ("example.org", False),
        ("", False),
    ],
)
def test_links_are_http_urls(text: str, link: bool) -> None:
    """A share is a message with an http(s) link (or a file)."""
    assert has_link(text) is link


@pytest.mark.parametrize(
    ("emoji", "extra", "thanks"),
    [
        ("🙏", (), True),
        ("🙏🏽", (), True),
        ("❤️", (), False),
        ("👍", (), False),
        ("🎉", ("🎉",), True),
        ("<:ty:123>", ("ty",), True),
        ("<a:ty:123>", ("ty",), True),
        ("<:tada:123>", ("ty",), False),
    ],
)
def test_thanks_reactions(emoji: str, extra: tuple[str, ...], thanks: bool) -> None:
    """🙏 and the configured thanks_emoji say thanks; ❤️ and other emoji are plain reactions."""
    assert is_thanks_emoji(emoji, frozenset(extra)) is thanks


@pytest.mark.parametrize(
    ("text", "closes"),
    [
        ("thanks, that fixed it!", True),
        ("thank you so much", True),
        ("got it", True),
        ("that fixed it", True),
        ("you're welcome!", True),
        ("no thanks needed", True),
        ("np", True),
        ("thanks! but why does it fail on CI?", False),
        ("no thanks, I'm fine", False),
        ("looks great, one small note on the spacing", False),
        ("can you look at it?", False),
        ("", False),
    ],
)
def test_closing_messages_owe_no_answer(text: str, closes: bool) -> None:
    """A thank-you, "got it" or "you're welcome" closes an exchange unless it asks something,
    whether the caller already read the thanks or not."""
    assert closes_exchange(text) is closes
    assert closes_exchange(text, says_thanks(text)) is closes


@pytest.mark.parametrize("word", THANKS_WORDS)
@pytest.mark.parametrize("shape", ["{}", "{}!", "OK {} :)", "{} so much"])
def test_every_thanks_word_is_recognised_in_any_case(word: str, shape: str) -> None:
    """Each thanks word counts wherever it stands and however it is capitalised."""
    for text in (shape.format(word), shape.format(word).upper(), shape.format(word).title()):
        assert says_thanks(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "pretty city",
        "Thanksgiving",
        "THANK\tYOU",
        "Merci\u00a0beaucoup",
        "gracİas",
        "danke schön",
        "the design doc is up, have a look when you can",
        "tyty",
        "it's ty's turn",
        "ΤΥ",
    ],
)
def test_thanks_reading_matches_the_word_pattern(text: str) -> None:
    """The quick reading of a text agrees with the full thanks pattern, ASCII or not."""
    assert says_thanks(text) is (_THANKS.search(text) is not None)


@pytest.mark.parametrize(
    ("text", "link"),
    [("HTTPS://EXAMPLE.ORG", True), ("ftp://example.org", False), ("http:// x", False)],
)
def test_links_are_read_in_any_case(text: str, link: bool) -> None:
    """A link's scheme counts in any case; other schemes and a bare scheme do not."""
    assert has_link(text) is link
