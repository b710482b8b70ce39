"""Errors the core raises that carry a message meant for people, not a traceback."""


class UserFacingError(Exception):
    """A refusal whose text is shown to the member as it is (ephemerally, in Discord)."""


class StoreError(Exception):
    """The store cannot be opened or written safely; the message says what to do."""
