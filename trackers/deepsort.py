"""Single-camera tracking stage: DeepSORT (``deep-sort-realtime``) fed our boxes and embeddings.

``DeepSortTracker`` is one camera's tracker with its own ID space (DESIGN.md, "How a frame flows", step 4):
``update(Detections with embeddings) -> Tracks`` of confirmed tracks. Each track carries the row of the
detection it was matched to this frame (``detection_index``), or -1 when it was only predicted; the index
travels through deep-sort-realtime as the detection's ``others`` payload and comes back from
``Track.get_det_supplementary()``, so nothing is re-matched by IoU afterwards.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import numpy as np
from deep_sort_realtime.deep_sort.detection import Detection
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter
from deep_sort_realtime.deep_sort.track import Track, TrackState
from deep_sort_realtime.deep_sort.tracker import Tracker
from deep_sort_realtime.deepsort_tracker import DeepSort
from pydantic import Field

from trackers.config import ComponentConfig
from trackers.types import Detections, Frame, Tracks

NO_DETECTION = -1
# Recent frame intervals whose median is the processing period: enough to ride out a few dropped frames,
# few enough to follow a camera whose processing rate changes within seconds.
PERIOD_WINDOW = 15
# The measured processing rate must move by more than this fraction before the frame counts are rescaled.
RATE_TOLERANCE = 0.1


class DeepSortConfig(ComponentConfig):
    """DeepSORT settings (``trackers/configs/deepsort.yaml`` holds the defaults and explains each key)."""

    default_file: ClassVar[str] = "deepsort.yaml"

    # Passed to deep_sort_realtime.deepsort_tracker.DeepSort (same names).
    max_iou_distance: float = Field(
        gt=0, le=1, description="IoU stage gate: pairs with 1 - IoU above this are never matched (0..1)."
    )
    max_age: int = Field(
        ge=1, description="Frames (at reference_fps) a confirmed track survives without a detection."
    )
    n_init: int = Field(
        ge=1, description="Consecutive detections (frames at reference_fps) before a track is confirmed."
    )
    nms_max_overlap: float = Field(
        gt=0,
        le=1,
        description="DeepSORT's own NMS: overlap (intersection / area) above which the "
        "lower-confidence box is dropped; 1.0 = off.",
    )
    max_cosine_distance: float = Field(
        gt=0,
        le=2,
        description="Appearance gate: cosine distance above which a detection cannot join a track.",
    )
    nn_budget: int = Field(
        ge=1, description="Embeddings kept per track for appearance matching (memory bound)."
    )
    gating_only_position: bool = Field(
        description="Kalman gate on box centre only (true) or on centre, aspect ratio and height (false)."
    )
    # Used by the adapter.
    min_confidence: float = Field(ge=0, le=1, description="Detections below this confidence are not tracked.")
    max_predicted_frames: int = Field(
        ge=0,
        description="Frames a confirmed track is still reported (predicted box, detection_index -1) "
        "after its last detection; 0 = report only tracks matched this frame.",
    )
    report_detection_box: bool = Field(
        description="Matched tracks report their detection's box (true) or the Kalman-filtered box (false)."
    )
    iou_buffer: float = Field(
        ge=0,
        description="IoU stage at slower processing rates: boxes grow by this fraction of their size on each "
        "side per reference frame a step lasts beyond the first (0 = the plain IoU of DeepSORT).",
    )
    max_iou_buffer: float = Field(
        ge=0, description="The most a box grows for the IoU stage (fraction per side)."
    )
    reference_fps: float = Field(
        gt=0,
        description="Processed frames per second at which max_age, n_init and max_predicted_frames hold as "
        "given; at another processing rate they are scaled to keep their duration in seconds.",
    )

    def deepsort_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``DeepSort`` that this config sets."""
        return {name: getattr(self, name) for name in type(self).model_fields if name not in ADAPTER_KEYS}


class _Track(Track):
    """deep-sort-realtime's Track, confirmed at birth when n_init <= 1 (the library confirms only on an
    update, so n_init = 1 would otherwise behave like 2), and with its box grown by ``buffer`` while the
    tracker matches (``_BufferedIouTracker``)."""

    buffer = 0.0  # fraction of the box's width and height added on each side; 0 outside matching

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.hits >= self._n_init:
            self.state = TrackState.Confirmed

    def to_ltwh(self, orig: bool = False, orig_strict: bool = False) -> np.ndarray | None:
        box = super().to_ltwh(orig=orig, orig_strict=orig_strict)
        return box if box is None or not self.buffer else buffered_ltwh(box, self.buffer)


def buffered_ltwh(ltwh: np.ndarray, buffer: float) -> np.ndarray:
    """(4,) box (left, top, width, height) px grown by ``buffer`` of its width and height on each side,
    about its centre (its aspect ratio kept)."""
    grow = np.asarray(ltwh[2:], dtype=np.float64) * buffer
    return np.concatenate([ltwh[:2] - grow, ltwh[2:] + 2 * grow])


class _BufferedDetection(Detection):
    """A detection whose box is grown for the IoU stage; the Kalman filter still measures the true box."""

    def __init__(self, detection: Detection, buffer: float) -> None:
        super().__init__(
            buffered_ltwh(detection.ltwh, buffer), detection.confidence, detection.feature,
            detection.class_name, detection.instance_mask, detection.others,
        )  # fmt: skip
        self._true = detection

    def to_xyah(self) -> np.ndarray:
        return self._true.to_xyah()


class _BufferedIouTracker(Tracker):
    """deep-sort-realtime's Tracker with buffered IoU (C-BIoU, Yang et al. 2023) in its IoU stage: while
    matching, track and detection boxes are grown by ``buffer``, so that a vehicle that moved farther than
    its own size between two processed frames still overlaps its track. ``buffer`` 0 is the library's
    matching. Only ``_match`` is wrapped; the appearance cascade and its Kalman gate see the true boxes."""

    buffer = 0.0

    def _match(self, detections: list[Detection]) -> tuple[list, list, list]:
        if not self.buffer:
            return super()._match(detections)
        for track in self.tracks:
            track.buffer = self.buffer
        try:
            return super()._match([_BufferedDetection(d, self.buffer) for d in detections])
        finally:
            for track in self.tracks:
                track.buffer = 0.0


class _KalmanFilter(KalmanFilter):
    """deep-sort-realtime's Kalman filter with the gating distance solved by numpy.

    The library calls ``scipy.linalg.solve_triangular``, which OpenBLAS runs as a threaded trsm: 0.25-2 ms
    per 4x4 solve on a busy 2-core machine (OpenBLAS issue #536), against ~5 us here, and it runs once per
    confirmed track per frame. The result is the same squared Mahalanobis distance.
    """

    def gating_distance(
        self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray, only_position: bool = False
    ) -> np.ndarray:
        """mean: (8,), covariance: (8, 8) track state; measurements: (N, 4) xyah -> (N,) squared distance."""
        mean, covariance = self.project(mean, covariance)
        if only_position:
            mean, covariance, measurements = mean[:2], covariance[:2, :2], measurements[:, :2]
        z = np.linalg.solve(np.linalg.cholesky(covariance), (measurements - mean).T)
        return np.sum(z * z, axis=0)


# Config keys the adapter uses itself; every other key is a DeepSort constructor argument.
ADAPTER_KEYS = frozenset(
    {
        "min_confidence",
        "max_predicted_frames",
        "report_detection_box",
        "reference_fps",
        "iou_buffer",
        "max_iou_buffer",
    }
)
# DeepSort arguments the adapter fixes: we pass embeddings (no built-in embedder, so its weights, device,
# precision and colour order do not apply), axis-aligned boxes (not polygons), and integer ids (`today`
# would prefix ids with a date and restart them at midnight); tracks are our `_Track` (a hook, not a copy).
FIXED_ARGUMENTS: dict[str, Any] = {
    "embedder": None,
    "half": False,
    "bgr": True,
    "embedder_gpu": False,
    "embedder_model_name": None,
    "embedder_wts": None,
    "polygon": False,
    "today": None,
    "override_track_class": _Track,
}


class DeepSortTracker:
    """One camera's DeepSORT tracker; ids are ints from 1, allocated per instance as tracks are confirmed.

    The tracker lives in the timeline of the frames it is given, whatever the source's frame rate: one
    step per processing period, the period being the median ``frame_index`` interval between the recent
    frames it was given (frame indices count the source's frames). A camera decimated from 25 to 5 frames/s
    steps once per processed frame. A longer gap (frames dropped because the pipeline fell behind) advances
    the Kalman filter by the periods missed, motion only: a gap is no miss, so a tentative track is not
    deleted for frames it was never shown.

    ``max_age``, ``n_init`` and ``max_predicted_frames`` keep their duration whatever the processing rate:
    they hold as given at ``reference_fps`` processed frames per second and are scaled to the rate measured
    from the frames' timestamps (median interval), so ``max_age`` 30 at 10/s (3 s) is 15 frames at 5/s
    (``n_init`` stays at least 2). At slower rates vehicles move farther between frames than their own size,
    so the IoU stage grows the boxes (``iou_buffer``). Without frames (``update`` given detections only)
    everything holds as given.

    ``update`` must see the frames of one camera in increasing ``frame_index`` order.
    """

    def __init__(self, config: DeepSortConfig | None = None, camera_id: str | None = None) -> None:
        self.config = config if config is not None else DeepSortConfig.from_yaml()
        self._fixed_camera_id = camera_id
        self.reset()

    def reset(self) -> None:
        """Forget every track; the next confirmed track gets id 1 again."""
        self._deepsort = DeepSort(**self.config.deepsort_kwargs(), **FIXED_ARGUMENTS)
        library = self._deepsort.tracker
        self._deepsort.tracker = _BufferedIouTracker(
            library.metric,
            max_iou_distance=library.max_iou_distance,
            max_age=library.max_age,
            n_init=library.n_init,
            override_track_class=_Track,
            today=None,
            gating_only_position=library.gating_only_position,
        )
        self._deepsort.tracker.kf = _KalmanFilter()  # a hook: only the gating distance changes
        self._public_ids: dict[str, int] = {}  # deep-sort-realtime's (string) id -> our id
        self._next_id = 1
        self._camera_id = self._fixed_camera_id
        self._last_frame_index: int | None = None
        self._intervals: deque[int] = deque(maxlen=PERIOD_WINDOW)
        self._seconds: deque[float] = deque(
            maxlen=PERIOD_WINDOW
        )  # timestamp intervals, when frames are given
        self._last_timestamp: float | None = None
        self._rate_ratio = 1.0  # reference_fps / processing rate: how many reference frames one step lasts
        self._dim: int | None = None

    @property
    def camera_id(self) -> str | None:
        """The camera this tracker follows (bound at the first update unless given)."""
        return self._camera_id

    def update(self, detections: Detections, frame: Frame | None = None) -> Tracks:
        """Advance one frame. detections: N boxes (xyxy px) with embeddings (N, D); frame: optional, only
        checked to belong to the same camera and frame. Returns the M confirmed tracks to report."""
        self._check(detections, frame)
        if frame is not None:
            self._follow_rate(frame.timestamp)
        self._predict_across_gap(detections.frame_index)
        keep = self._trackable(detections)
        xyxy = detections.xyxy[keep].astype(np.float64)
        ltwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        raw = [
            (box, float(conf), int(cls))
            for box, conf, cls in zip(
                ltwh.tolist(), detections.confidence[keep], detections.class_id[keep], strict=True
            )
        ]
        embeds = [] if detections.embeddings is None else list(detections.embeddings[keep])
        # The row of each detection rides along as deep-sort-realtime's per-detection `others` payload.
        ds_tracks = self._step(raw, embeds, keep.tolist())
        self._last_frame_index = detections.frame_index
        return self._report(ds_tracks, detections)

    def _check(self, detections: Detections, frame: Frame | None) -> None:
        if len(detections) and detections.embeddings is None:
            raise ValueError(
                f"DeepSortTracker.update needs detections with embeddings ({detections.camera_id} frame "
                f"{detections.frame_index} has none); run trackers.appearance.embed_detections first"
            )
        if detections.embeddings is not None and len(detections):
            dim = detections.embeddings.shape[1]
            if self._dim is not None and dim != self._dim:
                raise ValueError(
                    f"embeddings of {detections.camera_id} frame {detections.frame_index} have {dim} "
                    f"dimensions, earlier frames had {self._dim}; use one embedder per tracker"
                )
            self._dim = dim
        if self._camera_id is None:
            self._camera_id = detections.camera_id
        elif detections.camera_id != self._camera_id:
            raise ValueError(
                f"this tracker follows camera {self._camera_id!r}, got detections of "
                f"{detections.camera_id!r}; use one DeepSortTracker per camera"
            )
        if frame is not None and (frame.camera_id, frame.frame_index) != (
            detections.camera_id,
            detections.frame_index,
        ):
            raise ValueError(
                f"frame {frame.camera_id} #{frame.frame_index} does not match detections "
                f"{detections.camera_id} #{detections.frame_index}"
            )
        if self._last_frame_index is not None and detections.frame_index <= self._last_frame_index:
            raise ValueError(
                f"{detections.camera_id}: frame {detections.frame_index} after frame "
                f"{self._last_frame_index}; frames must come in increasing order (call reset() when a "
                "stream restarts)"
            )

    def _processing_steps(self, frame_index: int) -> int:
        """Processing periods since the previous frame: at least 1."""
        if self._last_frame_index is None:
            return 1
        interval = frame_index - self._last_frame_index
        self._intervals.append(interval)
        period = float(np.median(self._intervals))
        return max(1, round(interval / period)) if period > 0 else 1

    def _follow_rate(self, timestamp: float) -> None:
        """Measure the processing rate from the frames' timestamps; when it moves, rescale the frame counts
        (of new and live tracks) so that they keep their duration."""
        if self._last_timestamp is not None:
            self._seconds.append(timestamp - self._last_timestamp)
        self._last_timestamp = timestamp
        if not self._seconds:
            return
        period = float(np.median(self._seconds))
        ratio = period * self.config.reference_fps if period > 0 else 1.0
        if abs(ratio - self._rate_ratio) <= RATE_TOLERANCE * self._rate_ratio:
            return
        self._rate_ratio = ratio
        tracker = self._deepsort.tracker
        # Two detections at least confirm a track (unless n_init asks for one): one is no evidence of motion.
        n_init = self.scaled(self.config.n_init, min(2, self.config.n_init))
        tracker.max_age, tracker.n_init = self.scaled(self.config.max_age), n_init
        tracker.buffer = min(self.config.iou_buffer * max(ratio - 1.0, 0.0), self.config.max_iou_buffer)
        for track in tracker.tracks:
            track._max_age, track._n_init = tracker.max_age, tracker.n_init

    def scaled(self, frames: int, least: int = 1) -> int:
        """A frame count at reference_fps, as frames at the measured processing rate (at least ``least``)."""
        return max(least, round(frames / self._rate_ratio))

    def _predict_across_gap(self, frame_index: int) -> None:
        """Move every track's Kalman state over the processing periods missed before this frame. Motion only:
        deep-sort-realtime's own predict would also age the tracks, and a track aged past one frame is
        barred from IoU matching, so a tentative track would die for a frame it was never shown."""
        # Beyond max_age + 1 periods every track is gone anyway.
        missed = min(self._processing_steps(frame_index) - 1, self._deepsort.tracker.max_age + 1)
        tracker = self._deepsort.tracker
        for _ in range(missed):
            for track in tracker.tracks:
                track.mean, track.covariance = tracker.kf.predict(track.mean, track.covariance)

    def _step(self, raw: list, embeds: list, rows: list[int]) -> list[Track]:
        """One deep-sort-realtime update; forgets the public ids of the tracks it deleted."""
        ds_tracks = self._deepsort.update_tracks(raw, embeds=embeds, others=rows)
        for gone in self._deepsort.tracker.del_tracks_ids:
            self._public_ids.pop(gone, None)
        return ds_tracks

    def _trackable(self, detections: Detections) -> np.ndarray:
        """Rows to track: confident enough and of positive size.

        deep-sort-realtime silently drops zero-size boxes *without* dropping their embeddings, which would
        shift every later embedding by one, so they are removed here first.
        """
        size = detections.xyxy[:, 2:] - detections.xyxy[:, :2]
        ok = (detections.confidence >= self.config.min_confidence) & (size > 0).all(axis=1)
        return np.flatnonzero(ok)

    def _report(self, ds_tracks: list[Track], detections: Detections) -> Tracks:
        ids, boxes, rows = [], [], []
        for track in ds_tracks:
            if not track.is_confirmed() or track.time_since_update > self.scaled(
                self.config.max_predicted_frames, 0
            ):
                continue
            row = track.get_det_supplementary()  # None unless a detection was matched this frame
            row = NO_DETECTION if row is None else int(row)
            if row != NO_DETECTION and self.config.report_detection_box:
                box = detections.xyxy[row]
            else:
                box = track.to_ltrb()
            ids.append(self._public_id(track.track_id))
            boxes.append(box)
            rows.append(row)
        if not ids:
            return Tracks.empty(detections.camera_id, detections.frame_index)
        order = np.argsort(ids)
        return Tracks(
            detections.camera_id,
            detections.frame_index,
            np.asarray(ids)[order],
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4)[order],
            np.asarray(rows)[order],
        )

    def _public_id(self, internal_id: str) -> int:
        """Our id of a confirmed track: 1, 2, ... in order of confirmation (tentative tracks that die
        would leave gaps in deep-sort-realtime's own counter)."""
        public = self._public_ids.get(internal_id)
        if public is None:
            public = self._public_ids[internal_id] = self._next_id
            self._next_id += 1
        return public


__all__ = ["ADAPTER_KEYS", "FIXED_ARGUMENTS", "NO_DETECTION", "DeepSortConfig", "DeepSortTracker"]
