"""Joint multi-camera (AI City) scoring: hand-derived cases and agreement with TrackEval's Identity."""

import numpy as np
import pytest

from trackers.metrics.formats import MTMCBoxes
from trackers.metrics.mtmc import joint_sequence, score_mtmc, trackeval_identity


def boxes(rows: list[tuple[int, int, int, float, float, float, float]]) -> MTMCBoxes:
    """MTMCBoxes from (camera, obj, frame, x, y, w, h) rows."""
    if not rows:
        return MTMCBoxes.empty()
    table = np.asarray(rows, dtype=np.float64)
    return MTMCBoxes(table[:, 0], table[:, 1], table[:, 2], table[:, 3:7], -np.ones((len(rows), 2)))


def track(camera: int, obj: int, frames: range, x: float = 100.0) -> list[tuple]:
    """A box moving right by 2 px per frame: 40 x 30 px, so successive boxes overlap."""
    return [(camera, obj, f, x + 2 * f, 50.0, 40.0, 30.0) for f in frames]


# Ground truth: vehicle 1 seen by camera 1 (frames 1-4) then by camera 2 (frames 1-4): 8 boxes, 1 identity.
GT = boxes(track(1, 1, range(1, 5)) + track(2, 1, range(1, 5)))


def test_perfect_prediction():
    score = score_mtmc(GT, GT)
    assert score.idf1 == 1.0 and score.idp == 1.0 and score.idr == 1.0
    assert score.mota == 1.0
    assert score.motp == pytest.approx(1.0)  # mean IoU of matches
    assert (score.idtp, score.idfp, score.idfn, score.num_switches) == (8, 0, 0, 0)
    assert (score.num_gt_boxes, score.num_pred_boxes, score.num_gt_ids, score.num_pred_ids) == (8, 8, 1, 1)


def test_identity_split_across_cameras():
    # The tracker calls vehicle 1 "10" in camera 1 and "20" in camera 2 (boxes exact).
    # IDF1's one-to-one assignment maps gt 1 -> 10: IDTP = 4 (camera 1), IDFN = 4 (camera 2 boxes of gt 1
    # not covered by 10), IDFP = 4 (all boxes of 20). IDF1 = 2*4 / (2*4 + 4 + 4) = 0.5, IDP = IDR = 4/8.
    # MOTA: every box matched, one identity switch at the camera boundary: 1 - 1/8 = 0.875.
    pred = boxes(track(1, 10, range(1, 5)) + track(2, 20, range(1, 5)))
    score = score_mtmc(GT, pred)
    assert (score.idtp, score.idfp, score.idfn) == (4, 4, 4)
    assert score.idf1 == pytest.approx(0.5)
    assert score.idp == pytest.approx(0.5) and score.idr == pytest.approx(0.5)
    assert score.num_switches == 1
    assert score.mota == pytest.approx(0.875)
    assert score.num_pred_ids == 2


def test_extra_false_positive_track():
    # A perfect prediction plus a 2-box track (id 99) far from any vehicle in camera 1.
    # IDTP = 8, IDFP = 2, IDFN = 0: IDF1 = 16 / (16 + 2) = 8/9, IDP = 8/10, IDR = 1.
    # MOTA = 1 - 2 FP / 8 gt boxes = 0.75; precision = 8/10.
    pred = boxes(track(1, 1, range(1, 5)) + track(2, 1, range(1, 5)) + track(1, 99, range(1, 3), x=600.0))
    score = score_mtmc(GT, pred)
    assert (score.idtp, score.idfp, score.idfn) == (8, 2, 0)
    assert score.idf1 == pytest.approx(8 / 9)
    assert score.idp == pytest.approx(0.8) and score.idr == 1.0
    assert score.mota == pytest.approx(0.75)
    assert score.precision == pytest.approx(0.8)


def test_empty_prediction_scores_zero():
    # No prediction: every gt box is an IDFN and a miss. IDF1 = 0, recall = 0, MOTA = 1 - 8/8 = 0.
    score = score_mtmc(GT, MTMCBoxes.empty())
    assert score.idf1 == 0.0 and score.idr == 0.0 and score.recall == 0.0
    assert score.mota == 0.0
    assert (score.idtp, score.idfp, score.idfn, score.num_pred_boxes) == (0, 0, 8, 0)
    cross_check = trackeval_identity(GT, MTMCBoxes.empty())
    assert (cross_check.idf1, cross_check.idfn) == (0.0, 8)


def test_predictions_for_a_camera_without_ground_truth_are_false_positives():
    # Camera 3 has no gt; its 3 boxes sit in the joint sequence and can only be false positives.
    # IDTP = 8, IDFP = 3: IDF1 = 16 / 19.
    pred = boxes(track(1, 1, range(1, 5)) + track(2, 1, range(1, 5)) + track(3, 1, range(1, 4)))
    score = score_mtmc(GT, pred)
    assert (score.idtp, score.idfp, score.idfn) == (8, 3, 0)
    assert score.idf1 == pytest.approx(16 / 19)


def test_a_box_in_the_wrong_camera_never_matches():
    # Same pixels, same frame number, different camera: the offsets keep them in different joint frames.
    gt = boxes([(1, 1, 1, 10, 10, 50, 50)])
    pred = boxes([(2, 1, 1, 10, 10, 50, 50)])
    score = score_mtmc(gt, pred)
    assert (score.idtp, score.idfp, score.idfn) == (0, 1, 1)


def test_camera_offset_uses_the_last_frame_of_gt_and_prediction():
    # Camera 1: gt up to frame 2, prediction up to frame 5 (an FP track, id 7, at frames 3-4 with box B).
    # Camera 2: gt vehicle 2 with box B at frames 1-2. Offset of camera 2 = max(2, 5) = 5, so its frames
    # become 6-7 and never meet the camera-1 FP at 3-4. (An offset from gt alone, 2, would put them on
    # frames 3-4 and wrongly match them.) IDTP = 2 (vehicle 1), IDFP = 2 + 1, IDFN = 2.
    box_b = (300.0, 300.0, 40.0, 40.0)
    gt = boxes([(1, 1, 1, 10, 10, 40, 40), (1, 1, 2, 10, 10, 40, 40), (2, 2, 1, *box_b), (2, 2, 2, *box_b)])
    vehicle_1 = [(1, 1, 1, 10, 10, 40, 40), (1, 1, 2, 10, 10, 40, 40)]
    pred = boxes([*vehicle_1, (1, 7, 3, *box_b), (1, 7, 4, *box_b), (1, 8, 5, 600, 600, 10, 10)])
    joint_gt, joint_pred = joint_sequence(gt, pred)
    np.testing.assert_array_equal(joint_gt.frame_id, [1, 2, 6, 7])
    np.testing.assert_array_equal(joint_pred.frame_id, [1, 2, 3, 4, 5])
    score = score_mtmc(gt, pred)
    assert (score.idtp, score.idfp, score.idfn) == (2, 3, 2)


# --------------------------------------------------------------------------------------------------
# Agreement with TrackEval on a perturbed synthetic scene
# --------------------------------------------------------------------------------------------------

N_CAMERAS, N_FRAMES, N_VEHICLES = 3, 200, 30


def synthetic_ground_truth(rng: np.random.Generator) -> MTMCBoxes:
    """Vehicles crossing 1-3 cameras: in each camera a straight pass of 20-80 frames, boxes 40-90 px."""
    rows = []
    for vehicle in range(1, N_VEHICLES + 1):
        cameras = rng.choice(np.arange(1, N_CAMERAS + 1), size=rng.integers(1, N_CAMERAS + 1), replace=False)
        for camera in cameras:
            length = int(rng.integers(20, 81))
            start = int(rng.integers(1, N_FRAMES - length + 2))
            t = np.arange(length)
            size = rng.uniform(40, 90, size=2)
            origin = rng.uniform(0, 1200, size=2)
            velocity = rng.uniform(-6, 6, size=2)
            xy = origin + velocity * t[:, None]
            for k in range(length):
                rows.append((camera, vehicle, start + k, xy[k, 0], xy[k, 1], size[0], size[1]))
    return boxes(rows)


def perturb(gt: MTMCBoxes, rng: np.random.Generator) -> MTMCBoxes:
    """A plausible tracker output: per-camera ids (some vehicles split across cameras, some pairs swapped),
    tracks cut in the middle, jittered boxes, dropped boxes, false-positive tracks."""
    camera, obj, frame, xywh = gt.camera_id.copy(), gt.obj_id.copy(), gt.frame_id.copy(), gt.xywh.copy()
    # Cross-camera identity errors: a third of the vehicles get a new id in each camera after the first.
    for vehicle in rng.choice(np.unique(obj), size=N_VEHICLES // 3, replace=False):
        for c in np.unique(camera[obj == vehicle])[1:]:
            obj[(obj == vehicle) & (camera == c)] = 1000 + 10 * vehicle + c
    # Swap the ids of two vehicles in camera 1 (where both are present).
    a, b = rng.choice(np.unique(obj[camera == 1]), size=2, replace=False)
    in_cam = camera == 1
    is_a, is_b = in_cam & (obj == a), in_cam & (obj == b)
    obj[is_a], obj[is_b] = b, a
    # Tracks cut in the middle: the second half gets a fresh id.
    for n, (c, o) in enumerate({(int(c), int(o)) for c, o in zip(camera, obj, strict=True)}):
        if rng.random() < 0.3:
            rows = np.flatnonzero((camera == c) & (obj == o))
            middle = np.median(frame[rows])
            obj[rows[frame[rows] > middle]] = 5000 + n
    # Jitter: positional noise of a few pixels (some IoUs fall under 0.5), sizes scaled by up to 15 %.
    xywh[:, :2] += rng.normal(0, 4.0, size=(len(xywh), 2))
    xywh[:, 2:] *= rng.uniform(0.85, 1.15, size=(len(xywh), 2))
    keep = rng.random(len(xywh)) > 0.1  # drop 10 % of the boxes
    # False positives: 8 short tracks in random cameras.
    fp = []
    for k in range(8):
        length, start = int(rng.integers(5, 30)), int(rng.integers(1, N_FRAMES - 30))
        c, xy = int(rng.integers(1, N_CAMERAS + 1)), rng.uniform(0, 1200, size=2)
        fp += [(c, 9000 + k, start + t, xy[0] + 3 * t, xy[1], 50.0, 40.0) for t in range(length)]
    fp_table = np.asarray(fp)
    return MTMCBoxes(
        camera_id=np.concatenate([camera[keep], fp_table[:, 0]]),
        obj_id=np.concatenate([obj[keep], fp_table[:, 1]]),
        frame_id=np.concatenate([frame[keep], fp_table[:, 2]]),
        xywh=np.concatenate([xywh[keep], fp_table[:, 3:7]]),
        world_xy=-np.ones((int(keep.sum()) + len(fp), 2)),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_motmetrics_joint_idf1_agrees_with_trackeval_identity(seed, capsys):
    rng = np.random.default_rng(seed)
    gt = synthetic_ground_truth(rng)
    pred = perturb(gt, rng)
    # The scene must exercise what the test is about: multi-camera vehicles and an imperfect prediction.
    cameras_per_vehicle = [len(np.unique(gt.camera_id[gt.obj_id == v])) for v in np.unique(gt.obj_id)]
    assert max(cameras_per_vehicle) >= 2
    score = score_mtmc(gt, pred)
    reference = trackeval_identity(gt, pred)
    assert 0.3 < score.idf1 < 0.95
    assert (score.idtp, score.idfp, score.idfn) == (reference.idtp, reference.idfp, reference.idfn)
    assert score.idf1 == pytest.approx(reference.idf1, abs=1e-6)
    assert score.idp == pytest.approx(reference.idp, abs=1e-6)
    assert score.idr == pytest.approx(reference.idr, abs=1e-6)
    assert capsys.readouterr().out == ""  # TrackEval's config printing is switched off
