"""The /rapport join answer's preview says what it is: what Rapport sees now, not a digest."""

from __future__ import annotations

import pytest

from cogs import _embeds
from rapport import i18n
from tests.unit.test_nudges_rules import NOW, prefs

LINE = "Bob replied to you in #design 2 days ago — no reply yet."


def test_the_join_preview_never_promises_a_first_digest_it_will_not_send() -> None:
    """The first digest never repeats these lines: the preview says so instead of 'would say'."""
    embed = _embeds.welcome_embed(prefs(), NOW, [LINE], dms_closed=False)
    (field,) = [f for f in embed.fields if LINE in (f.value or "")]
    assert field.name == "Here's what Rapport sees for you right now"
    assert field.value is not None
    assert field.value.endswith("*Your digests will bring what's new from here on.*")
    assert all("first digest would" not in (f.name or "") for f in embed.fields)


@pytest.mark.parametrize("lang", ["de", "fr", "es", "pt_BR", "ja"])
def test_the_join_preview_is_translated(lang: str) -> None:
    """Every shipped language words the preview's title and its note."""
    t = i18n.translator(lang)
    embed = _embeds.welcome_embed(prefs(), NOW, [LINE], dms_closed=False, t=t)
    (field,) = [f for f in embed.fields if LINE in (f.value or "")]
    assert field.name == t.gettext("Here's what Rapport sees for you right now")
    assert field.name != "Here's what Rapport sees for you right now"
    assert "what's new from here on" not in (field.value or "")
