"""Live events: Server-Sent Events (``GET /api/v1/events``) and the same events over a WebSocket.

Both poll ``store.events_after`` in a worker thread (it blocks up to ``POLL_WAIT_S`` waiting for an event), so
the event loop never waits on the store. A client resumes where it left off with the SSE ``Last-Event-ID``
header (browsers send it when they reconnect) or ``?after=<event id>``; ``?types=`` keeps only some event
types; ``?limit=N`` ends the stream after N events (for scripts and tests).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, get_args

import anyio
from anyio.to_thread import run_sync
from fastapi import APIRouter, Header, HTTPException, Query, Request, WebSocket, WebSocketException, status
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect

from service.api.deps import StoreDep
from service.api.errors import error_responses
from service.api.schemas import EventPublic
from service.api.security import API_KEY_HEADER, ReadActor, authenticate, reads_need_key
from service.store import Event, StateStore, StoreUnavailableError
from service.store.base import EventType

router = APIRouter(prefix="/api/v1/events", tags=["events"])

EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# How long one poll waits for an event (s): short enough to notice a departed client soon.
POLL_WAIT_S = 1.0
# An SSE comment this often (s) keeps proxies and load balancers from closing an idle stream.
KEEPALIVE_S = 15.0
# Events fetched per poll.
POLL_BATCH = 100
# Polls blocked in the store do not count against the thread limit of ordinary requests: each stream holds a
# thread while it waits, and 40 idle dashboards must not starve the API. ``create_app`` makes the limiter.
MAX_CONCURRENT_POLLS = 256

After = Annotated[str | None, Query(max_length=64, description="Resume after this event id.")]
Types = Annotated[
    str | None,
    Query(
        max_length=512,
        description=f"Comma-separated event types to keep (default: all): {', '.join(EVENT_TYPES)}.",
        examples=["identity.new,identity.handoff"],
    ),
]
Limit = Annotated[int | None, Query(ge=1, le=100_000, description="End the stream after this many events.")]


def parse_types(types: str | None) -> frozenset[str] | None:
    """``"identity.new,identity.handoff"`` -> that set; None keeps every type. ValueError names unknown ones."""
    if types is None or not types.strip():
        return None
    wanted = frozenset(t.strip() for t in types.split(",") if t.strip())
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event type(s) {', '.join(unknown)}; choose from {', '.join(EVENT_TYPES)}")
    return wanted


class _Poller:
    """Yields the store's events after ``after``, filtered to ``types``, in bounded waits."""

    def __init__(self, store: StateStore, after: str | None, types: frozenset[str] | None) -> None:
        self.store = store
        self.after = after
        self.types = types

    async def next_batch(self, limiter: anyio.CapacityLimiter) -> list[Event]:
        """The next events (possibly none, after waiting up to ``POLL_WAIT_S``)."""
        batch: list[Event] = await run_sync(self._poll, limiter=limiter)
        if batch:
            self.after = batch[-1].event_id  # filtered-out events are skipped for good
        return [e for e in batch if self.types is None or e.type in self.types]

    def _poll(self) -> list[Event]:
        return self.store.events_after(self.after, limit=POLL_BATCH, wait_s=POLL_WAIT_S)


def sse_message(event: Event) -> str:
    """One SSE message: ``id:``, ``event:`` and the event as JSON on one ``data:`` line."""
    data = EventPublic.from_record(event).model_dump_json()
    return f"id: {event.event_id}\nevent: {event.type}\ndata: {data}\n\n"


async def _sse_stream(
    poller: _Poller, limit: int | None, limiter: anyio.CapacityLimiter
) -> AsyncIterator[str]:
    sent = 0
    last_write = time.monotonic()
    yield ": connected\n\n"  # headers and a first byte now, so clients know the stream is open
    while limit is None or sent < limit:
        try:
            events = await poller.next_batch(limiter)
        except StoreUnavailableError:
            # Too late for a 503: end the stream; EventSource clients reconnect with Last-Event-ID.
            yield ": the state store is unavailable; reconnect later\n\n"
            return
        for event in events[: None if limit is None else limit - sent]:
            yield sse_message(event)
            sent += 1
            last_write = time.monotonic()
        if not events and time.monotonic() - last_write >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_write = time.monotonic()


@router.get(
    "",
    summary="Event stream (SSE)",
    description="Server-Sent Events: `id:` the event id, `event:` its type, `data:` the event as JSON "
    f"(EventPublic). Types: {', '.join(EVENT_TYPES)}. Resumes after the Last-Event-ID header (or ?after=); "
    "a comment line every 15 s keeps idle connections open.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}}
    | error_responses(401, 422, 503),
)
async def event_stream(
    request: Request,
    store: StoreDep,
    _: ReadActor,
    after: After = None,
    types: Types = None,
    limit: Limit = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=64, description="Resume after this event id.")
    ] = None,
) -> StreamingResponse:
    try:
        wanted = parse_types(types)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    poller = _Poller(store, last_event_id or after, wanted)
    return StreamingResponse(
        _sse_stream(poller, limit, request.app.state.event_poll_limiter),
        media_type="text/event-stream",
        # no-transform/X-Accel-Buffering: proxies (nginx) must pass each event on at once, not buffer them.
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )


async def _until_disconnect(websocket: WebSocket, on_gone: Callable[[], None]) -> None:
    """Read (and ignore) client messages until the client goes, then call ``on_gone``."""
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except WebSocketDisconnect:
        pass
    on_gone()


@router.websocket("/ws", name="event_socket")
async def event_socket(
    websocket: WebSocket, store: StoreDep, after: After = None, types: Types = None, limit: Limit = None
) -> None:
    """The events as JSON text messages (EventPublic), same query parameters as the SSE stream. With
    ``require_key_for_reads`` the X-API-Key header is needed (close code 1008 otherwise)."""
    if reads_need_key(websocket):
        try:
            authenticate(websocket, websocket.headers.get(API_KEY_HEADER))
        except HTTPException:
            raise WebSocketException(
                code=status.WS_1008_POLICY_VIOLATION, reason="missing or invalid API key"
            ) from None
    try:
        wanted = parse_types(types)
    except ValueError as exc:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=str(exc)[:120]) from None
    await websocket.accept()
    poller = _Poller(store, after, wanted)
    limiter = websocket.app.state.event_poll_limiter
    sent = 0
    try:
        async with anyio.create_task_group() as tasks:
            # The client may leave while no event is due: a reader notices, and ends the sending below.
            tasks.start_soon(_until_disconnect, websocket, tasks.cancel_scope.cancel)
            while limit is None or sent < limit:
                for event in (await poller.next_batch(limiter))[: None if limit is None else limit - sent]:
                    await websocket.send_text(EventPublic.from_record(event).model_dump_json())
                    sent += 1
            await websocket.close()
            tasks.cancel_scope.cancel()
    except* (WebSocketDisconnect, OSError):
        pass  # the client left while an event was being sent
    except* StoreUnavailableError:
        await websocket.close(code=status.WS_1011_INTERNAL_ERROR, reason="the state store is unavailable")
