"""The operator web page: ``GET /`` serves ``service/api/static/index.html`` (its assets: ``/static``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
INDEX_HTML = STATIC_DIR / "index.html"

router = APIRouter(tags=["page"])


@router.get(
    "/",
    summary="Operator web page",
    description="The operator page: cameras with live boxes, identities, trajectories, search, corrections.",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        404: {"description": "The page's files are not installed.", "content": {"application/json": {}}},
    },
)
def index() -> Response:
    if not INDEX_HTML.is_file():
        return JSONResponse(
            status_code=404,
            content={
                "detail": f"the operator page is not installed ({INDEX_HTML} is missing); reinstall crosscam, "
                "or use the API under /api/v1 (documented at /docs)"
            },
        )
    return FileResponse(INDEX_HTML, media_type="text/html")
