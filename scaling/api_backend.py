"""The API's `Backend` over the reconcile engine's context (stores, observers, executor)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scaling.settings import Settings


def build_context(settings: Settings) -> Any:
    """The engine's context for `settings` (Table Storage and cluster clients, built once)."""
    raise NotImplementedError("waiting for scaling/reconcile.py")


def run_tick(context: Any, now: datetime) -> Any:
    """One timer tick."""
    raise NotImplementedError("waiting for scaling/reconcile.py")


class ContextBackend:
    def __init__(self, context: Any, settings: Settings) -> None:
        self.context = context
        self.settings = settings
