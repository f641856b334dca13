"""Offline refinement of a finished recording: merge online identities that belong together.

Online association must decide when a tracklet arrives and never looks back; afterwards every tracklet is
known, and the camera statistics are final. The refinement is constrained agglomerative clustering with
average linkage: starting from the online identities, it repeatedly merges the two clusters whose tracklets are
most similar on average (cosine of camera-centred embeddings), as long as that similarity reaches
``similarity_threshold`` and the merged cluster stays physically possible (``Associator.fits``: no camera sees
two of its tracklets at once, simultaneous sightings agree on the ground, hand-offs fit the topology and the
vehicle's motion). A merge that is ruled out is never tried again.
"""

from __future__ import annotations

import numpy as np

from trackers.association import Associator, Key, RefineConfig
from trackers.types import Tracklet


def _compatible(associator: Associator, a: list[Tracklet], b: list[Tracklet]) -> bool:
    """Whether the union of two clusters could be one vehicle (each member of b checked against all of a)."""
    return all(associator.fits(a, t)[0] for t in b)


def refine_identities(associator: Associator, config: RefineConfig) -> dict[Key, int]:
    """(camera_id, local_track_id) -> global id after refinement; a merged identity keeps its oldest id."""
    gids = sorted(associator.members)
    clusters: list[list[Key]] = [list(associator.members[g]) for g in gids]
    if len(clusters) < 2:
        return dict(associator.gid_of)

    # One centred, re-normalised embedding per tracklet, with the final camera means.
    # Each tracklet weighs by its good observations, up to ``weight_cap``: a fragment of a few frames has a
    # noisy embedding and should not pull a merge as hard as a vehicle followed for seconds.
    def weight(key: Key) -> float:
        return float(min(associator.tracklets[key].n_obs, config.weight_cap))

    sums = np.stack(
        [
            sum(weight(k) * associator.centred(associator.tracklets[k].embedding, k[0]) for k in keys)
            for keys in clusters
        ]
    ).astype(np.float64)  # (C, D)
    # Weighted sum of all pairwise similarities between two clusters = dot product of their weighted sums.
    linkage = sums @ sums.T
    sizes = np.array([sum(weight(k) for k in keys) for keys in clusters], dtype=np.float64)
    blocked = np.eye(len(clusters), dtype=bool)
    alive = np.ones(len(clusters), dtype=bool)
    while True:
        average = linkage / np.outer(sizes, sizes)
        average[blocked | ~alive[:, None] | ~alive[None, :]] = -np.inf
        i, j = np.unravel_index(int(np.argmax(average)), average.shape)
        if average[i, j] < config.similarity_threshold:
            break
        members_i = [associator.tracklets[k] for k in clusters[i]]
        members_j = [associator.tracklets[k] for k in clusters[j]]
        if not _compatible(associator, members_i, members_j):
            blocked[i, j] = blocked[j, i] = True
            continue
        keep, drop = (i, j) if gids[i] < gids[j] else (j, i)
        clusters[keep] += clusters[drop]
        linkage[keep, :] += linkage[drop, :]
        linkage[:, keep] += linkage[:, drop]
        sizes[keep] += sizes[drop]
        # a pair ruled out for either part stays ruled out for the union
        blocked[keep, :] |= blocked[drop, :]
        blocked[:, keep] |= blocked[:, drop]
        blocked[keep, keep] = True
        alive[drop] = False
    return {key: gids[c] for c in np.flatnonzero(alive) for key in clusters[c]}
