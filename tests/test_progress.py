from mmrec_core.progress import ProgressEvent, Reporter


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
