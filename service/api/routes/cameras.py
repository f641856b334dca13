"""Cameras: register, list, remove; each camera's status and live view."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import Response

from service.api.actions import publish_action
from service.api.deps import ControlDep, StoreDep
from service.api.errors import error_responses
from service.api.schemas import CameraCreate, CameraPublic, CameraStatusPublic, LiveViewPublic
from service.api.security import ReadActor, WriteActor
from service.ingest import redact_text, redact_url
from service.store import CameraRecord, ConflictError, EventIn, LiveView, NotFoundError, StateStore
from service.store.base import CAMERA_ID_PATTERN

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])

CameraId = Annotated[str, Path(pattern=CAMERA_ID_PATTERN, description="The camera's id.", examples=["cam01"])]


def _public(store: StateStore, camera: CameraRecord) -> CameraPublic:
    return CameraPublic.from_record(camera, store.get_camera_status(camera.camera_id))


@router.get(
    "",
    summary="List cameras",
    description="Every registered camera by id, with its worker's latest status (null before the first).",
    response_model=list[CameraPublic],
    responses=error_responses(401, 503),
)
def list_cameras(store: StoreDep, _: ReadActor) -> list[CameraPublic]:
    return [_public(store, camera) for camera in store.list_cameras()]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a camera",
    description="Registers a camera (and starts it, when this process runs cameras). The URL's password is "
    "stored for the worker and never shown again.",
    response_model=CameraPublic,
    responses=error_responses(400, 401, 409, 422, 503),
)
def add_camera(body: CameraCreate, store: StoreDep, control: ControlDep, actor: WriteActor) -> CameraPublic:
    try:
        store.get_camera(body.camera_id)
    except NotFoundError:
        pass
    else:
        raise ConflictError(
            f"camera {body.camera_id!r} already exists; remove it first (DELETE /api/v1/cameras/"
            f"{body.camera_id}) or choose another id"
        )
    camera = CameraRecord(
        camera_id=body.camera_id,
        url=body.url,
        calibration=None if body.calibration is None else body.calibration.as_mapping(),
        transport=body.transport,
        process_fps=body.process_fps,
        added_wall=time.time(),
    )
    store.put_camera(camera)
    if control is not None:
        try:
            control.start_camera(camera)
        except ValueError as exc:
            store.remove_camera(camera.camera_id)  # a camera that cannot run is not kept
            raise HTTPException(status_code=422, detail=redact_text(str(exc), camera.url)) from None
    publish_action(
        store,
        actor,
        "camera.add",
        {"camera_id": camera.camera_id, "url": redact_url(camera.url)},
        EventIn(type="camera.added", t_wall=time.time(), camera_id=camera.camera_id),
    )
    return _public(store, camera)


@router.get(
    "/{camera_id}",
    summary="Get a camera",
    response_model=CameraPublic,
    responses=error_responses(401, 404, 422, 503),
)
def get_camera(camera_id: CameraId, store: StoreDep, _: ReadActor) -> CameraPublic:
    return _public(store, store.get_camera(camera_id))


@router.delete(
    "/{camera_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a camera",
    description="Stops the camera (when this process runs it) and forgets it, its status and live view; "
    "its identities and trajectories stay.",
    response_class=Response,
    responses=error_responses(401, 404, 422, 503),
)
def remove_camera(camera_id: CameraId, store: StoreDep, control: ControlDep, actor: WriteActor) -> Response:
    store.get_camera(camera_id)  # 404 for an unknown camera, before anything is stopped
    if control is not None:
        # Stopped first: a camera still running after its removal would publish one last status or live
        # view, left behind in the store for a camera that no longer exists.
        control.stop_camera(camera_id)
    store.remove_camera(camera_id)
    publish_action(
        store,
        actor,
        "camera.remove",
        {"camera_id": camera_id},
        EventIn(type="camera.removed", t_wall=time.time(), camera_id=camera_id),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{camera_id}/status",
    summary="A camera's status",
    description="The worker's latest report: reader state, fps, dropped frames, queue depth, stage latency. "
    'State "pending" before the worker\'s first report.',
    response_model=CameraStatusPublic,
    responses=error_responses(401, 404, 422, 503),
)
def camera_status(camera_id: CameraId, store: StoreDep, _: ReadActor) -> CameraStatusPublic:
    camera = store.get_camera(camera_id)
    report = store.get_camera_status(camera_id)
    return CameraStatusPublic.pending(camera) if report is None else CameraStatusPublic.from_record(report)


def _live_view(store: StateStore, camera_id: str) -> LiveView:
    store.get_camera(camera_id)
    view = store.get_live_view(camera_id)
    if view is None:
        raise NotFoundError(
            f"camera {camera_id!r} has no processed frame yet; its worker may still be starting "
            f"(see GET /api/v1/cameras/{camera_id}/status)"
        )
    return view


@router.get(
    "/{camera_id}/live",
    summary="A camera's live view",
    description="The latest processed frame's size, time and tracked boxes, and the URL of its image. "
    "404 before the first frame.",
    response_model=LiveViewPublic,
    responses=error_responses(401, 404, 422, 503),
)
def live_view(camera_id: CameraId, request: Request, store: StoreDep, _: ReadActor) -> LiveViewPublic:
    view = _live_view(store, camera_id)
    # The frame index in the query makes each frame a new URL, so browsers never show a cached one.
    image_url = (
        f"{request.scope.get('root_path', '')}{router.prefix}/{camera_id}/live.jpg?frame={view.frame_index}"
    )
    return LiveViewPublic.from_record(view, image_url)


@router.get(
    "/{camera_id}/live.jpg",
    summary="A camera's latest frame",
    description="The latest processed frame as JPEG; boxes are not drawn in it (see the live view). "
    "404 before the first frame.",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}}
    | error_responses(401, 404, 422, 503),
)
def live_jpeg(camera_id: CameraId, store: StoreDep, _: ReadActor) -> Response:
    view = _live_view(store, camera_id)
    return Response(content=view.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
