"""Camera bodies: what is added (URL and calibration, validated), its status, its live view."""

from __future__ import annotations

import re
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from service.api.schemas.common import _Public, validation_message
from service.ingest import SourceConfig, redact_url
from service.ingest.config import ProcessFps, Transport
from service.store import CameraRecord, CameraStatus, LiveView
from service.store.base import CAMERA_ID_PATTERN
from trackers.calibration import CAMERA_POSITION_KEY, HOMOGRAPHY_KEY, CalibrationError, GroundPlane

MAX_URL_LENGTH = 2048
# The key the store's docstring used for the ground homography; accepted on the way in, stored as the
# calibration file's own key (``HOMOGRAPHY_KEY``) that ``trackers.calibration`` reads.
HOMOGRAPHY_ALIAS = "H_image_to_ground"
# Calibration numbers beyond this magnitude are no homography of a road camera (and overflow determinants).
MAX_CALIBRATION_VALUE = 1e9

# The camera URL forms the API accepts, as one regular expression (also published in the OpenAPI schema, so
# explicit ASCII classes instead of \s, \d or "." whose meaning differs between regex dialects):
#   a plain file path (no ":"; write file:///... for a path that has one), file://<no control characters>,
#   rtsp://[user[:password]@]host[:port][/path...] with RFC 3986 user info (percent-encode anything else),
#   a DNS name or IPv4 host and a port 1-65535.
_USERINFO = r"[A-Za-z0-9._~%!$&'()*+,;=-]+(?::[A-Za-z0-9._~%!$&'()*+,;=:-]*)?@"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
CAMERA_URL_PATTERN = (
    r"^(?:[^:\x00-\x20\x7f][^:\x00-\x1f\x7f]*"
    r"|[Ff][Ii][Ll][Ee]://[^\x00-\x1f\x7f]+"
    rf"|[Rr][Tt][Ss][Pp]://(?:{_USERINFO})?{_LABEL}(?:\.{_LABEL})*(?::{_PORT})?(?:[/?#][!-~]*)?)$"
)
_CAMERA_URL = re.compile(CAMERA_URL_PATTERN)
_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)
CAMERA_URL_FORMS = (
    "a file path without ':', file:///path/to/video.mp4, or rtsp://[user:pass@]host[:port]/path "
    "(percent-encode special characters in the user name and password)"
)

FiniteNumber = Annotated[
    float, Field(allow_inf_nan=False, ge=-MAX_CALIBRATION_VALUE, le=MAX_CALIBRATION_VALUE)
]
MatrixRow = Annotated[list[FiniteNumber], Field(min_length=3, max_length=3)]


class CalibrationCreate(BaseModel):
    """A camera's ground-plane calibration: the ``calibration/camNN.json`` mapping (other keys are kept)."""

    # strict: what JSON Schema calls invalid (true for a number, "1" for 1) is rejected, not coerced.
    model_config = ConfigDict(extra="allow", strict=True)

    homography_image_to_world: list[MatrixRow] = Field(
        min_length=3,
        max_length=3,
        validation_alias=AliasChoices(HOMOGRAPHY_KEY, HOMOGRAPHY_ALIAS),
        description="3x3 rows mapping image pixels (u, v, 1) to homogeneous ground points (x, y, 1) in metres; "
        f"finite and invertible. ({HOMOGRAPHY_ALIAS!r} is accepted as another name for it.)",
    )
    position_m: list[FiniteNumber] | None = Field(
        default=None,
        min_length=2,
        max_length=3,
        description="The camera's ground position (x, y[, z]) in metres, when known.",
    )

    @model_validator(mode="after")
    def _usable_homography(self) -> CalibrationCreate:
        matrix = np.asarray(self.homography_image_to_world, dtype=np.float64)
        with np.errstate(all="ignore"):  # huge entries overflow the determinant: reported below, not warned
            determinant = float(np.linalg.det(matrix))
        if not np.isfinite(determinant):
            raise ValueError(
                f"calibration {HOMOGRAPHY_KEY} has entries too large to invert; give the homography in pixels "
                "to metres"
            )
        try:
            GroundPlane(matrix)
        except CalibrationError:
            raise ValueError(
                f"calibration {HOMOGRAPHY_KEY} is not invertible (determinant {determinant:.3g}); give the "
                "camera's image-to-ground homography, e.g. from its calibration/camNN.json"
            ) from None
        return self

    def as_mapping(self) -> dict[str, Any]:
        """The mapping the store keeps: the homography under the calibration file's key, extras as given."""
        mapping = self.model_dump()
        mapping.pop(HOMOGRAPHY_ALIAS, None)
        if mapping[CAMERA_POSITION_KEY] is None:
            del mapping[CAMERA_POSITION_KEY]
        return mapping


class CameraCreate(BaseModel):
    """A camera to add. The URL may hold credentials: they are stored for the worker, never shown again."""

    # hide_input_in_errors: a validation error must not quote the URL (its password) back.
    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)

    camera_id: str = Field(
        json_schema_extra={"pattern": CAMERA_ID_PATTERN},
        description="1-64 letters, digits, '_', '-' or '.', starting with a letter or digit.",
        examples=["cam01"],
    )
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        json_schema_extra={"pattern": CAMERA_URL_PATTERN},
        description=f"Where the frames come from: {CAMERA_URL_FORMS}.",
        examples=["rtsp://viewer:secret@10.0.0.7:554/stream1"],
    )
    calibration: CalibrationCreate | None = Field(
        default=None,
        description="Ground-plane calibration; without it the camera's points have no world position.",
    )
    transport: Transport | None = Field(
        default=None,
        description="RTSP only: how RTP travels: tcp, udp, or auto (try TCP, then UDP, keep what delivers "
        "frames); null = the service's CROSSCAM_RTSP_TRANSPORT.",
    )
    process_fps: ProcessFps | None = Field(
        default=None,
        description="Frames per second of this camera to process (decimated at the source); null = the "
        "service's CROSSCAM_PROCESS_FPS.",
    )

    @field_validator("camera_id")
    @classmethod
    def _valid_id(cls, camera_id: str) -> str:
        if not _CAMERA_ID.match(camera_id):
            raise ValueError(
                f"camera id {camera_id!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a letter "
                "or digit (e.g. cam01)"
            )
        return camera_id

    @field_validator("url")
    @classmethod
    def _usable_url(cls, url: str) -> str:
        try:
            SourceConfig(camera_id="check", url=url)  # its messages name the problem (scheme, host, port ...)
        except ValidationError as exc:
            raise ValueError(validation_message(exc)) from None
        if not _CAMERA_URL.match(url):
            raise ValueError(f"camera URL {redact_url(url)!r} is not {CAMERA_URL_FORMS}")
        return url


class CameraStatusPublic(_Public):
    """A camera worker's latest report; ``state`` "pending" (and ``updated_wall`` null) before the first."""

    camera_id: str
    state: str = Field(description="The reader's state, or pending / failed / stopped.")
    url: str = Field(description="The camera's URL, password replaced by ***.")
    received_fps: float = Field(description="Frames received (decoded) per second, recently.")
    processed_fps: float = Field(description="Frames through the pipeline per second, recently.")
    process_fps: float | None = Field(
        description="The processing rate asked for (frames/s); null: every frame."
    )
    lag_s: float | None = Field(
        description="Seconds from the latest frame's capture to the end of its processing; null when unknown."
    )
    frames_received: int
    frames_processed: int
    frames_skipped: int = Field(description="Frames left out by the processing rate (process_fps).")
    frames_dropped: int = Field(description="Frames dropped because the pipeline fell behind.")
    queue_depth: int = Field(description="Frames waiting for the pipeline.")
    reconnects: int
    last_frame_wall: float | None = Field(description="When the last frame arrived (Unix s).")
    last_error: str | None
    stage_ms: dict[str, float] = Field(description="Mean milliseconds per frame of each pipeline stage.")
    updated_wall: float | None = Field(description="When the worker reported this (Unix s); null: pending.")

    @classmethod
    def from_record(cls, status: CameraStatus) -> CameraStatusPublic:
        return cls(**status.model_dump(exclude={"url"}), url=redact_url(status.url))

    @classmethod
    def pending(cls, camera: CameraRecord) -> CameraStatusPublic:
        """The status of a camera whose worker has not reported yet."""
        return cls(
            camera_id=camera.camera_id,
            state="pending",
            url=redact_url(camera.url),
            received_fps=0.0,
            processed_fps=0.0,
            process_fps=camera.process_fps,
            lag_s=None,
            frames_received=0,
            frames_processed=0,
            frames_skipped=0,
            frames_dropped=0,
            queue_depth=0,
            reconnects=0,
            last_frame_wall=None,
            last_error=None,
            stage_ms={},
            updated_wall=None,
        )


class CameraPublic(_Public):
    camera_id: str
    url: str = Field(description="The camera's URL, password replaced by ***.")
    has_calibration: bool
    transport: Transport | None = Field(description="RTSP transport asked for; null: the service's setting.")
    process_fps: float | None = Field(
        description="Processing rate asked for (frames/s); null: the service's."
    )
    added_wall: float = Field(description="When the camera was added (Unix s).")
    status: CameraStatusPublic | None = Field(
        description="The worker's latest report; null before the first."
    )

    @classmethod
    def from_record(cls, camera: CameraRecord, status: CameraStatus | None) -> CameraPublic:
        return cls(
            camera_id=camera.camera_id,
            url=redact_url(camera.url),
            has_calibration=camera.calibration is not None,
            transport=camera.transport,
            process_fps=camera.process_fps,
            added_wall=camera.added_wall,
            status=None if status is None else CameraStatusPublic.from_record(status),
        )


class LiveBoxPublic(_Public):
    xyxy: tuple[float, float, float, float] = Field(description="Box [x1, y1, x2, y2] in pixels.")
    track_id: int = Field(description="The camera's own track id.")
    global_id: int | None = Field(description="The vehicle's global identity; null until associated.")


class LiveViewPublic(_Public):
    """A camera's latest processed frame: its boxes, and where to fetch the image (boxes are not drawn in it)."""

    camera_id: str
    frame_index: int
    t: float = Field(description="The frame's time (s).")
    width: int = Field(description="Image width (px).")
    height: int = Field(description="Image height (px).")
    boxes: list[LiveBoxPublic]
    image_url: str = Field(description="Path of this frame as image/jpeg.")

    @classmethod
    def from_record(cls, view: LiveView, image_url: str) -> LiveViewPublic:
        return cls(
            camera_id=view.camera_id,
            frame_index=view.frame_index,
            t=view.t,
            width=view.width,
            height=view.height,
            boxes=[LiveBoxPublic(**box.model_dump()) for box in view.boxes],
            image_url=image_url,
        )
