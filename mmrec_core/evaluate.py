"""Evaluation protocols: Study A's pairwise accuracy, full ranking, the cold-start track, seeds, wording.

Full ranking scores every candidate item for every evaluated user, in user chunks of
``EvalConfig.chunk_size`` (memory ~ chunk x items floats; cost linear in users). Relevant items are a user's
**test positives** (label 1, rating >= the split's threshold: Study A's labels); users with at least one
relevant test item are evaluated. Each user's train items are excluded from the ranking, and a test
positive that is also a train item of the same user (a repeated review) is dropped from the relevant set,
since an excluded item can never be hit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from mmrec_core import metrics as M
from mmrec_core.config import EvalConfig, SplitConfig
from mmrec_core.data.interactions import Interactions, Pairs, Split
from mmrec_core.models.base import Ranker
from mmrec_core.progress import ProgressCallback, Reporter
from mmrec_core.topk import stable_top_k

log = logging.getLogger("mmrec.evaluate")

RANK_METRICS = ("recall", "ndcg", "hr", "precision", "mrr")


def evaluate_pairs(model: Ranker, pairs: Pairs, has_features: np.ndarray | None = None) -> dict[str, Any]:
    """Study A step 9: pairwise accuracy of ``model`` on ``pairs`` (share with ``s_pos > s_neg``).

    Pairs whose positive or negative item has no embedding (``has_features`` False) are skipped. Our
    reading of "user or item has no embedding": a user always has one (step 6 gives zeros when the user
    has no positive train item), so only items can lack one. ``has_features=None`` skips nothing.
    Returns ``accuracy`` (nan with no pairs), ``n_pairs`` (evaluated) and ``n_skipped``.
    """
    users, pos, neg = (np.asarray(a, dtype=np.int64) for a in (pairs.users, pairs.pos, pairs.neg))
    keep = np.ones(len(users), bool)
    if has_features is not None:
        hf = np.asarray(has_features, bool)
        keep = hf[pos] & hf[neg]
    users, pos, neg = users[keep], pos[keep], neg[keep]
    if len(users):
        s_pos, s_neg = model.score_pairs(users, pos), model.score_pairs(users, neg)
    else:
        s_pos = s_neg = np.zeros(0, np.float32)
    return {
        "accuracy": M.pairwise_accuracy(s_pos, s_neg),
        "n_pairs": int(keep.sum()),
        "n_skipped": int((~keep).sum()),
    }


def _csr(users: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(users), np.float32), (users, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best scores per row, best first, ties by lower item index
    (:func:`mmrec_core.topk.stable_top_k`); ``-1`` where only excluded (-inf) items remain."""
    top, values = stable_top_k(scores, k)
    return np.where(values == -np.inf, -1, top)


def evaluate_ranking(
    model: Ranker,
    inter: Interactions,
    split: Split,
    config: EvalConfig = EvalConfig(),
    *,
    candidate_items: np.ndarray | None = None,
    return_per_user: bool = False,
    progress: ProgressCallback | None = None,
    auc: bool = True,
) -> dict[str, float] | tuple[dict[str, float], dict[str, np.ndarray]]:
    """Full-ranking metrics of ``model`` on ``split.test``, for each K in ``config.ks``.

    Keys: ``recall@K``, ``ndcg@K``, ``hr@K``, ``precision@K``, ``mrr@K`` (means over evaluated users),
    ``coverage@K`` (share of candidates in anyone's top K), ``novelty@K`` (mean -log2 train popularity),
    ``auc`` (per user: share of (relevant, other non-excluded candidate) pairs ranked right, ties 0.5;
    mean over users), ``n_users`` (evaluated) and ``n_items`` (candidates). ``candidate_items`` restricts the ranking to
    those items (the cold-start track); default: the whole catalogue. Train items are excluded when
    ``config.exclude_seen``. With ``return_per_user`` also returns per-user vectors (``users`` plus one
    array per metric, aligned across models on the same split) for :func:`mmrec_core.metrics.paired_test`.
    ``auc=False`` skips the AUC (nan), which compares every relevant item with the whole row: model
    selection, ranking the validation rows after every epoch, asks for it only when it selects on AUC.
    """
    n_items = inter.n_items
    if candidate_items is None:
        cand = None
        col_of = np.arange(n_items, dtype=np.int64)
        n_cand = n_items
    else:
        cand = np.unique(np.asarray(candidate_items, dtype=np.int64))
        col_of = np.full(n_items, -1, dtype=np.int64)
        col_of[cand] = np.arange(len(cand))
        n_cand = len(cand)

    tr, te = split.train, split.test
    tr_u, tr_c = inter.users[tr], col_of[inter.items[tr]]
    seen = _csr(tr_u[tr_c >= 0], tr_c[tr_c >= 0], (inter.n_users, max(n_cand, 1)))
    pos_rows = te[inter.labels[te] == 1]
    rel_u, rel_c = inter.users[pos_rows], col_of[inter.items[pos_rows]]
    rel_u, rel_c = rel_u[rel_c >= 0], rel_c[rel_c >= 0]
    if config.exclude_seen and len(rel_u):
        fresh = ~_lookup(seen, rel_u, rel_c)
        rel_u, rel_c = rel_u[fresh], rel_c[fresh]
    relevant = _csr(rel_u, rel_c, (inter.n_users, max(n_cand, 1)))
    eval_users = np.unique(rel_u)
    ks = sorted(set(int(k) for k in config.ks))
    kmax = max(ks)

    # popularity for novelty: distinct train users per item
    pairs = np.unique(inter.users[tr] * n_items + inter.items[tr])
    counts = np.bincount(pairs % n_items, minlength=n_items)
    n_train_users = len(np.unique(inter.users[tr]))
    cand_counts = counts if cand is None else counts[cand]

    topk = np.full((len(eval_users), kmax), -1, dtype=np.int64)
    user_auc = np.full(len(eval_users), np.nan)
    kk = min(kmax, n_cand)
    vectors = None if auc else model.dot_vectors()
    if vectors is not None and kk > 0:
        # an inner-product scorer and no AUC (which needs whole rows): the exact top-K engine, same lists
        excluded = seen if config.exclude_seen else None
        topk[:, :kk] = _dot_top_k(vectors, eval_users, cand, excluded, kk, progress)
    rep = Reporter(progress, "rank users", len(eval_users), "users")
    for start in range(0, len(eval_users) if vectors is None else 0, config.chunk_size):
        u = eval_users[start : start + config.chunk_size]
        s = np.array(model.score(u, cand), dtype=np.float32, copy=True)
        if config.exclude_seen:
            block = seen[u]
            excluded = (np.repeat(np.arange(len(u)), np.diff(block.indptr)), block.indices)
            s[excluded] = -np.inf
        if kk > 0:
            topk[start : start + len(u), :kk] = _top_k(s, kk)
        if auc:
            if config.exclude_seen:
                s[excluded] = np.nan  # excluded items are neither positives nor negatives for the AUC
            user_auc[start : start + len(u)] = _user_auc(s, relevant[u])
        rep.update(start + len(u))

    rel_rows = relevant[eval_users]
    out: dict[str, float] = {}
    per_user: dict[str, np.ndarray] = {"users": eval_users}
    fns = {
        "recall": M.recall_at_k,
        "ndcg": M.ndcg_at_k,
        "hr": M.hit_rate_at_k,
        "precision": M.precision_at_k,
        "mrr": M.mrr_at_k,
    }
    for k in ks:
        for name, fn in fns.items():
            vec = fn(topk, rel_rows, k=k, per_user=True) if len(eval_users) else np.zeros(0)
            per_user[f"{name}@{k}"] = vec
            out[f"{name}@{k}"] = float(np.nanmean(vec)) if len(vec) else float("nan")
        out[f"coverage@{k}"] = M.coverage(topk, n_cand, k=k) if len(eval_users) else float("nan")
        nov = M.novelty(topk, cand_counts, n_train_users, k=k, per_user=True)
        per_user[f"novelty@{k}"] = nov
        out[f"novelty@{k}"] = float(np.nanmean(nov)) if np.any(~np.isnan(nov)) else float("nan")
    per_user["auc"] = user_auc
    out["auc"] = float(np.nanmean(user_auc)) if np.any(~np.isnan(user_auc)) else float("nan")
    out["n_users"] = float(len(eval_users))
    out["n_items"] = float(n_cand)
    log.info("ranking %s: %d users, %d candidates", getattr(model, "name", "?"), len(eval_users), n_cand)
    return (out, per_user) if return_per_user else out


def _dot_top_k(
    vectors: tuple[np.ndarray, np.ndarray],
    users: np.ndarray,
    cand: np.ndarray | None,
    seen: sp.csr_matrix | None,
    k: int,
    progress: ProgressCallback | None,
) -> np.ndarray:
    """:func:`_top_k` of ``users`` through :class:`mmrec_core.retrieval.ItemIndex` (``-1`` pads likewise)."""
    import dataclasses

    from mmrec_core.retrieval import ItemIndex

    user_vecs, item_vecs = vectors
    index = ItemIndex(item_vecs if cand is None else item_vecs[cand])

    def report(event):  # the scored path's stage name, so the UI shows one kind of progress
        progress(dataclasses.replace(event, stage="rank users", unit="users"))

    exclude = None if seen is None else seen[users]
    top, _ = index.search(user_vecs[users], k, exclude=exclude, progress=None if progress is None else report)
    return top


def _user_auc(s: np.ndarray, rel: sp.csr_matrix, budget: int = 1 << 24) -> np.ndarray:
    """Per-row AUC of the relevant items against every other non-NaN candidate (ties count 0.5).

    Modifies ``s`` (relevant entries become NaN so they are not counted as negatives). Compares each
    relevant score with its whole row, in blocks of about ``budget`` comparisons (bounded memory).
    """
    rows = np.repeat(np.arange(s.shape[0]), np.diff(rel.indptr))
    cols = rel.indices
    pos_scores = s[rows, cols].astype(np.float32)
    s[rows, cols] = np.nan
    n_neg = s.shape[1] - np.count_nonzero(np.isnan(s), axis=1)
    wins = np.empty(len(rows), dtype=np.float64)
    step = max(1, budget // max(s.shape[1], 1))
    for a in range(0, len(rows), step):
        blk = s[rows[a : a + step]]
        p = pos_scores[a : a + step, None]
        wins[a : a + step] = np.count_nonzero(blk < p, axis=1) + 0.5 * np.count_nonzero(blk == p, axis=1)
    per_pos = wins / np.maximum(n_neg[rows], 1)
    total = np.bincount(rows, weights=per_pos, minlength=s.shape[0])
    n_pos = np.bincount(rows, minlength=s.shape[0])
    return np.where((n_pos > 0) & (n_neg > 0), total / np.maximum(n_pos, 1), np.nan)


def _lookup(m: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether ``m[rows[j], cols[j]]`` is non-zero, vectorised over j."""
    return np.asarray(m[rows, cols]).ravel() > 0


def cold_items(inter: Interactions, split: Split) -> np.ndarray:
    """Items that occur in the test rows but never in the train rows (sorted)."""
    return np.setdiff1d(inter.items[split.test], inter.items[split.train])


def evaluate_cold_start(
    model: Ranker,
    inter: Interactions,
    split: Split,
    config: EvalConfig = EvalConfig(),
    *,
    return_per_user: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, float] | tuple[dict[str, float], dict[str, np.ndarray]]:
    """The cold-start track: rank only the items never seen in train (:func:`cold_items`).

    Users with a positive test row on a cold item are evaluated. Content-based models can score such items;
    collaborative ones are at chance. Report it separately from :func:`evaluate_ranking`. With no cold
    items every metric is nan and ``n_users`` = ``n_items`` = 0.
    """
    cold = cold_items(inter, split)
    if len(cold) == 0:
        out = {f"{m}@{k}": float("nan") for k in config.ks for m in (*RANK_METRICS, "coverage", "novelty")}
        out.update(auc=float("nan"), n_users=0.0, n_items=0.0)
        return (out, {"users": np.zeros(0, np.int64)}) if return_per_user else out
    return evaluate_ranking(
        model, inter, split, config, candidate_items=cold, return_per_user=return_per_user, progress=progress
    )


def aggregate_seeds(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof 1; 0 with one seed) of every numeric metric over seeds."""
    keys = [k for k in results[0] if isinstance(results[0][k], (int, float, np.number))] if results else []
    out: dict[str, dict[str, float]] = {}
    for key in keys:
        vals = np.array([float(r[key]) for r in results if key in r], dtype=np.float64)
        std = float(np.nanstd(vals, ddof=1)) if np.sum(~np.isnan(vals)) > 1 else 0.0
        mean = float(np.nanmean(vals)) if np.any(~np.isnan(vals)) else float("nan")
        out[key] = {"mean": mean, "std": std, "n": float(len(vals))}
    return out


def protocol_description(
    split_config: SplitConfig,
    eval_config: EvalConfig,
    seeds: Sequence[int] = (42,),
    *,
    n_items: int | None = None,
    cold_start: bool = False,
    selection: Any = None,
) -> str:
    """One sentence that says how a results table was produced (split, validation, selection, candidates,
    relevance, K, seeds). ``selection`` is the study's :class:`~mmrec_core.config.SelectionConfig` (None: the
    trained models ran fixed epochs)."""
    sc = split_config
    users = f"users with >= {sc.min_interactions} interactions"
    val = round(sc.validation_frac * 100)
    if sc.protocol == "per-user-random":
        tr = round(sc.train_frac * 100)
        text = f"per-user random {tr}/{100 - tr} split ({users}, seed {sc.seed})"
        if val > 0:
            text += f", validation = {val} % of each user's train rows (seeded)"
    elif sc.protocol == "leave-last-out":
        text = f"per-user leave-last-out split ({users}), validation = each user's last train row"
    else:
        text = f"global temporal split, latest {round(sc.global_test_frac * 100)} % of interactions as test ({users})"
        if val > 0:
            text += f", validation = the latest {val} % of train"
    if selection is not None:
        text += (
            f"; trained models selected on validation {selection.metric} (early stopping, patience "
            f"{selection.patience}, up to {selection.trials} settings each"
            + (", then refit on train + validation)" if selection.refit else ")")
        )
    else:
        text += "; trained models run fixed epochs (no selection)"
    if sc.kcore > 0:
        text = f"{sc.kcore}-core, " + text
    items = "all items" if n_items is None else f"all {n_items} items"
    if cold_start:
        ranking = "cold-start ranking over the test items never seen in train"
    else:
        ranking = f"full ranking over {items}" + (
            " excluding train items" if eval_config.exclude_seen else ""
        )
    threshold = f"{sc.positive_threshold:g}"
    ks = ", ".join(str(k) for k in eval_config.ks)
    seed_text = ", ".join(str(s) for s in seeds)
    return f"{text}; {ranking}; relevant = test items rated >= {threshold}; K = {ks}; seeds {seed_text}"
