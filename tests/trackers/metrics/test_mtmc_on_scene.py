"""The joint MTMC scorer against TrackEval's Identity metric on a perturbed prediction of a synthetic scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trackers.metrics import MTMCBoxes, read_mtmc, score_mtmc, trackeval_identity


def perturb(gt: MTMCBoxes, seed: int) -> MTMCBoxes:
    """IDs swapped across cameras, boxes jittered, tracks cut in two, boxes dropped, false positives added."""
    rng = np.random.default_rng(seed)
    cam, obj, frame = gt.camera_id.copy(), gt.obj_id.copy(), gt.frame_id.copy()
    xywh = gt.xywh.copy()
    ids = np.unique(obj)
    # 1. In camera 2, a third of the identities take another vehicle's id (a cross-camera swap).
    swapped = rng.choice(ids, size=max(2, len(ids) // 3), replace=False)
    mapping = dict(zip(swapped, np.roll(swapped, 1), strict=True))
    in_cam2 = cam == 2
    obj[in_cam2] = [mapping.get(o, o) for o in obj[in_cam2]]
    # 2. Some tracks are cut: their second half gets a fresh id.
    for o in rng.choice(ids, size=max(1, len(ids) // 4), replace=False):
        rows = np.flatnonzero((gt.obj_id == o) & (cam == 1))
        if len(rows) > 4:
            obj[rows[len(rows) // 2 :]] = 10_000 + o
    # 3. Jitter of a few pixels: some matches fall below IoU 0.5 on small boxes.
    xywh[:, :2] += rng.normal(0, 2.0, size=(len(xywh), 2))
    xywh[:, 2:] *= rng.uniform(0.85, 1.15, size=(len(xywh), 2))
    # 4. Drop 10 % of boxes; 5. add false positives.
    keep = rng.random(len(obj)) > 0.1
    n_fp = len(obj) // 20
    fp_cam = rng.choice(np.unique(cam), size=n_fp)
    fp = np.column_stack([rng.uniform(0, 500, n_fp), rng.uniform(0, 300, n_fp), np.full((n_fp, 2), 30.0)])

    def kept_plus(column: np.ndarray, extra: np.ndarray) -> np.ndarray:
        return np.concatenate([column[keep], extra])

    return MTMCBoxes(
        kept_plus(cam, fp_cam),
        kept_plus(obj, 20_000 + np.arange(n_fp)),
        kept_plus(frame, rng.integers(1, frame.max() + 1, n_fp)),
        kept_plus(xywh, fp),
        -np.ones((int(keep.sum()) + n_fp, 2)),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_agrees_with_trackeval_identity_on_a_synthetic_scene(smoke_scene: Path, seed: int) -> None:
    gt = read_mtmc(smoke_scene / "gt" / "gt_all.txt", ground_truth=True)
    pred = perturb(gt, seed)
    ours = score_mtmc(gt, pred)
    ref = trackeval_identity(gt, pred)
    assert 0.3 < ours.idf1 < 0.95  # a non-trivial case
    assert ours.idf1 == pytest.approx(ref.idf1, abs=1e-6)
    assert ours.idp == pytest.approx(ref.idp, abs=1e-6)
    assert ours.idr == pytest.approx(ref.idr, abs=1e-6)
    assert (ours.idtp, ours.idfp, ours.idfn) == (ref.idtp, ref.idfp, ref.idfn)


def test_scene_ground_truth_scores_perfectly_against_itself(smoke_scene: Path) -> None:
    gt = read_mtmc(smoke_scene / "gt" / "gt.txt", ground_truth=True)
    score = score_mtmc(gt, read_mtmc(smoke_scene / "gt" / "gt.txt", ground_truth=False))
    assert score.idf1 == 1.0 and score.mota == 1.0 and score.num_switches == 0
