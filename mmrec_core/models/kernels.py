"""CPU kernels (numba) for scores that are not a matrix product.

Study A's MLP scores a (user, item) pair as ``w2 . relu(a_u + b_i) + b2``, where ``a_u`` and ``b_i`` are the
user and item halves of the first layer. Ranking every item for every user in torch materialises the
``users x items x hidden`` activations and reads them three times (add, ReLU, product): about 240 ns a pair on
one core of the development machine. The loop below keeps the hidden vector in registers: 24 ns a pair, and
the user rows run in parallel. The first call compiles it (about 1.5 s, cached on disk after).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(fastmath=True, parallel=True, cache=True)
def _relu_head(a: np.ndarray, b: np.ndarray, w: np.ndarray, bias: np.float32, out: np.ndarray) -> None:
    n_users, hidden = a.shape
    n_items = b.shape[0]
    zero = np.float32(0.0)
    for u in prange(n_users):
        au = a[u]
        for i in range(n_items):
            bi = b[i]
            s = zero
            for k in range(hidden):
                s += w[k] * max(au[k] + bi[k], zero)
            out[u, i] = s + bias


def relu_head_scores(a: np.ndarray, b: np.ndarray, w: np.ndarray, bias: float) -> np.ndarray:
    """``out[u, i] = w . relu(a[u] + b[i]) + bias``: ``(len(a), len(b))`` float32 scores."""
    a, b, w = (np.ascontiguousarray(x, dtype=np.float32) for x in (a, b, w))
    out = np.empty((len(a), len(b)), np.float32)
    if len(a) and len(b):
        _relu_head(a, b, w, np.float32(bias), out)
    return out
