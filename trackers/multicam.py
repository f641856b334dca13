"""All cameras together: per-camera frame results, in time order, through tracklet builders into the associator,
and the result as AI City MTMC rows.

The cameras' outputs must reach ``MultiCameraAssociation.update`` in timestamp order (``merge_in_time`` does
that for per-camera streams), so the associator sees tracklets in the order the world produced them: online
association may use only what happened before.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

import numpy as np

from trackers.association import Associator
from trackers.metrics.boxes import MTMCBoxes
from trackers.metrics.formats import UNKNOWN_WORLD
from trackers.tracklets import TrackletBuilder
from trackers.types import Detections, Tracklet, Tracks

T = TypeVar("T")


def merge_in_time(
    streams: Mapping[str, Iterable[T]], time_of: Callable[[T], float]
) -> Iterator[tuple[str, T]]:
    """Interleave per-camera streams by time: yields (camera_id, item), ``time_of(item)`` non-decreasing when
    each stream is; ties keep camera order. Pulls one item ahead per stream, so live streams merge as they go."""

    def tagged(rank: int, cam: str, stream: Iterable[T]) -> Iterator[tuple[float, int, str, T]]:
        for item in stream:
            yield time_of(item), rank, cam, item

    heads = [tagged(rank, cam, stream) for rank, (cam, stream) in enumerate(streams.items())]
    for _, _, cam, item in heapq.merge(*heads, key=lambda entry: entry[:2]):
        yield cam, item


def camera_numbers(camera_ids: Iterable[str]) -> dict[str, int]:
    """AI City camera ids are integers: ``cam07`` -> 7 (trailing digits) when every id has distinct ones,
    else 1, 2, ... in sorted order."""
    ids = sorted(set(camera_ids))
    digits = [re.search(r"(\d+)$", c) for c in ids]
    if all(digits) and len({int(d.group(1)) for d in digits if d}) == len(ids):
        return {c: int(d.group(1)) for c, d in zip(ids, digits, strict=True) if d}
    return {c: i + 1 for i, c in enumerate(ids)}


class MultiCameraAssociation:
    """Tracklet builders (one per camera) feeding one ``Associator``.

    ``update`` per camera frame (in time order), ``finish`` at the end; ``assigned`` lists every
    (tracklet, global id) decision in the order it was made.
    """

    def __init__(self, builders: Mapping[str, TrackletBuilder], associator: Associator) -> None:
        self.builders = dict(builders)
        self.associator = associator
        self.assigned: list[tuple[Tracklet, int]] = []

    def update(
        self, camera_id: str, timestamp: float, detections: Detections, tracks: Tracks
    ) -> list[tuple[Tracklet, int]]:
        """One camera's frame; returns the (tracklet, global id) decisions it triggered."""
        return self._assign(self.builders[camera_id].update(timestamp, detections, tracks))

    def finish(self) -> list[tuple[Tracklet, int]]:
        """End of the recording: every live track is emitted (oldest ending first) and assigned."""
        pending = [t for builder in self.builders.values() for t in builder.flush()]
        return self._assign(sorted(pending, key=lambda t: (t.t_end, t.camera_id, t.local_track_id)))

    def _assign(self, tracklets: list[Tracklet]) -> list[tuple[Tracklet, int]]:
        out = [(t, self.associator.add(t)) for t in tracklets]
        self.assigned.extend(out)
        return out


def mtmc_rows(
    tracklets: Iterable[Tracklet], gid_of: Mapping[tuple[str, int], int], min_cameras: int = 2
) -> MTMCBoxes:
    """AI City rows of every tracklet's boxes under its global id; identities seen by fewer than
    ``min_cameras`` cameras are left out (the CityFlow protocol counts only vehicles seen by two or more)."""
    tracklets = list(tracklets)
    cams_of: dict[int, set[str]] = {}
    for t in tracklets:
        cams_of.setdefault(gid_of[t.key], set()).add(t.camera_id)
    numbers = camera_numbers(t.camera_id for t in tracklets)
    keep = [t for t in tracklets if len(cams_of[gid_of[t.key]]) >= min_cameras]
    if not keep:
        return MTMCBoxes.empty()
    xyxy = np.concatenate([t.xyxy for t in keep]).astype(np.float64)
    world = np.concatenate([t.world_xy for t in keep])
    camera = np.concatenate([np.full(len(t), numbers[t.camera_id]) for t in keep])
    obj = np.concatenate([np.full(len(t), gid_of[t.key]) for t in keep])
    frame = np.concatenate([t.frames for t in keep])
    return mtmc_boxes(camera, obj, frame, xyxy, world)


def mtmc_boxes(
    camera: np.ndarray, obj: np.ndarray, frame: np.ndarray, xyxy: np.ndarray, world: np.ndarray
) -> MTMCBoxes:
    """AI City rows from per-observation columns: camera numbers, global ids and 1-based frames (N,), boxes
    xyxy (N, 4) px, ground positions (N, 2) m, NaN where unknown."""
    # One box per (camera, frame, identity): association never puts two simultaneous tracks of one camera
    # in one identity, but an assignment from elsewhere (an operator's merge) may; the first box is kept.
    _, first = np.unique(np.column_stack([camera, frame, obj]), axis=0, return_index=True)
    first = np.sort(first)
    return MTMCBoxes(
        camera_id=camera[first],
        obj_id=obj[first],
        frame_id=frame[first],
        xywh=np.column_stack([xyxy[first, :2], xyxy[first, 2:] - xyxy[first, :2]]),
        world_xy=np.where(np.isfinite(world[first]), world[first], UNKNOWN_WORLD),
    )
