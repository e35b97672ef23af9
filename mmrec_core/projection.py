"""2-D maps of item vectors: PCA (instant, numpy only) and UMAP (imported lazily, warmed in the background).

The first ``import umap`` in a fresh venv takes ~20 s and the first fit JIT-compiles for another ~15 s, so the
dashboard shows a PCA map at once and switches to UMAP once :func:`umap_ready` says the warm-up finished.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import scipy.sparse as sp

log = logging.getLogger("mmrec.projection")

METHODS = ("umap", "pca")
_warm = threading.Event()
_failed = threading.Event()
_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """First two principal components (via SVD of the centred data), sign-fixed for stable plots."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {x.shape}")
    out = np.zeros((len(x), 2), dtype=np.float32)
    if len(x) < 2 or x.shape[1] == 0:
        return out
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    comps = u[:, :2] * s[:2]
    # SVD signs are arbitrary: make the largest-magnitude entry of each component positive.
    signs = np.sign(comps[np.abs(comps).argmax(axis=0), range(comps.shape[1])])
    signs[signs == 0] = 1
    out[:, : comps.shape[1]] = comps * signs
    return out


def umap_2d(vectors: np.ndarray, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """UMAP with the cosine metric; falls back to PCA below 4 points (UMAP needs a neighbourhood)."""
    x = np.asarray(vectors, dtype=np.float32)
    if len(x) < 4:
        return pca_2d(x)
    # Cosine is undefined for zero rows (items with no embedding): nudge them so UMAP does not emit NaN.
    zero = ~np.any(x, axis=1)
    if zero.any():
        x = x.copy()
        x[zero] = np.random.default_rng(seed).normal(scale=1e-6, size=(int(zero.sum()), x.shape[1]))
    import umap  # heavy: numba JIT, ~2-20 s on first import

    reducer = umap.UMAP(
        n_neighbors=min(n_neighbors, len(x) - 1), min_dist=min_dist, metric="cosine", random_state=seed,
        n_components=2,
    )
    out = reducer.fit_transform(x).astype(np.float32)
    _warm.set()
    return out


def project(vectors: np.ndarray, method: str = "umap", seed: int = 0) -> np.ndarray:
    """Project ``(n, d)`` vectors to ``(n, 2)`` float32 with ``method`` ("umap" or "pca").

    Raises
    ------
    ValueError
        On an unknown method or a non-2-D input.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose one of {METHODS}")
    if np.asarray(vectors).ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {np.asarray(vectors).shape}")
    if method == "pca":
        return pca_2d(vectors)
    return umap_2d(vectors, seed=seed)


def umap_ready() -> bool:
    """True once UMAP has been imported and JIT-compiled in this process (a fit is then seconds)."""
    return _warm.is_set()


def umap_failed() -> bool:
    """True when the background warm-up raised (UMAP missing or broken): maps stay on PCA."""
    return _failed.is_set()


def _warm_up() -> None:
    try:
        rng = np.random.default_rng(0)
        umap_2d(rng.normal(size=(64, 8)).astype(np.float32))
        log.info("UMAP warmed up")
    except Exception:  # noqa: BLE001 - warm-up is best effort; the map stays on PCA
        _failed.set()
        log.exception("UMAP warm-up failed; maps stay on PCA")


def warm_up_umap() -> None:
    """Start (once per process) a background thread that imports UMAP and JIT-compiles a tiny fit."""
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None and not _warm.is_set():
            _warm_thread = threading.Thread(target=_warm_up, name="umap-warm-up", daemon=True)
            _warm_thread.start()


def nearest_neighbours(
    features: np.ndarray, index: int, k: int = 8, valid: np.ndarray | None = None, *, engine: str = "exact"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items most cosine-similar to item ``index`` (itself excluded), best first.

    Cosine is the inner product of L2-normalised vectors, searched with :mod:`mmrec_core.retrieval`'s
    ``engine`` (the one ranking uses; equal similarities list the lower index first). Returns
    ``(indices, similarities)``; items where ``valid`` is False (no features) are never returned.
    """
    from mmrec_core.retrieval import build_index

    x = np.asarray(features, dtype=np.float32)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    skip = np.zeros(len(x), bool) if valid is None else ~np.asarray(valid, dtype=bool)
    skip[index] = True
    exclude = sp.csr_matrix(skip[None, :])
    top, sims = build_index(unit, engine).search(unit[index][None, :], k, exclude=exclude)
    keep = top[0] >= 0
    return top[0][keep], sims[0][keep]


def audience_clusters(profiles: np.ndarray, users: np.ndarray, items: np.ndarray, n_items: int,
                      n_clusters: int = 6, seed: int = 0) -> np.ndarray:
    """Colour items by who likes them: k-means over user taste vectors, then each item gets the cluster
    most common among its positive raters (-1 when it has none).

    Parameters
    ----------
    profiles:
        ``(n_users, d)`` user vectors (mean of liked item vectors).
    users, items:
        Positive interactions as index arrays.
    """
    from sklearn.cluster import KMeans

    n_clusters = max(1, min(n_clusters, len(profiles)))
    labels = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit_predict(profiles)
    votes = np.zeros((n_items, n_clusters), dtype=np.int64)
    np.add.at(votes, (np.asarray(items), labels[np.asarray(users)]), 1)
    out = votes.argmax(axis=1)
    out[votes.sum(axis=1) == 0] = -1
    return out
