"""Pure, vectorised metrics: the study's pairwise accuracy, AUC, full-ranking top-K metrics, beyond-accuracy
metrics, classification metrics and a paired significance test.

Top-K metrics take ``topk``, an ``(n_users, K)`` int matrix of item indices, best first (``-1`` marks an
empty slot, e.g. when fewer than K candidates were left), and ``relevant``, the held-out relevant items of
the **same rows**, as a CSR matrix ``(n_users, n_items)`` or a list of index arrays. Rows with no relevant
item are undefined for accuracy metrics: ``nan`` in the per-user vector and left out of the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

LABELS_1_5 = (1, 2, 3, 4, 5)


# --- pairs and AUC -----------------------------------------------------------------------------------


def pairwise_accuracy(s_pos: np.ndarray, s_neg: np.ndarray) -> float:
    """Study A's metric: share of pairs with ``s_pos > s_neg`` (strictly: a tie is a miss); nan if empty."""
    s_pos, s_neg = np.asarray(s_pos), np.asarray(s_neg)
    if s_pos.shape != s_neg.shape:
        raise ValueError(f"score shapes differ: {s_pos.shape} vs {s_neg.shape}")
    return float(np.mean(s_pos > s_neg)) if s_pos.size else float("nan")


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (as scipy.stats.rankdata 'average')."""
    order = np.argsort(x, kind="stable")
    _, inverse, counts = np.unique(x[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg = ends - (counts - 1) / 2.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = avg[inverse]
    return ranks


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula; ties count 0.5. nan when one class is absent."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _average_ranks(scores)
    return float((r[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


# --- full-ranking metrics ----------------------------------------------------------------------------


def _relevant_csr(relevant: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices) of the relevant sets, one row per top-K row; duplicates removed."""
    if hasattr(relevant, "tocsr"):
        m = relevant.tocsr().copy()
        m.eliminate_zeros()
        m.sum_duplicates()
        indptr, indices = m.indptr.astype(np.int64), m.indices.astype(np.int64)
    else:
        sets = [np.unique(np.asarray(r, dtype=np.int64)) for r in relevant]
        indptr = np.r_[0, np.cumsum([len(s) for s in sets])].astype(np.int64)
        indices = np.concatenate(sets) if sets else np.zeros(0, np.int64)
    if len(indptr) - 1 != n_rows:
        raise ValueError(f"relevant has {len(indptr) - 1} rows, topk has {n_rows}")
    return indptr, indices


def hits_matrix(topk: np.ndarray, relevant: Any) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ``(n_users, K)`` hit matrix and the number of relevant items per row.

    Vectorised membership test: (row, item) pairs are encoded as one int64 key and looked up with
    ``searchsorted`` in the sorted keys of the relevant sets.
    """
    topk = np.asarray(topk, dtype=np.int64)
    n, k = topk.shape
    indptr, indices = _relevant_csr(relevant, n)
    n_rel = np.diff(indptr)
    width = int(max(topk.max(initial=-1), indices.max(initial=-1))) + 2  # +2: room for the -1 slot
    rel_keys = np.repeat(np.arange(n, dtype=np.int64), n_rel) * width + indices
    rel_keys.sort()
    keys = np.arange(n, dtype=np.int64)[:, None] * width + topk
    pos = np.searchsorted(rel_keys, keys)
    hit = rel_keys[np.minimum(pos, len(rel_keys) - 1)] == keys if len(rel_keys) else np.zeros_like(keys, bool)
    return hit & (topk >= 0), n_rel


def _finish(values: np.ndarray, n_rel: np.ndarray, per_user: bool) -> float | np.ndarray:
    values = np.where(n_rel > 0, values, np.nan)
    if per_user:
        return values
    return float(np.nanmean(values)) if np.any(n_rel > 0) else float("nan")


def _topk(topk: np.ndarray, k: int | None) -> np.ndarray:
    topk = np.asarray(topk)
    return topk if k is None else topk[:, :k]


def recall_at_k(topk: np.ndarray, relevant: Any, k: int | None = None, per_user: bool = False):
    """Recall@K = hits in the top K / number of relevant items (not min(|rel|, K))."""
    hit, n_rel = hits_matrix(_topk(topk, k), relevant)
    return _finish(hit.sum(1) / np.maximum(n_rel, 1), n_rel, per_user)


def precision_at_k(topk: np.ndarray, relevant: Any, k: int | None = None, per_user: bool = False):
    """Precision@K = hits in the top K / K (K = the list width, empty slots count as misses)."""
    t = _topk(topk, k)
    hit, n_rel = hits_matrix(t, relevant)
    return _finish(hit.sum(1) / max(t.shape[1], 1), n_rel, per_user)


def hit_rate_at_k(topk: np.ndarray, relevant: Any, k: int | None = None, per_user: bool = False):
    """HR@K = 1 when at least one relevant item is in the top K, else 0."""
    hit, n_rel = hits_matrix(_topk(topk, k), relevant)
    return _finish(hit.any(1).astype(np.float64), n_rel, per_user)


def mrr_at_k(topk: np.ndarray, relevant: Any, k: int | None = None, per_user: bool = False):
    """MRR@K = 1 / rank of the first relevant item within the top K (0 when none is there)."""
    hit, n_rel = hits_matrix(_topk(topk, k), relevant)
    first = np.argmax(hit, axis=1)
    return _finish(np.where(hit.any(1), 1.0 / (first + 1), 0.0), n_rel, per_user)


mrr = mrr_at_k


def ndcg_at_k(topk: np.ndarray, relevant: Any, k: int | None = None, per_user: bool = False):
    """NDCG@K, binary relevance: sum of 1/log2(rank + 1) over hits / the same sum over min(|rel|, K) ranks."""
    t = _topk(topk, k)
    hit, n_rel = hits_matrix(t, relevant)
    disc = 1.0 / np.log2(np.arange(2, t.shape[1] + 2))
    dcg = hit @ disc
    ideal = np.r_[0.0, np.cumsum(disc)][np.minimum(n_rel, t.shape[1])]
    return _finish(dcg / np.where(ideal > 0, ideal, 1.0), n_rel, per_user)


def coverage(topk: np.ndarray, n_items: int, k: int | None = None) -> float:
    """Catalogue coverage@K: share of the ``n_items`` candidates that appear in anyone's top K."""
    t = _topk(topk, k)
    return float(len(np.unique(t[t >= 0])) / n_items) if n_items else float("nan")


def novelty(
    topk: np.ndarray, item_counts: np.ndarray, n_users: int, k: int | None = None, per_user: bool = False
):
    """Mean self-information ``-log2 p(i)`` of recommended items, ``p(i) = train users of i / n_users``.

    Items never seen in train count as seen once (``p = 1 / n_users``, the maximum novelty) so the value
    stays finite. Per user: mean over the filled slots; overall: mean over users.
    """
    t = _topk(topk, k)
    p = np.maximum(np.asarray(item_counts, dtype=np.float64), 1.0) / max(n_users, 1)
    info = -np.log2(np.minimum(p, 1.0))
    valid = t >= 0
    per = np.where(valid, info[np.where(valid, t, 0)], 0.0).sum(1) / np.maximum(valid.sum(1), 1)
    per = np.where(valid.any(1), per, np.nan)
    if per_user:
        return per
    return float(np.nanmean(per)) if np.any(valid) else float("nan")


# --- classification (Study B) ------------------------------------------------------------------------


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Share of exact matches."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else float("nan")


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int] = LABELS_1_5) -> float:
    """Unweighted mean of the per-class F1 over ``labels`` (a class never predicted nor present scores 0)."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0))


def confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int] = LABELS_1_5
) -> np.ndarray:
    """``(len(labels), len(labels))`` counts; rows are true labels, columns predictions, in ``labels`` order."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    lab = np.asarray(labels)
    sort = np.argsort(lab, kind="stable")
    sorted_lab = lab[sort]

    def index(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.minimum(np.searchsorted(sorted_lab, y), len(lab) - 1)
        return sort[pos], sorted_lab[pos] == y

    ti, t_ok = index(y_true)
    pi, p_ok = index(y_pred)
    ok = t_ok & p_ok  # values outside ``labels`` are ignored, as scikit-learn does
    out = np.zeros((len(lab), len(lab)), dtype=np.int64)
    np.add.at(out, (ti[ok], pi[ok]), 1)
    return out


def classification_report(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int] = LABELS_1_5, digits: int = 3
) -> dict[str, Any]:
    """scikit-learn's report as a dict (per class precision/recall/f1-score/support, plus accuracy,
    macro avg, weighted avg), floats rounded to ``digits`` as the study printed them."""
    from sklearn.metrics import classification_report as sk_report

    raw = sk_report(y_true, y_pred, labels=list(labels), output_dict=True, zero_division=0, target_names=None)

    def rnd(v: Any) -> Any:
        if isinstance(v, dict):
            return {key: rnd(x) for key, x in v.items()}
        if isinstance(v, float):
            return round(v, digits)
        return v

    return {str(key): rnd(v) for key, v in raw.items()}


# --- significance ------------------------------------------------------------------------------------


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Paired t-test (and Wilcoxon signed-rank) of ``a - b`` over matched units (users or seeds).

    Pairs with a nan on either side are dropped. Returns ``mean_diff`` (a - b), ``t``, ``p_value`` (two-sided;
    also as ``p``), ``n``, ``test`` = "paired t", ``wilcoxon_stat``, ``wilcoxon_p``. With all differences
    zero the two are indistinguishable: t = 0, p = 1.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
    ok = ~(np.isnan(a) | np.isnan(b))
    d = a[ok] - b[ok]
    n = int(d.size)
    out: dict[str, Any] = {"mean_diff": float(d.mean()) if n else float("nan"), "n": n, "test": "paired t"}
    if n < 2:
        t, p, w, wp = float("nan"), float("nan"), float("nan"), float("nan")
    elif np.all(d == 0):
        t, p, w, wp = 0.0, 1.0, 0.0, 1.0
    else:
        res = stats.ttest_rel(a[ok], b[ok])
        t, p = float(res.statistic), float(res.pvalue)
        wres = stats.wilcoxon(d)
        w, wp = float(wres.statistic), float(wres.pvalue)
    out.update(t=t, p_value=p, p=p, wilcoxon_stat=w, wilcoxon_p=wp)
    return out
