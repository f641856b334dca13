"""Serialising a hot read's answer once, in pydantic's Rust core.

A route that returns a model has FastAPI dump it to Python objects, validate them against ``response_model``
again and only then encode JSON: three passes over a trajectory page of hundreds of points. The models built
from store records are already valid, so the hot read routes return ``json_response(model)`` instead (one
pass) and keep ``response_model`` for the OpenAPI schema. bench/api.py measures the difference.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


class PydanticJSONResponse(Response):
    """``application/json`` of a pydantic model, encoded by the model itself."""

    media_type = "application/json"


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return PydanticJSONResponse(content=model.model_dump_json(), status_code=status_code)
