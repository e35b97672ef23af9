"""Amazon Reviews 2023 loaders: raw JSONL (plain or gzip), the Hugging Face parquet view, or records.

Reviews are read first (sampled while streaming), then meta is streamed line by line keeping only the
records of sampled items, so sampling 1 % of a category never holds its 1.4 GB meta file in memory.
Meta is never given to a pyarrow JSON reader: ``details`` changes type between rows and breaks it.

Hostile or damaged input never stops a load with a traceback:

- a record that cannot be used (not JSON, not an object, nested too deep, a field of the wrong type or out
  of range, a lone surrogate) is counted in ``LoadReport.malformed_*`` with its line number and reason;
- a line longer than :data:`MAX_LINE_BYTES` (16 MB) is counted as malformed ("line too long") and read past
  in 1 MB pieces, never held whole;
- a gzip (or parquet) file damaged part way keeps every line before the damage and adds a warning naming the
  file and the last good line to ``LoadReport.warnings`` (and the log); a reviews file with no usable line
  before its damage raises :class:`NotJsonLines`, one line for the user.

Parquet is recognised by its ``PAR1`` magic bytes as well as by its suffix; gzip by its magic bytes only.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import random
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TextIO

import pandas as pd

from mmrec_core.data.hub import DataUnavailable, download_category, raw_file_names
from mmrec_core.data.meta import absent_local_files, clean_text, empty_item, normalise_meta
from mmrec_core.data.records import (
    TooLong,
    check_encodable,
    id_field,
    malformed_reason,
    parse_record,
    review_row,
)
from mmrec_core.data.schema import ITEM_COLUMNS, REVIEW_COLUMNS, Dataset, LoadReport
from mmrec_core.progress import ProgressCallback, Reporter

__all__ = [
    "DataUnavailable", "NotJsonLines", "clean_text", "dataset_name", "download_category", "load_local", "load_records",
    "normalise_meta", "open_text", "raw_file_names",
]

log = logging.getLogger("mmrec.data.amazon")

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
PROGRESS_EVERY = 50_000  # lines between progress events
SNIFF_LINES = 20  # a file whose first 20 non-empty lines all fail to parse is not JSON lines
MAX_LINE_BYTES = 16 << 20  # longer lines are skipped as malformed ("line too long"), never held in memory
_SKIP_CHUNK = 1 << 20  # how much of a too-long line is read at a time while skipping it
_KEY = b'"parent_asin"'
# what a damaged gzip stream raises part way (BadGzipFile is an OSError)
_STREAM_ERRORS = (EOFError, OSError, zlib.error)

Source = Callable[[], Iterator[tuple[int, Any]]]  # yields (1-based line number, bytes line or dict record)


class NotJsonLines(ValueError):
    """A file that is not JSON lines at all (binary, a JSON array, CSV, ...), or one too damaged to use."""


class _Damaged:
    """Yielded last by a file source whose stream broke part way (truncated or corrupt gzip)."""

    def __init__(self, error: BaseException):
        text = " ".join(str(error).split()) or type(error).__name__
        self.error = "".join(c if c.isprintable() else "?" for c in text)  # one clean line in logs and reports


def _open_binary(path: Path) -> IO[bytes]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == GZIP_MAGIC:  # by content, not by name: a ".gz" may be plain text
        # no extra BufferedReader on top: its large reads would drop the lines decoded just before a
        # damaged part of the stream; GzipFile's own buffer hands out every complete line first
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb", buffering=1 << 20)


def open_text(path: str | Path) -> TextIO:
    """Open a plain or gzip-compressed text file (gzip detected by its magic bytes) for reading."""
    return io.TextIOWrapper(_open_binary(Path(path)), encoding="utf-8", errors="replace")


def _lines(fh: IO[bytes]) -> Iterator[bytes | TooLong]:
    """The lines of ``fh``; a :class:`TooLong` in place of a line longer than :data:`MAX_LINE_BYTES`.

    A too-long line is read past in :data:`_SKIP_CHUNK` pieces, so memory stays bounded by the cap.
    """
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            head = line[:64].lstrip()
            del line
            while True:
                rest = fh.readline(_SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield TooLong(head)
            continue
        yield line


def _magic(path: Path, n: int = 4) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _sniff(path: Path) -> None:
    """Raise :class:`NotJsonLines` for binary content or when the first lines all fail to parse.

    Lines over :data:`MAX_LINE_BYTES` that open a JSON object are not judged (the load counts them as too
    long); one that opens anything else (a whole file as one JSON array) counts as a line that failed. A gzip stream
    that breaks after some lines passes: the load keeps those lines and reports the damage.
    A missing file raises :class:`FileNotFoundError` (what to do differs: check the path).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (check the path)")
    seen = tried = bad = 0
    try:
        with _open_binary(path) as fh:
            if b"\x00" in fh.peek(1 << 16)[: 1 << 16]:
                raise NotJsonLines(f"{path} is not a JSON lines file: it holds binary content")
            for line in _lines(fh):
                if seen >= SNIFF_LINES:
                    break
                if isinstance(line, TooLong):  # a huge object is judged by the load; a huge array is not JSON lines
                    seen += 1
                    if not line.head.startswith(b"{"):
                        tried += 1
                        bad += 1
                    continue
                if not line.strip():
                    continue
                seen += 1
                tried += 1
                try:
                    bad += not isinstance(json.loads(line), dict)
                except (ValueError, RecursionError):
                    bad += 1
    except _STREAM_ERRORS as exc:  # a corrupt gzip stream
        if not tried:
            raise NotJsonLines(f"{path} could not be read as JSON lines: {exc}") from exc
    if tried and bad == tried:
        raise NotJsonLines(f"{path} is not a JSON lines file: none of its first {tried} lines is a JSON object")


def _file_source(path: Path, limit: int | None) -> Source:
    if path.suffix == ".parquet" or (path.is_file() and _magic(path) == PARQUET_MAGIC):
        return _parquet_source(path, limit)
    _sniff(path)

    def lines() -> Iterator[tuple[int, Any]]:
        no = 0
        try:
            with _open_binary(path) as fh:
                for no, line in enumerate(_lines(fh), 1):  # noqa: B007 - no is read by the except below
                    if limit is not None and no > limit:
                        return
                    yield no, line
        except _STREAM_ERRORS as exc:  # keep what was read; the reader reports the damage
            yield no + 1, _Damaged(exc)

    return lines


def _parquet_source(path: Path, limit: int | None) -> Source:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise NotJsonLines(f"{path} is neither JSON lines nor a readable parquet file: {exc}") from exc

    def records() -> Iterator[tuple[int, Any]]:
        no = 0
        batches = pf.iter_batches(batch_size=4096)
        while True:
            try:
                batch = next(batches, None)
                rows = [] if batch is None else batch.to_pylist()
            except Exception as exc:  # noqa: BLE001 - a damaged page: keep the rows before it, report the rest
                yield no + 1, _Damaged(exc)
                return
            if batch is None:
                return
            for record in rows:
                no += 1
                if limit is not None and no > limit:
                    return
                yield no, record

    return records


def _records_source(records: Iterable[dict[str, Any]], limit: int | None) -> Source:
    def gen() -> Iterator[tuple[int, dict[str, Any]]]:
        for no, record in enumerate(records, 1):
            if limit is not None and no > limit:
                break
            yield no, record

    return gen


def _note_malformed(report: LoadReport, which: str, no: int, reason: str) -> None:
    if which == "review":
        report.malformed_reviews += 1
        report.note_line(report.malformed_review_lines, no)
        reasons = report.malformed_review_reasons
    else:
        report.malformed_meta += 1
        report.note_line(report.malformed_meta_lines, no)
        reasons = report.malformed_meta_reasons
    reasons[reason] = reasons.get(reason, 0) + 1


def _note_damage(report: LoadReport, which: str, path: str, no: int, damage: _Damaged) -> None:
    last = no - 1
    message = (f"{which} file {path or '(records)'} is damaged after line {last:,} ({damage.error}): "
               f"kept what was read up to line {last:,}, the rest of the file is lost")
    report.warnings.append(message)
    log.warning("%s", message)


def _read_reviews(source: Source, report: LoadReport, sample_percent: float | None, seed: int,
                  reporter: Reporter) -> pd.DataFrame:
    rng = random.Random(seed)
    keep_below = None if sample_percent is None else sample_percent / 100.0
    seen: set[int] = set()
    rows: list[tuple[Any, ...]] = []
    damaged: _Damaged | None = None
    for no, raw in source():
        if isinstance(raw, _Damaged):
            damaged = raw
            break
        report.review_lines = no
        if no % PROGRESS_EVERY == 0:
            reporter.update(no)
        # one draw per line, before parsing: the sample is a function of the line index and the seed
        if keep_below is not None and rng.random() >= keep_below:
            report.sampled_out_reviews += 1
            continue
        if isinstance(raw, bytes) and not raw.strip():
            report.empty_review_lines += 1
            continue
        try:
            status, row = review_row(parse_record(raw))
        except Exception as exc:  # noqa: BLE001 - one record never stops a load: counted, not raised
            _note_malformed(report, "review", no, malformed_reason(exc))
            continue
        if status == "ok":
            key = hash((row[0], row[2], row[4], row[8]))  # user, asin, timestamp, raw text
            if key in seen:
                report.duplicate_reviews += 1
                continue
            seen.add(key)
            rows.append(row[:8] + (clean_text(row[8]),))
        elif status == "rating 0.0":
            report.zero_rating_reviews += 1
        else:
            report.missing_parent_asin += 1
    reporter.update(report.review_lines)
    if damaged is not None and not rows:  # one line for the user (exit 2 in the CLI), no warning before it
        raise NotJsonLines(f"reviews file {report.reviews_file or '(records)'} is damaged after line "
                           f"{report.review_lines:,} ({damaged.error}) and no usable review was read before it")
    if damaged is not None:
        _note_damage(report, "reviews", report.reviews_file, report.review_lines + 1, damaged)
    frame = pd.DataFrame.from_records(rows, columns=REVIEW_COLUMNS)
    report.reviews_kept = len(frame)
    return frame.astype({"rating": "float64", "timestamp": "int64", "verified_purchase": "bool",
                         "helpful_vote": "int64"})


def _quick_asin(raw: bytes) -> str | None:
    """parent_asin read without parsing the line, when it occurs exactly once as a key; else None."""
    at = raw.find(_KEY)
    if at < 0 or raw.find(_KEY, at + len(_KEY)) >= 0:
        return None
    rest = raw[at + len(_KEY):].lstrip()
    if not rest.startswith(b":"):
        return None
    rest = rest[1:].lstrip()
    end = rest.find(b'"', 1)
    if not rest.startswith(b'"') or end < 0 or b"\\" in rest[:end]:
        return None
    try:
        return rest[1:end].decode()
    except UnicodeDecodeError:
        return None


def _read_meta(source: Source, needed: set[str], report: LoadReport, base_dir: Path | None,
               stop_when_complete: bool, reporter: Reporter) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for no, raw in source():
        if isinstance(raw, _Damaged):
            _note_damage(report, "meta", report.meta_file, no, raw)
            break
        report.meta_lines = no
        if no % PROGRESS_EVERY == 0:
            reporter.update(no)
        if isinstance(raw, bytes):
            if not raw.strip():
                report.empty_meta_lines += 1
                continue
            asin = _quick_asin(raw)
            if asin is not None and (asin not in needed or asin in found):
                continue  # the common case when sampling: no json.loads for items nobody reviewed
        try:
            record = parse_record(raw)
            asin = id_field(record, "parent_asin")
            if asin not in needed or asin in found:
                continue
            row = normalise_meta(record, base_dir)
            check_encodable(row)
        except Exception as exc:  # noqa: BLE001 - one record never stops a load: counted, not raised
            _note_malformed(report, "meta", no, malformed_reason(exc))
            continue
        found[asin] = row
        if stop_when_complete and len(found) == len(needed):
            break
    reporter.update(report.meta_lines)
    report.meta_kept = len(found)
    return found


def _load(reviews: Source, meta: Source | None, report: LoadReport, *, name: str, source_dir: Path | None,
          base_dir: Path | None, sample_percent: float | None, meta_first_n: int | None, seed: int,
          progress: ProgressCallback | None) -> Dataset:
    if sample_percent is not None and not 0.0 < sample_percent <= 100.0:
        raise ValueError(f"sample_percent must be in (0, 100], got {sample_percent}")
    start = time.perf_counter()
    frame = _read_reviews(reviews, report, sample_percent, seed, Reporter(progress, "read reviews", None, "lines"))
    item_ids = list(dict.fromkeys(frame["item_id"].tolist()))  # first-appearance order
    found: dict[str, dict[str, Any]] = {}
    if meta is not None and item_ids:
        found = _read_meta(meta, set(item_ids), report, base_dir, meta_first_n is None,
                           Reporter(progress, "read meta", None, "lines"))
    items = pd.DataFrame([found.get(i) or empty_item(i) for i in item_ids], columns=ITEM_COLUMNS)
    items["has_meta"] = items["has_meta"].astype(bool)
    report.items_without_meta = int((~items["has_meta"]).sum())
    report.reviews_without_meta = int((~frame["item_id"].isin(list(found))).sum())
    report.items_without_title = int(items["title"].isna().sum())
    report.items_without_image = int(items["image_url"].isna().sum())
    # known before any picture is fetched; fetch failures join later (LoadReport.note_missing_images), and
    # the fetch's own "file not found" then replaces the count taken here
    report.missing_images = {k: v for k, v in (
        ("no meta record", report.items_without_meta),
        ("no image in meta", int((items["has_meta"] & items["image_url"].isna()).sum())),
        ("file not found", absent_local_files(items["image_url"])),
    ) if v}  # fmt: skip
    report.seconds = time.perf_counter() - start
    skipped = report.skipped()
    if skipped or report.items_without_meta or report.malformed_meta:
        log.warning(
            "%s: kept %d of %d review lines; skipped %s; %d malformed meta lines; %d of %d items without meta",
            name, report.reviews_kept, report.review_lines, skipped or "nothing", report.malformed_meta,
            report.items_without_meta, len(items),
        )
    for which, reasons in (("review", report.malformed_review_reasons), ("meta", report.malformed_meta_reasons)):
        if reasons:
            log.warning("%s: malformed %s lines by reason: %s", name, which, reasons)
    return Dataset(name=name, reviews=frame, items=items, report=report, source_dir=source_dir)


def dataset_name(stem: str, sample_percent: float | None = None, first_n: int | None = None) -> str:
    """A display name such as ``"Amazon_Fashion 1%"`` or ``"Amazon_Fashion first 25,000"``."""
    if sample_percent is not None:
        return f"{stem} {sample_percent:g}%"
    if first_n is not None:
        return f"{stem} first {first_n:,}"
    return stem


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json", ".parquet"):
        name = name.removesuffix(suffix)
    return name


def load_local(
    reviews_path: str | Path,
    meta_path: str | Path | None,
    *,
    sample_percent: float | None = None,
    first_n: int | None = None,
    meta_first_n: int | None = None,
    seed: int = 42,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> Dataset:
    """Load reviews and meta files (``.jsonl``, gzip by content, or HF-view ``.parquet``) into a Dataset.

    Parameters
    ----------
    reviews_path, meta_path:
        The category's reviews and meta files; ``meta_path`` None gives items without content.
    sample_percent:
        Keep this percentage of review lines (Study A), drawn per line with ``seed`` while streaming.
    first_n, meta_first_n:
        Read only the first N review lines / meta lines (Study B).
    name:
        Display name; default the reviews file's stem plus the sampling.
    progress:
        Receives lines read (stages "read reviews", "read meta", unit ``"lines"``), every 50,000 lines.

    Raises
    ------
    NotJsonLines
        When either file is not JSON lines at all (binary, a JSON array, ...), naming the file.
    FileNotFoundError
        When a file does not exist.
    """
    reviews_path = Path(reviews_path)
    meta = Path(meta_path) if meta_path is not None else None
    report = LoadReport(reviews_file=str(reviews_path), meta_file=str(meta or ""))
    return _load(
        _file_source(reviews_path, first_n),
        _file_source(meta, meta_first_n) if meta is not None else None,
        report,
        name=name or dataset_name(_stem(reviews_path), sample_percent, first_n),
        source_dir=reviews_path.parent.resolve(),
        base_dir=meta.parent.resolve() if meta is not None else None,
        sample_percent=sample_percent,
        meta_first_n=meta_first_n,
        seed=seed,
        progress=progress,
    )


def load_records(
    reviews: Iterable[dict[str, Any]],
    meta: Iterable[dict[str, Any]] | None,
    *,
    sample_percent: float | None = None,
    first_n: int | None = None,
    meta_first_n: int | None = None,
    seed: int = 42,
    name: str = "records",
    base_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> Dataset:
    """:func:`load_local` for records already in memory (e.g. rows of the HF script view).

    Line numbers in the report are record positions (1-based); ``base_dir`` resolves relative image paths.
    """
    return _load(
        _records_source(reviews, first_n),
        _records_source(meta, meta_first_n) if meta is not None else None,
        LoadReport(),
        name=dataset_name(name, sample_percent, first_n),
        source_dir=None,
        base_dir=base_dir,
        sample_percent=sample_percent,
        meta_first_n=meta_first_n,
        seed=seed,
        progress=progress,
    )
