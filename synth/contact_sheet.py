"""A contact sheet: one frame per camera with its ground-truth boxes and ids, tiled, for people to look at."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from synth.groundtruth import GroundTruthBoxes

FONT = cv2.FONT_HERSHEY_SIMPLEX
TILE_COLUMNS = 2
GAP_PX = 6


def id_colour(vehicle_id: int) -> tuple[int, int, int]:
    """A stable, bright colour per identity (golden-ratio hue steps)."""
    hue = int((vehicle_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 220, 255]]])
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def annotate(image: np.ndarray, boxes: GroundTruthBoxes, title: str) -> np.ndarray:
    """Draw boxes with ids and a title bar on a copy of image (H, W, 3) BGR."""
    out = image.copy()
    for vid, (x, y, w, h) in zip(boxes.vehicle_id, boxes.xywh, strict=True):
        colour = id_colour(int(vid))
        p0, p1 = (int(x), int(y)), (int(x + w), int(y + h))
        cv2.rectangle(out, p0, p1, colour, 1, cv2.LINE_AA)
        label = str(int(vid))
        (tw, th), _ = cv2.getTextSize(label, FONT, 0.4, 1)
        ty = max(th + 2, p0[1] - 2)
        cv2.rectangle(out, (p0[0], ty - th - 2), (p0[0] + tw + 2, ty + 1), colour, -1)
        cv2.putText(out, label, (p0[0] + 1, ty - 1), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(out, (0, 0), (out.shape[1], 20), (0, 0, 0), -1)
    cv2.putText(out, title, (6, 15), FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_contact_sheet(path: Path, tiles: list[np.ndarray]) -> None:
    """Tile equally sized BGR images into a grid and save it as PNG."""
    h, w = tiles[0].shape[:2]
    cols = min(TILE_COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    sheet = np.full((rows * h + (rows - 1) * GAP_PX, cols * w + (cols - 1) * GAP_PX, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        sheet[r * (h + GAP_PX) : r * (h + GAP_PX) + h, c * (w + GAP_PX) : c * (w + GAP_PX) + w] = tile
    cv2.imwrite(str(path), sheet)
