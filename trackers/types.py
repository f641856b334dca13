"""The values that flow between pipeline stages: frozen, validated, column-oriented numpy records.

Each stage takes the previous stage's type and returns the next (DESIGN.md, "How a frame flows"):
``Frame`` -> detector -> ``Detections`` -> appearance + tracker -> ``Tracks``. Boxes are ``xyxy`` pixels
(x1, y1, x2, y2) in the frame's image; timestamps are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_LABEL = "vehicle"  # the type of a detection whose source names none (e.g. ground-truth boxes)


def _column(name: str, values: np.ndarray, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=dtype)
    if array.size == 0:
        array = array.reshape(shape)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return array


@dataclass(frozen=True)
class Frame:
    """One decoded image of one camera. image: (H, W, 3) uint8 BGR; timestamp: seconds (stream clock)."""

    camera_id: str
    frame_index: int  # 1-based, counts frames delivered by the source (dropped frames leave gaps)
    timestamp: float
    image: np.ndarray

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"Frame.image must be (H, W, 3) uint8 BGR, got {self.image.shape} {self.image.dtype}"
            )
        if self.frame_index < 1:
            raise ValueError(f"Frame.frame_index is 1-based, got {self.frame_index}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.image.shape[1], self.image.shape[0]


@dataclass(frozen=True)
class Detections:
    """N detections in one frame. xyxy: (N, 4) float32 px; confidence: (N,) float32 in [0, 1];
    class_id: (N,) int64, the detector's own class; embeddings: (N, D) float32 L2-normalised, or None before
    the appearance stage; labels: (N,) str, the vehicle type as the detector names it ("car", "truck" ...),
    ``DEFAULT_LABEL`` when the source gives none."""

    camera_id: str
    frame_index: int
    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    embeddings: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(np.asarray(self.confidence).reshape(-1))
        object.__setattr__(self, "xyxy", _column("xyxy", self.xyxy, np.float32, (n, 4)))
        object.__setattr__(self, "confidence", _column("confidence", self.confidence, np.float32, (n,)))
        object.__setattr__(self, "class_id", _column("class_id", self.class_id, np.int64, (n,)))
        labels = np.full(n, DEFAULT_LABEL) if self.labels is None else np.asarray(self.labels, dtype=str)
        object.__setattr__(self, "labels", _column("labels", labels, str, (n,)))
        if self.embeddings is not None:
            emb = np.ascontiguousarray(self.embeddings, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] != n:
                raise ValueError(f"embeddings must have shape ({n}, D), got {emb.shape}")
            object.__setattr__(self, "embeddings", emb)
        if n and not (self.xyxy[:, 2:] >= self.xyxy[:, :2]).all():
            raise ValueError("xyxy boxes need x2 >= x1 and y2 >= y1")

    def __len__(self) -> int:
        return len(self.confidence)

    @classmethod
    def empty(cls, camera_id: str, frame_index: int) -> Detections:
        return cls(camera_id, frame_index, np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))

    def with_embeddings(self, embeddings: np.ndarray) -> Detections:
        return Detections(
            self.camera_id,
            self.frame_index,
            self.xyxy,
            self.confidence,
            self.class_id,
            embeddings,
            self.labels,
        )

    def subset(self, keep: np.ndarray) -> Detections:
        emb = None if self.embeddings is None else self.embeddings[keep]
        return Detections(
            self.camera_id,
            self.frame_index,
            self.xyxy[keep],
            self.confidence[keep],
            self.class_id[keep],
            emb,
            self.labels[keep],
        )


@dataclass(frozen=True)
class Tracks:
    """M confirmed tracks in one frame of one camera. track_id: (M,) int64, unique within the camera;
    xyxy: (M, 4) float32 px; detection_index: (M,) int64 row in this frame's Detections, -1 when the track
    was only predicted (no detection matched it this frame)."""

    camera_id: str
    frame_index: int
    track_id: np.ndarray
    xyxy: np.ndarray
    detection_index: np.ndarray

    def __post_init__(self) -> None:
        m = len(np.asarray(self.track_id).reshape(-1))
        object.__setattr__(self, "track_id", _column("track_id", self.track_id, np.int64, (m,)))
        object.__setattr__(self, "xyxy", _column("xyxy", self.xyxy, np.float32, (m, 4)))
        object.__setattr__(
            self, "detection_index", _column("detection_index", self.detection_index, np.int64, (m,))
        )
        if len(np.unique(self.track_id)) != m:
            raise ValueError("track ids must be unique within a frame")

    def __len__(self) -> int:
        return len(self.track_id)

    @classmethod
    def empty(cls, camera_id: str, frame_index: int) -> Tracks:
        return cls(
            camera_id, frame_index, np.zeros(0, dtype=np.int64), np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
        )


@dataclass(frozen=True)
class Tracklet:
    """One camera's track over a span of time, summarised for cross-camera association.

    K observations (frames where a detection matched the track): frames (K,) int64 1-based, ascending;
    timestamps (K,) float64 s; xyxy (K, 4) float32 px; world_xy (K, 2) float64 metres on the ground plane,
    NaN where unknown (no calibration, or the point is above the horizon). embedding: (D,) float32,
    L2-normalised aggregate of the quality-filtered observations' embeddings; n_obs: how many went into it.
    final: True once the track has ended (False: an interim emission of a live track; a later emission of the
    same (camera_id, local_track_id) supersedes it).
    """

    camera_id: str
    local_track_id: int
    embedding: np.ndarray
    n_obs: int
    frames: np.ndarray
    timestamps: np.ndarray
    xyxy: np.ndarray
    world_xy: np.ndarray
    final: bool = True

    def __post_init__(self) -> None:
        k = len(np.asarray(self.frames).reshape(-1))
        if k == 0:
            raise ValueError("a tracklet needs at least one observation")
        object.__setattr__(self, "frames", _column("frames", self.frames, np.int64, (k,)))
        object.__setattr__(self, "timestamps", _column("timestamps", self.timestamps, np.float64, (k,)))
        object.__setattr__(self, "xyxy", _column("xyxy", self.xyxy, np.float32, (k, 4)))
        object.__setattr__(self, "world_xy", _column("world_xy", self.world_xy, np.float64, (k, 2)))
        emb = np.ascontiguousarray(self.embedding, dtype=np.float32).reshape(-1)
        if emb.size == 0 or not np.isfinite(emb).all() or abs(float(np.linalg.norm(emb)) - 1.0) > 1e-3:
            raise ValueError("Tracklet.embedding must be a finite, L2-normalised (D,) vector")
        object.__setattr__(self, "embedding", emb)
        if (np.diff(self.timestamps) < 0).any():
            raise ValueError("Tracklet.timestamps must be in ascending order")

    @property
    def key(self) -> tuple[str, int]:
        """(camera_id, local_track_id): unique within a recording."""
        return self.camera_id, self.local_track_id

    @property
    def t_start(self) -> float:
        return float(self.timestamps[0])

    @property
    def t_end(self) -> float:
        return float(self.timestamps[-1])

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class GlobalIdentity:
    """A vehicle across cameras: its member tracklets' keys, prototype embedding (D,) float32 L2-normalised,
    and the first and last time (s) any member saw it."""

    global_id: int
    members: tuple[tuple[str, int], ...]
    prototype: np.ndarray
    first_seen: float
    last_seen: float

    @property
    def cameras(self) -> tuple[str, ...]:
        """The distinct cameras that saw this vehicle, sorted."""
        return tuple(sorted({camera for camera, _ in self.members}))
