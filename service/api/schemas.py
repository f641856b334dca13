"""Request and response bodies of the REST API: Create models for what comes in, Public models for what goes out.

Public models are built from store records by ``from_record`` and never carry secrets: camera URLs go out
through ``redact_url``, tracklet embeddings stay in the store. Units as in ``service.store.base``: times in
seconds on the recording's clock (``*_wall``: Unix seconds), boxes in pixels, world positions in metres.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from service.ingest import SourceConfig, redact_url
from service.store import (
    AuditEntry,
    CameraRecord,
    CameraStatus,
    Event,
    IdentityRecord,
    LiveView,
    TrackletRecord,
    TrajectoryPoint,
)
from service.store.base import CAMERA_ID_PATTERN, AuditAction, EventType
from trackers.calibration import CAMERA_POSITION_KEY, HOMOGRAPHY_KEY, CalibrationError, GroundPlane

# The largest integer a JSON number holds exactly (2^53 - 1: JavaScript clients, and validators that compare
# numbers as doubles): the upper bound of identity ids and offsets.
MAX_JSON_INTEGER = 2**53 - 1
TRACKLET_ID_PATTERN = CAMERA_ID_PATTERN.removesuffix("$") + r":[0-9]{1,19}$"
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


def _json_integer(value: object) -> object:
    """JSON Schema's integers: 409 and 409.0, but not true or "409" (lax pydantic would take those)."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


# strict=False under strict models: an integral float (409.0) is an integer in JSON Schema; the
# BeforeValidator still refuses the coercions pydantic's lax mode would allow.
JsonInteger = Annotated[int, Field(strict=False), BeforeValidator(_json_integer)]


def validation_message(exc: ValidationError) -> str:
    """The first error of a pydantic ValidationError as one line, without pydantic's "Value error, "."""
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


class _Public(BaseModel):
    # from_attributes: a page is validated from store records in one pass of pydantic's core, instead of a
    # Python call per record (a trajectory page holds hundreds of points; bench/api.py).
    model_config = ConfigDict(frozen=True, from_attributes=True)


# ---- errors ------------------------------------------------------------------------------------------------


class ErrorPublic(_Public):
    """Every error answer: one message naming the problem and what would fix it."""

    detail: str = Field(description="What went wrong and how to fix it.")


class FieldErrorPublic(_Public):
    loc: list[str | int] = Field(
        description="Where the bad value is: body, query, path or header, then names."
    )
    msg: str
    type: str


class ValidationProblemPublic(_Public):
    """A request that does not validate: ``detail`` sums it up in one line, ``errors`` lists each problem."""

    detail: str
    errors: list[FieldErrorPublic] = Field(default_factory=list)


# ---- health ------------------------------------------------------------------------------------------------


class HealthPublic(_Public):
    status: str = Field(examples=["ok"])


class ReadyPublic(_Public):
    status: str = Field(examples=["ready"])
    store: str = Field(description="Which state store serves: memory or redis.", examples=["memory"])


# ---- cameras -----------------------------------------------------------------------------------------------

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
    fps: float = Field(description="Frames received per second, recently.")
    frames_received: int
    frames_processed: int
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
            fps=0.0,
            frames_received=0,
            frames_processed=0,
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


# ---- identities, tracklets, trajectories -------------------------------------------------------------------


class IdentityPublic(_Public):
    """A global vehicle identity: which cameras saw it, when (s), its tracklets, how many points it has."""

    global_id: int
    cameras: list[str]
    first_seen: float
    last_seen: float
    tracklet_ids: list[str] = Field(description="Its tracklets, in order of first sighting.")
    n_points: int = Field(description="How many trajectory points it has.")

    @classmethod
    def from_record(cls, identity: IdentityRecord) -> IdentityPublic:
        return cls.model_validate(identity)


class TrackletPublic(_Public):
    """One camera's track (its embedding stays in the store)."""

    tracklet_id: str = Field(examples=["cam01:17"])
    camera_id: str
    local_track_id: int
    global_id: int = Field(description="The identity it belongs to now.")
    t_start: float
    t_end: float
    n_obs: int
    final: bool = Field(description="False: an interim emission of a track that is still live.")

    @classmethod
    def from_record(cls, tracklet: TrackletRecord) -> TrackletPublic:
        return cls.model_validate(tracklet)  # fields only: the embedding stays behind


class IdentityDetail(IdentityPublic):
    tracklets: list[TrackletPublic] = Field(description="Its tracklets by start time.")

    @classmethod
    def build(cls, identity: IdentityRecord, tracklets: list[TrackletRecord]) -> IdentityDetail:
        return cls.model_validate({**dict(identity), "tracklets": tracklets})


class IdentityPage(_Public):
    items: list[IdentityPublic]
    total: int = Field(description="How many identities match, over all pages.")
    offset: int
    limit: int


class TrajectoryPointPublic(_Public):
    tracklet_id: str
    camera_id: str
    frame: int = Field(description="Frame number in the camera's stream, 1-based.")
    t: float = Field(description="Time (s).")
    xyxy: tuple[float, float, float, float] = Field(description="Box [x1, y1, x2, y2] in pixels.")
    world: tuple[float, float] | None = Field(
        description="Ground position (x, y) in metres; null if unknown."
    )

    @classmethod
    def from_record(cls, point: TrajectoryPoint) -> TrajectoryPointPublic:
        return cls.model_validate(point)


class TrajectoryPage(_Public):
    """An identity's observations across cameras, ordered by time, paged."""

    global_id: int
    items: list[TrajectoryPointPublic]
    total: int
    offset: int
    limit: int


class MergeRequest(BaseModel):
    """Merge identity ``absorb`` into ``keep``: every tracklet of ``absorb`` moves to ``keep``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    keep: JsonInteger = Field(ge=1, le=MAX_JSON_INTEGER, description="The identity that stays.")
    absorb: JsonInteger = Field(
        ge=1, le=MAX_JSON_INTEGER, description="The identity merged away (resolves to keep)."
    )


# ---- search ------------------------------------------------------------------------------------------------


class SearchResultPublic(_Public):
    global_id: int
    score: float = Field(description="Cosine similarity of the image to the identity's closest tracklet.")
    cameras: list[str]
    first_seen: float
    last_seen: float


class SearchResults(_Public):
    results: list[SearchResultPublic] = Field(description="Best match first.")


# ---- audit and events --------------------------------------------------------------------------------------


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
