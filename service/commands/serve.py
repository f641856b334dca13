"""``crosscam serve``: the service in one process: the REST API and operator page on uvicorn, cameras run live
in this process (``service.live.LiveRuntime``), state in Redis (``REDIS_URL``) or in memory.

Settings come from ``CROSSCAM_*`` environment variables (``service.settings``); the options here override
them. ``--scene DIR`` adds every ``camNN.mp4`` of a scene folder as a camera, replayed as if live; cameras
already in a Redis store are started again. Ctrl-C or SIGTERM stops the cameras (their live tracks are
recorded first) and exits 0. ``--api-only`` serves the API and page alone, over a shared Redis store: at scale
(docker/compose.yaml, k8s/) the cameras run in ``crosscam worker`` processes and association in
``crosscam associator``, and several API replicas must not each run every camera again.

The helpers below (settings, listening socket, scene cameras, running the service) are shared with
``crosscam demo``.
"""

from __future__ import annotations

import errno
import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from service.commands.errors import user_errors
from service.commands.options import ReidWeightsOption

if TYPE_CHECKING:
    from service.live import LiveRuntime
    from service.settings import ServiceSettings
    from service.store import CameraRecord, StateStore
    from trackers.appearance import Embedder

# Open event streams (the operator page's) would hold a graceful shutdown for ever: give them this long (s).
GRACEFUL_SHUTDOWN_S = 3.0
ALL_INTERFACES = ("0.0.0.0", "::", "")
# Command-line options that override settings, by setting name (the others come from CROSSCAM_* only).
OPTION_OF_SETTING = {"host": "--host", "port": "--port", "redis_url": "--redis-url", "embedder": "--embedder"}


class ServeError(ValueError):
    """The service cannot start as asked; the message names the problem and its fix."""


def load_settings(**overrides: Any) -> ServiceSettings:
    """``ServiceSettings`` from the environment, with the options given (not None) on top. A bad value
    raises ServeError naming where it came from (``--port: ...`` or ``CROSSCAM_PORT: ...``)."""
    from service.settings import ServiceSettings

    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return ServiceSettings(**given)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            message = err["msg"].removeprefix("Value error, ")
            if name.lower() == "redis_url":
                source = "--redis-url" if "redis_url" in given else "REDIS_URL"
            elif name in given:
                source = OPTION_OF_SETTING.get(name, name)
            else:
                source = f"CROSSCAM_{name.upper()}" if name else ""
            problems.append(f"{source}: {message}" if source else message)
        raise ServeError("; ".join(problems)) from None


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) for uvicorn to listen on. Binding here, before anything slow, lets a
    port already in use fail at once, in one line, with the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart may reuse a port in TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is already in use (another crosscam serve?); stop what uses it, or "
                f"pass another port, e.g. --port {port + 1 if port < 65535 else 8081}"
            ) from None
        reason = exc.strerror or str(exc)
        raise ServeError(
            f"cannot listen on {host}:{port} ({reason}); pass --host 127.0.0.1 or an address of this machine"
        ) from None
    return sock


def public_urls(host: str, port: int) -> dict[str, str]:
    """The addresses to print: the operator page, the API docs and the metrics."""
    shown = "127.0.0.1" if host in ALL_INTERFACES else (f"[{host}]" if ":" in host else host)
    base = f"http://{shown}:{port}"
    return {"operator page": f"{base}/", "API docs": f"{base}/docs", "metrics": f"{base}/metrics"}


def scene_cameras(scene: Path) -> list[CameraRecord]:
    """One camera per ``camNN.mp4`` of a scene folder: its file URL and ``calibration/camNN.json`` (if any)."""
    from service.scene_run import scene_videos
    from service.store import CameraRecord

    cameras = []
    for camera_id, video in scene_videos(scene).items():
        calibration_file = Path(scene) / "calibration" / f"{camera_id}.json"
        calibration = None
        if calibration_file.is_file():
            try:
                calibration = json.loads(calibration_file.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ServeError(
                    f"{calibration_file}: not a readable JSON calibration ({exc}); fix or remove it"
                ) from None
        cameras.append(
            CameraRecord(
                camera_id=camera_id,
                url=video.resolve().as_uri(),
                calibration=calibration,
                added_wall=time.time(),
            )
        )
    return cameras


def start_and_report(runtime: LiveRuntime, cameras: list[CameraRecord]) -> None:
    """Start every camera; one that cannot run is reported in a line and in its status, the rest go on."""
    for camera_id, reason in runtime.start_cameras(cameras).items():
        typer.secho(f"camera {camera_id} not started: {reason}", fg=typer.colors.YELLOW, err=True)


def run_service(
    settings: ServiceSettings,
    store: StateStore,
    runtime: LiveRuntime | None,
    listener: socket.socket,
    stop_after_s: float | None = None,
) -> None:
    """Serve the API on ``listener`` until Ctrl-C / SIGTERM (or ``stop_after_s`` seconds), then stop the
    runtime (None: an API-only process), recording every live track, and close the store."""
    import uvicorn

    from service.api.app import create_app

    server: uvicorn.Server | None = None
    stop_requested = threading.Event()

    def request_exit(signum: int, frame: object) -> None:
        stop_requested.set()
        if server is not None:
            server.should_exit = True

    # uvicorn handles the signals while it serves, then re-raises them to whatever was installed before:
    # this handler, so the process goes on to stop the cameras and exits normally.
    previous = {sig: signal.signal(sig, request_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(stop_after_s, request_exit, args=(0, None)) if stop_after_s is not None else None
    try:
        if runtime is not None:
            app = create_app(settings, store, control=runtime, embedder_factory=lambda: runtime.embedder)
        else:
            app = create_app(settings, store, embedder_factory=lambda: _search_embedder(settings))
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=settings.log_level == "debug",  # the page polls live views several times a second
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        server = uvicorn.Server(config)
        server.should_exit = stop_requested.is_set()
        for name, url in public_urls(settings.host, settings.port).items():
            typer.echo(f"{name + ':':15}{url}")
        typer.echo("Ctrl-C to stop")
        if timer is not None:
            timer.daemon = True
            timer.start()
        server.run(sockets=[listener])
    finally:
        if timer is not None:
            timer.cancel()
        if runtime is not None:
            typer.echo("stopping: recording every live track ...")
            runtime.stop()
        store.close()
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo("stopped")


def serve(
    scene: Annotated[
        Path | None,
        typer.Option(help="Add every camNN.mp4 of this scene folder as a camera, replayed as if live."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on [CROSSCAM_HOST; 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port to listen on [CROSSCAM_PORT; 8080].")] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="Redis state store, redis://[:password@]host:port/db [REDIS_URL; unset = in memory]."
        ),
    ] = None,
    embedder: Annotated[
        str | None,
        typer.Option(
            help="Appearance model, for tracking and search: reid or colourhog [CROSSCAM_EMBEDDER]."
        ),
    ] = None,
    reid_weights: ReidWeightsOption = None,
    realtime: Annotated[
        bool, typer.Option(help="Replay video files at their frame rate, as a camera would deliver them.")
    ] = True,
    loop: Annotated[bool, typer.Option(help="Replay video files from the start again at their end.")] = False,
    oracle: Annotated[
        bool,
        typer.Option(
            help="Serve --scene's ground-truth boxes instead of detecting (tests, demos; not a detector)."
        ),
    ] = False,
    fresh: Annotated[
        bool, typer.Option(help="Delete everything the Redis store holds under its prefix first.")
    ] = False,
    api_only: Annotated[
        bool,
        typer.Option(
            help="Serve only the API and operator page over a Redis store; cameras run in `crosscam worker`, "
            "association in `crosscam associator`."
        ),
    ] = False,
) -> None:
    """Run the service: REST API, operator page and the cameras, in this process."""
    from service.embedders import EMBEDDER_KINDS
    from service.ingest import SourceError

    with user_errors(ServeError, SourceError):  # settings first: a typo fails before any model loads
        settings = load_settings(
            host=host, port=port, redis_url=redis_url, embedder=embedder, reid_weights=reid_weights
        )
        if oracle and scene is None:
            raise ServeError("--oracle serves a scene's ground-truth boxes; give the scene with --scene DIR")
        if settings.embedder not in EMBEDDER_KINDS:
            raise ServeError(
                f"--embedder / CROSSCAM_EMBEDDER {settings.embedder!r} is not one of {', '.join(EMBEDDER_KINDS)}"
            )
        if api_only and (scene is not None or oracle):
            raise ServeError("--api-only runs no cameras: drop --scene / --oracle, or drop --api-only")
        if api_only and settings.redis_url is None:
            raise ServeError(
                "--api-only serves what workers and the associator record in a shared store: set REDIS_URL "
                "(or --redis-url), or drop --api-only to run the cameras in this process"
            )
        cameras = scene_cameras(scene) if scene is not None else []
        listener = bind_listener(settings.host, settings.port)
    if api_only:
        store = _open_store(settings, fresh)
        typer.echo(f"store: redis {settings.redis_url_redacted}; API only (cameras run in crosscam worker)")
        run_service(settings, store, None, listener)
        return
    try:
        store, runtime = _open(settings, scene if oracle else None, realtime, loop, fresh)
    except KeyboardInterrupt:  # Ctrl-C while the models load: nothing runs yet, nothing to stop
        listener.close()
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    except BaseException:
        listener.close()
        raise
    by_id = {c.camera_id: c for c in store.list_cameras()}  # a Redis store's cameras run again
    for camera in cameras:
        store.put_camera(camera)
        by_id[camera.camera_id] = camera
    store_kind = f"redis {settings.redis_url_redacted}" if settings.redis_url else "in memory"
    typer.echo(
        f"store: {store_kind}; cameras: {', '.join(sorted(by_id)) or 'none yet (add them via the API)'}"
    )
    start_and_report(runtime, [by_id[c] for c in sorted(by_id)])
    run_service(settings, store, runtime, listener)


def _search_embedder(settings: ServiceSettings) -> Embedder:
    """The appearance model search by image uses in an API-only process (built at the first search)."""
    from service.embedders import build_embedder

    return build_embedder(settings.embedder, settings.reid_weights)


def _open_store(settings: ServiceSettings, fresh: bool) -> StateStore:
    """The store (wiped first with ``fresh``), or one ``error:`` line."""
    from service.store import StoreUnavailableError
    from service.store.factory import open_store
    from service.store.redis import RedisStore

    with user_errors(StoreUnavailableError):
        store = open_store(settings)
        if fresh and isinstance(store, RedisStore):
            typer.echo(f"--fresh: deleted {store.wipe()} keys under {settings.redis_prefix}:")
    return store


def _open(
    settings: ServiceSettings, oracle_scene: Path | None, realtime: bool, loop: bool, fresh: bool
) -> tuple[StateStore, LiveRuntime]:
    """The store (wiped first with ``fresh``) and the runtime (its models loaded), or one ``error:`` line."""
    from export.spec import ModelFileError
    from models.reid.checkpoint import CheckpointError
    from service.embedders import build_embedder
    from service.ingest import SourceError
    from service.live import LiveRuntime
    from service.store import StoreUnavailableError
    from trackers.config import ConfigError
    from trackers.detection import DetectorError

    errors = (ServeError, SourceError, ConfigError, DetectorError, CheckpointError, ModelFileError,
              StoreUnavailableError)  # fmt: skip
    with user_errors(*errors):
        store = _open_store(settings, fresh)
        runtime = LiveRuntime(
            store, settings, embedder=build_embedder(settings.embedder, settings.reid_weights),
            oracle_scene=oracle_scene, realtime=realtime, loop=loop,
        )  # fmt: skip
    return store, runtime
