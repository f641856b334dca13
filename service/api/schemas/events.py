"""Bodies of the event stream (server-sent events and the WebSocket)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.schemas.common import _Public
from service.store import Event
from service.store.base import EventType


class EventPublic(_Public):
    """One event of ``GET /api/v1/events`` (the SSE ``data:``) and of the WebSocket."""

    event_id: str = Field(description="Increasing id; resume after it with Last-Event-ID or ?after=.")
    type: EventType
    t_wall: float
    global_id: int | None
    camera_id: str | None
    data: dict[str, Any]

    @classmethod
    def from_record(cls, event: Event) -> EventPublic:
        return cls(**event.model_dump())
