"""Ground-truth boxes of a scene and their files: AI City MTMC (all cameras) and MOTChallenge (per camera)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.config import VEHICLE_TYPES, OutputConfig


@dataclass(frozen=True)
class GroundTruthBoxes:
    """N visible vehicle boxes. xywh: (N, 4) px, top-left corner + size; world_xy: (N, 2) m footprint centre;
    visibility: (N,) visible fraction of the whole silhouette; type_index: (N,) index into VEHICLE_TYPES."""

    camera_id: np.ndarray
    vehicle_id: np.ndarray
    frame: np.ndarray
    xywh: np.ndarray
    world_xy: np.ndarray
    visibility: np.ndarray
    type_index: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.camera_id)
        shapes = {
            "vehicle_id": (self.vehicle_id.shape, (n,)),
            "frame": (self.frame.shape, (n,)),
            "xywh": (self.xywh.shape, (n, 4)),
            "world_xy": (self.world_xy.shape, (n, 2)),
            "visibility": (self.visibility.shape, (n,)),
            "type_index": (self.type_index.shape, (n,)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ValueError(f"GroundTruthBoxes.{name} has shape {got}, expected {want}")

    def __len__(self) -> int:
        return len(self.camera_id)

    @classmethod
    def empty(cls) -> GroundTruthBoxes:
        return cls.concat([])

    @classmethod
    def concat(cls, parts: list[GroundTruthBoxes]) -> GroundTruthBoxes:
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z, z, np.zeros((0, 4)), np.zeros((0, 2)), np.zeros(0), z)
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)  # type: ignore[arg-type]
        )

    def subset(self, keep: np.ndarray) -> GroundTruthBoxes:
        return GroundTruthBoxes(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    def sorted(self) -> GroundTruthBoxes:
        """Ordered by camera, frame, vehicle: the order of the written files."""
        return self.subset(np.lexsort((self.vehicle_id, self.frame, self.camera_id)))


def select_boxes(
    camera_id: int,
    frame_index: int,
    vehicle_id: np.ndarray,
    box_xyxy: np.ndarray,
    visible_px: np.ndarray,
    full_px: np.ndarray,
    world_xy: dict[int, np.ndarray],
    vtype: dict[int, str],
    out: OutputConfig,
) -> GroundTruthBoxes:
    """The rendered vehicles that enter the ground truth: enough of the vehicle visible, box tall enough.

    vehicle_id: (V,); box_xyxy: (V, 4) px; visible_px, full_px: (V,) px areas.
    """
    visibility = np.where(full_px > 0, visible_px / np.maximum(full_px, 1e-9), 0.0).clip(0.0, 1.0)
    height = box_xyxy[:, 3] - box_xyxy[:, 1]
    keep = (visibility >= out.gt_min_visibility) & (height >= out.gt_min_height_px)
    ids = vehicle_id[keep]
    xyxy = box_xyxy[keep].astype(np.float64)
    n = len(ids)
    return GroundTruthBoxes(
        camera_id=np.full(n, camera_id, dtype=np.int64),
        vehicle_id=ids.astype(np.int64),
        frame=np.full(n, frame_index, dtype=np.int64),
        xywh=np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]),
        world_xy=np.array([world_xy[int(i)] for i in ids]).reshape(n, 2),
        visibility=visibility[keep],
        type_index=np.array([VEHICLE_TYPES.index(vtype[int(i)]) for i in ids], dtype=np.int64),
    )


def multi_camera_ids(boxes: GroundTruthBoxes) -> np.ndarray:
    """Vehicle ids that appear in at least two cameras (the CityFlow evaluation protocol)."""
    pairs = np.unique(np.column_stack([boxes.vehicle_id, boxes.camera_id]), axis=0)
    ids, counts = np.unique(pairs[:, 0], return_counts=True)
    return ids[counts >= 2]


def write_aicity(path: Path, boxes: GroundTruthBoxes) -> None:
    """``camera_id obj_id frame_id xmin ymin width height xworld yworld`` (px integers, world metres)."""
    b = boxes.sorted()
    xywh = np.rint(b.xywh).astype(np.int64)
    lines = [
        f"{c} {v} {f} {x} {y} {w} {h} {wx:.3f} {wy:.3f}"
        for c, v, f, (x, y, w, h), (wx, wy) in zip(
            b.camera_id, b.vehicle_id, b.frame, xywh, b.world_xy, strict=True
        )
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def write_mot(
    seq_dir: Path, boxes: GroundTruthBoxes, name: str, fps: float, size: tuple[int, int], n_frames: int
) -> None:
    """MOTChallenge layout for one camera: ``seqinfo.ini`` and ``gt/gt.txt``.

    gt.txt rows: ``frame,id,x,y,w,h,1,type,visibility`` (type: 1-based index into VEHICLE_TYPES).
    """
    b = boxes.sorted()
    xywh = np.rint(b.xywh).astype(np.int64)
    lines = [
        f"{f},{v},{x},{y},{w},{h},1,{t + 1},{vis:.3f}"
        for f, v, (x, y, w, h), t, vis in zip(
            b.frame, b.vehicle_id, xywh, b.type_index, b.visibility, strict=True
        )
    ]
    (seq_dir / "gt").mkdir(parents=True, exist_ok=True)
    (seq_dir / "gt" / "gt.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    (seq_dir / "seqinfo.ini").write_text(
        "[Sequence]\n"
        f"name={name}\nimDir=img1\nframeRate={fps:g}\nseqLength={n_frames}\n"
        f"imWidth={size[0]}\nimHeight={size[1]}\nimExt=.jpg\n"
    )
