"""Search by image: which identities look most like an uploaded vehicle crop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from service.api.deps import SearchIndexDep, SettingsDep, StoreDep
from service.api.errors import error_responses
from service.api.schemas import SearchResultPublic, SearchResults
from service.api.security import ReadActor
from service.api.uploads import ACCEPTED_TYPES, decode_upload
from service.store import NotFoundError

router = APIRouter(prefix="/api/v1/search", tags=["search"])

# The part's accepted media types, declared in the schema (clients and schema-driven tests read it).
_IMAGE_ENCODING = {
    "requestBody": {
        "content": {
            "multipart/form-data": {"encoding": {"image": {"contentType": ", ".join(ACCEPTED_TYPES)}}}
        }
    }
}


@router.post(
    "",
    summary="Search by image",
    description="Upload a JPEG or PNG crop of a vehicle (form field image); answers the identities whose "
    "tracklets look most like it, best first (score: cosine similarity of the closest tracklet).",
    response_model=SearchResults,
    responses=error_responses(400, 401, 413, 415, 422, 503),
    openapi_extra=_IMAGE_ENCODING,
)
def search_by_image(
    image: Annotated[UploadFile, File(description="A JPEG or PNG crop of one vehicle.")],
    store: StoreDep,
    settings: SettingsDep,
    index: SearchIndexDep,
    _: ReadActor,
    k: Annotated[
        int | None, Query(ge=1, le=100, description="How many identities (default: setting).")
    ] = None,
) -> SearchResults:
    crop = decode_upload(image.file, settings.max_upload_bytes, settings.max_upload_pixels)
    results: list[SearchResultPublic] = []
    seen: set[int] = set()
    for global_id, score in index.search(crop, k or settings.search_top_k):
        try:
            identity = store.get_identity(global_id)
        except NotFoundError:
            continue  # merged or gone since the embeddings were cached
        if identity.global_id in seen:
            continue
        seen.add(identity.global_id)
        results.append(
            SearchResultPublic(
                global_id=identity.global_id,
                score=round(score, 6),
                cameras=list(identity.cameras),
                first_seen=identity.first_seen,
                last_seen=identity.last_seen,
            )
        )
    return SearchResults(results=results)
