"""The command line's console: progress as tqdm bars on a terminal, as throttled log lines otherwise, and
the ``mmrec`` loggers' one-line format on stderr (log lines never tear a bar apart)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from mmrec_core.progress import ProgressEvent

__all__ = ["LOG_EVERY_S", "TqdmProgress", "configure_logging"]

log = logging.getLogger("mmrec.cli")  # progress lines read as the command's own

LOG_EVERY_S = 5.0  # without a terminal, at most one progress line per stage this often (plus its end)


class TqdmProgress:
    """A ProgressCallback that draws one tqdm bar per open stage (a stage's bar closes when it is done).

    Stages nest naturally: the study's overall bar stays open while each model's epoch bar comes and goes.
    When stderr is not a terminal (a log file, CI, ``2>&1 | tee``) bars would be invisible or garbled, so
    each stage logs a progress line instead: its first event, then at most one every ``every_s`` seconds,
    and its end.

    Parameters
    ----------
    disable:
        True: no bars and no lines. None (default): bars on a terminal, log lines otherwise.
    every_s:
        Throttle of the log lines, per stage.
    clock:
        Time source (tests pass a fake one).
    """

    def __init__(self, disable: bool | None = None, every_s: float = LOG_EVERY_S,
                 clock: Any = time.monotonic):
        self.bars: dict[str, Any] = {}
        self.disable = disable
        self.lines = disable is None and not _is_tty(sys.stderr)
        self.every_s = every_s
        self.clock = clock
        self.last_line: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if self.lines:
            self._line(event)
            return
        from tqdm import tqdm

        bar = self.bars.get(event.stage)
        if bar is None:
            bar = self.bars[event.stage] = tqdm(
                total=event.total, desc=event.stage, unit=event.unit, leave=False, disable=self.disable,
                file=sys.stderr, dynamic_ncols=True, position=len(self.bars),
            )  # fmt: skip
        if event.total is not None and bar.total != event.total:
            bar.total = event.total
        bar.n = event.done
        post = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in event.metrics.items() if v is not None}
        if post:
            bar.set_postfix(post, refresh=False)
        if event.message:
            bar.set_description_str(f"{event.stage}: {event.message}", refresh=False)
        bar.refresh()
        if event.total is not None and event.done >= event.total:
            self.bars.pop(event.stage).close()

    def _line(self, event: ProgressEvent) -> None:
        ended = event.total is not None and event.done >= event.total
        now = self.clock()
        last = self.last_line.get(event.stage)
        if not ended and last is not None and now - last < self.every_s:
            return
        self.last_line[event.stage] = now
        if ended:
            self.last_line.pop(event.stage)
        post = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in event.metrics.items() if v is not None)
        log.info("%s%s", event.describe(), f" ({post})" if post else "")

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
        self.last_line.clear()


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


class _TqdmHandler(logging.StreamHandler):
    """Log lines printed through tqdm.write so they do not tear a progress bar apart."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """INFO (or DEBUG with -v, WARNING with -q) from ``mmrec.*`` to stderr, one short line each."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname).1s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("mmrec")
    root.handlers = [h for h in root.handlers if isinstance(h, logging.NullHandler)] + [handler]
    root.setLevel(level)
    root.propagate = False
