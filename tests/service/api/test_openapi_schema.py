"""The API keeps the promises of its OpenAPI document: schemathesis generates requests (valid and invalid)
for every operation and runs its default checks on every answer (no server errors, documented status codes,
content types and bodies, invalid data rejected, valid data accepted, declared auth enforced).

Two things JSON Schema cannot say are told to the generator, not the checks: an uploaded image is a real
JPEG or PNG (strategies for the part's declared media types), and a calibration matrix is invertible (a
generated singular one is replaced by the identity before the request is sent).
"""

from __future__ import annotations

import cv2
import numpy as np
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.api.app import create_app
from service.api.schemas import CalibrationCreate
from service.recorder import Recorder
from service.settings import ServiceSettings
from service.store import MemoryStore
from trackers.appearance import ColourHogEmbedder
from trackers.types import Tracklet

OPS_SECRET = "schemathesis-ops-0123456789"
IDENTITY_MATRIX = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


@st.composite
def small_images(draw: st.DrawFn) -> np.ndarray:
    """(h, w, 3) uint8 BGR, 1-48 px a side: a flat colour with a brighter rectangle."""
    height, width = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    image = np.full((height, width, 3), draw(st.integers(0, 255)), dtype=np.uint8)
    image[: max(1, height // 2), : max(1, width // 2)] = draw(st.tuples(*[st.integers(0, 255)] * 3))
    return image


def encoded(ext: str) -> st.SearchStrategy[bytes]:
    return small_images().map(lambda image: cv2.imencode(ext, image)[1].tobytes())


def make_calibration_invertible(case: schemathesis.Case) -> None:
    """A well-formed but singular (or overflowing) generated homography becomes the identity matrix."""
    body = case.body
    if case.operation.path != "/api/v1/cameras" or not isinstance(body, dict):
        return
    calibration = body.get("calibration")
    if not isinstance(calibration, dict):
        return
    try:
        CalibrationCreate.model_validate(calibration)
    except ValidationError as exc:
        if [e["type"] for e in exc.errors()] == ["value_error"]:  # only the invertibility check failed
            key = (
                "homography_image_to_world"
                if "homography_image_to_world" in calibration
                else "H_image_to_ground"
            )
            case.body = {**body, "calibration": {**calibration, key: IDENTITY_MATRIX}}


def recorded_store() -> MemoryStore:
    """A few identities whose embeddings come from the search embedder (so search can compare them)."""
    store = MemoryStore()
    recorder = Recorder(store)
    embedder = ColourHogEmbedder()
    rng = np.random.default_rng(0)
    for n in range(4):
        crop = rng.integers(0, 255, size=(32, 48, 3), dtype=np.uint8)
        tracklet = Tracklet(
            camera_id=f"cam0{n % 2 + 1}",
            local_track_id=n + 1,
            embedding=embedder.embed([crop])[0],
            n_obs=2,
            frames=np.array([10 * n + 1, 10 * n + 2]),
            timestamps=np.array([n, n + 0.1]),
            xyxy=np.array([[10, 20, 50, 60], [12, 20, 52, 60]]),
            world_xy=np.array([[1.0, 2.0], [1.5, 2.0]]),
        )
        recorder.record(tracklet, store.allocate_identity_id())
    return store


def load_schema(require_key_for_reads: bool) -> schemathesis.BaseSchema:
    """The schema of an app with API keys, a recorded store and the colour + HOG search embedder."""
    schemathesis.openapi.media_type("image/jpeg", encoded(".jpg"))
    schemathesis.openapi.media_type("image/png", encoded(".png"))
    settings = ServiceSettings(
        _env_file=None,  # type: ignore[call-arg]
        api_keys=f"ops:{OPS_SECRET}",
        require_key_for_reads=require_key_for_reads,
    )
    app = create_app(settings, recorded_store(), embedder_factory=ColourHogEmbedder)
    # The key as schemathesis auth (not a header forced onto every request): it leaves the key out where a
    # case is meant to go without one, and probes that the operations it declares secured refuse no key.
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"APIKey": {"api_key": OPS_SECRET}}}})
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    # The event stream and socket are endless by design (?limit is optional); test_events.py covers them.
    return loaded.exclude(path_regex="^/api/v1/events")


# Loaded at collection (schemathesis parametrises one test per operation from it; its fixture-based lazy
# loader does not work with this pytest). An in-memory app: cheap, nothing outside the process.
schema = load_schema(require_key_for_reads=False)
closed_schema = load_schema(require_key_for_reads=True)
HYPOTHESIS = hypothesis_settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@schema.parametrize()
@HYPOTHESIS
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    make_calibration_invertible(case)
    case.call_and_validate()


@closed_schema.parametrize()
@HYPOTHESIS
def test_api_with_keys_for_reads_conforms_to_its_schema(case: schemathesis.Case) -> None:
    make_calibration_invertible(case)
    case.call_and_validate()
