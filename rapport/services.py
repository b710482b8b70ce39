"""The services the bot is built with; bot.py composes them, cogs receive only what they need."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.clock import Clock
from rapport.config import Settings
from rapport.persistence import FlushLoop
from rapport.schedule import JobScheduler
from rapport.store.base import Store


@dataclass
class Services:
    """Everything the cogs call into, built once in bot.py."""

    settings: Settings
    store: Store
    flusher: FlushLoop
    scheduler: JobScheduler
    clock: Clock
