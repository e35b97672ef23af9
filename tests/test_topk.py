"""The stable top-K rule: ties rank the lower item index first, whatever the memory layout."""

from __future__ import annotations

import numpy as np
import pytest

from mmrec_core.topk import stable_top_k


def test_ties_rank_the_lower_index_first():
    s = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], np.float32)
    top, vals = stable_top_k(s, 3)
    assert top.tolist() == [[1, 2, 4], [0, 1, 2]]
    assert vals.tolist() == [[3.0, 3.0, 3.0], [0.0, 0.0, 0.0]]


def test_matches_a_full_stable_sort_on_heavily_tied_scores():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 4, (50, 300)).astype(np.float32)  # hundreds of ties per row
    s[rng.random(s.shape) < 0.2] = -np.inf
    for k in (1, 10, 299, 300):
        top, vals = stable_top_k(s, k)
        want = np.lexsort((np.broadcast_to(np.arange(300), s.shape), -s), axis=1)[:, :k]
        assert np.array_equal(top, want), k
        assert np.array_equal(vals, np.take_along_axis(s, want, axis=1))


def test_nan_sorts_last_and_k_is_clipped():
    s = np.array([[np.nan, 1.0, np.nan]], np.float32)
    top, _ = stable_top_k(s, 5)
    assert top.tolist() == [[1, 0, 2]]
    assert stable_top_k(np.zeros((0, 4), np.float32), 2)[0].shape == (0, 2)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_same_answer_for_any_memory_layout(layout):
    s = np.tile(np.array([2.0, 1.0, 2.0, 2.0], np.float32), (3, 1))
    top, _ = stable_top_k(np.asarray(s, order=layout), 2)
    assert top.tolist() == [[0, 2]] * 3


def test_ties_inside_the_top_k_are_ordered_without_the_exact_path():
    s = np.array([[1.0, 5.0, 5.0, 2.0, 9.0], [5.0, 5.0, 1.0, 2.0, 0.0]], np.float32)
    top, vals = stable_top_k(s, 3)  # no tie crosses the cut: the 4th score differs from the 3rd
    assert top.tolist() == [[4, 1, 2], [0, 1, 3]]
    assert vals.tolist() == [[9.0, 5.0, 5.0], [5.0, 5.0, 2.0]]
