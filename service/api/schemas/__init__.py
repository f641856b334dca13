"""Request and response bodies of the REST API: Create models for what comes in, Public models for what goes out.

Public models are built from store records by ``from_record`` and never carry secrets: camera URLs go out
through ``redact_url``, tracklet embeddings stay in the store. Units as in ``service.store.base``: times in
seconds on the recording's clock (``*_wall``: Unix seconds), boxes in pixels, world positions in metres.
"""

from __future__ import annotations

from service.api.schemas.audit import AuditEntryPublic, AuditPage
from service.api.schemas.cameras import (
    CAMERA_URL_FORMS,
    CAMERA_URL_PATTERN,
    HOMOGRAPHY_ALIAS,
    MAX_CALIBRATION_VALUE,
    MAX_URL_LENGTH,
    CalibrationCreate,
    CameraCreate,
    CameraPublic,
    CameraStatusPublic,
    FiniteNumber,
    LiveBoxPublic,
    LiveViewPublic,
    MatrixRow,
)
from service.api.schemas.common import (
    MAX_JSON_INTEGER,
    ErrorPublic,
    FieldErrorPublic,
    JsonInteger,
    ValidationProblemPublic,
    validation_message,
)
from service.api.schemas.events import EventPublic
from service.api.schemas.health import HealthPublic, ReadyPublic
from service.api.schemas.identities import (
    TRACKLET_ID_PATTERN,
    IdentityDetail,
    IdentityPage,
    IdentityPublic,
    MergeRequest,
    TrackletPublic,
    TrajectoryPage,
    TrajectoryPointPublic,
)
from service.api.schemas.search import SearchResultPublic, SearchResults

__all__ = [
    "CAMERA_URL_FORMS",
    "CAMERA_URL_PATTERN",
    "HOMOGRAPHY_ALIAS",
    "MAX_CALIBRATION_VALUE",
    "MAX_JSON_INTEGER",
    "MAX_URL_LENGTH",
    "TRACKLET_ID_PATTERN",
    "AuditEntryPublic",
    "AuditPage",
    "CalibrationCreate",
    "CameraCreate",
    "CameraPublic",
    "CameraStatusPublic",
    "ErrorPublic",
    "EventPublic",
    "FieldErrorPublic",
    "FiniteNumber",
    "HealthPublic",
    "IdentityDetail",
    "IdentityPage",
    "IdentityPublic",
    "JsonInteger",
    "LiveBoxPublic",
    "LiveViewPublic",
    "MatrixRow",
    "MergeRequest",
    "ReadyPublic",
    "SearchResultPublic",
    "SearchResults",
    "TrackletPublic",
    "TrajectoryPage",
    "TrajectoryPointPublic",
    "ValidationProblemPublic",
    "validation_message",
]
