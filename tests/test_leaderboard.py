import math

import pandas as pd

from mmrec_core.config import StudyConfig
from mmrec_core.leaderboard import leaderboard, words
from mmrec_core.results import StudyResult


def result(rows: list[dict]) -> StudyResult:
    return StudyResult(config=StudyConfig(), results=pd.DataFrame(rows))


ROWS = [
    {"setting": "none", "model": "popularity", "seed": 1, "ndcg@10": 0.20, "auc": 0.70, "error": None},
    {"setting": "none", "model": "oracle", "seed": 1, "ndcg@10": 0.90, "auc": 0.99, "error": None},
    {"setting": "concat", "model": "vbpr", "seed": 1, "ndcg@10": 0.40, "auc": 0.65, "error": None},
    {"setting": "concat", "model": "dot", "seed": 1, "ndcg@10": None, "auc": None, "error": "ValueError: boom"},
]


def test_columns_and_settings_read_as_words():
    frame, _ = leaderboard(result(ROWS), ("ndcg@10", "auc"))
    assert list(frame.columns) == ["item content", "model", "NDCG@10", "AUC"]
    assert list(frame["item content"]) == ["ratings only", "ratings only", "text + picture", "text + picture"]
    assert words("cold_ndcg@10") == "cold-start NDCG@10" and words("n_test_pairs") == "n test pairs"


def test_the_best_of_each_column_is_a_learned_model_never_the_oracle():
    frame, best = leaderboard(result(ROWS), ("ndcg@10", "auc"))
    assert frame.loc[best["NDCG@10"], "model"] == "vbpr"  # 0.40; the oracle's 0.90 is the ceiling
    assert frame.loc[best["AUC"], "model"] == "popularity"  # 0.70 beats vbpr's 0.65


def test_one_seed_gives_numbers_that_sort_and_a_failed_model_shows_its_error():
    frame, _ = leaderboard(result(ROWS), ("ndcg@10", "auc"))
    assert frame.loc[0, "NDCG@10"] == 0.2
    failed = frame[frame["model"] == "dot"].iloc[0]
    assert failed["NDCG@10"] == "error: ValueError: boom" and (failed["AUC"] is None or math.isnan(failed["AUC"]))


def test_several_seeds_show_mean_and_sd():
    rows = [{"setting": "text", "model": "dot", "seed": s, "ndcg@10": v, "error": None} for s, v in ((1, 0.3), (2, 0.5))]
    frame, best = leaderboard(result(rows), ("ndcg@10",))
    assert list(frame.columns) == ["model", "NDCG@10"], "one setting: no column that says nothing"
    assert frame.loc[0, "NDCG@10"] == "0.400 ± 0.141" and best == {"NDCG@10": 0}
