"""Errors a client can cause, as one-line JSON answers: ``{"detail": "..."}`` (never a traceback).

Store errors carry messages written for people (``NotFoundError`` -> 404, ``ConflictError`` and other
``StoreError`` -> 409, ``StoreUnavailableError`` -> 503); request validation errors become 422 with a one-line
``detail`` and the list of ``errors`` (location, message, type: no echo of the values, which may hold a
password); upload and search errors carry their own status. Anything else is logged here and answered 500.

``error_responses(...)`` declares these answers in the OpenAPI schema of a route.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service.api.schemas import ErrorPublic, ValidationProblemPublic
from service.api.search_index import SearchUnavailableError
from service.api.uploads import UploadError
from service.store import NotFoundError, StoreError, StoreUnavailableError

logger = logging.getLogger(__name__)

_DESCRIPTIONS = {
    400: "The request body cannot be parsed (e.g. broken multipart data).",
    401: "Missing or invalid API key (header X-API-Key).",
    404: "No such camera, identity or tracklet (the message names it).",
    409: "The request contradicts what is stored (the message says how).",
    413: "The upload is too large.",
    415: "The upload is not a JPEG or PNG image.",
    422: "The request does not validate (the message says which value and why).",
    503: "The state store (or the appearance model) is not available.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {
        code: {
            "model": ValidationProblemPublic if code == 422 else ErrorPublic,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def _location(loc: tuple[Any, ...]) -> str:
    """("query", "limit") -> "query parameter limit"; ("body", "url") -> "body field url"."""
    if not loc:
        return "request"
    where, *names = (str(part) for part in loc)
    kind = {"body": "body field", "query": "query parameter", "path": "path parameter", "header": "header"}
    if not names:
        return "request body" if where == "body" else where
    return f"{kind.get(where, where)} {'.'.join(names)}"


def _message(error: dict[str, Any]) -> str:
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def validation_problem(exc: RequestValidationError) -> ValidationProblemPublic:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": _message(e), "type": str(e.get("type", "value_error"))}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{_location(tuple(e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
    return ValidationProblemPublic.model_validate({"detail": detail, "errors": errors})


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"detail": message})


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content=validation_problem(exc).model_dump())


async def _on_store_error(_: Request, exc: Exception) -> JSONResponse:
    return _error(404 if isinstance(exc, NotFoundError) else 409, str(exc))


async def _on_store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return _error(503, str(exc))


async def _on_upload_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UploadError)
    return _error(exc.status_code, str(exc))


# The methods an API resource may have (HEAD, OPTIONS and TRACE are nobody's documented operations here).
_RESOURCE_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app fully matches for this request's path."""
    routes = request.app.router.routes
    return [
        method
        for method in _RESOURCE_METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, except that a 405 lists in ``Allow`` every method of the resource: Starlette names
    only those of the first route whose path matched (GET, where GET and DELETE share a path)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        path = request.scope["path"].removeprefix(request.scope.get("root_path", "")) or "/"
        allowed = _allowed_methods(request)
        if allowed:
            return JSONResponse(
                status_code=405,
                content={"detail": f"{request.method} is not allowed on {path}; use {', '.join(allowed)}"},
                headers={**(exc.headers or {}), "Allow": ", ".join(allowed)},
            )
    return await http_exception_handler(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error answering %s %s", request.method, request.url.path)
    return _error(500, "internal error; the service log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(StoreUnavailableError, _on_store_unavailable)
    app.add_exception_handler(SearchUnavailableError, _on_store_unavailable)
    app.add_exception_handler(UploadError, _on_upload_error)
    app.add_exception_handler(Exception, _on_unexpected)
