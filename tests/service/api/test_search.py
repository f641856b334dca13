"""Search by image: upload checks (size, type by content, pixel count, corrupt data) and a real ranking with
the colour + HOG embedder over synthetic red, blue and white cars."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.search_index import best_per_identity
from service.api.uploads import UploadError, decode_upload
from service.recorder import Recorder
from service.settings import ServiceSettings
from service.store import StateStore
from trackers.appearance import ColourHogEmbedder
from trackers.types import Tracklet

BGR = {"red": (30, 30, 220), "blue": (210, 60, 30), "white": (235, 235, 235)}


def car_crop(colour: str, width: int = 96, height: int = 64, seed: int = 0) -> np.ndarray:
    """A car-like (height, width, 3) BGR crop: asphalt, a coloured body, a darker cabin, two black wheels."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 80, dtype=np.uint8)
    image += rng.integers(0, 12, size=image.shape, dtype=np.uint8)
    body = BGR[colour]
    cv2.rectangle(
        image, (int(0.08 * width), int(0.40 * height)), (int(0.92 * width), int(0.80 * height)), body, -1
    )
    cabin = tuple(int(c * 0.8) for c in body)
    cv2.rectangle(
        image, (int(0.28 * width), int(0.15 * height)), (int(0.72 * width), int(0.42 * height)), cabin, -1
    )
    cv2.rectangle(
        image,
        (int(0.33 * width), int(0.20 * height)),
        (int(0.67 * width), int(0.38 * height)),
        (60, 50, 40),
        -1,
    )
    for cx in (0.25, 0.75):
        cv2.circle(image, (int(cx * width), int(0.82 * height)), max(2, int(0.12 * height)), (15, 15, 15), -1)
    return image


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    return cv2.imencode(ext, image)[1].tobytes()


def png_claiming(width: int, height: int) -> bytes:
    """A small real PNG whose header (IHDR chunk, CRC fixed up) claims width x height pixels."""
    png = bytearray(encode(np.zeros((4, 4, 3), dtype=np.uint8), ".png"))
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def upload(
    client: TestClient, data: bytes, filename: str = "crop.jpg", content_type: str = "image/jpeg", **params
):
    return client.post("/api/v1/search", params=params, files={"image": (filename, data, content_type)})


@pytest.fixture
def embedder() -> ColourHogEmbedder:
    return ColourHogEmbedder()


@pytest.fixture
def search_client(store: StateStore, settings: ServiceSettings, embedder: ColourHogEmbedder) -> TestClient:
    return TestClient(create_app(settings, store, embedder_factory=lambda: embedder))


def record_cars(store: StateStore, embedder: ColourHogEmbedder) -> dict[str, int]:
    """One identity per colour; each of its two tracklets is embedded from its own crop (size, noise)."""
    recorder = Recorder(store)
    identities = {}
    for n, colour in enumerate(BGR):
        gid = store.allocate_identity_id()
        for camera, (width, height, seed) in enumerate([(90, 60, 10 + n), (120, 80, 20 + n)], start=1):
            embedding = embedder.embed([car_crop(colour, width, height, seed)])[0]
            tracklet = Tracklet(
                camera_id=f"cam0{camera}",
                local_track_id=n + 1,
                embedding=embedding,
                n_obs=1,
                frames=np.array([1 + 10 * n]),
                timestamps=np.array([float(n)]),
                xyxy=np.array([[0, 0, width, height]]),
                world_xy=np.full((1, 2), np.nan),
            )
            recorder.record(tracklet, gid)
        identities[colour] = gid
    return identities


def test_a_red_crop_finds_the_red_car_first(
    search_client: TestClient, store: StateStore, embedder: ColourHogEmbedder
) -> None:
    cars = record_cars(store, embedder)
    for colour in BGR:
        query = car_crop(colour, width=104, height=70, seed=99)  # a size and noise no tracklet had
        response = upload(search_client, encode(query), k=3)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert results[0]["global_id"] == cars[colour], (colour, results)
        assert len(results) == 3
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True)
        assert results[0]["cameras"] == ["cam01", "cam02"]
    png = upload(
        search_client,
        encode(car_crop("blue", seed=5), ".png"),
        filename="x.png",
        content_type="image/png",
        k=1,
    )
    assert [r["global_id"] for r in png.json()["results"]] == [cars["blue"]]


def test_k_defaults_to_the_setting_and_is_bounded(
    store: StateStore, settings: ServiceSettings, embedder: ColourHogEmbedder
) -> None:
    record_cars(store, embedder)
    client = TestClient(
        create_app(settings.model_copy(update={"search_top_k": 2}), store, embedder_factory=lambda: embedder)
    )
    assert len(upload(client, encode(car_crop("red"))).json()["results"]) == 2
    for k in (0, 101):
        assert upload(client, encode(car_crop("red")), k=k).status_code == 422


def test_empty_gallery_finds_nothing(search_client: TestClient) -> None:
    response = upload(search_client, encode(car_crop("red")))
    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_merged_identities_come_back_once(
    search_client: TestClient, store: StateStore, embedder: ColourHogEmbedder, write_headers: dict[str, str]
) -> None:
    cars = record_cars(store, embedder)
    upload(search_client, encode(car_crop("red")))  # fills the embedding cache
    merge = {"keep": cars["white"], "absorb": cars["red"]}
    assert (
        search_client.post("/api/v1/identities/merge", json=merge, headers=write_headers).status_code == 200
    )
    results = upload(search_client, encode(car_crop("red", seed=3))).json()["results"]
    assert [r["global_id"] for r in results] == [cars["white"], cars["blue"]]


def test_without_an_embedder_search_is_503(client: TestClient) -> None:
    response = upload(client, encode(car_crop("red")))
    assert response.status_code == 503
    assert "appearance model" in response.json()["detail"]


def test_upload_errors(search_client: TestClient, settings: ServiceSettings) -> None:
    too_big = b"\xff\xd8\xff" + b"\0" * settings.max_upload_bytes
    response = upload(search_client, too_big)
    assert response.status_code == 413
    assert str(settings.max_upload_bytes) in response.json()["detail"]

    text = upload(search_client, b"just some text, not a picture\n" * 10, filename="car.jpg")
    assert text.status_code == 415
    assert "JPEG or PNG" in text.json()["detail"]

    huge = upload(
        search_client, png_claiming(100_000, 100_000), filename="huge.png", content_type="image/png"
    )
    assert huge.status_code == 422
    assert str(settings.max_upload_pixels) in huge.json()["detail"]

    jpeg = encode(car_crop("red"))
    truncated = upload(search_client, jpeg[: len(jpeg) // 2])
    assert truncated.status_code == 422
    assert "truncated or corrupt" in truncated.json()["detail"]

    assert upload(search_client, b"").status_code == 415
    missing_field = search_client.post("/api/v1/search", files={"picture": ("a.jpg", jpeg, "image/jpeg")})
    assert missing_field.status_code == 422
    assert "image" in missing_field.json()["detail"]


def test_decode_upload_checks_in_order() -> None:
    jpeg = encode(car_crop("red", width=40, height=30))
    assert decode_upload(io.BytesIO(jpeg), max_bytes=len(jpeg), max_pixels=40 * 30).shape == (30, 40, 3)
    with pytest.raises(UploadError) as size:
        decode_upload(io.BytesIO(jpeg), max_bytes=len(jpeg) - 1, max_pixels=10**6)
    assert size.value.status_code == 413
    with pytest.raises(UploadError) as pixels:
        decode_upload(io.BytesIO(jpeg), max_bytes=len(jpeg), max_pixels=40 * 30 - 1)
    assert pixels.value.status_code == 422
    assert "40x30 pixels" in str(pixels.value)
    with pytest.raises(UploadError) as claimed:
        decode_upload(io.BytesIO(png_claiming(5000, 4000)), max_bytes=1000, max_pixels=10**6)
    assert "5000x4000 pixels" in str(claimed.value)
    with pytest.raises(UploadError) as header:
        decode_upload(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 20), max_bytes=1000, max_pixels=10**6)
    assert header.value.status_code == 422


def test_best_per_identity_scores_an_identity_by_its_best_tracklet() -> None:
    ids = np.array([7, 3, 7, 5, 3])
    scores = np.array([0.2, 0.9, 0.95, 0.1, 0.3])
    assert best_per_identity(ids, scores, k=2) == [(7, 0.95), (3, 0.9)]
    assert best_per_identity(np.array([2, 1]), np.array([0.5, 0.5]), k=5) == [(1, 0.5), (2, 0.5)]
    assert best_per_identity(np.zeros(0, dtype=np.int64), np.zeros(0), k=3) == []


def test_a_corrupt_upload_is_a_422_also_once_ultralytics_has_patched_pillow() -> None:
    """A camera's detector in the same process loads ultralytics, which patches PIL.Image.open to import a
    HEIF plugin for a file Pillow cannot identify; without that plugin the upload must still be a 422."""
    import ultralytics.utils.patches  # noqa: F401  (applies the patch)

    with pytest.raises(UploadError) as header:
        decode_upload(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 20), max_bytes=1000, max_pixels=10**6)
    assert header.value.status_code == 422 and "cannot be read" in str(header.value)
