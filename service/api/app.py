"""``create_app``: the FastAPI application of the crosscam service over one state store.

Everything the routes need lives on ``app.state`` (settings, store, camera control, API keys, search index,
metrics), so a process can hold several apps (tests do) without sharing anything.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from importlib.metadata import PackageNotFoundError, version

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from service.api.control import CameraControl
from service.api.errors import install_error_handlers
from service.api.metrics import ApiMetrics, RequestTimer
from service.api.openapi import secured_openapi
from service.api.routes import audit, cameras, events, health, identities, page, search, tracklets
from service.api.search_index import SearchIndex
from service.settings import ServiceSettings
from service.store import StateStore
from trackers.appearance import Embedder

API_DESCRIPTION = """\
Real-time multi-camera vehicle tracking: cameras, global vehicle identities and their trajectories across
cameras, search by image, operator corrections (merge, split) with an audit log, and live events.

Units: times in seconds on the recording's clock (`*_wall`: Unix seconds), boxes in pixels
`[x1, y1, x2, y2]`, world positions in metres on the ground plane. Errors answer `{"detail": "..."}`.
Write endpoints need the `X-API-Key` header when API keys are configured (reads too with
`CROSSCAM_REQUIRE_KEY_FOR_READS`).
"""

TAGS = [
    {"name": "cameras", "description": "Cameras the service runs: register, remove, status, live view."},
    {"name": "identities", "description": "Global vehicle identities, their trajectories, merges."},
    {"name": "tracklets", "description": "One camera's tracks; split one off its identity."},
    {"name": "search", "description": "Find identities by a vehicle image."},
    {"name": "audit", "description": "Who corrected what, and when."},
    {"name": "events", "description": "Live events: Server-Sent Events and WebSocket."},
    {"name": "health", "description": "Liveness, readiness, Prometheus metrics."},
    {"name": "page", "description": "The operator web page."},
]


def package_version() -> str:
    try:
        return version("crosscam")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@contextlib.asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    # Everything alive at start-up (modules, the app, the models' schemas: ~1e5 objects) lives as long as the
    # service. Freezing it keeps the collector from scanning it in every full collection: unfrozen, each one
    # paused the event loop for ~90 ms about once a second under load, the whole p99 of bench/api.py.
    gc.collect()
    gc.freeze()
    yield


def create_app(
    settings: ServiceSettings,
    store: StateStore,
    control: CameraControl | None = None,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> FastAPI:
    """The API over ``store``. ``control``: starts and stops cameras in this process (None: cameras are only
    recorded; worker processes run them). ``embedder_factory``: builds the appearance model for search by
    image, on the first search (None: search answers 503)."""
    app = FastAPI(
        lifespan=_lifespan,
        title="crosscam",
        version=package_version(),
        description=API_DESCRIPTION,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.control = control
    app.state.api_keys = tuple(settings.keys())
    app.state.search = SearchIndex(store, embedder_factory)
    app.state.metrics = ApiMetrics(store)
    app.state.event_poll_limiter = anyio.CapacityLimiter(events.MAX_CONCURRENT_POLLS)

    for module in (health, cameras, identities, tracklets, search, audit, events, page):
        app.include_router(module.router)
    # check_dir=False: a missing folder answers 404s instead of stopping the service at start.
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR, check_dir=False), name="static")

    install_error_handlers(app)
    app.add_middleware(RequestTimer, metrics=app.state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type", "Last-Event-ID"],
        )
    keys_configured = bool(app.state.api_keys)
    app.openapi = secured_openapi(  # type: ignore[method-assign]
        app,
        writes_need_key=keys_configured,
        reads_need_key=keys_configured and settings.require_key_for_reads,
    )
    return app
