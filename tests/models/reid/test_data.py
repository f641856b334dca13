"""Re-ID data layer: VeRi names, the split loader on a real synthetic export, image and mask banks, errors."""

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from export.preprocess import preprocess_crops
from models.reid.augment import normalise
from models.reid.data import (
    DatasetError,
    ReidRecord,
    load_image_bank,
    load_mask_bank,
    load_veri,
    mask_path_for,
    parse_name,
    unlabeled,
)

SIZE_HW = (32, 16)


@pytest.fixture(scope="module")
def reid_dir(smoke_scene: Path) -> Path:
    return smoke_scene / "reid"


def write_crop(path: Path, seed: int = 0, size_hw: tuple[int, int] = (20, 12)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 256, size=(*size_hw, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)
    return path


def tiny_set(root: Path) -> Path:
    """A minimal VeRi-layout folder: two train crops, one query, two gallery crops."""
    write_crop(root / "image_train" / "0001_c001_000001.jpg", 0)
    write_crop(root / "image_train" / "0002_c002_000003.jpg", 1)
    write_crop(root / "image_query" / "0003_c001_000005.jpg", 2)
    write_crop(root / "image_test" / "0003_c002_000009.jpg", 3)
    write_crop(root / "image_test" / "0003_c001_000005.jpg", 2)
    return root


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0001_c001_000016.jpg", (1, 1, 16)),
        ("0776_c020_00016450_0.jpg", (776, 20, 16450)),  # real VeRi-776: trailing field ignored
        ("0012_c003_000100.png", (12, 3, 100)),
        ("0012_c003_000100.JPEG", (12, 3, 100)),
    ],
)
def test_parse_name(name, expected):
    assert parse_name(name) == expected


@pytest.mark.parametrize("name", ["car.jpg", "0001_001_000016.jpg", "0001_c001.jpg", "0001_c001_000016.txt"])
def test_parse_name_rejects_others(name):
    with pytest.raises(DatasetError, match=rf"{name}: not a Re-ID crop name; expected"):
        parse_name(name)


def read_index(reid_dir: Path) -> dict[str, set[tuple[str, int, int, int]]]:
    by_split: dict[str, set] = {"train": set(), "test": set(), "query": set()}
    with (reid_dir / "index.csv").open() as fh:
        for row in csv.DictReader(fh):
            by_split[row["split"]].add(
                (row["name"], int(row["vehicle_id"]), int(row["camera_id"]), int(row["frame"]))
            )
    return by_split


def as_rows(records: tuple[ReidRecord, ...]) -> set[tuple[str, int, int, int]]:
    return {(r.path.name, r.vehicle_id, r.camera_id, r.frame) for r in records}


def test_load_veri_on_synthetic_export(reid_dir):
    data = load_veri(reid_dir)
    index = read_index(reid_dir)
    assert as_rows(data.train) == index["train"]
    assert as_rows(data.gallery) == index["test"]
    assert as_rows(data.query) == index["query"]
    for split, folder in (
        (data.train, "image_train"),
        (data.query, "image_query"),
        (data.gallery, "image_test"),
    ):
        assert [r.path.name for r in split] == sorted(r.path.name for r in split)
        assert all(r.path.parent == reid_dir / folder and r.path.is_file() for r in split)
    # Identity-disjoint train / test split; queries are copies of gallery crops.
    assert not {r.vehicle_id for r in data.train} & {r.vehicle_id for r in data.gallery}
    assert {r.path.name for r in data.query} <= {r.path.name for r in data.gallery}


def test_unlabeled_keeps_cameras_only(reid_dir):
    data = load_veri(reid_dir)
    images = unlabeled(data.train)
    assert images.paths == tuple(r.path for r in data.train)
    assert images.camera_ids.dtype == np.int64
    np.testing.assert_array_equal(images.camera_ids, [r.camera_id for r in data.train])
    assert not hasattr(images, "vehicle_ids") and len(images) == len(data.train)
    with pytest.raises(ValueError):
        images.camera_ids[0] = 99  # read-only: the trainer cannot relabel the data set in place


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere: Re-ID data folder not found"):
        load_veri(tmp_path / "nowhere")


def test_missing_eval_folder(tmp_path):
    root = tiny_set(tmp_path / "reid")
    for path in (root / "image_query").iterdir():
        path.unlink()
    (root / "image_query").rmdir()
    with pytest.raises(DatasetError, match=r"image_query: folder missing"):
        load_veri(root)
    train_only = load_veri(root, require_eval=False)
    assert len(train_only.train) == 2 and train_only.query == ()
    assert len(train_only.gallery) == 2


def test_missing_train_folder_is_always_an_error(tmp_path):
    root = tmp_path / "reid"
    write_crop(root / "image_test" / "0003_c002_000009.jpg")
    with pytest.raises(DatasetError, match=r"image_train: folder missing"):
        load_veri(root, require_eval=False)


def test_empty_folder(tmp_path):
    root = tiny_set(tmp_path / "reid")
    for path in (root / "image_test").iterdir():
        path.unlink()
    (root / "image_test" / "notes.txt").write_text("not an image")  # other files are ignored
    with pytest.raises(DatasetError, match=r"image_test: no \.jpg/\.jpeg/\.png images"):
        load_veri(root)


def test_bad_name_names_the_file(tmp_path):
    root = tiny_set(tmp_path / "reid")
    write_crop(root / "image_train" / "truck_7.jpg")
    with pytest.raises(DatasetError, match=r"image_train/truck_7\.jpg: not a Re-ID crop name; expected"):
        load_veri(root)


def test_image_bank_matches_runtime_preprocessing(reid_dir):
    paths = [r.path for r in load_veri(reid_dir).gallery]
    bank = load_image_bank(paths, SIZE_HW)
    assert bank.shape == (len(paths), 3, *SIZE_HW) and bank.dtype == torch.uint8
    # Training evaluation on the bank and the runtime backends on raw crops see the same input.
    runtime = preprocess_crops([cv2.imread(str(p)) for p in paths], SIZE_HW)
    np.testing.assert_allclose(normalise(bank).numpy(), runtime, atol=1e-6)


def test_image_bank_is_rgb(tmp_path):
    red_bgr = np.zeros((10, 10, 3), dtype=np.uint8)
    red_bgr[..., 2] = 255
    path = tmp_path / "image_train" / "0001_c001_000001.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), red_bgr)
    bank = load_image_bank([path], (4, 4), progress=True)
    assert (bank[0, 0] == 255).all() and (bank[0, 1:] == 0).all()


def test_empty_image_bank():
    assert load_image_bank([], SIZE_HW).shape == (0, 3, *SIZE_HW)


def test_corrupt_jpeg_is_named(tmp_path):
    good = write_crop(tmp_path / "image_train" / "0001_c001_000001.jpg")
    bad = tmp_path / "image_train" / "0001_c001_000002.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg \xff\xd9")
    with pytest.raises(DatasetError, match=r"0001_c001_000002\.jpg: not a readable image"):
        load_image_bank([good, bad], SIZE_HW)


def test_truncated_jpeg_is_named(tmp_path):
    # OpenCV would decode the first part and fill the rest with grey, with only a warning.
    good = write_crop(tmp_path / "image_train" / "0001_c001_000001.jpg", size_hw=(64, 64))
    cut = tmp_path / "image_train" / "0001_c001_000002.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"0001_c001_000002\.jpg: truncated or corrupt JPEG"):
        load_image_bank([good, cut], SIZE_HW)


def test_missing_or_empty_image_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"gone\.jpg: cannot read"):
        load_image_bank([tmp_path / "gone.jpg"], SIZE_HW)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"empty\.jpg: empty image file"):
        load_image_bank([tmp_path / "empty.jpg"], SIZE_HW)


def test_mask_path_for():
    image = Path("/data/reid/image_query/0005_c001_000021.jpg")
    assert mask_path_for(image) == Path("/data/reid/mask_query/0005_c001_000021.png")
    with pytest.raises(DatasetError, match=r"elsewhere/"):
        mask_path_for(Path("/data/elsewhere/0005_c001_000021.jpg"))


def test_mask_bank_on_synthetic_export(reid_dir):
    records = load_veri(reid_dir).train
    masks = load_mask_bank([mask_path_for(r.path) for r in records], SIZE_HW)
    assert masks.shape == (len(records), *SIZE_HW) and masks.dtype == torch.bool
    for record, mask in zip(records, masks, strict=True):
        full = cv2.imread(str(mask_path_for(record.path)), cv2.IMREAD_GRAYSCALE) > 0
        # Area-averaged resizing keeps the vehicle's share of the crop within a few percent.
        assert abs(mask.float().mean().item() - full.mean()) < 0.05


def test_mask_bank_resizes_by_area(tmp_path):
    # A 4x4 mask whose left 3 columns are vehicle, resized to 1x2: left half 100 %, right half 50 %
    # vehicle; only fractions above one half count, so the right half is background.
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[:, :3] = 255
    path = tmp_path / "mask_train" / "0001_c001_000001.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), mask)
    assert load_mask_bank([path], (1, 2))[0].tolist() == [[True, False]]


def test_missing_mask_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"0001_c001_000001\.png: cannot read this mask"):
        load_mask_bank([tmp_path / "mask_train" / "0001_c001_000001.png"], SIZE_HW)
