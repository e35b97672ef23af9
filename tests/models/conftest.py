"""A synthetic catalogue with a known answer, shared by the ranker tests.

Items fall into clusters; their content vectors are the cluster's one-hot plus noise. Each user prefers
one cluster: positives come from it, explicit negatives from the others. Held-out positives therefore
lie in the user's cluster, which content models see directly and collaborative models learn from
co-occurrence; popularity (clusters equally popular) cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mmrec_core.models.base import RankingData


@dataclass
class Synthetic:
    data: RankingData
    test: list[np.ndarray]  # held-out positive items per user
    user_cluster: np.ndarray
    item_cluster: np.ndarray


def make_synthetic(
    n_users: int = 120, n_clusters: int = 4, per_cluster: int = 30, dim: int = 12, seed: int = 0
) -> Synthetic:
    rng = np.random.default_rng(seed)
    n_items = n_clusters * per_cluster
    item_cluster = np.repeat(np.arange(n_clusters), per_cluster)
    feats = np.zeros((n_items, dim), np.float32)
    feats[np.arange(n_items), item_cluster] = 1.0
    feats += rng.normal(0, 0.3, feats.shape).astype(np.float32)
    user_cluster = rng.integers(0, n_clusters, n_users)
    tu, ti, tl, pu, pp, pn, test = [], [], [], [], [], [], []
    for u in range(n_users):
        mine = np.flatnonzero(item_cluster == user_cluster[u])
        other = np.flatnonzero(item_cluster != user_cluster[u])
        pos = rng.choice(mine, 14, replace=False)
        neg = rng.choice(other, 6, replace=False)
        train_pos, test_pos = pos[:10], pos[10:]
        tu += [u] * 16
        ti += list(train_pos) + list(neg)
        tl += [1] * 10 + [0] * 6
        pu += [u] * 5
        pp += list(train_pos[:5])
        pn += list(rng.choice(neg, 5))
        test.append(test_pos)
    i64 = lambda a: np.asarray(a, np.int64)  # noqa: E731
    data = RankingData(
        n_users, n_items, i64(tu), i64(ti), np.asarray(tl, np.int8), i64(pu), i64(pp), i64(pn),
        item_features=feats, has_features=np.ones(n_items, bool),
    )  # fmt: skip
    return Synthetic(data, test, user_cluster, item_cluster)


def ndcg_at_k(top: np.ndarray, test: list[np.ndarray], k: int = 10) -> float:
    """Mean NDCG@k of top-k lists against the held-out sets (the project's metric)."""
    from mmrec_core.metrics import ndcg_at_k as ndcg

    return float(ndcg(top, test, k))


@pytest.fixture(scope="session")
def synthetic() -> Synthetic:
    return make_synthetic()


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread():
    """Tiny models run fastest on one thread, and far faster when other processes share the cores
    (OpenMP workers spin-wait for each other); the previous setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
