"""Real clips as training material: finding them, checking that they decode, and choosing their frames.

Each clip gives keyframes (the training images, spread over its length) and, for each keyframe, a neighbour
frame shortly before and after it that the teacher also sees, so that a box can be checked against time.
Frame indices are 0-based decode positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.distill.config import SamplingConfig
from models.manifest import sha256

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".ts", ".mpg", ".mpeg"})


class ClipError(ValueError):
    """A clip that cannot be used; the message names it and what would fix it."""


@dataclass(frozen=True)
class ClipInfo:
    """A clip that decodes. fps: frames per second; frame_count: as the container says (decoding may give a
    few less); size: (width, height) px."""

    path: Path
    fps: float
    frame_count: int
    size: tuple[int, int]
    sha256: str

    @property
    def name(self) -> str:
        """A file-name-safe name unique among the clips of one run (parent folder + stem)."""
        return f"{self.path.parent.name}_{self.path.stem}".replace(" ", "_")

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


@dataclass(frozen=True)
class KeyframePlan:
    """keyframes: sorted 0-based frame indices that become training images; offset: frames between a
    keyframe and each of its two neighbours (k - offset, k + offset)."""

    keyframes: tuple[int, ...]
    offset: int

    def neighbours(self, keyframe: int) -> tuple[int, int]:
        return keyframe - self.offset, keyframe + self.offset

    def wanted(self) -> set[int]:
        """Every frame the teacher must see."""
        return {i for k in self.keyframes for i in (k, *self.neighbours(k))}


def find_clips(paths: Iterable[Path]) -> list[Path]:
    """Video files named directly, or found (recursively, sorted) under named folders. ClipError for a path
    that does not exist or a folder without videos."""
    clips: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            if not found:
                raise ClipError(
                    f"{path} holds no video file ({', '.join(sorted(VIDEO_SUFFIXES))}); pass clips"
                )
            clips.extend(found)
        elif path.is_file():
            clips.append(path)
        else:
            raise ClipError(f"real footage {path} does not exist; pass video files or folders of them")
    return list(dict.fromkeys(clips))


def probe_clip(path: Path) -> ClipInfo:
    """The clip's frame rate, length and size, after decoding its first frame; ClipError when it cannot."""
    capture = cv2.VideoCapture(str(path))
    try:
        ok, image = capture.read() if capture.isOpened() else (False, None)
        if not ok or image is None:
            raise ClipError(
                f"cannot decode {path} as a video; is it a complete video file? Re-encode it, e.g. "
                f"`ffmpeg -i {path} -c:v libx264 -pix_fmt yuv420p fixed.mp4`, or leave it out"
            )
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if not fps or not np.isfinite(fps) or fps <= 0:
        raise ClipError(f"{path} declares no frame rate; re-encode it with one (ffmpeg -r 25 ...)")
    return ClipInfo(path, float(fps), max(count, 1), (image.shape[1], image.shape[0]), sha256(path))


def plan_keyframes(info: ClipInfo, sampling: SamplingConfig) -> KeyframePlan:
    """Keyframes every ``keyframe_every_s`` seconds, closer in a clip too short for ``min_keyframes`` (down to
    every frame), at most ``max_keyframes`` (evenly spread); each with a neighbour ``neighbour_offset_s``
    seconds (at least one frame) before and after, inside the clip."""
    offset = max(1, round(info.fps * sampling.neighbour_offset_s))
    every_s = min(sampling.keyframe_every_s, info.duration_s / sampling.min_keyframes)
    step = max(1, round(info.fps * every_s))
    candidates = np.arange(offset, info.frame_count - offset, step)
    if len(candidates) > sampling.max_keyframes:
        candidates = candidates[
            np.linspace(0, len(candidates) - 1, sampling.max_keyframes).round().astype(int)
        ]
    return KeyframePlan(tuple(int(k) for k in np.unique(candidates)), offset)


def read_frames(path: Path, wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(index, image (H, W, 3) uint8 BGR) of the ``wanted`` frames, in order, decoding the clip once. Frames
    past the clip's real end (its header may promise more than it holds) are simply not yielded."""
    capture = cv2.VideoCapture(str(path))
    last = max(wanted, default=-1)
    try:
        index = 0
        while index <= last:
            ok = capture.grab()
            if not ok:
                return
            if index in wanted:
                ok, image = capture.retrieve()
                if ok and image is not None:
                    yield index, image
            index += 1
    finally:
        capture.release()
