"""``crosscam worker --camera ID``: one camera as its own process, publishing tracklets to the Redis Stream.

The camera must be registered in the Redis store first (``POST /api/v1/cameras``: its URL and calibration).
The worker runs source -> detector (or ``--oracle-gt`` boxes) -> appearance -> DeepSORT -> tracklet builder
and publishes every tracklet for ``crosscam associator`` (``service.camera_worker`` explains the loop, the
status and live view it publishes, and how a restarted worker's track ids stay apart from the last run's).

SIGTERM (or Ctrl-C) flushes the live tracks as final tracklets and exits 0; the end of a video file does the
same. Prints one JSON line summarising the run. Exit codes: 0 stopped, 1 the source (or Redis) failed while
running (the status says why), 2 it could not start (unknown camera, bad option, unreachable Redis).
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from service.commands.errors import user_errors
from service.commands.options import (
    DetectorConfigOption,
    DetectorWeightsOption,
    ReidWeightsOption,
    TrackerConfigOption,
)

# The camera failed while running (its source, or the Redis server); 2 (USER_ERROR_EXIT) is a bad start.
RUNTIME_FAILURE_EXIT = 1


def worker(
    camera: Annotated[
        str, typer.Option(help="The camera's id in the store (as added with POST /api/v1/cameras).")
    ],
    redis_url: Annotated[
        str | None, typer.Option(help="Redis server, redis://[:password@]host:port/db (default: REDIS_URL).")
    ] = None,
    embedder: Annotated[
        str | None,
        typer.Option(
            help="Appearance model: reid or colourhog (default: CROSSCAM_EMBEDDER, as search by image uses)."
        ),
    ] = None,
    reid_weights: ReidWeightsOption = None,
    oracle_gt: Annotated[
        Path | None,
        typer.Option(
            help="Serve this MOTChallenge gt.txt's boxes instead of running the detector (tests, association "
            "benchmarks; never report these as detection results)."
        ),
    ] = None,
    realtime: Annotated[
        bool, typer.Option(help="Play a video file at its frame rate, as a camera would (files only).")
    ] = True,
    weights: DetectorWeightsOption = None,
    detector_config: DetectorConfigOption = None,
    tracker_config: TrackerConfigOption = None,
    tracklet_config: Annotated[Path | None, typer.Option(help="Tracklet builder YAML.")] = None,
) -> None:
    """Run one registered camera and publish its tracklets for the associator (Redis Streams)."""
    import redis

    from service.camera_worker import CameraWorkerLoop
    from service.embedders import EMBEDDER_KINDS
    from service.scene_run import camera_pipeline
    from service.settings import ServiceSettings
    from service.store import NotFoundError, StoreUnavailableError
    from service.store.redis import RedisStore
    from service.streams import RedisRequiredError, TrackletPublisher, redis_client, redis_url_of
    from trackers.calibration import CalibrationError
    from trackers.config import ConfigError
    from trackers.deepsort import DeepSortConfig
    from trackers.detection import DetectorConfig, DetectorError
    from trackers.metrics import FormatError
    from trackers.tracklets import TrackletConfig

    errors = (
        NotFoundError, StoreUnavailableError, RedisRequiredError, ConfigError, DetectorError, CalibrationError,
        FormatError,
    )  # fmt: skip
    with user_errors(*errors):
        settings = ServiceSettings(**({"REDIS_URL": redis_url} if redis_url else {}))
        url = redis_url_of(settings, "crosscam worker")
        store = RedisStore(url, prefix=settings.redis_prefix)
        store.ping()
        try:
            record = store.get_camera(camera)
        except NotFoundError:
            raise NotFoundError(
                f"camera {camera!r} is not registered in the store at {settings.redis_url_redacted} (key prefix "
                f"{settings.redis_prefix!r}); add it first (POST /api/v1/cameras), or check --camera and "
                "CROSSCAM_REDIS_PREFIX"
            ) from None
        kind = embedder or settings.embedder
        if kind not in EMBEDDER_KINDS:
            raise ConfigError(f"--embedder {kind!r} is not one of {', '.join(EMBEDDER_KINDS)}")
        det_cfg = DetectorConfig.from_yaml(detector_config, **({"weights": weights} if weights else {}))
        appearance = _appearance(kind, reid_weights or settings.reid_weights)
        pipeline = camera_pipeline(
            camera, appearance, DeepSortConfig.from_yaml(tracker_config), det_cfg, oracle_gt
        )
        try:
            run = store.next_camera_run(camera)
        except redis.RedisError as exc:
            raise store.unavailable(exc) from None
        client = redis_client(url)
        loop = CameraWorkerLoop(
            record,
            pipeline,
            TrackletPublisher(client, settings.redis_prefix, run),
            store,
            settings=settings,
            realtime=realtime,
            tracklet_config=TrackletConfig.from_yaml(tracklet_config),
        )
    stop = threading.Event()
    # SIGTERM (Kubernetes stopping the pod) and Ctrl-C end the run cleanly; the caller's handlers come back after.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        report = loop.run(stop)
    except (redis.RedisError, StoreUnavailableError) as exc:
        shown = store.unavailable(exc) if isinstance(exc, redis.RedisError) else exc
        typer.secho(f"error: camera {camera}: {shown}", fg=typer.colors.RED, err=True)
        raise typer.Exit(RUNTIME_FAILURE_EXIT) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
        client.close()
    typer.echo(json.dumps(report.summary()))
    if report.state == "failed":
        typer.secho(f"error: camera {camera}: {report.error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(RUNTIME_FAILURE_EXIT)


def _appearance(kind: str, weights: Path | None):
    """The embedder; unusable Re-ID weights are one error line. The Re-ID errors' modules load torch, which
    a colourhog worker never needs (seconds of start-up saved)."""
    from service.embedders import build_embedder

    if kind != "reid":
        return build_embedder(kind)
    from export.spec import ModelFileError
    from models.reid.checkpoint import CheckpointError

    with user_errors(CheckpointError, ModelFileError):
        return build_embedder(kind, weights)
