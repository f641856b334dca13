"""Global vehicle identities: query them, read one and its trajectory, merge two (an operator correction).

Reading one identity and its trajectory are the service's hottest requests, so they are ``async def``: each
is one or two store calls of well under a millisecond (a Redis round trip, or dict reads), cheaper than the
thread-pool hop FastAPI makes for a plain ``def``; under 50 concurrent clients those hops and the 40 pool
threads' contention for the GIL halved the throughput (bench/api.py). The identity query stays a plain
``def``: a filter the store's indexes cannot answer reads every identity, which must not stall the loop.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from service.api.actions import publish_action
from service.api.deps import SearchIndexDep, StoreDep
from service.api.errors import error_responses
from service.api.responses import json_response
from service.api.schemas import (
    MAX_JSON_INTEGER,
    IdentityDetail,
    IdentityPage,
    MergeRequest,
    TrajectoryPage,
)
from service.api.security import ReadActor, WriteActor
from service.store import EventIn, IdentityQuery

router = APIRouter(prefix="/api/v1/identities", tags=["identities"])

GlobalId = Annotated[
    int, Path(ge=1, le=MAX_JSON_INTEGER, description="A global identity id (a merged-away id resolves).")
]
Offset = Annotated[int, Query(ge=0, le=MAX_JSON_INTEGER, description="How many results to skip.")]
Seconds = Annotated[float | None, Query(allow_inf_nan=False)]
CameraFilter = Annotated[str | None, Query(max_length=64)]


@router.get(
    "",
    summary="Query identities",
    description="Identities matching every filter given, ordered by first sighting then id, paged. "
    "seen_in + later_in: seen by camera seen_in and later by later_in.",
    response_model=IdentityPage,
    responses=error_responses(401, 422, 503),
)
def list_identities(
    store: StoreDep,
    _: ReadActor,
    camera: Annotated[CameraFilter, Query(description="Seen by this camera.")] = None,
    t_from: Annotated[Seconds, Query(description="Seen at or after this time (s).")] = None,
    t_to: Annotated[Seconds, Query(description="Seen at or before this time (s).")] = None,
    seen_in: Annotated[CameraFilter, Query(description="Seen by this camera ...")] = None,
    later_in: Annotated[CameraFilter, Query(description="... and later by this one.")] = None,
    min_cameras: Annotated[
        int, Query(ge=1, le=10_000, description="Seen by at least this many cameras.")
    ] = 1,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
) -> Response:
    query = IdentityQuery(
        camera=camera,
        t_from=t_from,
        t_to=t_to,
        seen_in=seen_in,
        later_in=later_in,
        min_cameras=min_cameras,
        offset=offset,
        limit=limit,
    )
    page = store.list_identities(query)
    return json_response(
        IdentityPage.model_validate(
            {"items": page.items, "total": page.total, "offset": offset, "limit": limit}
        )
    )


@router.post(
    "/merge",
    summary="Merge two identities",
    description="Moves every tracklet of absorb to keep (absorb then resolves to keep); records an audit entry "
    "and an identity.merged event. 409 when both are already one identity.",
    response_model=IdentityDetail,
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
def merge_identities(
    body: MergeRequest, store: StoreDep, search: SearchIndexDep, actor: WriteActor
) -> IdentityDetail:
    kept = store.merge_identities(body.keep, body.absorb)
    search.invalidate()
    publish_action(
        store,
        actor,
        "identity.merge",
        {"keep": kept.global_id, "absorb": body.absorb},
        EventIn(
            type="identity.merged",
            t_wall=time.time(),
            global_id=kept.global_id,
            data={"absorbed": body.absorb},
        ),
    )
    return IdentityDetail.build(kept, store.tracklets_of(kept.global_id))


@router.get(
    # :int: only digits match, so "merge" is never taken for an id (GET /merge answers 405, not 422).
    "/{global_id:int}",
    summary="Get an identity",
    description="The identity and its tracklets; a merged-away id answers with the identity that absorbed it.",
    response_model=IdentityDetail,
    responses=error_responses(401, 404, 422, 503),
)
async def get_identity(global_id: GlobalId, store: StoreDep, _: ReadActor) -> Response:
    identity = store.get_identity(global_id)
    return json_response(IdentityDetail.build(identity, store.tracklets_of(identity.global_id)))


@router.get(
    "/{global_id:int}/trajectory",
    summary="An identity's trajectory",
    description="Every observation of the vehicle across cameras (box in px, ground position in m), ordered "
    "by time, paged.",
    response_model=TrajectoryPage,
    responses=error_responses(401, 404, 422, 503),
)
async def trajectory(
    global_id: GlobalId,
    store: StoreDep,
    _: ReadActor,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 500,
) -> Response:
    page = store.trajectory(global_id, offset=offset, limit=limit)  # resolves a merged-away id
    return json_response(
        TrajectoryPage.model_validate(
            {
                "global_id": page.global_id,
                "items": page.items,
                "total": page.total,
                "offset": offset,
                "limit": limit,
            }
        )
    )
