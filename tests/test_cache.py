"""The vector store: round trip, checksums, concurrent writers, compaction, info and clear."""

from __future__ import annotations

import logging
import multiprocessing
import threading

import numpy as np
import pytest

from mmrec_core import cache
from mmrec_core.cache import VectorStore, cache_info, clear_cache, content_key


@pytest.fixture
def store(tmp_path) -> VectorStore:
    return VectorStore.open("enc", "identity-1", "text", 4, root=tmp_path)


def _rows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def test_round_trip_and_absent_keys(store):
    keys = [content_key(str(i)) for i in range(5)]
    store.put(keys[:3], _rows(3))
    vectors, found = store.get(keys)
    assert found.tolist() == [True, True, True, False, False]
    np.testing.assert_array_equal(vectors[:3], _rows(3))
    assert not vectors[3:].any()


def test_content_key_is_unambiguous():
    assert content_key("ab", "c") != content_key("a", "bc")
    assert len(content_key("x")) == 32


def test_separate_stores_per_identity_and_modality(tmp_path):
    a = VectorStore.open("enc", "identity-1", "text", 4, root=tmp_path)
    b = VectorStore.open("enc", "identity-2", "text", 4, root=tmp_path)
    c = VectorStore.open("enc", "identity-1", "image", 4, root=tmp_path)
    assert len({a.folder, b.folder, c.folder}) == 3
    a.put(["k"], _rows(1))
    assert not b.get(["k"])[1].any() and not c.get(["k"])[1].any()


def test_flipped_bytes_are_detected_and_never_used(store, caplog):
    store.put(["a", "b"], _rows(2))
    (shard,) = store.shards()
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="mmrec.cache"):
        vectors, found = store.get(["a", "b"])
    assert not found.any() and not vectors.any()
    assert "fails its checksum" in caplog.text


def test_truncated_shard_is_dropped(store, caplog):
    store.put(["a"], _rows(1))
    (shard,) = store.shards()
    shard.write_bytes(shard.read_bytes()[:40])
    with caplog.at_level(logging.WARNING, logger="mmrec.cache"):
        assert not store.get(["a"])[1].any()


def test_no_pickle_in_shards(store):
    store.put(["a"], _rows(1))
    (shard,) = store.shards()
    with np.load(shard, allow_pickle=False) as npz:
        assert npz["keys"].dtype.kind == "U" and npz["vectors"].dtype == np.float32


def test_wrong_shape_is_refused(store):
    with pytest.raises(ValueError, match="expected 2 x 4"):
        store.put(["a", "b"], np.zeros((2, 3)))


def test_concurrent_threads_writing_the_same_keys(store):
    keys = [content_key(str(i)) for i in range(50)]
    rows = _rows(50)

    def write(offset: int) -> None:
        for start in range(offset, 50, 10):
            store.put(keys[start : start + 10], rows[start : start + 10])

    threads = [threading.Thread(target=write, args=(o,)) for o in (0, 0, 5, 0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    vectors, found = store.get(keys)
    assert found.all()
    np.testing.assert_array_equal(vectors, rows)
    assert not list(store.folder.glob(".tmp-*"))


def _process_writer(root: str, seed: int) -> None:
    s = VectorStore.open("enc", "identity-1", "text", 4, root=__import__("pathlib").Path(root))
    keys = [content_key(str(i)) for i in range(40)]
    rows = _rows(40)
    order = np.random.default_rng(seed).permutation(40)
    for start in range(0, 40, 4):
        idx = order[start : start + 4]
        s.put([keys[i] for i in idx], rows[idx])


def test_concurrent_processes_writing_the_same_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "COMPACT_AFTER", 6)  # compaction races with writes too
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_writer, args=(str(tmp_path), seed)) for seed in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    store = VectorStore.open("enc", "identity-1", "text", 4, root=tmp_path)
    vectors, found = store.get([content_key(str(i)) for i in range(40)])
    assert found.all()
    np.testing.assert_array_equal(vectors, _rows(40))


def test_compaction_merges_shards(store, monkeypatch):
    monkeypatch.setattr(cache, "COMPACT_AFTER", 3)
    for i in range(4):
        store.put([f"k{i}"], _rows(1, seed=i))
    assert len(store.shards()) == 1
    vectors, found = store.get([f"k{i}" for i in range(4)])
    assert found.all()
    np.testing.assert_array_equal(vectors[2], _rows(1, seed=2)[0])


def test_info_and_clear(tmp_path):
    store = VectorStore.open("enc", "identity-1", "image", 4, root=tmp_path / "emb")
    store.put(["a", "b"], _rows(2))
    info = cache_info(tmp_path / "emb")
    assert info["files"] == 2 and info["bytes"] > 0
    assert info["stores"][0]["vectors"] == 2 and info["stores"][0]["modality"] == "image"
    assert clear_cache(tmp_path / "emb") == info["bytes"]
    assert cache_info(tmp_path / "emb")["bytes"] == 0
    assert not store.get(["a"])[1].any()


def test_default_root_follows_mmrec_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    assert cache.embeddings_root() == tmp_path / "embeddings"
    assert cache_info()["path"] == str(tmp_path / "embeddings")


# --- a damaged cache heals ------------------------------------------------------------------------------


def test_a_corrupt_shard_is_rewritten_when_its_items_are_recomputed(store, caplog):
    keys = [content_key(str(i)) for i in range(3)]
    path = store.put(keys, _rows(3))
    good = path.read_bytes()
    path.write_bytes(good[:-40] + bytes(40))
    assert not store.get(keys)[1].any()
    assert store.put(keys, _rows(3)) == path  # the same content has the same name ...
    assert path.read_bytes() == good  # ... and is written again, not trusted
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmrec.cache"):
        vectors, found = VectorStore(store.folder, store.meta).get(keys)
    assert found.all() and caplog.text == ""
    np.testing.assert_array_equal(vectors, _rows(3))


def test_a_folder_in_a_shards_place_is_a_warning_then_replaced(store, caplog, monkeypatch):
    keys = [content_key(str(i)) for i in range(3)]
    path = store.put(keys, _rows(3))
    path.unlink()
    path.mkdir()
    (path / "junk").write_text("x")
    with caplog.at_level(logging.WARNING, logger="mmrec.cache"):
        assert not store.get(keys)[1].any()
    assert "cannot be read" in caplog.text
    store.put(keys, _rows(3))
    assert path.is_file() and store.get(keys)[1].all()
    path.unlink()
    path.mkdir()
    monkeypatch.setattr(cache, "COMPACT_AFTER", 1)
    store.put([content_key("other")], _rows(1, seed=5))  # compaction walks past the folder
    assert store.get([content_key("other")])[1].all() and not path.exists()


@pytest.mark.parametrize("garbage", [b"{not json", b"[1, 2]", b"\xff\xfe", None])
def test_a_garbage_store_json_is_a_warning_and_is_rewritten(tmp_path, caplog, garbage):
    root = tmp_path / "emb"
    store = VectorStore.open("enc", "identity-1", "image", 4, root=root)
    store.put(["a", "b"], _rows(2))
    meta_path = store.folder / "store.json"
    meta_path.unlink()
    if garbage is None:
        meta_path.mkdir()  # a folder where the description should be
    else:
        meta_path.write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="mmrec.cache"):
        info = cache_info(root)
    assert "store.json" in caplog.text
    assert info["stores"][0]["vectors"] == 2 and info["stores"][0]["encoder"] == "enc"
    store.put(["c"], _rows(1))
    assert cache_info(root)["stores"][0]["identity"] == "identity-1"


def test_clear_part_stays_inside_the_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "f.bin").write_bytes(b"x" * 10)
    with pytest.raises(cache.CacheError, match="unknown cache part"):
        cache.clear_part("..")
    (tmp_path / "cache" / "runs").symlink_to(outside, target_is_directory=True)
    with pytest.raises(cache.CacheError, match="symbolic link"):
        cache.clear_part("runs")
    with pytest.raises(cache.CacheError, match="symbolic link"):
        cache.part_info("runs")
    (tmp_path / "cache" / "runs").unlink()
    (tmp_path / "cache" / "uploads" / "ab").mkdir(parents=True)
    (tmp_path / "cache" / "uploads" / "ab" / "r.jsonl").write_bytes(b"y" * 7)
    (tmp_path / "cache" / "uploads" / "ab" / "link").symlink_to(outside / "sub", target_is_directory=True)
    info = cache.part_info("uploads")
    assert info["files"] == 2 and info["bytes"] < 7 + 200  # the link counts as itself, not as what it points at
    assert cache.clear_part("uploads") == info["bytes"]
    assert (outside / "sub" / "f.bin").read_bytes() == b"x" * 10 and not (tmp_path / "cache" / "uploads").exists()
    (tmp_path / "cache" / "embeddings").symlink_to(outside, target_is_directory=True)
    assert clear_cache() == 0 and (outside / "sub" / "f.bin").exists()  # the old API: a warning, nothing deleted
