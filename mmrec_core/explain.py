"""Why this? For a recommended item: the parts of its score and the history items that pushed it up most.

Two answers, both from the fitted ranker alone:

* **parts** (:meth:`Ranker.score_parts`): for models whose score is a sum, the named terms that add up to it:
  VBPR's collaborative, content and bias terms, FREEDOM's user-item graph and content-graph terms, BPR-MF's
  factors and bias, the oracle's kind, colour and pattern. An MLP ranker's score is not a sum: no parts.
* **pushes**: the user's liked train items that pushed the item up most. For the dot ranker (Study A's
  profile . item) each liked item's share of the score is exact (they add up to it). For the others it is
  how alike the two items are in the model's own item vectors (cosine): what the model "sees" as similar.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmrec_core.encoders.base import l2_normalise


@dataclass(frozen=True)
class Explanation:
    """Why ``item`` scored ``score`` for ``user``.

    ``parts``: named terms adding up to ``score`` (empty when the model is not additive). ``pushes``:
    ``(history item, value)`` best first; ``pushes_add_up`` True when the values are exact shares of the
    score (the dot ranker), False when they are similarities (``push_basis`` says in which vectors).
    """

    user: int
    item: int
    score: float
    parts: dict[str, float] = field(default_factory=dict)
    pushes: tuple[tuple[int, float], ...] = ()
    pushes_add_up: bool = False
    push_basis: str = ""


def explain(ranker: Any, user: int, items: np.ndarray, liked: np.ndarray, *, top: int = 3) -> list[Explanation]:
    """One :class:`Explanation` per item of ``items`` for ``user``, whose liked train items are ``liked``
    (pushes are empty for a model without item vectors, e.g. popularity's single number per item)."""
    items = np.asarray(items, np.int64)
    liked = np.asarray(liked, np.int64)
    users = np.full(len(items), int(user), np.int64)
    vectors = ranker.dot_vectors()  # kept by a fitted model: no second pass over a graph for the scores
    scores = (np.einsum("nd,nd->n", vectors[0][users], vectors[1][items]) if vectors is not None
              else np.asarray(ranker.score_pairs(users, items), np.float32))
    parts = ranker.score_parts(users, items) if len(items) else None
    shares = getattr(ranker, "history_shares", None)
    basis, vectors = _push_basis(ranker)
    out = []
    for n, item in enumerate(items):
        if shares is not None and len(liked):
            values, add_up, how = shares(liked, int(item)), True, "share of the score (profile . item)"
        elif vectors is not None and len(liked):
            values, add_up, how = vectors[liked] @ vectors[int(item)], False, basis
        else:
            values, add_up, how = np.zeros(0, np.float32), False, ""
        order = np.argsort(-values, kind="stable")[:top]
        out.append(Explanation(
            user=int(user), item=int(item), score=float(scores[n]),
            parts={k: float(v[n]) for k, v in parts.items()} if parts else {},
            pushes=tuple((int(liked[j]), float(values[j])) for j in order), pushes_add_up=add_up, push_basis=how,
        ))
    return out


_BASES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # fitted ranker -> its unit item vectors


def _push_basis(ranker: Any) -> tuple[str, np.ndarray | None]:
    """Unit item vectors in which two items are alike for this model, and what they are; computed once per
    fitted ranker (a graph model propagates its whole graph for them) and forgotten with the ranker."""
    if ranker not in _BASES:
        vectors = ranker.item_vectors()
        if vectors is None or vectors.shape[1] < 2:  # one number per item (popularity): nothing to compare
            _BASES[ranker] = ("", None)
        else:
            _BASES[ranker] = ("similarity in the model's item vectors", l2_normalise(np.asarray(vectors, np.float32)))
    return _BASES[ranker]


def describe(explanation: Explanation, titles: Any = None) -> str:
    """One line for a card's hover text: the parts, then the top push."""
    bits = [f"{name} {value:+.2f}" for name, value in explanation.parts.items()]
    if explanation.pushes and titles is not None:
        item, value = explanation.pushes[0]
        bits.append(f"most like your {str(titles[item])[:40]!s} ({value:+.2f})")
    return f"score {explanation.score:+.2f}" + (": " + " · ".join(bits) if bits else "")
