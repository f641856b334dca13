"""The audit log of operator actions (merges, splits, cameras added and removed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import StoreDep
from service.api.errors import error_responses
from service.api.schemas import MAX_JSON_INTEGER, AuditEntryPublic, AuditPage
from service.api.security import ReadActor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "",
    summary="The audit log",
    description="Operator actions, oldest first, paged; actor is the API key's name.",
    response_model=AuditPage,
    responses=error_responses(401, 422, 503),
)
def audit_log(
    store: StoreDep,
    _: ReadActor,
    offset: Annotated[int, Query(ge=0, le=MAX_JSON_INTEGER, description="How many entries to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
) -> AuditPage:
    page = store.audit_log(offset=offset, limit=limit)
    return AuditPage(
        items=[AuditEntryPublic.from_record(e) for e in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )
