import numpy as np
import torch

from mmrec_core.models.kernels import relu_head_scores
from mmrec_core.models.nets import MLPScorer


def test_relu_head_matches_the_formula():
    a = np.array([[1.0, -2.0], [0.5, 0.5]], np.float32)
    b = np.array([[0.0, 3.0], [-1.0, -1.0], [2.0, 0.0]], np.float32)
    w = np.array([2.0, 1.0], np.float32)
    out = relu_head_scores(a, b, w, 0.5)
    # user 0: relu([1, 1]) -> 3.5; relu([0, -3]) -> 0.5; relu([3, -2]) -> 6.5
    np.testing.assert_allclose(out[0], [3.5, 0.5, 6.5])
    np.testing.assert_allclose(out[1], np.maximum(a[1] + b, 0) @ w + 0.5)
    assert relu_head_scores(a[:0], b, w, 0.0).shape == (0, 3)


def test_mlp_score_matrix_equals_the_forward_of_every_pair():
    torch.manual_seed(0)
    net = MLPScorer(6, hidden=16).eval()
    users, items = torch.randn(7, 6), torch.randn(11, 6)
    with torch.no_grad():
        fast = net.score_matrix(users, items)  # the kernel
        pairs = net(users.repeat_interleave(11, 0), items.repeat(7, 1)).view(7, 11)
    torch.testing.assert_close(fast, pairs, rtol=1e-5, atol=1e-5)
