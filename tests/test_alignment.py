"""The catalogue-fitted text-picture space: retrieval figures with known answers, towers that recover a shared
latent, the cache, and the aligned encoder end to end on the tiny demo (classic vectors: no weights)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mmrec_core import alignment
from mmrec_core.alignment import AlignConfig, align, fit_alignment, retrieval


def paired(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Titles and pictures that are two different linear views (30-d, 40-d) of one 8-d latent, plus noise."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 8))
    text = z @ rng.normal(size=(8, 30)) + 0.05 * rng.normal(size=(n, 30))
    image = z @ rng.normal(size=(8, 40)) + 0.05 * rng.normal(size=(n, 40))
    return text.astype(np.float32), image.astype(np.float32)


def test_retrieval_of_a_perfect_a_constant_and_a_shuffled_space():
    x = np.eye(20, dtype=np.float32)
    assert retrieval(x, x) == (1.0, 1.0)
    same = np.ones((20, 4), dtype=np.float32)
    assert retrieval(same, same) == (0.0, 20.0), "ties count against the title: no credit for a constant space"
    shifted = np.roll(x, 1, axis=0)  # each title's own picture scores 0, tied with 18 others, one scores 1
    assert retrieval(x, shifted) == (0.0, 20.0), "tied with the worst: ranked last"
    twins = np.vstack([x[:10], x[:10]])  # every picture has a twin: each title's own shares the top score
    assert retrieval(twins, twins) == (1.0, 2.0)
    with pytest.raises(ValueError, match="as many titles as pictures"):
        retrieval(x, x[:5])


def test_the_towers_find_the_latent_two_views_share():
    text, image = paired()
    ok = np.ones(len(text), dtype=bool)
    ok[:7] = False  # items without a picture are not paired
    towers = fit_alignment(text, image, ok, AlignConfig(dim=16, epochs=150, patience=30))
    assert towers.held_out == 59 and towers.trained_on == 293 - 59
    assert towers.chance_recall_at_10 == pytest.approx(10 / 59) and towers.chance_median_rank == 30.0
    assert towers.recall_at_10 >= 0.9 and towers.median_rank <= 2, towers.summary()
    t, i = towers.project_text(text), towers.project_image(image)
    assert t.shape == i.shape == (300, 16)
    assert np.allclose(np.linalg.norm(t, axis=1), 1, atol=1e-5)
    assert np.array_equal(towers.project_text(np.zeros((2, 30), np.float32)), np.zeros((2, 16))), "no text: zero"


def test_unrelated_views_stay_near_chance():
    text, _ = paired(seed=1)
    _, image = paired(seed=2)  # another latent: nothing to find
    towers = fit_alignment(text, image, np.ones(300, bool), AlignConfig(dim=16, epochs=40, patience=10))
    assert towers.recall_at_10 < 3 * towers.chance_recall_at_10, towers.summary()


def test_too_few_pictures_is_a_clear_error():
    text, image = paired(n=30)
    with pytest.raises(ValueError, match="at least 20 items with a picture, got 19"):
        fit_alignment(text, image, np.arange(30) < 19)


def test_towers_are_fitted_once_then_read_and_a_damaged_file_is_refitted(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    text, image = paired(n=120)
    ok = np.ones(120, bool)
    config = AlignConfig(dim=8, epochs=5)
    first = align(text, image, ok, "enc-1", config)
    fits = []
    real = alignment.fit_alignment
    monkeypatch.setattr(alignment, "fit_alignment", lambda *a, **k: fits.append(1) or real(*a, **k))
    again = align(text, image, ok, "enc-1", config)
    assert fits == [] and np.array_equal(again.text_map, first.text_map) and again.summary() == first.summary()
    align(text, image, ok, "enc-2", config)  # another encoder identity: other towers
    assert fits == [1]
    path = alignment.alignments_root() / f"{first.key}.npz"
    path.write_bytes(b"not a npz")
    with caplog.at_level(logging.WARNING, logger="mmrec.alignment"):
        healed = align(text, image, ok, "enc-1", config)
    assert fits == [1, 1] and "unreadable" in caplog.text
    assert np.allclose(healed.text_map, first.text_map, atol=1e-5), "seeded: the refit is the same fit"


def test_the_aligned_encoder_makes_mean_fusion_possible_on_the_demo():
    from mmrec_core.config import DataConfig, EmbedConfig
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items, fuse

    ds = load_dataset(DataConfig(demo_size="tiny"))
    raw = embed_items(ds, EmbedConfig(encoder="classic"))
    with pytest.raises(ValueError, match="one space"):
        fuse(raw, "mean")
    emb = embed_items(ds, EmbedConfig(encoder="classic-aligned"))
    assert emb.shared_space and emb.encoder == "classic-aligned" and emb.text.shape[1] == emb.image.shape[1] == 256
    assert emb.identity.startswith(raw.identity) and "aligned" in emb.identity
    assert np.array_equal(emb.image_ok, raw.image_ok) and not emb.image[~emb.image_ok].any()
    mean = fuse(emb, "mean")
    assert mean.features.shape == (len(ds.items), 256)
    towers = emb.alignment
    # the demo's titles name the kind and the colour its pictures show: on the 12 held-out items (of 60) a
    # title's own picture ranks ahead of chance (recall@10 says little with 12 pictures; the small demo's 100 do)
    assert towers.held_out == 12 and towers.median_rank < towers.chance_median_rank, towers.summary()
    again = embed_items(ds, EmbedConfig(encoder="classic-aligned"))
    assert np.array_equal(again.text, emb.text) and again.identity == emb.identity
