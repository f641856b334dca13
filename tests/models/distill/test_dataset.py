"""The student's training set: YOLO label lines, class mapping, town mixing, repeats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from models.distill.config import load_distill_config
from models.distill.dataset import DatasetError, DatasetWriter, add_town, town_class_map, yolo_lines

TOWN = load_distill_config().town


def test_label_lines_are_normalised_centres_and_sizes_clipped_to_the_image() -> None:
    lines = yolo_lines(np.array([[0, 0, 50, 25], [-10, 90, 110, 110]]), np.array([0, 3]), 100, 100)
    assert lines == ["0 0.250000 0.125000 0.500000 0.250000", "3 0.500000 0.950000 1.000000 0.100000"]


def test_a_one_class_student_takes_every_type_and_a_typed_one_only_its_own(tmp_path: Path) -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    box, labels = np.array([[0, 0, 20, 10], [10, 10, 30, 20]]), np.array(["car", "bicycle"])
    one = DatasetWriter(tmp_path / "one", ["vehicle"])
    one.save_image("train", "a", image)
    one.save_labels("real", "train", "a", box, labels, (200, 100))
    assert len((tmp_path / "one/labels/train/a.txt").read_text().splitlines()) == 2
    typed = DatasetWriter(tmp_path / "typed", ["car", "truck"])
    typed.save_image("train", "a", image)
    typed.save_labels("real", "train", "a", box, labels, (200, 100))
    assert (tmp_path / "typed/labels/train/a.txt").read_text().startswith("0 ")
    assert typed.boxes["real/train"] == 1


def test_repeats_are_links_with_the_same_labels(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, ["vehicle"])
    writer.save_image("train", "rare", np.zeros((10, 10, 3), np.uint8))
    writer.save_labels("real", "train", "rare", np.array([[1, 1, 5, 5]]), np.array(["motorcycle"]), (10, 10))
    writer.repeat("real", "train", "rare", 2)
    assert (tmp_path / "images/train/rare_r2.jpg").resolve() == (tmp_path / "images/train/rare.jpg").resolve()
    assert (tmp_path / "labels/train/rare_r1.txt").read_text() == (
        tmp_path / "labels/train/rare.txt"
    ).read_text()
    assert writer.images["real/train"] == 3


def test_town_frames_are_linked_with_their_types_mapped(tmp_path: Path, smoke_scene: Path) -> None:
    writer = DatasetWriter(tmp_path / "set", ["vehicle"])
    add_town(writer, [smoke_scene], "train", TOWN, limit=5)
    assert writer.images["town/train"] == 5 and all(
        p.is_symlink() for p in (tmp_path / "set/images/train").iterdir()
    )
    add_town(writer, [smoke_scene], "val", TOWN)
    data = yaml.safe_load(writer.write_yaml().read_text())
    assert data["names"] == {0: "vehicle"} and data["val"] == "images/val"


def test_a_town_class_without_a_mapping_is_one_clear_error(tmp_path: Path, smoke_scene: Path) -> None:
    narrow = TOWN.model_copy(update={"type_map": {"sedan": "vehicle"}})
    with pytest.raises(DatasetError, match=r"include \['vehicle'\], which town.type_map does not map"):
        town_class_map(smoke_scene, narrow, ["vehicle"])
    with pytest.raises(DatasetError, match="holds no detector set"):
        town_class_map(tmp_path, TOWN, ["vehicle"])


def test_an_empty_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"the train split .* is empty"):
        DatasetWriter(tmp_path, ["vehicle"]).write_yaml()
