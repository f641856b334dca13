"""Operator actions leave two traces: an audit entry (who did what) and an event (for live clients)."""

from __future__ import annotations

from typing import Any

from service.store import EventIn, StateStore
from service.store.base import AuditAction


def publish_action(
    store: StateStore, actor: str, action: AuditAction, details: dict[str, Any], event: EventIn
) -> None:
    """Record ``action`` by ``actor`` (an API key's name) in the audit log, then publish ``event``."""
    store.append_audit(actor, action, details)
    store.append_event(event)
