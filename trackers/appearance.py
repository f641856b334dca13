"""Appearance stage: vehicle crops -> L2-normalised embeddings (DESIGN.md, "How a frame flows", step 3).

``Embedder`` is the one interface every appearance backend implements (the trained Re-ID model behind
ONNX Runtime / TensorRT in ``export/``, or the training-free ``ColourHogEmbedder`` stand-in here).
``embed_detections`` crops a frame's boxes, embeds them in one batch and returns the detections with
embeddings, ready for the tracker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from trackers.types import Detections, Frame

# Every crop is resized to this size (width, height) px before any feature is computed.
CROP_SIZE = (64, 64)
# HSV colour histogram bins (hue, saturation, value); OpenCV's 8-bit hue runs over [0, 180).
HSV_BINS = (8, 4, 4)
HUE_RANGE = 180
# Hue is rotated by half a bin so that red (hue ~0 and ~179) falls into one bin instead of two.
HUE_SHIFT = HUE_RANGE // HSV_BINS[0] // 2
# Colour histograms are taken separately over the upper and the lower half of the crop.
COLOUR_STRIPES = 2
# Pixels are weighted by a centred Gaussian (sigma as a fraction of the crop side), so the background
# at the corners of a box counts less than the vehicle in its middle.
CENTRE_SIGMA = 0.35
# HOG: square cells (px on the resized crop), unsigned orientation bins over [0, 180) degrees,
# blocks of 2x2 cells moved one cell at a time, each block L2-Hys normalised (Dalal & Triggs).
HOG_CELL_PX = 16
HOG_BINS = 9
HOG_BLOCK_CELLS = 2
HOG_CLIP = 0.2
# Weights of the three L2-normalised parts in the concatenation: the cosine similarity of two
# embeddings is sum(w_i^2 * cos_i) / sum(w_i^2) over the parts (upper colour, lower colour, HOG).
COLOUR_WEIGHT = 1.0
HOG_WEIGHT = 1.0
EPS = 1e-12


@runtime_checkable
class Embedder(Protocol):
    """Turns vehicle crops into appearance vectors.

    ``dim``: D, the length of one embedding. ``embed(crops)``: crops are BGR uint8 (h, w, 3) images of
    any size (h, w >= 1); returns (N, D) float32 with unit L2 norm rows, (0, D) for no crops.
    """

    dim: int

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


def crop_boxes(image: np.ndarray, xyxy: np.ndarray) -> list[np.ndarray]:
    """Views of ``image`` (H, W, 3) inside each box of ``xyxy`` (N, 4) px.

    Boxes are clamped to the image and widened to at least 1x1 px, so a box partly or wholly outside the
    image still yields a crop (of the nearest border pixels). Fractional edges are rounded outwards.
    """
    height, width = image.shape[:2]
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    x1 = np.clip(np.floor(boxes[:, 0]), 0, width - 1).astype(np.int64)
    y1 = np.clip(np.floor(boxes[:, 1]), 0, height - 1).astype(np.int64)
    x2 = np.clip(np.ceil(boxes[:, 2]), x1 + 1, width).astype(np.int64)
    y2 = np.clip(np.ceil(boxes[:, 3]), y1 + 1, height).astype(np.int64)
    return [image[top:bottom, left:right] for left, top, right, bottom in zip(x1, y1, x2, y2, strict=True)]


def embed_detections(embedder: Embedder, frame: Frame, detections: Detections) -> Detections:
    """``detections`` with embeddings (N, embedder.dim) of their boxes' crops of ``frame``, one batch."""
    if frame.camera_id != detections.camera_id or frame.frame_index != detections.frame_index:
        raise ValueError(
            f"detections of {detections.camera_id} frame {detections.frame_index} cannot be embedded "
            f"from the image of {frame.camera_id} frame {frame.frame_index}; pass the frame they came from"
        )
    embeddings = embedder.embed(crop_boxes(frame.image, detections.xyxy))
    if embeddings.shape != (len(detections), embedder.dim):
        raise ValueError(
            f"{type(embedder).__name__}.embed returned shape {embeddings.shape} for {len(detections)} "
            f"crops; an Embedder must return (N, {embedder.dim})"
        )
    return detections.with_embeddings(embeddings)


def _l2_normalise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)


def _centre_weights(width: int, height: int) -> np.ndarray:
    """(height, width) float32 Gaussian weights peaking at the crop centre."""
    xs = (np.arange(width) + 0.5) / width - 0.5
    ys = (np.arange(height) + 0.5) / height - 0.5
    wx = np.exp(-0.5 * (xs / CENTRE_SIGMA) ** 2)
    wy = np.exp(-0.5 * (ys / CENTRE_SIGMA) ** 2)
    return np.outer(wy, wx).astype(np.float32)


class ColourHogEmbedder:
    """Training-free appearance stand-in: HSV colour histograms (upper and lower half) + HOG of the crop.

    Each crop is resized to ``CROP_SIZE``; the parts are an 8x4x4-bin HSV histogram per half (centre
    weighted, square-rooted, L2-normalised) and a HOG descriptor of the grey crop (L2-normalised), joined
    with ``COLOUR_WEIGHT``/``HOG_WEIGHT`` and L2-normalised again. D = 2 * 128 + 324 = 580. It tells a red
    car from a blue one and a car from a bus; it does not tell two white sedans apart: that is the trained
    Re-ID model's job (``export/``), which plugs in behind the same ``Embedder`` protocol.

    HOG is computed in numpy for the whole batch at once (OpenCV 5 no longer ships ``HOGDescriptor``).
    """

    def __init__(self, colour_weight: float = COLOUR_WEIGHT, hog_weight: float = HOG_WEIGHT) -> None:
        if colour_weight < 0 or hog_weight < 0 or colour_weight + hog_weight <= 0:
            raise ValueError(
                f"colour_weight and hog_weight must be >= 0 and not both 0, got {colour_weight}, {hog_weight}"
            )
        self.colour_weight = float(colour_weight)
        self.hog_weight = float(hog_weight)
        width, height = CROP_SIZE
        self._cells = (height // HOG_CELL_PX, width // HOG_CELL_PX)
        blocks = (self._cells[0] - HOG_BLOCK_CELLS + 1) * (self._cells[1] - HOG_BLOCK_CELLS + 1)
        self._colour_dim = int(np.prod(HSV_BINS))
        self._hog_dim = blocks * HOG_BLOCK_CELLS**2 * HOG_BINS
        self.dim = COLOUR_STRIPES * self._colour_dim + self._hog_dim
        weights = _centre_weights(width, height)
        # Per-pixel (stripe, weight) for the colour histogram: stripe 0 = upper rows, 1 = lower rows.
        self._stripe = (np.arange(height) * COLOUR_STRIPES // height)[:, None].repeat(width, axis=1)
        self._colour_weights = weights
        cell_y = np.arange(height) // HOG_CELL_PX
        cell_x = np.arange(width) // HOG_CELL_PX
        self._cell = (cell_y[:, None] * self._cells[1] + cell_x[None, :]).astype(np.int64)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """crops: N BGR uint8 (h, w, 3) images -> (N, D) float32, unit L2 norm rows."""
        n = len(crops)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        width, height = CROP_SIZE
        resized = np.empty((n, height, width, 3), dtype=np.uint8)
        for i, crop in enumerate(crops):
            if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8 or min(crop.shape[:2]) < 1:
                raise ValueError(
                    f"crop {i} must be a non-empty (h, w, 3) uint8 BGR image, got {crop.shape} {crop.dtype}"
                )
            resized[i] = cv2.resize(crop, CROP_SIZE, interpolation=cv2.INTER_AREA)
        # One tall image: colour conversions run once for the whole batch.
        tall = resized.reshape(n * height, width, 3)
        hsv = cv2.cvtColor(tall, cv2.COLOR_BGR2HSV).reshape(n, height, width, 3)
        grey = cv2.cvtColor(tall, cv2.COLOR_BGR2GRAY).reshape(n, height, width).astype(np.float32)
        colour = self._colour(hsv)
        hog = self._hog(grey)
        parts = np.concatenate([self.colour_weight * colour.reshape(n, -1), self.hog_weight * hog], axis=1)
        return _l2_normalise(parts).astype(np.float32)

    def _colour(self, hsv: np.ndarray) -> np.ndarray:
        """hsv: (N, H, W, 3) uint8 -> (N, COLOUR_STRIPES, 128) float32, each row sqrt'ed and L2-normalised."""
        n = hsv.shape[0]
        h_bins, s_bins, v_bins = HSV_BINS
        hue = ((hsv[..., 0].astype(np.int64) + HUE_SHIFT) % HUE_RANGE) * h_bins // HUE_RANGE
        sat = hsv[..., 1].astype(np.int64) * s_bins // 256
        val = hsv[..., 2].astype(np.int64) * v_bins // 256
        bin_ = (hue * s_bins + sat) * v_bins + val
        index = (np.arange(n)[:, None, None] * COLOUR_STRIPES + self._stripe) * self._colour_dim + bin_
        weights = np.broadcast_to(self._colour_weights, index.shape)
        hist = np.bincount(index.ravel(), weights.ravel(), minlength=n * COLOUR_STRIPES * self._colour_dim)
        hist = np.sqrt(hist.reshape(n, COLOUR_STRIPES, self._colour_dim))
        return _l2_normalise(hist).astype(np.float32)

    def _hog(self, grey: np.ndarray) -> np.ndarray:
        """grey: (N, H, W) float32 -> (N, hog_dim) float32 HOG, L2-normalised.

        Centred [-1, 0, 1] gradients (edge rows/columns replicated), magnitude votes split linearly between
        the two nearest of HOG_BINS unsigned orientation bins, per-cell histograms, 2x2-cell blocks with
        L2-Hys normalisation.
        """
        n = grey.shape[0]
        padded = np.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="edge")
        gx = padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]
        gy = padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]
        magnitude = np.hypot(gx, gy)
        angle = np.rad2deg(np.arctan2(gy, gx)) % 180.0
        position = angle / (180.0 / HOG_BINS) - 0.5  # bin centres at 10, 30, ... degrees
        lower = np.floor(position)
        upper_share = position - lower
        lower_bin = lower.astype(np.int64) % HOG_BINS
        upper_bin = (lower_bin + 1) % HOG_BINS
        n_cells = self._cells[0] * self._cells[1]
        base = (np.arange(n)[:, None, None] * n_cells + self._cell) * HOG_BINS
        size = n * n_cells * HOG_BINS
        hist = np.bincount(
            (base + lower_bin).ravel(), (magnitude * (1 - upper_share)).ravel(), minlength=size
        )
        hist += np.bincount((base + upper_bin).ravel(), (magnitude * upper_share).ravel(), minlength=size)
        cells = hist.reshape(n, self._cells[0], self._cells[1], HOG_BINS)
        k = HOG_BLOCK_CELLS
        rows, cols = self._cells[0] - k + 1, self._cells[1] - k + 1
        blocks = np.stack(
            [cells[:, dy : dy + rows, dx : dx + cols] for dy in range(k) for dx in range(k)], axis=3
        ).reshape(n, rows * cols, k * k * HOG_BINS)
        blocks = np.minimum(_l2_normalise(blocks), HOG_CLIP)
        blocks = _l2_normalise(blocks)
        return _l2_normalise(blocks.reshape(n, -1)).astype(np.float32)


__all__ = ["ColourHogEmbedder", "Embedder", "crop_boxes", "embed_detections"]
