"""The generic training loop, early stopping, seeding, and the pure losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmrec_core.losses import bpr_loss, l2_penalty
from mmrec_core.train import EarlyStopping, batches, seeded, train_loop


def test_bpr_loss_is_minus_log_sigmoid_and_stable():
    pos, neg = torch.tensor([2.0, 0.0, -1.0]), torch.tensor([0.0, 0.0, 1.0])
    expected = -torch.log(torch.sigmoid(pos - neg)).mean()
    torch.testing.assert_close(bpr_loss(pos, neg), expected)
    assert float(bpr_loss(torch.tensor([-200.0]), torch.tensor([200.0]))) == pytest.approx(400.0)
    assert float(bpr_loss(torch.tensor([200.0]), torch.tensor([-200.0]))) == pytest.approx(0.0)


def test_l2_penalty_per_row():
    a, b = torch.ones(4, 2), torch.full((4, 3), 2.0)
    assert float(l2_penalty(a, b)) == pytest.approx((8 + 48) / 4)


def test_batches_cover_every_row_once_and_are_seeded():
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    first = list(batches(10, 3, g1))
    assert [len(b) for b in first] == [3, 3, 3, 1]
    assert sorted(torch.cat(first).tolist()) == list(range(10))
    assert all(torch.equal(a, b) for a, b in zip(first, batches(10, 3, g2), strict=True))
    assert torch.equal(torch.cat(list(batches(5, 2, shuffle=False))), torch.arange(5))


def _regression():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    net = torch.nn.Linear(3, 1)
    step = lambda idx: ((net(x[idx]).squeeze(-1) - y[idx]) ** 2).mean()  # noqa: E731
    return net, step


def test_loop_learns_and_reports():
    net, step = _regression()
    events: list[dict] = []
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    history = train_loop(
        step, 64, opt, epochs=20, batch_size=16, name="lin", modules=[net], callback=events.append
    )
    assert len(history) == 20 and events == history
    assert history[-1]["loss"] < 0.1 * history[0]["loss"]
    assert {"model", "epoch", "epochs", "loss", "seconds"} <= set(history[0]) and history[0]["model"] == "lin"
    assert not net.training  # left in eval mode


def test_early_stopping_in_the_loop_restores_best():
    net, step = _regression()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    script = iter([0.3, 0.9, 0.5, 0.4, 0.95, 0.1])
    saved = {}

    def validation():
        value = next(script)
        if value == 0.9:
            saved["w"] = net.weight.detach().clone()
        return {"auc": value, "other": 1.0}

    history = train_loop(
        step, 64, opt, epochs=6, batch_size=8, modules=[net], validation=validation, patience=2
    )
    assert [h["epoch"] for h in history] == [1, 2, 3, 4] and history[-1]["best_epoch"] == 2
    torch.testing.assert_close(net.weight, saved["w"])


def test_without_patience_validation_is_only_reported():
    # a caller may monitor held-out data each epoch; with no patience nothing is selected on it
    net, step = _regression()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    losses = iter([5.0, 1.0, 2.0, 3.0])
    snapshots = []

    def validation():
        snapshots.append(net.weight.detach().clone())  # the weights after each epoch
        return {"val": next(losses)}

    history = train_loop(step, 64, opt, epochs=4, batch_size=8, modules=[net], validation=validation, mode="min")
    assert [h["val"] for h in history] == [5.0, 1.0, 2.0, 3.0]
    assert "best_epoch" not in history[-1]
    assert not torch.equal(snapshots[1], snapshots[3])
    assert torch.equal(net.weight, snapshots[3])  # the last epoch's weights, not the best epoch's (2)


def test_early_stopping_unit():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(3, mode="up")
    stop = EarlyStopping(2, mode="min", min_delta=0.1)
    assert stop.best == math.inf
    assert [stop.update(v, e) for e, v in enumerate([1.0, 0.95, 0.5, 0.6, 0.7], 1)] == [
        False, False, False, False, True]  # fmt: skip
    assert stop.best_epoch == 3 and EarlyStopping(1).restore([]) is False


def test_seeded_is_reproducible_and_has_no_side_effect():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    with seeded(7):
        a = torch.randn(3)
    with seeded(7):
        b = torch.randn(3)
    torch.testing.assert_close(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert np.isfinite(a.numpy()).all()


def test_cpu_threads_limits_and_restores_torch_threads():
    import torch

    from mmrec_core.train import cpu_threads

    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_threads(None):
        assert torch.get_num_threads() == before
    with cpu_threads(1, device="cuda"):
        assert torch.get_num_threads() == before
