"""Bodies of the image search."""

from __future__ import annotations

from pydantic import Field

from service.api.schemas.common import _Public


class SearchResultPublic(_Public):
    global_id: int
    score: float = Field(description="Cosine similarity of the image to the identity's closest tracklet.")
    cameras: list[str]
    first_seen: float
    last_seen: float


class SearchResults(_Public):
    results: list[SearchResultPublic] = Field(description="Best match first.")
