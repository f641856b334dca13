"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import StoreDep
from service.api.errors import error_responses
from service.api.schemas import HealthPublic, ReadyPublic
from service.api.security import ReadActor
from service.store import StateStore, StoreUnavailableError

router = APIRouter(tags=["health"])


def store_kind(store: StateStore) -> str:
    """``MemoryStore`` -> "memory", ``RedisStore`` -> "redis"."""
    return type(store).__name__.removesuffix("Store").lower()


@router.get(
    "/healthz",
    summary="Liveness",
    description="Answers while the process serves requests; does not touch the store.",
    response_model=HealthPublic,
)
def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the state store answers, 503 (with the reason) when it does not.",
    response_model=ReadyPublic,
    responses=error_responses(503),
)
async def readyz(store: StoreDep) -> Response:
    try:
        await run_in_threadpool(store.ping)
    except StoreUnavailableError as exc:
        return JSONResponse(status_code=503, content={"detail": str(exc)})
    return JSONResponse(ReadyPublic(status="ready", store=store_kind(store)).model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Per-camera fps, dropped frames, queue depth, reconnects and stage latency; gallery size; "
    "HTTP request latency by route.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}}
    | error_responses(401),
)
async def metrics(request: Request, _: ReadActor) -> Response:
    body = await run_in_threadpool(generate_latest, request.app.state.metrics.registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
