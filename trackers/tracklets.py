"""The tracklet builder: per-camera track state turned into ``Tracklet``s for cross-camera association.

DESIGN.md step 5. For each confirmed track it keeps the boxes, times and ground positions of the frames where a
detection matched it, and the embeddings of the *good* observations only: a box that is tiny, cut by the image
border or largely covered by another box shows little of its vehicle (or some of another one), so its embedding
would pull the aggregate away from the vehicle's appearance. The aggregate is the weighted mean of the
L2-normalised embeddings, re-normalised (weight = detection confidence, when ``confidence_weighting``).

A tracklet is emitted when its track ends (the tracker stopped reporting it for ``end_after_s``), every
``emit_every_s`` while it lives (interim, ``final=False``), and for every live track at ``flush``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from pydantic import Field

from trackers.calibration import GroundPlane
from trackers.config import ComponentConfig
from trackers.types import Detections, Tracklet, Tracks


class TrackletConfig(ComponentConfig):
    """Tracklet builder settings (``trackers/configs/tracklets.yaml`` explains each key)."""

    default_file: ClassVar[str] = "tracklets.yaml"

    min_box_height_px: float = Field(ge=0, description="Observations with a shorter box give no embedding.")
    min_box_width_px: float = Field(ge=0, description="Observations with a narrower box give no embedding.")
    border_margin_px: float = Field(ge=0, description="A box this close to the image border counts as cut.")
    max_covered_fraction: float = Field(
        gt=0, le=1, description="A box covered more than this by another box gives no embedding."
    )
    confidence_weighting: bool = Field(description="Weight each embedding by its detection confidence.")
    end_after_s: float = Field(gt=0, description="A track unreported this long (s) has ended.")
    emit_every_s: float = Field(ge=0, description="Interim emission interval (s) for live tracks; 0 = never.")
    min_observations: int = Field(ge=1, description="Tracks with fewer matched frames are never emitted.")
    foot_offset_m: float = Field(ge=0, description="Ground point moved this far from the camera (m).")


def covered_fraction(xyxy: np.ndarray) -> np.ndarray:
    """xyxy: (N, 4) px -> (N,) the largest fraction of each box's area covered by any one other box."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    if len(boxes) < 2:
        return np.zeros(len(boxes))
    x1 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    np.fill_diagonal(inter, 0.0)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-9)
    return inter.max(axis=1) / area


def good_observations(xyxy: np.ndarray, image_size: tuple[int, int], config: TrackletConfig) -> np.ndarray:
    """(N,) bool: which of a frame's boxes (N, 4) px show enough of their vehicle to describe it.

    image_size: (width, height) px. Pass every box of the frame: overlap is measured between them.
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    width, height = image_size
    m = config.border_margin_px
    inside = (
        (boxes[:, 0] >= m) & (boxes[:, 1] >= m) & (boxes[:, 2] <= width - m) & (boxes[:, 3] <= height - m)
    )
    big = (boxes[:, 3] - boxes[:, 1] >= config.min_box_height_px) & (
        boxes[:, 2] - boxes[:, 0] >= config.min_box_width_px
    )
    return inside & big & (covered_fraction(boxes) <= config.max_covered_fraction)


@dataclass
class _TrackState:
    frames: list[int] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    world: list[np.ndarray] = field(default_factory=list)
    weighted_sum: np.ndarray | None = None  # (D,) sum of weight * good embedding
    fallback_sum: np.ndarray | None = None  # (D,) sum over every observation, used when none was good
    n_good: int = 0
    last_seen: float = 0.0
    last_emitted: float | None = None


class TrackletBuilder:
    """Turns one camera's (Detections, Tracks) per frame into ``Tracklet``s.

    camera_id: the camera; image_size: (width, height) px; ground: its ground plane, or None (world positions
    NaN). Feed every frame with ``update`` (it returns the tracklets due now), then ``flush`` at the end.
    """

    def __init__(
        self,
        camera_id: str,
        image_size: tuple[int, int],
        config: TrackletConfig | None = None,
        ground: GroundPlane | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.image_size = image_size
        self.config = config or TrackletConfig.from_yaml()
        self.ground = ground
        self._live: dict[int, _TrackState] = {}

    def update(self, timestamp: float, detections: Detections, tracks: Tracks) -> list[Tracklet]:
        """Record one frame (timestamp in s) and return the tracklets due: ended tracks and interim ones."""
        if detections.embeddings is None and len(detections):
            raise ValueError(
                "the tracklet builder needs detections with embeddings (run the appearance stage)"
            )
        matched = tracks.detection_index >= 0
        rows = tracks.detection_index[matched]
        if len(rows):
            good = good_observations(detections.xyxy, self.image_size, self.config)[rows]
            world = (
                self.ground.project(tracks.xyxy[matched], self.config.foot_offset_m)
                if self.ground is not None
                else np.full((len(rows), 2), np.nan)
            )
            for i, (track_id, row) in enumerate(zip(tracks.track_id[matched], rows, strict=True)):
                self._observe(
                    int(track_id),
                    tracks.frame_index,
                    timestamp,
                    tracks.xyxy[matched][i],
                    world[i],
                    detections.embeddings[row],
                    float(detections.confidence[row]),
                    bool(good[i]),
                )
        return self._due(timestamp)

    def flush(self) -> list[Tracklet]:
        """Every live track as a final tracklet (the stream ended); the builder is empty afterwards."""
        out = [t for tid, state in self._live.items() if (t := self._tracklet(tid, state, final=True))]
        self._live.clear()
        return out

    @property
    def live_track_ids(self) -> list[int]:
        return sorted(self._live)

    def _observe(
        self, track_id: int, frame: int, t: float, box: np.ndarray, world: np.ndarray,
        embedding: np.ndarray, confidence: float, good: bool,
    ) -> None:  # fmt: skip
        state = self._live.setdefault(track_id, _TrackState())
        state.frames.append(frame)
        state.timestamps.append(t)
        state.boxes.append(np.asarray(box, dtype=np.float32))
        state.world.append(world)
        state.last_seen = t
        unit = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
        state.fallback_sum = unit if state.fallback_sum is None else state.fallback_sum + unit
        if good:
            weight = confidence if self.config.confidence_weighting else 1.0
            state.weighted_sum = (
                weight * unit if state.weighted_sum is None else state.weighted_sum + weight * unit
            )
            state.n_good += 1

    def _due(self, now: float) -> list[Tracklet]:
        out = []
        for track_id in list(self._live):
            state = self._live[track_id]
            if now - state.last_seen >= self.config.end_after_s:
                del self._live[track_id]
                if tracklet := self._tracklet(track_id, state, final=True):
                    out.append(tracklet)
                continue
            every = self.config.emit_every_s
            since = state.timestamps[0] if state.last_emitted is None else state.last_emitted
            if (
                every > 0
                and now - since >= every
                and (tracklet := self._tracklet(track_id, state, final=False))
            ):
                state.last_emitted = now
                out.append(tracklet)
        return out

    def _tracklet(self, track_id: int, state: _TrackState, final: bool) -> Tracklet | None:
        if len(state.frames) < self.config.min_observations or state.fallback_sum is None:
            return None
        # A track that never showed its vehicle well (always at the border, say) still gets an identity: its
        # embedding falls back to every observation rather than the track being lost.
        total = state.weighted_sum if state.weighted_sum is not None else state.fallback_sum
        norm = float(np.linalg.norm(total))
        if norm < 1e-12:
            return None
        return Tracklet(
            camera_id=self.camera_id,
            local_track_id=track_id,
            embedding=(total / norm).astype(np.float32),
            n_obs=state.n_good if state.weighted_sum is not None else len(state.frames),
            frames=np.asarray(state.frames),
            timestamps=np.asarray(state.timestamps),
            xyxy=np.stack(state.boxes),
            world_xy=np.stack(state.world),
            final=final,
        )
