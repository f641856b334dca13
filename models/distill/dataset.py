"""The student's training set in ultralytics YOLO format: pseudo-labelled real keyframes, and the town's exactly
labelled frames with their vehicle types mapped onto the student's classes.

Layout: ``<root>/images/{train,val}/<name>.jpg`` and ``<root>/labels/{train,val}/<name>.txt`` (one line per
box: ``class cx cy w h``, normalised to the image), and ``<root>/data.yaml``. Town images are linked, not
copied.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import yaml

from models.distill.config import TownConfig

SPLITS = ("train", "val")
TOWN_PREFIX = "town_"  # town frames' names in the training set start with this
JPEG_QUALITY = 92


class DatasetError(ValueError):
    """Training material that cannot be used; the message names it and the fix."""


def yolo_lines(xyxy: np.ndarray, classes: np.ndarray, width: int, height: int) -> list[str]:
    """Label lines ``class cx cy w h`` (normalised) for boxes xyxy (N, 4) px in a width x height image."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    boxes = np.clip(boxes, 0, [width, height, width, height])
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 / width, (boxes[:, 1] + boxes[:, 3]) / 2 / height
    w, h = (boxes[:, 2] - boxes[:, 0]) / width, (boxes[:, 3] - boxes[:, 1]) / height
    return [
        f"{int(c)} {x:.6f} {y:.6f} {bw:.6f} {bh:.6f}"
        for c, x, y, bw, bh in zip(classes, cx, cy, w, h, strict=True)
        if bw > 0 and bh > 0
    ]


class DatasetWriter:
    """Writes images and labels under ``root`` and counts what went where."""

    def __init__(self, root: Path, classes: list[str]) -> None:
        self.root = Path(root)
        self.classes = list(classes)
        self._class_index = {name: i for i, name in enumerate(self.classes)}
        self.images: Counter[str] = Counter()  # "<source>/<split>" -> images
        self.boxes: Counter[str] = Counter()  # "<source>/<split>" -> boxes
        for split in SPLITS:
            (self.root / "images" / split).mkdir(parents=True, exist_ok=True)
            (self.root / "labels" / split).mkdir(parents=True, exist_ok=True)

    def save_image(self, split: str, name: str, image: np.ndarray) -> None:
        """Write a decoded frame (H, W, 3) BGR as ``images/<split>/<name>.jpg`` (its labels come later)."""
        path = self.root / "images" / split / f"{name}.jpg"
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise DatasetError(f"cannot write {path}; is the disk full or the folder read-only?")

    def repeat(self, source: str, split: str, name: str, copies: int) -> None:
        """Add ``copies`` more copies of a labelled image (links), so that it is drawn that much more often."""
        image = self.root / "images" / split / f"{name}.jpg"
        labels = (self.root / "labels" / split / f"{name}.txt").read_text().splitlines()
        for k in range(1, copies + 1):
            self.link_image(source, split, f"{name}_r{k}", image, labels)

    def remove_image(self, split: str, name: str) -> None:
        """Take back an image saved without labels (its clip turned out unusable)."""
        (self.root / "images" / split / f"{name}.jpg").unlink(missing_ok=True)

    def save_labels(
        self, source: str, split: str, name: str, xyxy: np.ndarray, labels: np.ndarray, size: tuple[int, int]
    ) -> None:
        """Labels of a saved image: boxes (N, 4) px with class names (N,) in an image of size (width,
        height) px; names that are not student classes are left out (a one-class student takes them all)."""
        index = [self.student_class(str(label)) for label in labels]
        known = np.array([i is not None for i in index], dtype=bool)
        classes = np.array([i for i in index if i is not None], dtype=np.int64)
        lines = yolo_lines(np.asarray(xyxy).reshape(-1, 4)[known], classes, *size)
        self._write_labels(source, split, name, lines)

    def student_class(self, label: str) -> int | None:
        """The student's class of a teacher's class name: the class of that name, or the only class of a
        one-class student; None when the student has no such class."""
        return 0 if len(self.classes) == 1 else self._class_index.get(label)

    def link_image(self, source: str, split: str, name: str, image_path: Path, lines: list[str]) -> None:
        """An image already on disk (linked, not copied) with its label lines in the student's classes."""
        target = self.root / "images" / split / f"{name}{image_path.suffix}"
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(image_path.resolve(), target)
        self._write_labels(source, split, name, lines)

    def _write_labels(self, source: str, split: str, name: str, lines: list[str]) -> None:
        (self.root / "labels" / split / f"{name}.txt").write_text("".join(f"{line}\n" for line in lines))
        self.images[f"{source}/{split}"] += 1
        self.boxes[f"{source}/{split}"] += len(lines)

    def write_yaml(self) -> Path:
        """``data.yaml`` for ultralytics; DatasetError when a split is empty."""
        for split in SPLITS:
            if not any((self.root / "images" / split).iterdir()):
                raise DatasetError(
                    f"the {split} split of {self.root} is empty; give more real footage or town scenes "
                    "(or a smaller sampling.val_fraction)"
                )
        path = self.root / "data.yaml"
        data = {
            "path": str(self.root.resolve()),
            "train": "images/train",
            "val": "images/val",
            "names": dict(enumerate(self.classes)),
        }
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def town_images(scene: Path, splits: tuple[str, ...]) -> list[tuple[Path, Path]]:
    """(image, label file) pairs of a town scene's detector set (``crosscam synth`` writes ``<scene>/yolo``)."""
    yolo = Path(scene) / "yolo"
    if not (yolo / "data.yaml").is_file():
        raise DatasetError(
            f"{scene} holds no detector set ({yolo / 'data.yaml'} is missing); make one with "
            f"`crosscam synth --out {scene} --set output.yolo_classes=type`"
        )
    pairs = []
    for split in splits:
        for image in sorted((yolo / "images" / split).glob("*.jpg")):
            pairs.append((image, yolo / "labels" / split / f"{image.stem}.txt"))
    return pairs


def town_class_map(scene: Path, town: TownConfig, classes: list[str]) -> dict[int, int]:
    """The scene's class id -> the student's class id, through ``town.type_map``; DatasetError when the
    scene has no detector set or a class without a mapping."""
    town_images(scene, ())  # DatasetError naming the fix when the scene has no detector set
    names = yaml.safe_load((Path(scene) / "yolo" / "data.yaml").read_text()).get("names", {})
    names = dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    unmapped = sorted(set(names.values()) - set(town.type_map))
    if unmapped:
        raise DatasetError(
            f"{scene}: its detector classes {sorted(names.values())} include {unmapped}, which town.type_map "
            "does not map; make the scene with `--set output.yolo_classes=type`"
        )
    return {i: classes.index(town.type_map[name]) for i, name in names.items()}


def remap_lines(label_file: Path, class_map: dict[int, int]) -> list[str]:
    """The YOLO label lines of ``label_file`` with class ids mapped (an absent file: no boxes)."""
    if not label_file.is_file():
        return []
    out = []
    for line in label_file.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5:
            out.append(" ".join([str(class_map[int(parts[0])]), *parts[1:]]))
    return out


def add_town(
    writer: DatasetWriter, scenes: list[Path], split: str, town: TownConfig, limit: int | None = None
) -> None:
    """Link up to ``limit`` (default ``town.max_images``) town frames, evenly spread over ``scenes``, into
    ``split`` (train: both splits of each scene; val: the scenes' val split)."""
    limit = town.max_images if limit is None else limit
    pairs = []
    for scene in scenes:
        class_map = town_class_map(scene, town, writer.classes)
        for image, labels in town_images(scene, ("train", "val") if split == "train" else ("val",)):
            pairs.append((scene, image, labels, class_map))
    if len(pairs) > limit:
        pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, limit).round().astype(int)] if limit else []
    for scene, image, labels, class_map in pairs:
        writer.link_image(
            "town",
            split,
            f"{TOWN_PREFIX}{Path(scene).name}_{image.stem}",
            image,
            remap_lines(labels, class_map),
        )


def town_val_yaml(scenes: list[Path], classes: list[str], out: Path) -> Path:
    """A data.yaml over the val split of town ``scenes`` alone (to score the student on the town, all types
    as one class)."""
    dirs = [str((Path(s) / "yolo" / "images" / "val").resolve()) for s in scenes]
    missing = [d for d in dirs if not Path(d).is_dir()]
    if missing:
        raise DatasetError(f"town scenes without a val split: {missing}; make them with `crosscam synth`")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        yaml.safe_dump({"train": dirs, "val": dirs, "names": dict(enumerate(classes))}, sort_keys=False)
    )
    return out


def real_val_yaml(root: Path, classes: list[str], out: Path) -> Path:
    """A data.yaml over the pseudo-labelled real val images of the training set at ``root`` alone (its town
    frames left out), listed in ``<out stem>.txt``."""
    images = sorted(
        p for p in (Path(root) / "images" / "val").iterdir() if not p.name.startswith(TOWN_PREFIX)
    )
    if not images:
        raise DatasetError(
            f"{root} has no real val images; lower sampling.val_fraction's floor or add footage"
        )
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"{p.resolve()}\n" for p in images))
    out.write_text(
        yaml.safe_dump({"train": str(listing), "val": str(listing), "names": dict(enumerate(classes))})
    )
    return out
