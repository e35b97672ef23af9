"""Metric values against hand computation (worked in the comments) and against scikit-learn / scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score, roc_auc_score

from mmrec_core import metrics as M


def test_pairwise_accuracy_ties_are_misses():
    # pairs: 2>1 yes, 1>1 tie -> no, 0>3 no, 5>4 yes  -> 2/4
    assert M.pairwise_accuracy(np.array([2, 1, 0, 5]), np.array([1, 1, 3, 4])) == 0.5
    assert math.isnan(M.pairwise_accuracy(np.zeros(0), np.zeros(0)))
    with pytest.raises(ValueError):
        M.pairwise_accuracy(np.zeros(2), np.zeros(3))


def test_auc_by_hand_and_sklearn():
    # positives score 0.9, 0.5; negatives 0.5, 0.1. Pos-neg comparisons: (0.9,0.5)=1, (0.9,0.1)=1,
    # (0.5,0.5)=0.5 tie, (0.5,0.1)=1 -> 3.5 / 4 = 0.875
    scores, labels = np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0])
    assert M.auc(scores, labels) == pytest.approx(0.875)
    rng = np.random.default_rng(0)
    s = rng.integers(0, 20, 500).astype(float)  # many ties
    y = rng.integers(0, 2, 500)
    assert M.auc(s, y) == pytest.approx(roc_auc_score(y, s))
    assert math.isnan(M.auc(np.array([1.0, 2.0]), np.array([1, 1])))


# two users, top-3 lists; user 0 relevant {2, 7}, user 1 relevant {5}
TOPK = np.array([[2, 4, 7], [1, 3, 9]])
REL = [np.array([2, 7]), np.array([5])]


def test_ranking_metrics_by_hand():
    # user 0 hits at ranks 1 and 3; user 1 none
    # recall: 2/2 = 1 and 0/1 = 0 -> 0.5 ; precision: 2/3 and 0 -> 1/3 ; HR: 1, 0 -> 0.5 ; MRR: 1, 0 -> 0.5
    assert M.recall_at_k(TOPK, REL) == pytest.approx(0.5)
    assert M.precision_at_k(TOPK, REL) == pytest.approx(1 / 3)
    assert M.hit_rate_at_k(TOPK, REL) == pytest.approx(0.5)
    assert M.mrr_at_k(TOPK, REL) == pytest.approx(0.5)
    # NDCG user 0: DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG (2 relevant) = 1 + 1/log2(3) = 1.6309 -> 0.9197
    ndcg0 = 1.5 / (1 + 1 / math.log2(3))
    assert M.ndcg_at_k(TOPK, REL, per_user=True)[0] == pytest.approx(ndcg0)
    assert M.ndcg_at_k(TOPK, REL) == pytest.approx(ndcg0 / 2)
    # @1: user 0 hit at rank 1 -> recall 1/2, precision 1, ndcg = 1 / IDCG@1 (=1) = 1
    assert M.recall_at_k(TOPK, REL, k=1, per_user=True).tolist() == [0.5, 0.0]
    assert M.ndcg_at_k(TOPK, REL, k=1, per_user=True).tolist() == [1.0, 0.0]


def test_mrr_first_hit_rank():
    # first hit at rank 3 -> 1/3; at rank 2 -> 1/2
    topk = np.array([[0, 1, 2], [5, 6, 7]])
    assert M.mrr_at_k(topk, [np.array([2]), np.array([6, 7])], per_user=True).tolist() == pytest.approx(
        [1 / 3, 0.5]
    )


def test_csr_input_matches_lists_and_empty_rows_are_skipped():
    rel = sp.csr_matrix(([1, 1, 1], ([0, 0, 1], [2, 7, 5])), shape=(2, 10))
    assert M.recall_at_k(TOPK, rel) == M.recall_at_k(TOPK, REL)
    assert M.ndcg_at_k(TOPK, rel) == M.ndcg_at_k(TOPK, REL)
    # a third user with nothing relevant is nan per user and left out of the mean
    topk = np.vstack([TOPK, [[0, 1, 2]]])
    per = M.recall_at_k(topk, [*REL, np.zeros(0, np.int64)], per_user=True)
    assert math.isnan(per[2]) and M.recall_at_k(topk, [*REL, []]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="rows"):
        M.recall_at_k(TOPK, REL[:1])


def test_empty_slots_never_hit():
    topk = np.array([[3, -1, -1]])
    assert M.hit_rate_at_k(topk, [np.array([3])]) == 1.0
    assert M.precision_at_k(topk, [np.array([3])]) == pytest.approx(1 / 3)
    assert M.coverage(topk, 10) == pytest.approx(0.1)


def test_perfect_ndcg_is_one():
    topk = np.array([[4, 1, 0, 2]])
    assert M.ndcg_at_k(topk, [np.array([1, 4])]) == pytest.approx(1.0)
    # more relevant than K: ideal is over min(|rel|, K) = 2 ranks -> still 1 when both slots hit
    assert M.ndcg_at_k(topk, [np.array([0, 1, 2, 4])], k=2) == pytest.approx(1.0)
    assert M.recall_at_k(topk, [np.array([0, 1, 2, 4])], k=2) == pytest.approx(0.5)


def test_coverage_and_novelty_by_hand():
    topk = np.array([[0, 1], [0, 2]])
    assert M.coverage(topk, 4) == pytest.approx(3 / 4)  # items 0, 1, 2 of 4
    # 8 train users; item 0 seen by 8 (p=1, info 0), item 1 by 2 (p=1/4, info 2), item 2 by 0 -> 1 (info 3)
    counts = np.array([8, 2, 0, 5])
    # user 0: (0 + 2) / 2 = 1; user 1: (0 + 3) / 2 = 1.5; mean 1.25
    assert M.novelty(topk, counts, 8, per_user=True).tolist() == pytest.approx([1.0, 1.5])
    assert M.novelty(topk, counts, 8) == pytest.approx(1.25)


def test_classification_metrics_against_sklearn():
    y_true = np.array([1, 2, 3, 4, 5, 5, 5, 4, 1, 3])
    y_pred = np.array([1, 2, 3, 5, 5, 5, 4, 4, 2, 3])
    assert M.accuracy(y_true, y_pred) == pytest.approx(0.7)  # wrong at positions 3, 6, 8
    cm = M.confusion_matrix(y_true, y_pred)
    assert np.array_equal(cm, sk_confusion(y_true, y_pred, labels=[1, 2, 3, 4, 5]))
    # by hand: the true-5 row has 2 predicted 5 and 1 predicted 4
    assert cm[4].tolist() == [0, 0, 0, 1, 2]
    assert M.macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    # labels absent from both sides still get a row and a column
    assert M.confusion_matrix([5, 5], [5, 4]).shape == (5, 5)
    assert M.confusion_matrix([2, 1], [1, 1], labels=(2, 1)).tolist() == [[0, 1], [0, 1]]


def test_classification_report_three_digits():
    y_true = [1, 1, 2, 3, 3, 3]
    y_pred = [1, 2, 2, 3, 3, 1]
    rep = M.classification_report(y_true, y_pred, labels=(1, 2, 3))
    # class 1: predicted at positions 0, 5 -> precision 1/2; recall 1/2 -> f1 0.5
    assert rep["1"] == {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2}
    # class 3: precision 2/2, recall 2/3 = 0.667, f1 = 0.8
    assert rep["3"]["recall"] == 0.667 and rep["3"]["f1-score"] == 0.8
    assert rep["accuracy"] == 0.667
    assert set(rep) >= {"1", "2", "3", "macro avg", "weighted avg"}


def test_paired_test():
    from scipy import stats

    a = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.4])
    b = np.array([0.4, 0.6, 0.5, 0.7, 0.6, 0.3])
    res = M.paired_test(a, b)
    # differences 0.1, 0, 0.2, 0.1, 0.3, 0.1 -> mean 0.8 / 6
    assert res["mean_diff"] == pytest.approx(0.8 / 6)
    assert res["t"] == pytest.approx(stats.ttest_rel(a, b).statistic)
    assert res["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue) and res["p_value"] < 0.05
    assert res["n"] == 6 and res["test"] == "paired t" and 0 < res["wilcoxon_p"] <= 1
    same = M.paired_test(a, a)
    assert same["t"] == 0.0 and same["p_value"] == 1.0
    assert M.paired_test([1.0, np.nan, 2.0], [0.0, 1.0, 1.5])["n"] == 2
    with pytest.raises(ValueError):
        M.paired_test([1.0], [1.0, 2.0])
