"""Without the message text, an asker's reply to an answer they got owes the answerer nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from rapport.store.memory import MemoryStore
from rapport.tracking.ledger import Ledger
from rapport.tracking.model import MessageFacts, time_snowflake

G, CH = 900, 50
ANA, BOB, CAT = 1001, 1002, 1003
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_seq = count(1)


def say(ledger: Ledger, author: int, at: datetime, **kw: object) -> int:
    mid = time_snowflake(at) + next(_seq)
    ledger.record_message(MessageFacts(G, CH, mid, author, at, **kw))  # type: ignore[arg-type]
    return mid


def waiting_for_bob(ledger: Ledger, now: datetime) -> list[int]:
    return [it.from_member_id for it in ledger.pending_for(G, BOB, now)]


@pytest.mark.parametrize(
    ("reads_text", "bobs", "later", "owes"),
    [
        # Bob answered Ana's question; Ana replies to that answer a day later.
        (False, "reply", timedelta(days=1), False),  # most likely "thanks, that fixed it!"
        (False, "mention", timedelta(hours=2), True),  # Bob started this exchange: Ana answers
        (False, "reply", timedelta(days=3), True),  # no longer a short exchange
        (False, "post", timedelta(hours=2), True),  # Bob's message was not to Ana: she asks him
        (True, "reply", timedelta(days=1), True),  # with the text, a closing reply says so
    ],
)
def test_a_reply_to_an_answer_owes_nothing_when_the_text_cannot_be_read(
    reads_text: bool, bobs: str, later: timedelta, owes: bool
) -> None:
    """The third turn of a short exchange is not put to the answerer unless the text says so."""
    ledger = Ledger(MemoryStore(), reads_text=reads_text)
    question = say(ledger, ANA, T0)
    to_ana: dict[str, object] = {
        "reply": {"reply_to_id": ANA, "reply_to_message_id": question},
        "mention": {"mentions": frozenset({ANA})},
        "post": {},
    }[bobs]  # type: ignore[assignment]
    answer = say(ledger, BOB, T0 + timedelta(hours=1), **to_ana)  # type: ignore[arg-type]
    at = T0 + timedelta(hours=1) + later
    say(ledger, ANA, at, reply_to_id=BOB, reply_to_message_id=answer)
    assert (waiting_for_bob(ledger, at + timedelta(hours=1)) == [ANA]) is owes


def test_only_the_asker_replying_to_their_answerer_is_let_off() -> None:
    """Cat replying to Bob's answer to Ana is a new exchange: Bob owes Cat an answer."""
    ledger = Ledger(MemoryStore(), reads_text=False)
    question = say(ledger, ANA, T0)
    answer = say(ledger, BOB, T0, reply_to_id=ANA, reply_to_message_id=question)
    say(ledger, CAT, T0 + timedelta(hours=1), reply_to_id=BOB, reply_to_message_id=answer)
    assert waiting_for_bob(ledger, T0 + timedelta(hours=2)) == [CAT]
