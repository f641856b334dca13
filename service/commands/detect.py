"""``crosscam detect``: the product's vehicle detector over a folder of images or a video, as a CSV of boxes.

One row per box: ``file,x1,y1,x2,y2,score,label`` (pixels, top-left origin; for a video, ``file`` is the
1-based frame number). An image that cannot be read is reported in one line and skipped; the others are
written, and the command then exits 1.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from tqdm import tqdm

from service.commands.errors import PARTIAL_FAILURE_EXIT, user_errors
from service.commands.options import DetectorConfigOption, DetectorWeightsOption

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
CSV_COLUMNS = ("file", "x1", "y1", "x2", "y2", "score", "label")


def _images(folder: Path) -> list[Path]:
    from service.ingest import SourceError

    if not folder.is_dir():
        raise SourceError(f"--images {folder} is not a folder; give a folder of images (or --video FILE)")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise SourceError(f"{folder} holds no image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return found


def _video_frames(source, max_frames: int | None) -> Iterator[tuple[str, object]]:
    """(1-based frame number, Frame) of an open video source, up to ``max_frames``."""
    with source:
        for frame in source.frames():
            yield str(frame.frame_index), frame
            if max_frames is not None and frame.frame_index >= max_frames:
                return


def detect(
    out: Annotated[Path, typer.Option(help="CSV to write: file,x1,y1,x2,y2,score,label (pixels).")],
    images: Annotated[Path | None, typer.Option(help="A folder of images to detect vehicles in.")] = None,
    video: Annotated[
        Path | None, typer.Option(help="A video file to detect vehicles in, frame by frame.")
    ] = None,
    weights: DetectorWeightsOption = None,
    detector_config: DetectorConfigOption = None,
    imgsz: Annotated[
        int | None, typer.Option(min=32, help="Inference size (px); default: the config's.")
    ] = None,
    confidence: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Lowest score written; default: the config's.")
    ] = None,
    max_frames: Annotated[int | None, typer.Option(min=1, help="Video: stop after this many frames.")] = None,
) -> None:
    """Detect vehicles with crosscam's own detector and config; write every box as a CSV row."""
    import cv2

    from service.ingest import SourceConfig, SourceError, open_source
    from trackers.config import ConfigError
    from trackers.detection import DetectorConfig, DetectorError, YoloDetector
    from trackers.types import Frame

    if (images is None) == (video is None):
        typer.secho("error: give exactly one of --images DIR and --video FILE", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    overrides = {k: v for k, v in {"weights": weights, "imgsz": imgsz, "confidence": confidence}.items() if v}
    skipped: list[str] = []
    rows = frames = 0
    with user_errors(SourceError, DetectorError, ConfigError):
        # The input is checked before the model loads: a wrong path should not cost seconds first.
        inputs = _images(images) if images is not None else None
        source = open_source(SourceConfig(camera_id="video", url=str(video))) if video is not None else None
        detector = YoloDetector(DetectorConfig.from_yaml(detector_config, **overrides))
        out.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with out.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            if inputs is not None:
                named = ((p.name, p) for p in inputs)
                total = len(inputs)
            else:
                named = _video_frames(source, max_frames)
                total = max_frames
            for name, item in tqdm(named, total=total, desc="detect", unit="frame"):
                if isinstance(item, Path):
                    image = cv2.imread(str(item))
                    if image is None:
                        skipped.append(name)
                        typer.secho(
                            f"warning: skipped {item}: it cannot be decoded as an image (corrupt, or not an "
                            "image); replace or remove it",
                            fg=typer.colors.YELLOW,
                            err=True,
                        )
                        continue
                    item = Frame("images", frames + 1, 0.0, image)
                found = detector.detect(item)
                frames += 1
                for box, score, label in zip(found.xyxy, found.confidence, found.labels, strict=True):
                    writer.writerow([name, *(f"{v:.1f}" for v in box), f"{score:.4f}", label])
                    rows += 1
        seconds = time.perf_counter() - started
    Console().print(
        f"{rows} boxes in {frames} frames written to {out}"
        + (f" ({1000 * seconds / frames:.0f} ms per frame)" if frames else "")
        + (f"; {len(skipped)} skipped" if skipped else "")
    )
    if skipped:
        raise typer.Exit(PARTIAL_FAILURE_EXIT)
