"""Bodies of the health and readiness probes."""

from __future__ import annotations

from pydantic import Field

from service.api.schemas.common import _Public


class HealthPublic(_Public):
    status: str = Field(examples=["ok"])


class ReadyPublic(_Public):
    status: str = Field(examples=["ready"])
    store: str = Field(description="Which state store serves: memory or redis.", examples=["memory"])
