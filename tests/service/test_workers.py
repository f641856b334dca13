"""Camera workers: one camera's failure leaves the others running to the end."""

from __future__ import annotations

from pathlib import Path

from service.ingest import SourceConfig, open_source
from service.workers import CameraWorker, run_workers
from trackers.appearance import ColourHogEmbedder
from trackers.deepsort import DeepSortConfig, DeepSortTracker
from trackers.detection import DetectorConfig, DetectorError, YoloDetector
from trackers.oracle import GroundTruthDetector
from trackers.pipeline import CameraPipeline


def test_a_failing_camera_does_not_stop_the_others(smoke_scene: Path, tmp_path: Path) -> None:
    def good_pipeline() -> CameraPipeline:
        gt = smoke_scene / "mot" / "cam01" / "gt" / "gt.txt"
        return CameraPipeline(
            GroundTruthDetector(gt), ColourHogEmbedder(), DeepSortTracker(DeepSortConfig.from_yaml())
        )

    def broken_pipeline() -> CameraPipeline:
        # A camera configured with weights that are not a model fails when its worker starts.
        bad = tmp_path / "broken.pt"
        bad.write_bytes(b"not a model")
        return CameraPipeline(
            YoloDetector(DetectorConfig.from_yaml(weights=bad)),
            ColourHogEmbedder(),
            DeepSortTracker(DeepSortConfig.from_yaml()),
        )

    def source(cam: str):
        return open_source(SourceConfig(camera_id=cam, url=str(smoke_scene / f"{cam}.mp4")))

    good = CameraWorker("cam01", lambda: source("cam01"), good_pipeline)
    broken = CameraWorker("cam02", lambda: source("cam02"), broken_pipeline)
    statuses = run_workers([broken, good], timeout_s=60)
    assert [s.state for s in statuses] == ["failed", "finished"]
    assert "not a readable ultralytics detection model" in statuses[0].error
    assert statuses[1].frames == 40 and len(good.history) == 40
    assert sum(len(t) for _, t in good.history) > 0
    assert DetectorError.__name__ not in statuses[0].error  # the message itself, not the class name
