"""Camera workers: one thread per camera runs its source through its own pipeline.

A camera whose source fails (a file that cannot be decoded, a stream whose reader gives up) stops alone: its
error is recorded in its status and every other camera keeps going. Each worker owns its detector, embedder
and tracker: ultralytics models are not safe to share between threads, and each camera has its own id space.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from service.ingest import Source
from trackers.pipeline import CameraPipeline
from trackers.types import Detections, Tracks

WorkerState = str  # "running" | "finished" | "failed"


@dataclass
class WorkerStatus:
    camera_id: str
    state: WorkerState = "running"
    frames: int = 0
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None


class CameraWorker:
    """Runs ``source`` through ``pipeline`` in a thread, keeping (Detections, Tracks) per frame."""

    def __init__(
        self,
        camera_id: str,
        open_source: Callable[[], Source],
        make_pipeline: Callable[[], CameraPipeline],
        max_frames: int | None = None,
    ) -> None:
        self.status = WorkerStatus(camera_id)
        self.history: list[tuple[Detections, Tracks]] = []
        self.pipeline: CameraPipeline | None = None
        self._open_source = open_source
        self._make_pipeline = make_pipeline
        self._max_frames = max_frames
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera_id}", daemon=True)

    def start(self) -> CameraWorker:
        self._thread.start()
        return self

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            self.pipeline = self._make_pipeline()
            with self._open_source() as source:
                for _, detections, tracks in self.pipeline.run(islice(source.frames(), self._max_frames)):
                    self.history.append((detections, tracks))
                    self.status.frames += 1
            self.status.state = "finished"
        except Exception as exc:  # one camera's failure must not stop the others: record it and end this one
            self.status.state = "failed"
            self.status.error = (
                f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
            )
        finally:
            self.status.finished = time.monotonic()


def run_workers(workers: list[CameraWorker], timeout_s: float | None = None) -> list[WorkerStatus]:
    """Start every worker, wait for all of them, return their statuses (in order)."""
    for worker in workers:
        worker.start()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    for worker in workers:
        worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return [w.status for w in workers]
