"""The teacher: a detector (any ultralytics weights, e.g. a COCO model) that looks at a frame whole and cut into
overlapping tiles, each tile at the teacher's full input size, so that small far vehicles are seen enlarged.

Boxes of a tile that touch one of its inner edges are cut off by the tile and dropped (the neighbouring tile,
or the whole frame, sees that vehicle whole); the rest are fused across tiles by per-class NMS before riders
join their two-wheelers and one box per vehicle remains (``export.yolo.YoloRuntime.vehicles``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export.yolo import Boxes, YoloRuntime, per_class_nms
from models.distill.config import TeacherConfig

# A box within this many pixels of a tile's inner edge is taken as cut by it.
EDGE_PX = 3.0


def tile_rects(width: int, height: int, tiles: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """(x1, y1, x2, y2) px of a tiles x tiles grid covering the frame, neighbours sharing ``overlap`` of a
    tile; [] for tiles = 1 (the whole frame is always seen anyway)."""
    if tiles <= 1:
        return []
    tile_w = round(width / (tiles - (tiles - 1) * overlap))
    tile_h = round(height / (tiles - (tiles - 1) * overlap))
    xs = np.linspace(0, width - tile_w, tiles).round().astype(int)
    ys = np.linspace(0, height - tile_h, tiles).round().astype(int)
    return [(int(x), int(y), int(x) + tile_w, int(y) + tile_h) for y in ys for x in xs]


def cut_by_inner_edge(
    xyxy: np.ndarray, rect: tuple[int, int, int, int], width: int, height: int
) -> np.ndarray:
    """(N,) bool: boxes (frame px) that touch an edge of ``rect`` that is not an edge of the frame."""
    x1, y1, x2, y2 = rect
    return (
        ((xyxy[:, 0] <= x1 + EDGE_PX) & (x1 > 0))
        | ((xyxy[:, 1] <= y1 + EDGE_PX) & (y1 > 0))
        | ((xyxy[:, 2] >= x2 - EDGE_PX) & (x2 < width))
        | ((xyxy[:, 3] >= y2 - EDGE_PX) & (y2 < height))
    )


class TiledTeacher:
    """``label(image) -> Boxes``: the teacher's vehicles in a frame (H, W, 3) uint8 BGR, in its pixels."""

    def __init__(self, weights: Path, config: TeacherConfig, device: str) -> None:
        self.config = config
        self.runtime = YoloRuntime(weights, device, config.vehicle_classes, config.merge_riders, config.imgsz)

    def label(self, image: np.ndarray) -> Boxes:
        cfg = self.config
        height, width = image.shape[:2]
        rects = [(0, 0, width, height), *tile_rects(width, height, cfg.tiles, cfg.tile_overlap)]
        crops = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in rects]
        raw = self.runtime.raw(crops, cfg.imgsz, cfg.min_confidence, cfg.iou, cfg.max_detections)
        parts = []
        for rect, boxes in zip(rects, raw, strict=True):
            boxes = boxes.shifted(rect[0], rect[1])
            if rect != (0, 0, width, height):
                boxes = boxes.subset(np.flatnonzero(~cut_by_inner_edge(boxes.xyxy, rect, width, height)))
            parts.append(boxes)
        fused = Boxes.concat(parts)
        fused = fused.subset(per_class_nms(fused, cfg.iou))
        return self.runtime.vehicles(fused, cfg.min_confidence, cfg.iou, cfg.max_detections)
