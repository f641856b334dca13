"""Re-ID data in VeRi-776 layout: file records, the data set splits, and image / mask banks decoded once.

Layout (DESIGN.md, "Formats"): ``image_train/``, ``image_query/``, ``image_test/`` (the gallery), file names
``{vehicle_id:04d}_c{camera:03d}_{frame:06d}.jpg`` as ``crosscam synth`` writes them, or real VeRi-776 names
such as ``0001_c001_00016450_0.jpg`` (the trailing field is ignored). The synthetic town also writes
``mask_train/``, ``mask_query/``, ``mask_test/``: PNG, 255 = vehicle pixel, same stem as the image.

Training decodes every image once into a uint8 bank (``load_image_bank``); batches are then sliced from it
and augmented on whole tensors (``models.reid.augment``), so no per-step JPEG decoding slows training.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

TRAIN_DIR = "image_train"
QUERY_DIR = "image_query"
GALLERY_DIR = "image_test"
IMAGE_PREFIX = "image_"
MASK_PREFIX = "mask_"
MASK_SUFFIX = ".png"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
# vehicle id, camera id, frame; real VeRi-776 names carry one more numeric field after the frame.
NAME_PATTERN = re.compile(r"^(\d+)_c(\d+)_(\d+)(?:_\d+)?\.(?:jpe?g|png)$", re.IGNORECASE)
EXPECTED_NAME = (
    "{vehicle_id:04d}_c{camera:03d}_{frame:06d}.jpg (e.g. 0001_c001_000016.jpg or 0001_c001_00016450_0.jpg)"
)
REGENERATE_HINT = "regenerate the set with `crosscam synth --out DIR` or point to a VeRi-776 folder"
# A complete JPEG ends with the EOI marker; OpenCV decodes a truncated file into a partly grey image
# with only a warning, so truncation is checked on the bytes. Some encoders pad a few bytes after EOI.
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})
JPEG_EOI = b"\xff\xd9"
JPEG_TAIL_BYTES = 1024
# OpenCV releases the GIL while decoding, so threads decode in parallel.
MAX_DECODE_WORKERS = 8
MASK_THRESHOLD = 0.5  # a bank pixel is vehicle when more than half of its source area is


class DatasetError(ValueError):
    """A Re-ID data set on disk that cannot be used; the message names the file or folder and the fix."""


@dataclass(frozen=True)
class ReidRecord:
    """One crop: its file and labels. ``frame`` is the frame index in the camera's stream (VeRi: its timestamp)."""

    path: Path
    vehicle_id: int
    camera_id: int
    frame: int


@dataclass(frozen=True)
class VeriDataset:
    """The three splits of a VeRi-layout folder; each a tuple of records sorted by file name."""

    root: Path
    train: tuple[ReidRecord, ...]
    query: tuple[ReidRecord, ...]
    gallery: tuple[ReidRecord, ...]


@dataclass(frozen=True, eq=False)
class UnlabeledImages:
    """What the unsupervised trainer sees: images and their cameras, never identities.

    paths: N image files; camera_ids: (N,) int64 (read-only).
    """

    paths: tuple[Path, ...]
    camera_ids: np.ndarray

    def __post_init__(self) -> None:
        cams = np.array(self.camera_ids, dtype=np.int64).reshape(-1)
        if len(cams) != len(self.paths):
            raise ValueError(f"UnlabeledImages: {len(self.paths)} paths but {len(cams)} camera ids")
        cams.flags.writeable = False
        object.__setattr__(self, "paths", tuple(Path(p) for p in self.paths))
        object.__setattr__(self, "camera_ids", cams)

    def __len__(self) -> int:
        return len(self.paths)


def parse_name(name: str) -> tuple[int, int, int]:
    """(vehicle_id, camera_id, frame) from a VeRi-style file name; DatasetError for any other name."""
    match = NAME_PATTERN.match(Path(name).name)
    if match is None:
        raise DatasetError(f"{name}: not a Re-ID crop name; expected {EXPECTED_NAME}")
    vehicle_id, camera_id, frame = (int(g) for g in match.groups())
    return vehicle_id, camera_id, frame


def _record(path: Path) -> ReidRecord:
    try:
        vehicle_id, camera_id, frame = parse_name(path.name)
    except DatasetError:
        raise DatasetError(
            f"{path}: not a Re-ID crop name; expected {EXPECTED_NAME}; rename or remove it"
        ) from None
    return ReidRecord(path, vehicle_id, camera_id, frame)


def _read_split(root: Path, folder: str, *, required: bool) -> tuple[ReidRecord, ...]:
    """Records of every image in ``root/folder``, sorted by name; files of other types are ignored."""
    directory = root / folder
    if not directory.is_dir():
        if not required:
            return ()
        raise DatasetError(
            f"{directory}: folder missing; a VeRi-layout set needs {folder}/ ({REGENERATE_HINT})"
        )
    files = sorted(
        (p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    if not files and required:
        raise DatasetError(f"{directory}: no .jpg/.jpeg/.png images in this folder ({REGENERATE_HINT})")
    return tuple(_record(p) for p in files)


def load_veri(root: Path, *, require_eval: bool = True) -> VeriDataset:
    """Read the three splits of a VeRi-layout folder.

    ``image_train/`` must exist and hold images. With ``require_eval`` the query (``image_query/``) and
    gallery (``image_test/``) folders must too; without it a missing one gives an empty split.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: Re-ID data folder not found ({REGENERATE_HINT})")
    return VeriDataset(
        root=root,
        train=_read_split(root, TRAIN_DIR, required=True),
        query=_read_split(root, QUERY_DIR, required=require_eval),
        gallery=_read_split(root, GALLERY_DIR, required=require_eval),
    )


def unlabeled(records: Sequence[ReidRecord]) -> UnlabeledImages:
    """Drop the identity labels: image paths and camera ids only (the unsupervised setting)."""
    return UnlabeledImages(
        paths=tuple(r.path for r in records),
        camera_ids=np.array([r.camera_id for r in records], dtype=np.int64),
    )


def mask_path_for(image_path: Path) -> Path:
    """The mask of a crop: ``.../image_xxx/NAME.jpg`` -> ``.../mask_xxx/NAME.png``."""
    image_path = Path(image_path)
    folder = image_path.parent.name
    if not folder.startswith(IMAGE_PREFIX):
        raise DatasetError(
            f"{image_path}: masks are looked up next to an image_* folder, but this image is in {folder}/; "
            "keep crops in image_train/, image_query/ or image_test/"
        )
    mask_folder = MASK_PREFIX + folder[len(IMAGE_PREFIX) :]
    return image_path.parent.parent / mask_folder / (image_path.stem + MASK_SUFFIX)


def _read_bytes(path: Path, what: str) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(
            f"{path}: cannot read this {what} ({exc.strerror}); check the file exists"
        ) from None
    if data.size == 0:
        raise DatasetError(f"{path}: empty {what} file; re-export or remove it")
    return data


def _decode_image(path: Path, size_hw: tuple[int, int]) -> np.ndarray:
    """One crop as (H, W, 3) uint8 RGB, resized bilinearly like ``export.preprocess.preprocess_crops``."""
    data = _read_bytes(path, "image")
    if path.suffix.lower() in JPEG_SUFFIXES and JPEG_EOI not in data[-JPEG_TAIL_BYTES:].tobytes():
        raise DatasetError(f"{path}: truncated or corrupt JPEG (no end marker); re-export or remove it")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{path}: not a readable image (corrupt or wrong format); re-export or remove it")
    resized = cv2.resize(image, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_LINEAR)
    return resized[:, :, ::-1]


def _decode_mask(path: Path, size_hw: tuple[int, int]) -> np.ndarray:
    """One mask as (H, W) bool; area-averaged so a thin part keeps its share of the resized mask."""
    image = cv2.imdecode(_read_bytes(path, "mask"), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DatasetError(f"{path}: not a readable mask PNG (corrupt or wrong format); {REGENERATE_HINT}")
    fraction = (image > 0).astype(np.float32)
    resized = cv2.resize(fraction, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_AREA)
    return resized > MASK_THRESHOLD


def _check_size(size_hw: tuple[int, int]) -> tuple[int, int]:
    if len(size_hw) != 2 or min(size_hw) < 1:
        raise ValueError(f"size_hw must be (height, width) with both >= 1 px, got {size_hw}")
    return int(size_hw[0]), int(size_hw[1])


def _decode_all(
    paths: Sequence[Path], decode: Callable[[Path], np.ndarray], out: np.ndarray, desc: str, progress: bool
) -> None:
    """Decode every path into ``out[i]``, in parallel threads, in order."""
    workers = max(1, min(MAX_DECODE_WORKERS, os.cpu_count() or 1, len(paths)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = pool.map(decode, paths)
        for i, item in enumerate(
            tqdm(decoded, total=len(paths), desc=desc, unit="img", disable=not progress)
        ):
            out[i] = item


def load_image_bank(paths: Sequence[Path], size_hw: tuple[int, int], progress: bool = False) -> torch.Tensor:
    """Decode and resize every image once: (N, 3, H, W) uint8 RGB, row i from ``paths[i]``.

    Resizing is bilinear (cv2.INTER_LINEAR) as at run time, so ``normalise(bank)`` equals
    ``preprocess_crops`` of the same files. An unreadable or corrupt image raises DatasetError naming it.
    """
    height, width = _check_size(size_hw)
    paths = [Path(p) for p in paths]
    bank = np.empty((len(paths), height, width, 3), dtype=np.uint8)
    _decode_all(paths, lambda p: _decode_image(p, (height, width)), bank, "decode images", progress)
    return torch.from_numpy(bank).permute(0, 3, 1, 2).contiguous()


def load_mask_bank(paths: Sequence[Path], size_hw: tuple[int, int], progress: bool = False) -> torch.Tensor:
    """Decode and resize every mask PNG once: (N, H, W) bool, True = vehicle pixel.

    ``paths`` are mask files (see ``mask_path_for``); a missing or unreadable mask raises DatasetError.
    """
    height, width = _check_size(size_hw)
    paths = [Path(p) for p in paths]
    bank = np.empty((len(paths), height, width), dtype=bool)
    _decode_all(paths, lambda p: _decode_mask(p, (height, width)), bank, "decode masks", progress)
    return torch.from_numpy(bank)
