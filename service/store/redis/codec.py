"""How the Redis store encodes records, trajectory points and embeddings in its values."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from service.store.base import TrackletRecord, TrajectoryPoint


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# ---- value encodings -------------------------------------------------------------------------------------


def _encode_tracklet(tracklet: TrackletRecord) -> str:
    return tracklet.model_dump_json(exclude={"global_id", "embedding"})


def _decode_tracklet(record: bytes, global_id: int, embedding: bytes | None = None) -> TrackletRecord:
    data = json.loads(record)
    data["global_id"] = global_id
    if embedding:
        data["embedding"] = tuple(np.frombuffer(embedding, dtype="<f8").tolist())
    return TrackletRecord.model_validate(data)


def _encode_embedding(embedding: tuple[float, ...]) -> bytes:
    # float64: exactly the floats given (the recorder rounds them to 4 decimals, which float32 would not keep)
    return np.asarray(embedding, dtype="<f8").tobytes()


def _encode_points(tracklet: TrackletRecord, points: list[TrajectoryPoint]) -> str:
    """``[tracklet id, camera id, rows]``, rows ``[frame, t, x1, y1, x2, y2, world | null]`` by (t, camera);
    a point naming another tracklet or camera than its tracklet's carries both at the end of its row."""
    rows = []
    for p in sorted(points, key=lambda p: (p.t, p.camera_id)):
        row: list[Any] = [p.frame, p.t, *p.xyxy, list(p.world) if p.world is not None else None]
        if (p.tracklet_id, p.camera_id) != (tracklet.tracklet_id, tracklet.camera_id):
            row += [p.tracklet_id, p.camera_id]
        rows.append(row)
    return json.dumps([tracklet.tracklet_id, tracklet.camera_id, rows], separators=(",", ":"))


def _decode_point_rows(blob: bytes) -> list[tuple[float, str, str, list[Any]]]:
    """``(t, camera id, tracklet id, row)`` of every point in a ``points`` blob."""
    tid, camera, rows = json.loads(blob)
    return [(row[1], row[8], row[7], row) if len(row) > 7 else (row[1], camera, tid, row) for row in rows]


# A page of points is validated in one call into pydantic's core: a Python constructor call per point cost
# more than the rest of a trajectory request (bench/api.py).
_POINTS = TypeAdapter(list[TrajectoryPoint])


def _points(rows: list[tuple[float, str, str, list[Any]]]) -> list[TrajectoryPoint]:
    """TrajectoryPoints of ``(t, camera id, tracklet id, row)`` entries (``_decode_point_rows``)."""
    return _POINTS.validate_python(
        [
            {
                "tracklet_id": tid,
                "camera_id": camera,
                "frame": row[0],
                "t": row[1],
                "xyxy": row[2:6],
                "world": row[6],
            }
            for _, camera, tid, row in rows
        ]
    )
