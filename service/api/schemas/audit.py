"""Bodies of the audit log."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.schemas.common import _Public
from service.store import AuditEntry
from service.store.base import AuditAction


class AuditEntryPublic(_Public):
    audit_id: int
    t_wall: float = Field(description="When (Unix s).")
    actor: str = Field(description="The API key's name (never the key).")
    action: AuditAction
    details: dict[str, Any]

    @classmethod
    def from_record(cls, entry: AuditEntry) -> AuditEntryPublic:
        return cls(**entry.model_dump())


class AuditPage(_Public):
    items: list[AuditEntryPublic] = Field(description="Oldest first.")
    total: int
    offset: int
    limit: int
