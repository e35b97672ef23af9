"""Helpers of the dashboard's views that need no running page: what a card and a top-K grid show."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mmrec_core.models import FixedScoreRanker, RankingData
from mmrec_core.ui import components, data_view, recs_view, users_view


def test_a_product_without_meta_is_untitled_never_nan():
    for missing in (None, math.nan, np.nan, "", "   "):
        assert components.display_title(missing) == "(no title)"
    assert components.display_title("Red hat") == "Red hat"
    assert components.display_title(12) == "12"


def test_plural():
    assert components.plural(1, "review") == "1 review"
    assert components.plural(0, "hit") == "0 hits"
    assert components.plural(12_267, "review") == "12,267 reviews"


def test_a_top_k_longer_than_the_unseen_items_shows_no_train_item():
    # 1 user, 5 items; items 0, 1 and 2 are in train: only 3 and 4 are left, even when K is 5
    data = RankingData(1, 5, np.array([0, 0, 0]), np.array([0, 1, 2]), np.array([1, 1, 0], np.int8))
    ranker = FixedScoreRanker(np.array([[5.0, 4.0, 3.0, 2.0, 1.0]], np.float32)).fit(data)
    assert recs_view.unseen_top(ranker, 0, 5).tolist() == [3, 4]
    assert recs_view.unseen_top(ranker, 0, 1).tolist() == [3]
    padded, scores = ranker.recommend(np.array([0]), 5)
    assert np.isinf(scores[0][2:]).all(), "the case is real: recommend pads with excluded items at -inf"


def test_the_gallery_search_matches_every_word_in_any_order():
    items = pd.DataFrame({"item_id": ["B01", "B02", "B03", "B04"],
                          "title": ["Tidewater Polka Dot Dress - Red", "Red Wide Brim Hat", None, "Checkered Dress"]})
    assert data_view.search_rows(items, "red dress", 10).tolist() == [0], "words start where a word starts"
    assert data_view.search_rows(items, "dot-", 10).tolist() == [], "a query is text, not a pattern"
    assert data_view.search_rows(items, "  DRESS ", 10).tolist() == [0, 3]
    assert data_view.search_rows(items, "b03", 10).tolist() == [2]  # ids too; an untitled product is found by id
    assert data_view.search_rows(items, "", 2).tolist() == [0, 1]
    assert data_view.search_rows(items, "red green", 10).tolist() == []


def test_progress_speaks_words_not_stage_names():
    from mmrec_core.progress import ProgressEvent
    from mmrec_core.ui.progress import event_words, stage_words

    assert stage_words("train none/bpr-mf trial 2") == "training bpr-mf, settings 2"
    assert stage_words("train concat/freedom refit") == "training freedom on concat vectors, final fit on train + validation"
    assert stage_words("embed-images") == "embedding pictures"
    assert stage_words("classifier text+image") == "training the rating classifier on text+image"
    assert stage_words("something new") == "something new"
    event = ProgressEvent("train none/lightgcn trial 1", 7, 100, rate=12.5, eta_s=7.6, unit="epochs")
    assert event_words(event) == "training lightgcn, settings 1: epoch 7/100, 12.5 epochs/s, about 8 s left"
    assert event_words(ProgressEvent("read reviews", 1200, None, unit="lines")) == "reading reviews: 1,200 lines"
    assert event_words(ProgressEvent("study: ranking", 5, 8, unit="runs")) == "fitting and evaluating: 5 of 8 runs done"


def test_a_slow_projection_fits_in_the_background_and_a_failure_is_reported(monkeypatch):
    import threading

    from mmrec_core import projection
    from mmrec_core.config import DataConfig, EmbedConfig
    from mmrec_core.ui import loaders

    release, calls = threading.Event(), []

    def slow(vectors, method, seed):
        calls.append(method)
        if method == "pca":
            raise ValueError("no such fit")
        release.wait(10)
        return np.asarray(vectors)[:, :2]

    monkeypatch.setattr(projection, "project", slow)
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    key = (DataConfig(), EmbedConfig(), "concat")
    assert loaders.projection_in_background(*key, "umap", x, 0, 4) == (None, None), "running: no value, no error"
    assert loaders.projection_in_background(*key, "umap", x, 0, 4, wait_s=0.05) == (None, None), "one fit, shared"
    release.set()
    loaders.slot("projection", (*key, "umap", 0, 4))["worker"].join(5)  # later calls do not wait: the fit ends
    coords, error = loaders.projection_in_background(*key, "umap", x, 0, 4, wait_s=5)
    assert error is None and coords.tolist() == x[:, :2].tolist()
    assert calls == ["umap"], "asked three times, fitted once"
    loaders.projection_in_background(*key, "pca", x, 0, 4, wait_s=5)
    coords, error = loaders.projection_in_background(*key, "pca", x, 0, 4)
    assert coords is None and isinstance(error, ValueError)


def test_a_stale_note_names_the_controls_not_the_config_fields():
    assert components.control_name("selection.max_epochs") == "Max epochs"
    assert components.control_name("classifier.class_weight") == "Class weights"
    assert components.control_name("split.validation_frac") == "validation frac", "any other field, in words"


def test_users_are_found_by_id_then_by_a_product_they_reviewed():
    from types import SimpleNamespace

    ids = np.array(["ALICE", "BOB", "CAROL", "DAVE"])
    items = pd.DataFrame({"item_id": ["i0", "i1", "i2"], "title": ["Striped Tote Bag", "Red Hat", None]})
    # reviews: Bob and Dave reviewed the tote (Dave twice), Carol the hat, Alice the untitled i2
    inter = SimpleNamespace(item_ids=np.array(["i1", "i0", "i2"]), users=np.array([1, 3, 3, 2, 0]),
                            items=np.array([1, 1, 1, 0, 2]))
    everyone = np.arange(4)
    found, why = users_view.find_users(ids, everyone, inter, items, "tote striped", limit=10)
    assert found.tolist() == [3, 1], "most matching reviews first"
    assert why == {3: "Striped Tote Bag", 1: "Striped Tote Bag"}
    found, why = users_view.find_users(ids, everyone, inter, items, "a", limit=10)
    assert found.tolist()[:3] == [0, 2, 3], "ids containing 'a' first (case-insensitive)"
    assert found.tolist() == [0, 2, 3], "no title has a word starting with 'a'"
    found, _ = users_view.find_users(ids, np.array([1, 2]), inter, items, "tote", limit=10)
    assert found.tolist() == [1], "only the users asked about"
    found, why = users_view.find_users(ids, everyone, inter, items, "i2", limit=10)
    assert found.tolist() == [0] and why == {0: "(no title)"}, "a product found by its id, untitled"
    assert users_view.find_users(ids, everyone, inter, items, "", limit=2)[0].tolist() == [0, 1]
