import threading

import pytest

from mmrec_core.progress import Cancelled, ProgressEvent, Reporter, cancellable, check_cancelled


def test_reporter_sends_rate_and_time_left():
    events: list[ProgressEvent] = []
    reporter = Reporter(events.append, "embed-images", total=10)
    reporter.update(5)
    reporter.advance(5)
    assert [e.done for e in events] == [5, 10]
    assert events[0].rate > 0
    assert events[0].eta_s is not None and events[0].eta_s >= 0
    assert events[-1].fraction == 1.0
    assert "embed-images 10/10 items" in events[-1].describe()


def test_reporter_without_callback_is_silent():
    Reporter(None, "x", total=None).update(3)


def test_unknown_total_has_no_fraction():
    assert ProgressEvent("load", 7).fraction is None


def test_a_set_stop_flag_ends_the_next_report_and_only_inside_its_block():
    stop = threading.Event()
    reporter = Reporter(None, "train", total=10)
    with cancellable(stop):
        reporter.update(1)
        stop.set()
        with pytest.raises(Cancelled):
            reporter.update(2)
        with pytest.raises(Cancelled):
            check_cancelled()
    check_cancelled()  # outside the block the flag is nobody's business
    reporter.update(3)


def test_cancelled_is_not_an_exception_so_per_model_handlers_let_it_through():
    assert not issubclass(Cancelled, Exception)


def test_a_stop_ends_a_long_epoch_within_a_batch():
    import torch

    from mmrec_core.train import train_loop

    w = torch.nn.Parameter(torch.zeros(1))
    stop, seen = threading.Event(), []

    def step(idx):
        seen.append(len(idx))
        if len(seen) == 3:
            stop.set()
        return (w - 1).pow(2).sum()

    with cancellable(stop), pytest.raises(Cancelled):
        train_loop(step, 1000, torch.optim.SGD([w], lr=0.1), epochs=1, batch_size=10)
    assert len(seen) == 3, "the batch after the stop never ran"
