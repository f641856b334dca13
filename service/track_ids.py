"""Track ids that stay apart across restarts of a camera.

The store keys a tracklet ``"<camera>:<local track id>"``, and a camera's tracker counts its ids from 1 again
on every start, so a restarted camera would overwrite the tracklets of its earlier runs. Each start therefore
takes the camera's next run number from the store (``StateStore.next_camera_run``: 1, 2, ...) and stores its
tracks with ids moved by ``track_id_offset(run)``: run 1 keeps the tracker's ids, run 2 starts at
1_000_000_001. A counter in the store, rather than a scan for the largest id stored, costs one call per start,
gives two processes starting the same camera different runs, and serves both a ``crosscam worker`` process
and the in-process live runtime (``crosscam serve``); with the Redis store it survives their restarts.
"""

from __future__ import annotations

from dataclasses import replace

from trackers.types import Tracks

# Tracks one run may start before its ids would reach the next run's: at 10 new vehicles per second, three
# years of one run. Kept below 2**53 for hundreds of thousands of runs (the web page reads ids as JavaScript
# numbers).
TRACK_ID_STRIDE = 1_000_000_000


def track_id_offset(run: int) -> int:
    """What run ``run`` (1, 2, ...) adds to its tracker's ids."""
    return (run - 1) * TRACK_ID_STRIDE


def renumbered(tracks: Tracks, offset: int) -> Tracks:
    """``tracks`` with ``offset`` added to every track id (the same ``tracks`` for 0)."""
    if offset == 0:
        return tracks
    return replace(tracks, track_id=tracks.track_id + offset)
