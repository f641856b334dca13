"""Identity, tracklet and trajectory bodies, and the merge request."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import MAX_JSON_INTEGER, JsonInteger, _Public
from service.store import IdentityRecord, TrackletRecord, TrajectoryPoint
from service.store.base import CAMERA_ID_PATTERN

TRACKLET_ID_PATTERN = CAMERA_ID_PATTERN.removesuffix("$") + r":[0-9]{1,19}$"


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
