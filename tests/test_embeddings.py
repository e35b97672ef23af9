"""Compute-or-load item embeddings: cache hits, partial recompute, corruption, resume; fusion modes."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmrec_core import embeddings
from mmrec_core.config import EmbedConfig, ImageConfig
from mmrec_core.data.schema import Dataset, LoadReport
from mmrec_core.embeddings import ItemEmbeddings, embed_images_for, embed_items, embed_texts, fuse, item_texts
from mmrec_core.encoders.classic import ClassicEncoder

COLOURS = [(200, 30, 30), (30, 30, 200), (30, 160, 60), (230, 200, 40), (120, 40, 160)]


class CountingEncoder(ClassicEncoder):
    """The classic encoder, counting what it is asked to encode."""

    def __init__(self):
        super().__init__()
        self.texts = 0
        self.images = 0

    def encode_texts(self, texts, **kwargs):
        self.texts += len(texts)
        return super().encode_texts(texts, **kwargs)

    def encode_images(self, images, **kwargs):
        self.images += len(images)
        return super().encode_images(images, **kwargs)


@pytest.fixture
def counting(monkeypatch, tmp_path):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    encoder = CountingEncoder()
    monkeypatch.setattr(embeddings, "get_encoder", lambda config: encoder)
    return encoder


def make_dataset(folder, n: int = 12, missing: tuple[int, ...] = ()) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    refs = []
    for i in range(n):
        path = folder / f"item{i}.png"
        Image.new("RGB", (40 + i, 40), COLOURS[i % len(COLOURS)]).save(path)
        refs.append(None if i in missing else str(path))
    items = pd.DataFrame(
        {
            "item_id": [f"I{i}" for i in range(n)],
            "title": [f"item number {i} in colour {i % 5}" for i in range(n)],
            "main_category": ["Fashion"] * n,
            "features": [["soft cotton"]] * n,
            "image_url": refs,
        }
    )
    reviews = pd.DataFrame({"user_id": ["u"] * n, "item_id": items["item_id"], "rating": [5.0] * n, "timestamp": range(n)})
    return Dataset("test", reviews, items, LoadReport())


def test_second_call_computes_nothing_and_decodes_no_picture(counting, tmp_path, monkeypatch, caplog):
    ds = make_dataset(tmp_path / "img")
    first = embed_items(ds, EmbedConfig(encoder="classic"))
    assert (counting.texts, counting.images) == (12, 12)
    assert first.cache_hits == {"text": 0, "image": 0}

    import mmrec_core.data.images as images

    monkeypatch.setattr(images, "load_images", lambda *a, **k: pytest.fail("a warm call decoded pictures"))
    with caplog.at_level(logging.INFO, logger="mmrec.embeddings"):
        second = embed_items(ds, EmbedConfig(encoder="classic"))
    assert (counting.texts, counting.images) == (12, 12)
    assert second.cache_hits == {"text": 12, "image": 12}
    assert "12/12 text vectors from cache (classic" in caplog.text
    np.testing.assert_array_equal(first.text, second.text)
    np.testing.assert_array_equal(first.image, second.image)


def test_changed_title_or_picture_recomputes_only_that_item(counting, tmp_path):
    ds = make_dataset(tmp_path / "img")
    embed_items(ds, EmbedConfig(encoder="classic"))
    ds.items.loc[3, "title"] = "a brand new title"
    Image.new("RGB", (90, 90), (10, 10, 10)).save(ds.items.loc[5, "image_url"])
    again = embed_items(ds, EmbedConfig(encoder="classic"))
    assert (counting.texts, counting.images) == (13, 13)
    assert again.computed == {"text": 1, "image": 1}
    assert again.cache_hits == {"text": 11, "image": 11}


def test_corrupted_shard_is_recomputed_with_a_warning(counting, tmp_path, caplog):
    ds = make_dataset(tmp_path / "img")
    embed_items(ds, EmbedConfig(encoder="classic"))
    shards = sorted((tmp_path / "cache" / "embeddings" / "classic").glob("text-*/shard-*.npz"))
    data = bytearray(shards[0].read_bytes())
    data[-30] ^= 0x5A
    shards[0].write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="mmrec.cache"):
        again = embed_items(ds, EmbedConfig(encoder="classic"))
    assert "fails its checksum" in caplog.text
    assert counting.texts == 24 and again.computed["text"] == 12
    assert again.cache_hits["image"] == 12


def test_interrupted_run_resumes_where_it_stopped(counting, tmp_path, monkeypatch):
    monkeypatch.setattr(embeddings, "FLUSH_EVERY", 4)
    texts = [f"review text {i}" for i in range(10)]

    def stop_after_six(event):
        if event.done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed_texts(texts, EmbedConfig(encoder="classic"), progress=stop_after_six)
    done_before = counting.texts
    vectors = embed_texts(texts, EmbedConfig(encoder="classic"))
    assert counting.texts - done_before == 10 - 4  # the first chunk of 4 survived
    np.testing.assert_array_equal(vectors, ClassicEncoder().encode_texts(texts))


def test_duplicate_texts_are_computed_once(counting):
    vectors = embed_texts(["same", "same", "other"], EmbedConfig(encoder="classic"))
    assert counting.texts == 2
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert embed_texts([], EmbedConfig(encoder="classic")).shape == (0, 512)


def test_missing_pictures_are_missing_not_black(counting, tmp_path):
    ds = make_dataset(tmp_path / "img", missing=(1, 4))
    ds.items.loc[7, "image_url"] = str(tmp_path / "nowhere.jpg")
    emb = embed_items(ds, EmbedConfig(encoder="classic"))
    assert emb.image_ok.sum() == 9 and not emb.image_ok[[1, 4, 7]].any()
    assert emb.missing_reasons == {"no image": 2, "file not found": 1}
    assert not emb.image[[1, 4, 7]].any()
    assert counting.images == 9


def test_embed_images_for(counting, tmp_path):
    ds = make_dataset(tmp_path / "img", n=3)
    refs = [*ds.items["image_url"], None]
    vectors, ok = embed_images_for(refs, EmbedConfig(encoder="classic"), ImageConfig())
    assert ok.tolist() == [True, True, True, False] and vectors.shape == (4, 144)


def test_item_texts_fall_back_to_category_and_feature():
    items = pd.DataFrame(
        {"title": ["Red tee", None, float("nan"), ""], "main_category": ["A", "Shoes", None, None], "features": [[], ["suede"], [], None]}
    )
    texts, untitled = item_texts(items)
    assert texts == ["Red tee", "Shoes: suede", "", ""] and untitled == 3


def _emb(shared: bool, dt: int = 3, di: int = 3) -> ItemEmbeddings:
    rng = np.random.default_rng(0)
    text = rng.normal(size=(4, dt)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    image = rng.normal(size=(4, di)).astype(np.float32)
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    ok = np.array([True, True, False, True])
    image[~ok] = 0
    return ItemEmbeddings(np.array(list("abcd")), text, image, ok, {"no image": 1}, "x", "x", shared, {}, 0.0)


def test_fuse_mean_is_the_study_rule():
    emb = _emb(shared=True)
    fused = fuse(emb, "mean")
    np.testing.assert_allclose(fused.features[0], (emb.text[0] + emb.image[0]) / 2)
    np.testing.assert_array_equal(fused.features[2], emb.text[2])  # no picture: text only
    assert fused.text_fallback == 1 and fused.has_features.all()


def test_fuse_mean_refuses_two_spaces():
    with pytest.raises(ValueError, match="mean fusion needs text and image vectors in one space"):
        fuse(_emb(shared=False, dt=3, di=5), "mean")
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse(_emb(shared=True), "sum")


def test_fuse_concat_text_and_image():
    emb = _emb(shared=False, dt=3, di=5)
    fused = fuse(emb, "concat")
    assert fused.features.shape == (4, 8) and fused.features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(fused.features[[0, 1, 3]], axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(fused.features[2, :3], emb.text[2] / math.sqrt(2), atol=1e-7)
    assert not fused.features[2, 3:].any() and fused.text_fallback == 1
    text = fuse(emb, "text")
    assert text.has_features.all() and text.features.shape == (4, 3)
    image = fuse(emb, "image")
    assert image.has_features.tolist() == [True, True, False, True] and image.text_fallback == 0


def test_each_setting_keeps_its_modalities_unfused():
    emb = _emb(shared=True)
    for mode, names in (("text", ["text"]), ("image", ["image"]), ("concat", ["text", "image"]),
                        ("mean", ["text", "image"])):
        fused = fuse(emb, mode)
        assert list(fused.modalities) == names, mode
    both = fuse(emb, "concat").modalities
    np.testing.assert_array_equal(both["text"][0], emb.text)
    np.testing.assert_array_equal(both["image"][0], emb.image)
    assert both["text"][1].all() and both["image"][1].tolist() == [True, True, False, True]


def test_demo_catalogue_end_to_end(tmp_path, monkeypatch):
    """Real loader + real image loading on the tiny demo; the warm call is fast and decodes nothing."""
    import time

    from mmrec_core.config import DataConfig
    from mmrec_core.data.sources import load_dataset

    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    dataset = load_dataset(DataConfig(demo_size="tiny"))
    events = []
    config = EmbedConfig(encoder="classic")
    first = embed_items(dataset, config, progress=events.append)
    assert first.image_ok.all() and first.text.shape == (len(dataset.items), 512)
    assert {e.stage for e in events} >= {"embed-texts", "embed-images"}
    start = time.perf_counter()
    second = embed_items(dataset, config)
    assert time.perf_counter() - start < 1.0
    assert second.cache_hits == {"text": len(dataset.items), "image": len(dataset.items)}
    fused = fuse(second, "concat")
    assert fused.features.shape == (len(dataset.items), 512 + 144) and fused.text_fallback == 0


def test_missing_pictures_reach_the_load_report_by_reason(counting, tmp_path):
    ds = make_dataset(tmp_path / "img", missing=(1, 4))
    ds.items.loc[7, "image_url"] = str(tmp_path / "nowhere.jpg")
    ds.report.missing_images = {"no image in meta": 2}  # what the loader counted before any fetch
    embed_items(ds, EmbedConfig(encoder="classic"))
    assert ds.report.missing_images == {"no image in meta": 2, "file not found": 1}
    assert ds.report.to_dict()["missing_images"] == {"no image in meta": 2, "file not found": 1}
    bare = make_dataset(tmp_path / "img2", missing=(0,))  # a report the loader did not fill
    embed_items(bare, EmbedConfig(encoder="classic"))
    assert bare.report.missing_images == {"no image": 1}


def test_a_corrupted_shard_heals_after_one_recompute(counting, tmp_path):
    ds = make_dataset(tmp_path / "img")
    embed_items(ds, EmbedConfig(encoder="classic"))
    for shard in (tmp_path / "cache" / "embeddings" / "classic").glob("*/shard-*.npz"):
        shard.write_bytes(shard.read_bytes()[:-30] + bytes(30))
    assert embed_items(ds, EmbedConfig(encoder="classic")).computed == {"text": 12, "image": 12}
    assert embed_items(ds, EmbedConfig(encoder="classic")).computed == {"text": 0, "image": 0}


def test_the_study_load_report_lists_missing_pictures_by_reason(tmp_path, monkeypatch):
    import json

    from mmrec_core.config import DataConfig, StudyConfig
    from mmrec_core.study import run_study

    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "cat"
    (folder / "img").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (48, 48), COLOURS[i]).save(folder / "img" / f"P{i}.png")
    pictures = {"P0": "img/P0.png", "P1": "img/P1.png", "P2": "img/P2.png", "P3": "img/gone.png", "P4": None}
    metas = [{"parent_asin": k, "title": f"item {k}", "images": [{"large": v}] if v else []} for k, v in pictures.items()]
    reviews = [{"parent_asin": f"P{i}", "user_id": f"u{u}", "rating": 5.0 if (u + i) % 2 else 1.0,
                "timestamp": 1_600_000_000_000 + 10 * u + i} for u in range(8) for i in range(6)]
    (folder / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reviews))
    (folder / "meta.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metas))
    config = StudyConfig(
        name="pictures", data=DataConfig(source="local", reviews_path=str(folder / "reviews.jsonl"),
                                         meta_path=str(folder / "meta.jsonl")),
        embed=EmbedConfig(encoder="classic"), fusions=("concat",), models=("dot",), classifier=None,
    )
    result = run_study(config)
    assert result.load_report["missing_images"] == {"no meta record": 1, "no image in meta": 1, "file not found": 1}
