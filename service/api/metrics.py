"""Prometheus metrics of one app: camera health and gallery size read from the store at scrape time, and the
latency of HTTP requests by route.

Each app has its own ``CollectorRegistry`` (never the process-wide default: tests build many apps, and two
apps in one process must not share counters).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.store import StateStore, StoreUnavailableError

# Request latency buckets (s): API reads take milliseconds; search by image embeds a crop (tens of ms+).
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "unmatched"  # requests no route matched: one label, not one per made-up path


class StoreCollector(Collector):
    """Camera statuses and store counts as metrics, read when Prometheus scrapes."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("crosscam_store_up", "1 when the state store answered this scrape, else 0.")
        try:
            cameras = self._store.list_cameras()
            statuses = [s for s in (self._store.get_camera_status(c.camera_id) for c in cameras) if s]
            counts = self._store.counts()
        except StoreUnavailableError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        labels = ["camera"]
        received = GaugeMetricFamily(
            "crosscam_camera_received_fps", "Frames decoded per second, recently.", labels=labels
        )
        processed = GaugeMetricFamily(
            "crosscam_camera_processed_fps",
            "Frames through the pipeline per second, recently.",
            labels=labels,
        )
        lag = GaugeMetricFamily(
            "crosscam_camera_lag_seconds", "Seconds from capture to processed, latest frame.", labels=labels
        )
        skipped = CounterMetricFamily(
            "crosscam_camera_frames_skipped",
            "Frames left out by the camera's processing rate.",
            labels=labels,
        )
        dropped = CounterMetricFamily(
            "crosscam_camera_frames_dropped",
            "Frames dropped because the pipeline fell behind.",
            labels=labels,
        )
        queue = GaugeMetricFamily(
            "crosscam_camera_queue_depth", "Frames waiting for the camera's pipeline.", labels=labels
        )
        reconnects = CounterMetricFamily(
            "crosscam_camera_reconnects", "Times the camera's reader reconnected.", labels=labels
        )
        stage = GaugeMetricFamily(
            "crosscam_stage_latency_ms",
            "Mean milliseconds per frame of each pipeline stage (decode, detect, embed, track).",
            labels=["camera", "stage"],
        )
        for status in statuses:
            camera = [status.camera_id]
            received.add_metric(camera, status.received_fps)
            processed.add_metric(camera, status.processed_fps)
            if status.lag_s is not None:
                lag.add_metric(camera, status.lag_s)
            skipped.add_metric(camera, status.frames_skipped)
            dropped.add_metric(camera, status.frames_dropped)
            queue.add_metric(camera, status.queue_depth)
            reconnects.add_metric(camera, status.reconnects)
            for name, ms in sorted(status.stage_ms.items()):
                stage.add_metric([status.camera_id, name], ms)
        yield from (received, processed, lag, skipped, dropped, queue, reconnects, stage)

        gallery = GaugeMetricFamily("crosscam_gallery_size", "Global vehicle identities recorded.")
        gallery.add_metric([], counts.identities)
        tracklets = GaugeMetricFamily("crosscam_tracklets", "Tracklets recorded.")
        tracklets.add_metric([], counts.tracklets)
        cameras_total = GaugeMetricFamily("crosscam_cameras", "Cameras registered.")
        cameras_total.add_metric([], counts.cameras)
        yield from (gallery, tracklets, cameras_total)


class ApiMetrics:
    """One app's registry: the store collector and the HTTP latency histogram."""

    def __init__(self, store: StateStore) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StoreCollector(store))
        self.request_seconds = Histogram(
            "crosscam_http_request_duration_seconds",
            "HTTP request latency (s) by route template, method and status.",
            labelnames=["method", "route", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )


class RequestTimer:
    """ASGI middleware observing each HTTP request's latency under its route template (``/api/v1/
    identities/{global_id}``, not the id). Event streams are left out: their "latency" is their lifetime."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering
        streaming = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                streaming = content_type.startswith(b"text/event-stream")
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            if not streaming:
                route = scope.get("route")
                # path_format: the template without convertors ("{global_id}", not "{global_id:int}").
                template = getattr(route, "path_format", None) or UNMATCHED_ROUTE
                self.metrics.request_seconds.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - start
                )
