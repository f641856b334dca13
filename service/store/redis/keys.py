"""The Redis store's key layout. Keys, all under ``<prefix>:``:

====================================  =========  ==========================================================
``cameras`` / ``camera_status``       hash       camera id -> CameraRecord / CameraStatus JSON
``live:<camera>``                     hash       ``meta`` (LiveView JSON without the image), ``jpeg`` (bytes)
``camera_runs:<camera>``              string     the camera's last run number (INCR, ``next_camera_run``)
``next_identity_id``                  string     the last identity id handed out (INCR)
``identity:<id>``                     string     IdentityRecord JSON (its ``tracklet_ids`` are its members)
``identities``                        zset       every identity, scored by first_seen (s)
``camera_identities:<camera>``        zset       the identities a camera saw, scored by first_seen (s)
``aliases`` / ``absorbed:<id>``       hash, set  merged-away id -> the id that absorbed it; and its inverse
``tracklet:<tracklet id>``            hash       ``gid``, ``record`` (TrackletRecord JSON without gid and
                                                 embedding), ``n_points``, ``points`` (JSON rows),
                                                 ``embedding`` (float64 little-endian bytes)
``tracklets``                         set        every tracklet id
``events``                            stream     Event JSON (field ``json``); stream ids are the event ids
``audit``                             list       AuditEntry JSON; an entry's id is its position + 1
====================================  =========  ==========================================================

Zset members are ids zero-padded to 20 digits, so identities with equal first_seen sort by id, as the
contract asks.
"""

from __future__ import annotations

DEFAULT_PREFIX = "crosscam"
ID_DIGITS = 20  # zset members: zero-padded ids sort like numbers


def _member(global_id: int) -> str:
    return f"{global_id:0{ID_DIGITS}d}"


class _Keys:
    """Every key name of one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.cameras = f"{prefix}:cameras"
        self.camera_status = f"{prefix}:camera_status"
        self.next_identity_id = f"{prefix}:next_identity_id"
        self.identities = f"{prefix}:identities"
        self.aliases = f"{prefix}:aliases"
        self.tracklets = f"{prefix}:tracklets"
        self.events = f"{prefix}:events"
        self.audit = f"{prefix}:audit"

    def live(self, camera_id: str) -> str:
        return f"{self.prefix}:live:{camera_id}"

    def camera_runs(self, camera_id: str) -> str:
        return f"{self.prefix}:camera_runs:{camera_id}"

    def identity(self, global_id: int | str) -> str:
        return f"{self.prefix}:identity:{global_id}"

    def camera_identities(self, camera_id: str) -> str:
        return f"{self.prefix}:camera_identities:{camera_id}"

    def absorbed(self, global_id: int) -> str:
        return f"{self.prefix}:absorbed:{global_id}"

    def tracklet(self, tracklet_id: str) -> str:
        return f"{self.prefix}:tracklet:{tracklet_id}"
