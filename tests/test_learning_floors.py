"""Learning floors on the demo catalogue, whose right answer is known (the generator's hidden tastes).

Issue 4: every learned ranker beats popularity on NDCG@10, the oracle beats them all, on a catalogue
whose tastes show only in the pictures image fusion beats text-only, and the rating classifier learns
the reviews' sentiment well above chance. The classic encoder (no weights)
keeps this fast; the bundled encoder gives the same ordering (README's ablation table).
"""

from __future__ import annotations

import numpy as np
import pytest

from mmrec_core.config import SELECTION_BUDGETS, ClassifierConfig, DataConfig, EmbedConfig, StudyConfig
from mmrec_core.study import run_study

LEARNED = ("dot", "mlp-bpr", "bpr-mf", "vbpr", "lightgcn", "freedom")
CONTENT = ("dot", "mlp-bpr", "vbpr")
MARGIN = 0.02  # NDCG@10 points; observed gaps are several times larger
QUICK = SELECTION_BUDGETS["quick"]  # each model's own settings, early-stopped on validation (the dashboard's)


def ndcg(result, setting: str, model: str) -> float:
    rows = result.results
    row = rows[(rows["setting"] == setting) & (rows["model"] == model)]
    assert len(row) == 1, (setting, model)
    return float(row["ndcg@10"].iloc[0])


@pytest.fixture(scope="module")
def default_run():
    config = StudyConfig(
        name="floors", data=DataConfig(demo_size="small"), embed=EmbedConfig(encoder="classic"),
        fusions=("concat",), models=("popularity",) + LEARNED, classifier=ClassifierConfig(modalities=("text",)),
        selection=QUICK,
    )  # fmt: skip
    return run_study(config)


@pytest.fixture(scope="module")
def image_only_run():
    config = StudyConfig(
        name="image-only", data=DataConfig(demo_size="small", demo_variant="image-only"),
        embed=EmbedConfig(encoder="classic"), fusions=("text", "image"), models=CONTENT, classifier=None,
        selection=QUICK,
    )  # fmt: skip
    return run_study(config)


@pytest.mark.parametrize("model", LEARNED)
def test_every_learned_ranker_beats_popularity(default_run, model):
    setting = "none" if model in ("bpr-mf", "lightgcn") else "concat"
    assert ndcg(default_run, setting, model) > ndcg(default_run, "none", "popularity") + MARGIN


def test_the_oracle_beats_every_model(default_run):
    oracle = ndcg(default_run, "none", "oracle")
    others = default_run.results.query("model != 'oracle'")["ndcg@10"]
    assert oracle > others.max() + MARGIN


@pytest.mark.parametrize("model", CONTENT)
def test_image_fusion_beats_text_when_tastes_show_only_in_pictures(image_only_run, model):
    assert ndcg(image_only_run, "image", model) > ndcg(image_only_run, "text", model) + MARGIN


def test_the_classifier_learns_review_sentiment_well_above_chance(default_run):
    out = default_run.classifier["text"]
    y_test = np.asarray(out["y_test"])
    majority = np.bincount(y_test).max() / len(y_test)  # always answering the commonest rating (5 stars)
    # chance: macro-F1 0.2 for 5 classes
    assert out["macro_f1"] > 0.6
    assert out["accuracy"] > majority + 0.1
