"""Top-K of inner products against an item matrix: exact blocks at the matmul's speed, or a FAISS index.

The ``exact`` engine scores a block of queries against a tile of items with one matrix multiply and never
holds more than ``block x item_block`` scores. Selecting the K best of 1e10 scores with ``torch.topk``
costs about as much as the multiply itself, so it is avoided: each row of a tile is cut into chunks of
``_CHUNK`` columns and summarised by their maxima (one cheap pass over data still in cache). The K-th
largest of K distinct chunk maxima is a lower bound of the row's K-th score (K items reach it), so only the
chunks whose maximum reaches that bound (about K of them per row) are read again, and only their entries
reaching it become candidates. The bound tightens as tiles go by (the running K best chunk maxima), and
the candidates are ranked by (score descending, item index ascending): exactly
:func:`mmrec_core.topk.stable_top_k`'s order, ties included. Excluded items are set to ``-inf`` in the
tile before the maxima (a scatter of the few excluded entries), so exclusion stays exact.

The FAISS engines ask for K plus the most items any query in the block excludes, drop the excluded ones
and keep the K best. ``faiss-flat`` is exact (``IndexFlatIP``); ``faiss-hnsw`` is approximate
(:func:`recall_at_k` measures it against ``exact``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from mmrec_core.config import RETRIEVAL_ENGINES as ENGINES
from mmrec_core.config import RetrievalConfig, from_dict, validate
from mmrec_core.progress import ProgressCallback, Reporter

__all__ = ["ENGINES", "ItemIndex", "RetrievalConfig", "build_index", "recall_at_k"]

log = logging.getLogger("mmrec.retrieval")

_CHUNK = 32  # columns summarised by one maximum: ~K chunks of it are re-read per row
_MAGIC = b"mmrec-item-index-1\n"
_LOWEST = float(np.finfo(np.float32).min)  # candidates must beat -inf (excluded items never are)


class ItemIndex:
    """An item matrix prepared for top-K inner-product search with one engine (:data:`ENGINES`).

    Parameters
    ----------
    items:
        ``(n_items, d)`` float32 item vectors.
    config:
        Engine and its settings.

    Raises
    ------
    ValueError
        On an unknown engine (the message lists :data:`ENGINES`) or a field out of bounds.
    """

    def __init__(self, items: np.ndarray, config: RetrievalConfig = RetrievalConfig()) -> None:
        _check_engine(config.engine)
        validate(config)
        x = _array(items)
        if x.ndim != 2:
            raise ValueError(f"items must be a 2-D (n_items, d) array, got shape {x.shape}")
        self.config = config
        self.n_items, self.dim = x.shape
        self._items: np.ndarray | None = x if config.engine == "exact" else None
        self._faiss: Any = _faiss_index(x, config) if config.engine != "exact" else None

    def search(
        self,
        queries: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items of largest inner product with each query, best first.

        Parameters
        ----------
        queries:
            ``(n_queries, d)`` float32.
        k:
            Items per query (at most ``n_items`` are returned; the rest is padding).
        exclude:
            ``(n_queries, n_items)`` CSR; row j lists the items never returned for query j.
        progress:
            Called with the share of queries done (:class:`mmrec_core.progress.Reporter`).

        Returns
        -------
        (indices, scores):
            ``(n_queries, k)`` int64 item indices (``-1`` pads rows with fewer than ``k`` eligible items) and
            float32 scores (``-inf`` there). Equal scores rank the lower item index first.
        """
        q = _array(queries)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim}), got {q.shape}")
        if exclude is not None:
            exclude = sp.csr_matrix(exclude)
            if exclude.shape != (len(q), self.n_items):
                raise ValueError(f"exclude must have shape {(len(q), self.n_items)}, got {exclude.shape}")
        k = max(int(k), 0)
        top = np.full((len(q), k), -1, np.int64)
        vals = np.full((len(q), k), -np.inf, np.float32)
        kk = min(k, self.n_items)
        rep = Reporter(progress, "top-k search", len(q), "queries")
        block = self.config.block
        for start in range(0, len(q), block):
            qb = q[start : start + block]
            ex = exclude[start : start + block] if exclude is not None else None
            if kk > 0:
                if self._faiss is None:
                    i, v = _exact_block(self._items, qb, kk, ex, self.config.item_block)
                else:
                    i, v = _faiss_block(self._faiss, self.config, self.n_items, qb, kk, ex)
                top[start : start + len(qb), :kk], vals[start : start + len(qb), :kk] = i, v
            rep.update(start + len(qb))
        return top, vals

    def to_bytes(self) -> bytes:
        """The index as bytes (a JSON header, then the item matrix or FAISS's own serialisation)."""
        if self._faiss is None:
            payload = self._items.tobytes()
        else:
            import faiss

            payload = faiss.serialize_index(self._faiss).tobytes()
        header = {"config": dataclasses.asdict(self.config), "n_items": self.n_items, "dim": self.dim}
        head = json.dumps(header).encode()
        return _MAGIC + len(head).to_bytes(8, "little") + head + payload

    @classmethod
    def from_bytes(cls, data: bytes) -> ItemIndex:
        """The index :meth:`to_bytes` wrote (no pickle: safe to read from another process)."""
        if not data.startswith(_MAGIC):
            raise ValueError("not an mmrec item index (bad magic bytes)")
        at = len(_MAGIC)
        size = int.from_bytes(data[at : at + 8], "little")
        header = json.loads(data[at + 8 : at + 8 + size])
        payload = memoryview(data)[at + 8 + size :]
        self = cls.__new__(cls)
        self.config = from_dict(RetrievalConfig, header["config"])
        self.n_items, self.dim = int(header["n_items"]), int(header["dim"])
        if self.config.engine == "exact":
            items = np.frombuffer(payload, dtype=np.float32).reshape(self.n_items, self.dim)
            self._items, self._faiss = items.copy(), None
        else:
            import faiss

            self._items = None
            self._faiss = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8).copy())
        return self


def build_index(items: np.ndarray, engine: str = "exact", **params: Any) -> ItemIndex:
    """``ItemIndex(items, RetrievalConfig(engine=engine, **params))``."""
    _check_engine(engine)
    return ItemIndex(items, RetrievalConfig(engine=engine, **params))


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-K items (row by row) that ``found`` contains; ``-1`` entries are ignored.

    nan when ``exact`` holds no item.
    """
    found, exact = np.asarray(found, np.int64), np.asarray(exact, np.int64)
    if found.shape[0] != exact.shape[0]:
        raise ValueError(f"found and exact must have as many rows, got {found.shape[0]} and {exact.shape[0]}")
    width = int(max(found.max(initial=-1), exact.max(initial=-1))) + 1
    rows_f = np.broadcast_to(np.arange(len(found))[:, None], found.shape)
    rows_e = np.broadcast_to(np.arange(len(exact))[:, None], exact.shape)
    keys_f = (rows_f * width + found)[found >= 0]
    keys_e = (rows_e * width + exact)[exact >= 0]
    if len(keys_e) == 0:
        return float("nan")
    return float(np.isin(keys_e, keys_f).mean())


def _array(x: np.ndarray) -> np.ndarray:
    """C-contiguous, writable float32 (torch.from_numpy refuses nothing but warns on read-only arrays)."""
    out = np.ascontiguousarray(x, dtype=np.float32)
    return out if out.flags.writeable else out.copy()


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"unknown retrieval engine {engine!r}; choose one of {ENGINES}")


def _excluded(ex: sp.csr_matrix | None) -> tuple[np.ndarray, np.ndarray]:
    """(row, item) arrays of a block's excluded entries."""
    if ex is None or ex.nnz == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.repeat(np.arange(ex.shape[0]), np.diff(ex.indptr)), ex.indices.astype(np.int64)


def _exact_block(
    items: np.ndarray, queries: np.ndarray, k: int, ex: sp.csr_matrix | None, item_block: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` (``1 <= k <= n_items``) of one block of queries; see the module docstring."""
    import torch

    n_items, n_rows = len(items), len(queries)
    items_t, q = torch.from_numpy(items), torch.from_numpy(queries)
    ex_rows, ex_cols = _excluded(ex)
    tile = min(_round_up(item_block, _CHUNK), _round_up(n_items, _CHUNK))
    buf = torch.empty(n_rows * tile)
    best = torch.full((n_rows, k), -np.inf)  # running K best chunk maxima, descending
    cand: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    n_cand = 0
    for c0 in range(0, n_items, tile):
        c1 = min(c0 + tile, n_items)
        width = _round_up(c1 - c0, _CHUNK)
        s = buf[: n_rows * width].view(n_rows, width)
        if width == c1 - c0:
            torch.mm(q, items_t[c0:c1].T, out=s)
        else:  # the last tile: pad to whole chunks with -inf (never a candidate)
            s[:, : c1 - c0] = q @ items_t[c0:c1].T
            s[:, c1 - c0 :] = -np.inf
        if len(ex_cols):
            hit = (ex_cols >= c0) & (ex_cols < c1)
            s[torch.from_numpy(ex_rows[hit]), torch.from_numpy(ex_cols[hit] - c0)] = -np.inf
        # chunk g of a row holds columns g, g + G, g + 2G, ...: its maximum is an elementwise max of
        # _CHUNK contiguous runs (vectorised), not a horizontal one
        groups = width // _CHUNK
        chunks = s.view(n_rows, _CHUNK, groups)
        maxima = chunks.amax(1)
        top = torch.topk(maxima, min(k, groups), dim=1, sorted=True).values
        if bool(torch.isnan(top[:, 0]).any()):  # topk puts NaN first; NaN ranks as -inf (stable_top_k)
            torch.nan_to_num_(s, nan=-np.inf, posinf=np.inf, neginf=-np.inf)
            maxima = chunks.amax(1)
            top = torch.topk(maxima, min(k, groups), dim=1, sorted=True).values
        best = torch.topk(torch.cat([best, top], 1), k, dim=1, sorted=True).values
        bound = best[:, -1].clamp(min=_LOWEST).numpy()
        rows, groups_hit = np.nonzero(maxima.numpy() >= bound[:, None])
        vals = chunks[torch.from_numpy(rows), :, torch.from_numpy(groups_hit)].numpy()  # (hit chunks, _CHUNK)
        j, t = np.nonzero(vals >= bound[rows, None])
        cand.append((rows[j], c0 + t * groups + groups_hit[j], vals[j, t]))
        n_cand += len(j)
        if n_cand > 8 * n_rows * (k + _CHUNK):  # many ties: keep each row's K best so far (memory bound)
            cand = [_merge(cand, bound, k)]
            n_cand = len(cand[0][0])
    rows, cols, vals = _merge(cand, best[:, -1].numpy(), k)
    out = np.full((n_rows, k), -1, np.int64)
    out_vals = np.full((n_rows, k), -np.inf, np.float32)
    rank = _rank_in_row(rows, n_rows)
    out[rows, rank], out_vals[rows, rank] = cols, vals
    return out, out_vals


def _merge(
    cand: list[tuple[np.ndarray, np.ndarray, np.ndarray]], bound: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's ``k`` best candidates by (score descending, item ascending), rows ascending."""
    rows, cols, vals = (np.concatenate([c[i] for c in cand]) for i in range(3))
    keep = vals >= bound[rows]
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    keep = _rank_in_row(rows, len(bound)) < k
    return rows[keep], cols[keep], vals[keep]


def _rank_in_row(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Position of each entry within its row (``rows`` sorted ascending)."""
    starts = np.searchsorted(rows, np.arange(n_rows))
    return np.arange(len(rows)) - starts[rows]


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def _faiss_index(items: np.ndarray, config: RetrievalConfig) -> Any:
    import faiss

    d = items.shape[1]
    if config.engine == "faiss-flat":
        index = faiss.IndexFlatIP(d)
    else:
        index = faiss.IndexHNSWFlat(d, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.ef_construction
        index.hnsw.efSearch = config.ef_search
    index.add(items)
    return index


def _faiss_block(
    index: Any, config: RetrievalConfig, n_items: int, queries: np.ndarray, k: int, ex: sp.csr_matrix | None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of one block from FAISS: ask for ``k`` + the block's most excluded items, drop those."""
    import faiss

    ex_rows, ex_cols = _excluded(ex)
    extra = int(np.diff(ex.indptr).max()) if len(ex_rows) else 0
    kk = min(k + extra, n_items)
    if config.engine == "faiss-hnsw":
        params = faiss.SearchParametersHNSW(efSearch=max(config.ef_search, kk))
        scores, found = index.search(queries, kk, params=params)
    else:
        scores, found = index.search(queries, kk)
    gone = found < 0
    if len(ex_rows):
        keys = np.arange(len(queries))[:, None] * n_items + found
        gone |= np.isin(keys, ex_rows * n_items + ex_cols)
    scores = np.where(gone, -np.inf, scores).astype(np.float32)
    found = np.where(gone, -1, found).astype(np.int64)
    # best first, ties by lower index; dropped entries (-inf) last
    order = np.lexsort((np.where(gone, n_items, found), -scores), axis=1)[:, :k]
    return np.take_along_axis(found, order, 1), np.take_along_axis(scores, order, 1)
