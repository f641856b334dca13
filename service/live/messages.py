"""What camera threads hand the associator thread: one queue carries every camera's messages in arrival order.

A camera's messages always come as ``CameraStarted``, any number of ``FrameResult``, then one ``CameraEnded``;
the associator thread owns every per-camera state they describe, so nothing else needs a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from trackers.calibration import GroundPlane
from trackers.types import Detections, Tracks


@dataclass(frozen=True)
class CameraStarted:
    """A camera joins: its ground plane (None: no world positions). ``stopping`` is set once the camera is
    asked to stop; its live views are no longer published then (the camera may be gone from the store)."""

    camera_id: str
    ground: GroundPlane | None
    stopping: threading.Event


@dataclass(frozen=True)
class FrameResult:
    """One processed frame. t: seconds on the runtime's clock (Unix seconds, see ``runtime``); size: (width,
    height) px; jpeg: the frame's image as JPEG when a live view is due, else None. ``tracks`` carry the ids
    the store uses (the tracker's ids moved by this run's offset, ``service.track_ids``)."""

    camera_id: str
    frame_index: int
    t: float
    size: tuple[int, int]
    detections: Detections
    tracks: Tracks
    jpeg: bytes | None = None


@dataclass(frozen=True)
class CameraEnded:
    """A camera's stream is over (state "finished", "failed" or "stopped"); ``flushed`` is set once its live
    tracks have been recorded."""

    camera_id: str
    flushed: threading.Event = field(default_factory=threading.Event)
