"""Appearance stage: the Embedder protocol, crops, and the ColourHog stand-in embedder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from trackers.appearance import ColourHogEmbedder, Embedder, crop_boxes, embed_detections
from trackers.types import Detections, Frame

RED = (30, 30, 200)  # BGR
BLUE = (200, 60, 30)
ROAD = (110, 110, 110)


def car_scene(colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A 200x300 grey road with one boxy car of `colour` filling `box` (x1, y1, x2, y2) px."""
    image = np.full((200, 300, 3), ROAD, dtype=np.uint8)
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cv2.rectangle(image, (x1, y1 + h // 3), (x2 - 1, y2 - 1 - h // 6), colour, -1)
    cv2.rectangle(image, (x1 + w // 4, y1), (x2 - 1 - w // 4, y1 + h // 3), colour, -1)
    cv2.rectangle(image, (x1 + w // 4 + 3, y1 + 3), (x2 - 1 - w // 4 - 3, y1 + h // 3), (40, 40, 40), -1)
    for cx in (x1 + w // 5, x2 - w // 5):
        cv2.circle(image, (cx, y2 - h // 6), h // 6, (15, 15, 15), -1)
    return image


def crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return crop_boxes(image, np.array([box], dtype=np.float32))[0]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


@pytest.fixture(scope="module")
def embedder() -> ColourHogEmbedder:
    return ColourHogEmbedder()


def test_is_an_embedder(embedder: ColourHogEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 2 * 8 * 4 * 4 + 3 * 3 * 4 * 9


def test_shape_dtype_and_unit_norm(embedder: ColourHogEmbedder) -> None:
    rng = np.random.default_rng(0)
    sizes = [(128, 64), (40, 90), (1, 1), (3, 200), (250, 2)]
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]
    out = embedder.embed(crops)
    assert out.shape == (len(crops), embedder.dim)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(out).all()


def test_no_crops_give_zero_rows(embedder: ColourHogEmbedder) -> None:
    out = embedder.embed([])
    assert out.shape == (0, embedder.dim) and out.dtype == np.float32


def test_uniform_and_tiny_crops_are_unit_vectors(embedder: ColourHogEmbedder) -> None:
    # A uniform crop has no gradients (a zero HOG part); the colour part still makes a unit vector.
    crops = [
        np.zeros((1, 1, 3), np.uint8),
        np.full((50, 50, 3), 255, np.uint8),
        np.full((2, 2, 3), 90, np.uint8),
    ]
    out = embedder.embed(crops)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_same_crop_same_vector_whatever_the_batch(embedder: ColourHogEmbedder) -> None:
    red = crop(car_scene(RED, (100, 60, 180, 110)), (95, 55, 185, 115))
    blue = crop(car_scene(BLUE, (100, 60, 180, 110)), (95, 55, 185, 115))
    alone = embedder.embed([red])[0]
    np.testing.assert_array_equal(alone, embedder.embed([red])[0])
    np.testing.assert_allclose(embedder.embed([blue, red, blue])[1], alone, atol=1e-6)


def test_shifted_rescaled_copy_is_closer_than_another_colour(embedder: ColourHogEmbedder) -> None:
    car_box = (100, 60, 180, 110)
    red_image, blue_image = car_scene(RED, car_box), car_scene(BLUE, car_box)
    red = crop(red_image, (95, 55, 185, 115))
    # The same car, detected a few pixels off and 10 % larger, and the car re-rendered 15 % smaller elsewhere.
    red_shifted = crop(red_image, (91, 52, 190, 118))
    red_small = crop(car_scene(RED, (20, 20, 88, 62)), (16, 16, 92, 66))
    blue = crop(blue_image, (95, 55, 185, 115))
    e = embedder.embed([red, red_shifted, red_small, blue])
    assert cosine(e[0], e[1]) > cosine(e[0], e[3]) + 0.1
    assert cosine(e[0], e[2]) > cosine(e[0], e[3]) + 0.1
    assert cosine(e[0], e[1]) > 0.9


def test_rejects_a_grey_image(embedder: ColourHogEmbedder) -> None:
    with pytest.raises(ValueError, match=r"crop 0 must be a non-empty \(h, w, 3\) uint8"):
        embedder.embed([np.zeros((10, 10), np.uint8)])


def test_weights_are_validated() -> None:
    with pytest.raises(ValueError, match="not both 0"):
        ColourHogEmbedder(colour_weight=0.0, hog_weight=0.0)


def test_crop_boxes_clamps_and_rounds_outwards() -> None:
    image = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    boxes = np.array(
        [
            [-10, -10, -5, -5],  # wholly outside, top-left: the corner pixel
            [190.2, 90.5, 260, 300],  # runs off the bottom-right: clamped
            [10, 10, 10, 10],  # zero size: widened to 1x1
            [5.5, 5.5, 20.1, 30.0],  # fractional: floor the start, ceil the end
        ],
        dtype=np.float32,
    )
    crops = crop_boxes(image, boxes)
    assert [c.shape for c in crops] == [(1, 1, 3), (10, 10, 3), (1, 1, 3), (25, 16, 3)]
    np.testing.assert_array_equal(crops[0], image[:1, :1])
    np.testing.assert_array_equal(crops[3], image[5:30, 5:21])
    assert crop_boxes(image, np.zeros((0, 4))) == []


def test_embed_detections_embeds_each_box(embedder: ColourHogEmbedder) -> None:
    image = car_scene(RED, (100, 60, 180, 110))
    frame = Frame("cam01", 3, 0.2, image)
    xyxy = np.array([[95, 55, 185, 115], [0, 0, 40, 30]], dtype=np.float32)
    detections = Detections("cam01", 3, xyxy, np.ones(2), np.zeros(2, dtype=np.int64))
    out = embed_detections(embedder, frame, detections)
    assert out.embeddings is not None and out.embeddings.shape == (2, embedder.dim)
    np.testing.assert_allclose(out.embeddings, embedder.embed(crop_boxes(image, xyxy)), atol=1e-6)
    np.testing.assert_array_equal(out.xyxy, detections.xyxy)
    empty = embed_detections(embedder, frame, Detections.empty("cam01", 3))
    assert empty.embeddings is not None and empty.embeddings.shape == (0, embedder.dim)


def test_embed_detections_refuses_another_frame(embedder: ColourHogEmbedder) -> None:
    frame = Frame("cam01", 3, 0.2, np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="cam01 frame 4 cannot be embedded from the image of cam01 frame 3"):
        embed_detections(embedder, frame, Detections.empty("cam01", 4))


def test_embed_detections_checks_the_embedder_output() -> None:
    class Broken:
        dim = 8

        def embed(self, crops: list[np.ndarray]) -> np.ndarray:
            return np.zeros((len(crops), 4), np.float32)

    frame = Frame("cam01", 1, 0.0, np.zeros((20, 20, 3), np.uint8))
    detections = Detections("cam01", 1, np.array([[0, 0, 5, 5]]), np.ones(1), np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match=r"Broken.embed returned shape \(1, 4\) for 1 crops"):
        embed_detections(Broken(), frame, detections)
