"""Contact sheets for people to look at: frames with boxes drawn and a title, tiled into one PNG."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
TITLE_PX = 20
GAP_PX = 6
GREEN, RED, AMBER, WHITE = (80, 200, 60), (60, 60, 230), (0, 170, 255), (255, 255, 255)


def draw_boxes(
    image: np.ndarray,
    xyxy: np.ndarray,
    colours: Sequence[tuple[int, int, int]],
    title: str,
    captions: Sequence[str] | None = None,
) -> np.ndarray:
    """A copy of image (H, W, 3) BGR with boxes (N, 4) px in their colours, optional captions, a title bar."""
    out = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 500))
    for i, (box, colour) in enumerate(zip(np.asarray(xyxy).reshape(-1, 4), colours, strict=True)):
        p0, p1 = (int(box[0]), int(box[1])), (int(box[2]), int(box[3]))
        cv2.rectangle(out, p0, p1, colour, thickness, cv2.LINE_AA)
        if captions:
            cv2.putText(out, captions[i], (p0[0], max(10, p0[1] - 2)), FONT, 0.35, colour, 1, cv2.LINE_AA)
    cv2.rectangle(out, (0, 0), (out.shape[1], TITLE_PX), (0, 0, 0), -1)
    cv2.putText(out, title, (6, 15), FONT, 0.5, WHITE, 1, cv2.LINE_AA)
    return out


def write_sheet(images: Sequence[np.ndarray], path: Path, columns: int = 3, tile_width: int = 480) -> Path:
    """Tile images (each scaled to ``tile_width`` px wide) into a grid, ``columns`` across; write a PNG."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    tiles = [cv2.resize(im, (tile_width, round(im.shape[0] * tile_width / im.shape[1]))) for im in images]
    row_height = max(t.shape[0] for t in tiles)
    rows = math.ceil(len(tiles) / columns)
    sheet = np.full(
        (rows * (row_height + GAP_PX) + GAP_PX, columns * (tile_width + GAP_PX) + GAP_PX, 3),
        32,
        dtype=np.uint8,
    )
    for i, tile in enumerate(tiles):
        y = GAP_PX + (i // columns) * (row_height + GAP_PX)
        x = GAP_PX + (i % columns) * (tile_width + GAP_PX)
        sheet[y : y + tile.shape[0], x : x + tile_width] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)
    return path
