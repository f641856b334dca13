"""Tracklets (one camera's track): read one, split one off its identity (an operator correction)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path

from service.api.actions import publish_action
from service.api.deps import SearchIndexDep, StoreDep
from service.api.errors import error_responses
from service.api.schemas import TRACKLET_ID_PATTERN, IdentityDetail, TrackletPublic
from service.api.security import ReadActor, WriteActor
from service.store import EventIn

router = APIRouter(prefix="/api/v1/tracklets", tags=["tracklets"])

TrackletId = Annotated[
    str,
    Path(pattern=TRACKLET_ID_PATTERN, description="<camera_id>:<local track id>.", examples=["cam01:17"]),
]


@router.get(
    "/{tracklet_id}",
    summary="Get a tracklet",
    response_model=TrackletPublic,
    responses=error_responses(401, 404, 422, 503),
)
def get_tracklet(tracklet_id: TrackletId, store: StoreDep, _: ReadActor) -> TrackletPublic:
    return TrackletPublic.from_record(store.get_tracklet(tracklet_id))


@router.post(
    "/{tracklet_id}/split",
    summary="Split a tracklet off its identity",
    description="Moves the tracklet to a new identity; records an audit entry and a tracklet.split event. "
    "409 when it is its identity's only tracklet.",
    response_model=IdentityDetail,
    responses=error_responses(401, 404, 409, 422, 503),
)
def split_tracklet(
    tracklet_id: TrackletId, store: StoreDep, search: SearchIndexDep, actor: WriteActor
) -> IdentityDetail:
    tracklet = store.get_tracklet(tracklet_id)
    new = store.split_tracklet(tracklet_id)
    search.invalidate()
    publish_action(
        store,
        actor,
        "tracklet.split",
        {"tracklet_id": tracklet_id, "from_identity": tracklet.global_id, "to_identity": new.global_id},
        EventIn(
            type="tracklet.split",
            t_wall=time.time(),
            global_id=new.global_id,
            camera_id=tracklet.camera_id,
            data={"tracklet_id": tracklet_id, "from_identity": tracklet.global_id},
        ),
    )
    return IdentityDetail.build(new, store.tracklets_of(new.global_id))
