"""Errors the core raises that carry a message meant for people, not a traceback."""

from typing import Any

ECHO_MAX = 100
"""Characters of what someone typed that an answer repeats (Discord refuses past 2,000)."""


def clip(value: Any, limit: int = ECHO_MAX) -> Any:
    """`value` as an answer may echo it: text past `limit` characters is cut with an ellipsis."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


class UserFacingError(Exception):
    """A refusal whose text is shown to the member (ephemerally, in Discord), in their language.

    The message is an English catalog id (mark it with `rapport.i18n.N_`) with `{name}`
    placeholders filled from `params`; `str()` gives the English text, `in_language(t)` the
    member's.
    """

    def __init__(self, message: str = "", /, **params: Any) -> None:
        self.message = message
        self.params = {name: clip(value) for name, value in params.items()}
        params = self.params
        super().__init__(message.format(**params) if params else message)

    def in_language(self, t: Any) -> str:
        """The text in the language of `t` (a rapport.i18n.Translation)."""
        text: str = t.gettext(self.message, **self.params)
        return text


class StoreError(Exception):
    """The store cannot be opened or written safely; the message says what to do."""


class StartupConfigError(Exception):
    """A config value found wrong only when starting (the message names the key): exit 2."""
