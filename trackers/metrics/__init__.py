"""Tracking evaluation: file formats, joint multi-camera (AI City) scores, per-camera MOT scores."""

from trackers.metrics.formats import (
    FormatError,
    MOTBoxes,
    MTMCBoxes,
    read_mot,
    read_mtmc,
    write_mot,
    write_mtmc,
)
from trackers.metrics.mot import IOU_THRESHOLD, MOTReport, MOTScore, score_mot, score_mot_many
from trackers.metrics.mtmc import IdentityScore, MTMCScore, score_mtmc, trackeval_identity

__all__ = [
    "IOU_THRESHOLD",
    "FormatError",
    "IdentityScore",
    "MOTBoxes",
    "MOTReport",
    "MOTScore",
    "MTMCBoxes",
    "MTMCScore",
    "read_mot",
    "read_mtmc",
    "score_mot",
    "score_mot_many",
    "score_mtmc",
    "trackeval_identity",
    "write_mot",
    "write_mtmc",
]
