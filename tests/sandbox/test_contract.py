"""The contract check itself, on hand-made payloads: what it accepts and what it reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

import sandbox  # noqa: F401  (importing the emulator registers every route on ROUTER)
from sandbox.contract import Contract, default_contract
from sandbox.contract.validate import SCHEMAS
from sandbox.server import ROUTER


def user(**extra: Any) -> dict[str, Any]:
    return {
        "id": "80351110224678912",
        "username": "ana",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        **extra,
    }


def message(**extra: Any) -> dict[str, Any]:
    return {
        "id": "1100000000000000000",
        "channel_id": "1000000000000000000",
        "author": user(),
        "content": "draft is up",
        "timestamp": "2026-12-01T09:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        **extra,
    }


@pytest.fixture(scope="module")
def contract() -> Contract:
    return default_contract()


def messages(violations: list[Any]) -> list[str]:
    return [f"{v.path} {v.message}" for v in violations]


def test_the_schemas_come_from_the_pinned_discord_api_types() -> None:
    """The committed schemas name the exact discord-api-types version the lock file pins."""
    lock = json.loads((SCHEMAS.parent / "package-lock.json").read_text("utf-8"))
    pinned = lock["packages"]["node_modules/discord-api-types"]["version"]
    assert default_contract().version == pinned


def test_a_well_formed_message_create_passes(contract: Contract) -> None:
    """A MESSAGE_CREATE shaped as Discord documents it has no violation."""
    assert contract.check_dispatch("MESSAGE_CREATE", message(guild_id="1")) == []


def test_a_snowflake_sent_as_a_number_is_a_wrong_type(contract: Contract) -> None:
    """Discord always sends ids as strings; an integer id in a dispatch is reported."""
    found = contract.check_dispatch("MESSAGE_CREATE", message(id=1100000000000000000))
    assert messages(found) == ["$.id 1100000000000000000 is not of type 'string'"]


def test_a_missing_required_field_is_reported(contract: Contract) -> None:
    """A message without `content` breaks APIMessage."""
    payload = message()
    del payload["content"]
    assert messages(contract.check_dispatch("MESSAGE_CREATE", payload)) == [
        "$ 'content' is a required property"
    ]


def test_an_unknown_field_is_reported_unless_allowlisted(contract: Contract) -> None:
    """Extras fail, except the ones Discord is known to send (READY's user-account leftovers)."""
    assert messages(contract.check_dispatch("MESSAGE_CREATE", message(colour=3))) == [
        "$ Additional properties are not allowed ('colour' was unexpected)"
    ]
    ready = {
        "v": 10,
        "user": user(bot=True),
        "guilds": [{"id": "1", "unavailable": True}],
        "session_id": "abc",
        "resume_gateway_url": "wss://gateway.discord.gg",
        "application": {"id": "2", "flags": 0, "flags_new": "0"},
        "relationships": [],
        "user_settings": {},
        "_trace": ["gateway-prd"],
    }
    assert contract.check_dispatch("READY", ready) == []
    assert contract.check_dispatch("READY", {**ready, "surprise": 1}) != []


def test_a_union_reports_the_branch_that_fits(contract: Contract) -> None:
    """A text channel with a bad field is reported on that field, not as 'no union member'."""
    channel = {
        "id": "5",
        "type": 0,
        "guild_id": "1",
        "name": "design",
        "position": "first",
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }
    assert messages(contract.check_dispatch("CHANNEL_CREATE", channel)) == [
        "$.position 'first' is not of type 'number'"
    ]


def test_bot_request_bodies_may_send_snowflakes_as_integers(contract: Contract) -> None:
    """discord.py sends message_reference ids as integers, which Discord accepts."""
    body = {"content": "thanks!", "message_reference": {"message_id": 11, "channel_id": 5}}
    route = "/channels/{channel_id}/messages"
    assert contract.check_rest("POST", route, "request", body) == []
    assert contract.check_rest("POST", route, "request", {"content": 5}) != []


def test_responses_are_checked_by_route_and_errors_by_status(contract: Contract) -> None:
    """A REST answer is checked against its route's result type; 4xx against RESTError."""
    route = "/gateway/bot"
    good = {
        "url": "wss://gateway.discord.gg",
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 0,
            "max_concurrency": 1,
        },
    }
    assert contract.check_rest("GET", route, "response", good) == []
    assert messages(contract.check_rest("GET", route, "response", {**good, "shards": "1"})) == [
        "$.shards '1' is not of type 'number'"
    ]
    error = {"code": 50007, "message": "Cannot send messages to this user"}
    dm = "/channels/{channel_id}/messages"
    assert contract.check_rest("POST", dm, "response", error, status=403) == []
    assert contract.check_rest("POST", dm, "response", {"code": "x"}, status=403) != []


def test_unknown_events_and_routes_are_violations(contract: Contract) -> None:
    """A payload with no schema cannot pass unnoticed: the generator's list must grow."""
    assert contract.check_dispatch("GUILD_SOUNDBOARD_SOUND_CREATE", {}) != []
    assert contract.check_rest("GET", "/nowhere", "response", {}) != []


def test_a_body_on_a_route_that_takes_none_is_reported(contract: Contract) -> None:
    """A 204 route answered with a body breaks the contract."""
    route = "/channels/{channel_id}/typing"
    assert contract.check_rest("POST", route, "response", None, status=204) == []
    assert contract.check_rest("POST", route, "response", {"ok": True}) != []


def test_gateway_commands_the_bot_sends_are_checked(contract: Contract) -> None:
    """IDENTIFY must carry a token, intents and connection properties."""
    identify = {
        "token": "Bot x",
        "intents": 513,
        "properties": {"os": "linux", "browser": "discord.py", "device": "discord.py"},
    }
    assert contract.check_send("IDENTIFY", identify) == []
    assert messages(contract.check_send("IDENTIFY", {**identify, "intents": "513"})) == [
        "$.intents '513' is not of type 'number'"
    ]


def test_every_route_the_sandbox_serves_has_a_contract(contract: Contract) -> None:
    """A route added to the emulator without a discord-api-types type is caught here."""
    assert set(ROUTER.names()) - contract.routes == set()
