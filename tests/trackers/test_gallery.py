"""The FAISS gallery of global identities: search, updates, removal, expiry, snapshots, every index type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trackers.gallery import Gallery, GalleryConfig, GalleryError

DIM = 16


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _config(index: str, **changes: object) -> GalleryConfig:
    return GalleryConfig.from_yaml(index=index, **changes)


@pytest.mark.parametrize("index", ["flat", "ivf", "hnsw"])
def test_each_identity_finds_itself_and_updates_and_removals_are_exact(index: str):
    rng = np.random.default_rng(0)
    gallery = Gallery(DIM, _config(index, ivf_nlist=4, ivf_min_train=10, ivf_nprobe=4))
    vectors = _unit(rng, 60)
    for gid, v in enumerate(vectors, start=100):
        gallery.upsert(gid, v, seen_at=float(gid))
    top = gallery.search(vectors, k=3)
    assert [m[0].global_id for m in top] == list(range(100, 160))
    assert all(np.isclose(m[0].score, 1.0, atol=1e-5) for m in top)
    assert all(m[0].score >= m[1].score >= m[2].score for m in top)
    # Replace 105's prototype: it is found at its new place, and its old place no longer names it.
    new = _unit(rng, 1)[0]
    gallery.upsert(105, new, seen_at=500.0)
    assert gallery.search(new[None], k=1)[0][0].global_id == 105
    assert all(m.global_id != 105 for m in gallery.search(vectors[5][None], k=3)[0] if m.score > 0.99)
    gallery.remove(110)
    assert 110 not in gallery and len(gallery) == 59
    assert all(m.global_id != 110 for m in gallery.search(vectors[10][None], k=59)[0])
    assert len(gallery.search(vectors[:1], k=100)[0]) == 59  # never more than the gallery holds
    assert gallery.last_seen(105) == 500.0


def test_hnsw_rebuilds_after_many_replacements_and_keeps_one_entry_per_identity():
    rng = np.random.default_rng(1)
    gallery = Gallery(DIM, _config("hnsw"))
    for gid, v in enumerate(_unit(rng, 20)):
        gallery.upsert(gid, v, 0.0)
    gallery.search(_unit(rng, 1))
    for round_ in range(5):  # replace every prototype five times: stale rows pile up, then a rebuild
        for gid, v in enumerate(_unit(rng, 20)):
            gallery.upsert(gid, v, float(round_))
        found = gallery.search(gallery.prototype(3)[None], k=20)[0]
        assert sorted(m.global_id for m in found) == list(range(20))
        assert found[0].global_id == 3


def test_expiry_by_age_and_clear_errors():
    gallery = Gallery(DIM, _config("flat", max_age_s=10.0))
    rng = np.random.default_rng(2)
    for gid, seen in ((1, 0.0), (2, 5.0), (3, 12.0)):
        gallery.upsert(gid, _unit(rng, 1)[0], seen)
    assert gallery.expire(now=14.0) == [1]  # last seen 14 s ago; 2 and 3: 9 s and 2 s ago
    assert gallery.ids() == [2, 3]
    assert gallery.expire(now=15.5) == [2]
    with pytest.raises(GalleryError, match="identity 1 is not in the gallery"):
        gallery.remove(1)
    with pytest.raises(GalleryError, match="all zeros"):
        gallery.upsert(9, np.zeros(DIM), 0.0)
    with pytest.raises(GalleryError, match="NaN"):
        gallery.upsert(9, np.full(DIM, np.nan), 0.0)
    assert Gallery(DIM, _config("flat", max_age_s=0.0)).expire(1e9) == []


@pytest.mark.parametrize("index", ["flat", "hnsw"])
def test_snapshot_restore_round_trips_exactly(tmp_path: Path, index: str):
    rng = np.random.default_rng(3)
    gallery = Gallery(DIM, _config(index))
    for gid, v in enumerate(_unit(rng, 30), start=1):
        gallery.upsert(gid, v, seen_at=gid * 0.5)
    gallery.remove(7)
    path = gallery.snapshot(tmp_path / "gallery.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["gallery.npz"]  # no temporary file left behind
    back = Gallery.restore(path, _config(index))
    assert back.ids() == gallery.ids() and 7 not in back
    for gid in gallery.ids():
        assert np.array_equal(back.prototype(gid), gallery.prototype(gid))
        assert back.last_seen(gid) == gallery.last_seen(gid)
    queries = _unit(rng, 5)
    assert gallery.search(queries, 4) == back.search(queries, 4)


def test_bad_snapshots_are_named(tmp_path: Path):
    with pytest.raises(GalleryError, match="no gallery snapshot here"):
        Gallery.restore(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a snapshot")
    with pytest.raises(GalleryError, match=r"bad\.npz: not a readable gallery snapshot"):
        Gallery.restore(bad)


def test_ivf_searches_exactly_until_it_has_enough_vectors_to_train():
    rng = np.random.default_rng(4)
    gallery = Gallery(DIM, _config("ivf", ivf_nlist=4, ivf_min_train=10, ivf_nprobe=4))
    vectors = _unit(rng, 60)
    for gid, v in enumerate(vectors[:5]):
        gallery.upsert(gid, v, 0.0)
    assert [m[0].global_id for m in gallery.search(vectors[:5], 1)] == list(range(5))
    assert not gallery._trained_ivf  # 5 vectors cannot train 4 lists: exact search meanwhile
    for gid, v in enumerate(vectors[5:], start=5):
        gallery.upsert(gid, v, 0.0)
    assert [m[0].global_id for m in gallery.search(vectors, 1)] == list(range(60))
    assert gallery._trained_ivf


@pytest.mark.parametrize("index", ["flat", "hnsw"])
def test_bulk_load_after_search_then_update(index: str):
    rng = np.random.default_rng(5)
    gallery = Gallery(DIM, _config(index))
    vectors = _unit(rng, 10)
    gallery.load(np.arange(5), vectors[:5], np.zeros(5), np.zeros(5))
    gallery.search(vectors[:1], 1)  # the index now exists
    gallery.load(np.arange(5, 10), vectors[5:], np.zeros(5), np.zeros(5))
    gallery.upsert(2, vectors[9], seen_at=1.0)  # an id the old index held, before any new search
    top = gallery.search(vectors, 2)
    assert [row[0].global_id for i, row in enumerate(top) if i not in (2, 9)] == [0, 1, 3, 4, 5, 6, 7, 8]
    assert top[2][0].score < 0.99  # 2's old prototype is gone
    assert {m.global_id for m in top[9]} == {2, 9}
    assert all(len({m.global_id for m in row}) == len(row) for row in top)
