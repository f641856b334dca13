"""Online cross-camera association: each new tracklet joins an existing global identity or starts a new one.

DESIGN.md step 6. The tracklet's embedding is searched in the FAISS gallery of identity prototypes; the most
similar candidate that passes every gate wins if its cosine similarity reaches ``similarity_threshold``:

- same camera, same time: one camera's two simultaneous tracks are two vehicles;
- overlapping time in two cameras: allowed only when their ground positions agree (both cameras see the
  same place), or, without positions, when the learned topology says the pair overlaps;
- transit: the gap from the identity's previous sighting must fit the camera pair's window (``topology``),
  and the ground distance covered in it must not need more than ``max_speed_mps``.

Decisions are never revised (that is the offline refinement's job, ``trackers/refine.py``): a later emission of
the same track keeps its identity and only refreshes the prototype. Each camera's mean embedding is subtracted
before comparing (``camera_centre``): a camera's colour cast and viewpoint otherwise outweigh the vehicle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from trackers.atomic import atomic_write
from trackers.config import ComponentConfig
from trackers.gallery import Gallery, GalleryConfig
from trackers.kinematics import (
    edge_motion,
    ground_distance_during_overlap,
    intervals_overlap,
)
from trackers.topology import CameraTopology, TopologyConfig
from trackers.types import GlobalIdentity, Tracklet

Key = tuple[str, int]


class RefineConfig(BaseModel):
    """The ``refine`` block of ``trackers/configs/association.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    similarity_threshold: float = Field(ge=-1, le=1, description="Least average cosine for a merge.")
    weight_cap: int = Field(ge=1, description="Observations beyond which a tracklet weighs no more.")


class AssociationConfig(ComponentConfig):
    """Matcher settings (``trackers/configs/association.yaml`` explains each key)."""

    default_file: ClassVar[str] = "association.yaml"

    similarity_threshold: float = Field(
        ge=-1, le=1, description="Least cosine similarity to join an identity."
    )
    similarity_floor: float = Field(ge=-1, le=1, description="Least cosine for a clear winner to join.")
    clear_margin: float = Field(ge=0, le=2, description="Lead over the runner-up that makes a clear winner.")
    confident_similarity: float = Field(ge=-1, le=1, description="Matches this similar teach the topology.")
    search_k: int = Field(ge=1, description="Gallery candidates examined per tracklet.")
    score: Literal["prototype", "best_member"] = Field(
        description="Compare with the prototype or best member."
    )
    camera_centre: bool = Field(description="Subtract each camera's mean embedding before comparing.")
    camera_centre_min_tracklets: int = Field(ge=1, description="Tracklets a camera needs before centring.")
    position_match_m: float = Field(gt=0, description="Ground distance (m) that matches by position alone.")
    position_conflict_m: float = Field(gt=0, description="Ground distance (m) that rules a match out.")
    overlap_min_observations: int = Field(ge=1, description="Shared instants needed to match by position.")
    continuation_max_gap_s: float = Field(ge=0, description="Longest gap (s) bridged by carrying motion on.")
    continuation_slack_mps: float = Field(ge=0, description="Extra distance allowed per second of gap (m/s).")
    max_speed_mps: float = Field(gt=0, description="Fastest plausible vehicle speed between sightings (m/s).")
    motion_min_distance_m: float = Field(ge=0, description="Hand-offs this far apart (m) get motion gates.")
    min_heading_cos: float = Field(ge=-1, le=1, description="Least cosine between heading and the gap.")
    max_speed_ratio: float = Field(gt=0, description="Gap speed at most this times the faster end speed.")
    topology: TopologyConfig
    refine: RefineConfig


class Associator:
    """Assigns global identities to tracklets, online. dim: embedding length D.

    ``add(tracklet) -> global_id``; ``identities()`` lists them; ``snapshot``/``restore`` keep the state
    (tracklets, identities, camera statistics, learned topology, gallery) across a restart. ``new_id``, when
    given, hands out new identity ids (the service's store: ids that operators' splits also draw from, so
    none is handed out twice); by default the associator counts 1, 2, 3 ...
    """

    def __init__(
        self,
        dim: int,
        config: AssociationConfig | None = None,
        gallery_config: GalleryConfig | None = None,
        topology: CameraTopology | None = None,
        new_id: Callable[[], int] | None = None,
    ) -> None:
        self.config = config or AssociationConfig.from_yaml()
        self._new_id = new_id
        self.dim = dim
        self.gallery = Gallery(dim, gallery_config)
        self.topology = topology or CameraTopology(self.config.topology)
        self.tracklets: dict[Key, Tracklet] = {}
        self.gid_of: dict[Key, int] = {}
        self.members: dict[int, list[Key]] = {}
        self._camera_sum: dict[str, np.ndarray] = {}
        self._camera_n: dict[str, int] = {}
        self._next_id = 1

    # ---- public -------------------------------------------------------------------------------------

    def add(self, tracklet: Tracklet) -> int:
        """Assign ``tracklet`` (new, or a newer emission of a known track) to an identity; returns its id."""
        if tracklet.embedding.shape != (self.dim,):
            raise ValueError(
                f"tracklet embedding has {tracklet.embedding.shape[0]} dims, the gallery {self.dim}"
            )
        key = tracklet.key
        previous = self.tracklets.get(key)
        self._count_camera(tracklet, previous)
        self.tracklets[key] = tracklet
        if key in self.gid_of:
            gid = self.gid_of[key]
        else:
            gid = self._match(tracklet)
            self.gid_of[key] = gid
            self.members.setdefault(gid, []).append(key)
        self._refresh(gid)
        return gid

    def expire(self, now: float) -> list[GlobalIdentity]:
        """Forget identities unseen for the gallery's ``max_age_s`` (none when it is 0), tracklets and all, so a
        live associator's memory and matching time stay bounded; returns what was forgotten (for the store)."""
        before = {i.global_id: i for i in self.identities()}
        gone = [before[gid] for gid in self.gallery.expire(now)]
        for identity in gone:
            for key in self.members.pop(identity.global_id):
                del self.tracklets[key], self.gid_of[key]
        return gone

    def identities(self) -> list[GlobalIdentity]:
        out = []
        for gid, keys in sorted(self.members.items()):
            spans = [(self.tracklets[k].t_start, self.tracklets[k].t_end) for k in keys]
            out.append(
                GlobalIdentity(
                    gid,
                    tuple(keys),
                    self.gallery.prototype(gid),
                    min(s for s, _ in spans),
                    max(e for _, e in spans),
                )
            )
        return out

    def centred(self, embedding: np.ndarray, camera_id: str) -> np.ndarray:
        """(D,) unit embedding with its camera's mean removed (when enough of that camera is known)."""
        n = self._camera_n.get(camera_id, 0)
        if not self.config.camera_centre or n < self.config.camera_centre_min_tracklets:
            return embedding
        v = embedding - self._camera_sum[camera_id] / n
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm > 1e-9 else embedding

    def feasible(self, gid: int, tracklet: Tracklet) -> tuple[bool, list[tuple[str, str, float]]]:
        """Whether ``tracklet`` may belong to identity ``gid``; see ``fits``."""
        return self.fits([self.tracklets[k] for k in self.members[gid]], tracklet)

    def fits(self, members: list[Tracklet], tracklet: Tracklet) -> tuple[bool, list[tuple[str, str, float]]]:
        """Whether ``tracklet`` may be the vehicle the ``members`` saw, and the transits (source, target, s)
        it would teach the topology: one per overlapping member proven by ground positions, plus the
        hand-offs from the sighting before it and to the one after it."""
        transits = []
        for m in members:
            if not intervals_overlap(m, tracklet):
                continue
            if m.camera_id == tracklet.camera_id:
                return False, []
            first, second = (m, tracklet) if m.t_start <= tracklet.t_start else (tracklet, m)
            transit = second.t_start - first.t_end
            distance, _ = ground_distance_during_overlap(first, second)
            if np.isnan(distance):
                if not self.topology.allows(first.camera_id, second.camera_id, transit):
                    return False, []
            elif distance > self.config.position_conflict_m:
                return False, []
            transits.append((first.camera_id, second.camera_id, transit))
        # The hand-off into this tracklet comes from the sighting that ended last among those that began
        # before it; when that one still overlaps it, the overlap checks above covered the hand-off.
        hand_offs = []
        earlier = [m for m in members if m.t_start < tracklet.t_start]
        if earlier and (previous := max(earlier, key=lambda m: m.t_end)).t_end < tracklet.t_start:
            hand_offs.append((previous, tracklet))
        later = [m for m in members if m.t_end > tracklet.t_end]
        if later and (following := min(later, key=lambda m: m.t_start)).t_start > tracklet.t_end:
            hand_offs.append((tracklet, following))
        for first, second in hand_offs:
            transit = second.t_start - first.t_end
            if not self.topology.allows(
                first.camera_id, second.camera_id, transit
            ) or self._implausible_motion(first, second, transit):
                return False, []
            transits.append((first.camera_id, second.camera_id, transit))
        return True, transits

    # ---- matching -----------------------------------------------------------------------------------

    def _match(self, tracklet: Tracklet) -> int:
        by_position = self._match_by_position(tracklet)
        if by_position is not None:
            return by_position
        if len(self.gallery):
            query = self.centred(tracklet.embedding, tracklet.camera_id)
            candidates = self.gallery.search(query[None], k=self.config.search_k)[0]
            scored = sorted(
                ((self._score(c.global_id, query, c.score), c.global_id) for c in candidates), reverse=True
            )
            cfg = self.config
            # The two best candidates that pass the gates: the best wins when it is similar enough, or when
            # it is fairly similar and clearly ahead of the runner-up (the gates left no real competitor).
            feasible: list[tuple[float, int, list]] = []
            for score, gid in scored:
                if score < cfg.similarity_floor or len(feasible) == 2:
                    break
                ok, transits = self.feasible(gid, tracklet)
                if ok:
                    feasible.append((score, gid, transits))
            if feasible:
                score, gid, transits = feasible[0]
                runner_up = feasible[1][0] if len(feasible) > 1 else cfg.similarity_floor
                if score >= cfg.similarity_threshold or score - runner_up >= cfg.clear_margin:
                    if score >= cfg.confident_similarity:
                        for source, target, transit in transits:
                            self.topology.observe(source, target, transit)
                    return gid
        if self._new_id is not None:
            return self._new_id()
        gid = self._next_id
        self._next_id += 1
        return gid

    def _score(self, gid: int, query: np.ndarray, prototype_score: float) -> float:
        """How well ``query`` (D,) fits identity ``gid``: cosine to its prototype, or to its closest member
        (``score: best_member``: a vehicle seen from behind in one camera and in front in another has a
        prototype that is neither, while one of its sightings may match the new view well)."""
        if self.config.score == "prototype":
            return prototype_score
        members = np.stack([self.centred(self.tracklets[k].embedding, k[0]) for k in self.members[gid]])
        return float((members @ query).max())

    def _match_by_position(self, tracklet: Tracklet) -> int | None:
        """The identity whose vehicle stands where ``tracklet``'s does, if any (closest first).

        Two vehicles cannot stand on the same spot at once, so ground positions identify a vehicle whatever
        it looks like from each side: another camera seeing it at the same place at the same time (over
        ``overlap_min_observations`` shared instants), or a sighting that ended moments ago whose motion,
        carried on, arrives where ``tracklet`` begins (a track broken by an occlusion, or a vehicle crossing
        from one camera's view into a neighbouring one)."""
        if not np.isfinite(tracklet.world_xy).any():
            return None
        cfg = self.config
        arriving = edge_motion(tracklet, last=False)
        close = []
        for gid, keys in self.members.items():
            if self.gallery.last_seen(gid) < tracklet.t_start - cfg.continuation_max_gap_s:
                continue
            for key in keys:
                m = self.tracklets[key]
                if intervals_overlap(m, tracklet):
                    if m.camera_id == tracklet.camera_id:
                        continue
                    first, second = (m, tracklet) if m.t_start <= tracklet.t_start else (tracklet, m)
                    distance, shared = ground_distance_during_overlap(first, second)
                    if shared >= cfg.overlap_min_observations and distance <= cfg.position_match_m:
                        close.append((distance, gid))
                elif (
                    arriving is not None
                    and 0 < (gap := tracklet.t_start - m.t_end) <= cfg.continuation_max_gap_s
                ):
                    leaving = edge_motion(m, last=True)
                    if leaving is None:
                        continue
                    predicted = leaving.position + leaving.velocity * gap
                    distance = float(np.hypot(*(arriving.position - predicted)))
                    if distance <= cfg.position_match_m + cfg.continuation_slack_mps * gap:
                        close.append((distance, gid))
        for _, gid in sorted(close):
            ok, transits = self.feasible(gid, tracklet)
            if ok:
                for source, target, transit in transits:
                    self.topology.observe(source, target, transit)
                return gid
        return None

    def _implausible_motion(self, first: Tracklet, second: Tracklet, transit: float) -> bool:
        """True when the ground positions rule the hand-off out: too fast, or driving the wrong way."""
        leaving, arriving = edge_motion(first, last=True), edge_motion(second, last=False)
        if leaving is None or arriving is None:
            return False
        gap = arriving.position - leaving.position
        distance = float(np.hypot(*gap))
        cfg = self.config
        # the ground positions carry a few metres of error each: forgive that much distance
        covered = max(distance - cfg.position_conflict_m, 0.0)
        if covered > cfg.max_speed_mps * max(transit, 0.0):
            return True
        if distance < cfg.motion_min_distance_m:
            return False  # too close for a direction to mean anything (a track broken by an occlusion)
        # A vehicle that left A heading away from B, or reached B from the other side, did not drive A -> B;
        # nor did it cover the gap much faster than it drove at either end.
        heading = min(leaving.heading_cos(gap), arriving.heading_cos(gap))
        fastest = max(leaving.speed, arriving.speed)
        return heading < cfg.min_heading_cos or covered > (cfg.max_speed_ratio * fastest) * max(transit, 1e-3)

    def _count_camera(self, tracklet: Tracklet, previous: Tracklet | None) -> None:
        cam = tracklet.camera_id
        total = self._camera_sum.get(cam, np.zeros(self.dim, dtype=np.float64))
        if previous is not None:  # a newer emission of the same track replaces the older one's share
            total = total - previous.embedding
        else:
            self._camera_n[cam] = self._camera_n.get(cam, 0) + 1
        self._camera_sum[cam] = total + tracklet.embedding

    def _refresh(self, gid: int) -> None:
        members = [self.tracklets[k] for k in self.members[gid]]
        vectors = np.stack([self.centred(m.embedding, m.camera_id) for m in members])
        prototype = vectors.mean(axis=0)
        norm = float(np.linalg.norm(prototype))
        prototype = prototype / norm if norm > 1e-9 else vectors[-1]
        self.gallery.upsert(gid, prototype, seen_at=max(m.t_end for m in members))

    # ---- persistence --------------------------------------------------------------------------------

    def snapshot(self, folder: str | Path) -> Path:
        """Write the whole state to ``folder`` (gallery.npz, tracklets.npz, association.json); returns it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.gallery.snapshot(folder / "gallery.npz")
        keys = list(self.tracklets)
        arrays: dict[str, np.ndarray] = {}
        for i, key in enumerate(keys):
            t = self.tracklets[key]
            for name in ("embedding", "frames", "timestamps", "xyxy", "world_xy"):
                arrays[f"{i}.{name}"] = getattr(t, name)
        atomic_write(folder / "tracklets.npz", lambda fh: np.savez(fh, **arrays))
        state = {
            "dim": self.dim,
            "next_id": self._next_id,
            "tracklets": [[t.camera_id, t.local_track_id, t.n_obs, t.final] for t in self.tracklets.values()],
            "gid_of": [[c, i, g] for (c, i), g in self.gid_of.items()],
            "members": {str(g): [list(k) for k in keys_] for g, keys_ in self.members.items()},
            "camera_sum": {c: v.tolist() for c, v in self._camera_sum.items()},
            "camera_n": self._camera_n,
            "topology": self.topology.state(),
        }
        atomic_write(folder / "association.json", lambda fh: fh.write(json.dumps(state).encode()))
        return folder

    @classmethod
    def restore(
        cls,
        folder: str | Path,
        config: AssociationConfig | None = None,
        gallery_config: GalleryConfig | None = None,
        new_id: Callable[[], int] | None = None,
    ) -> Associator:
        folder = Path(folder)
        try:
            state = json.loads((folder / "association.json").read_text())
            arrays = np.load(folder / "tracklets.npz")
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"{folder}: not an association snapshot ({exc}); pass a folder written by Associator.snapshot"
            ) from None
        out = cls(int(state["dim"]), config, gallery_config, new_id=new_id)
        out.gallery = Gallery.restore(folder / "gallery.npz", out.gallery.config)
        for i, (cam, tid, n_obs, final) in enumerate(state["tracklets"]):
            fields = {
                n: arrays[f"{i}.{n}"] for n in ("embedding", "frames", "timestamps", "xyxy", "world_xy")
            }
            out.tracklets[(cam, int(tid))] = Tracklet(
                cam, int(tid), n_obs=int(n_obs), final=bool(final), **fields
            )
        out.gid_of = {(c, int(i)): int(g) for c, i, g in state["gid_of"]}
        out.members = {int(g): [(c, int(i)) for c, i in ks] for g, ks in state["members"].items()}
        out._camera_sum = {c: np.asarray(v, dtype=np.float64) for c, v in state["camera_sum"].items()}
        out._camera_n = {c: int(n) for c, n in state["camera_n"].items()}
        out._next_id = int(state["next_id"])
        out.topology.load_state(state["topology"])
        return out
