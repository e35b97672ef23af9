"""Amazon Reviews 2023 loaders: raw JSONL (plain or gzip), the Hugging Face parquet view, or records.

Reviews are read first (sampled while streaming), then meta is streamed line by line keeping only the
records of sampled items, so sampling 1 % of a category never holds its 1.4 GB meta file in memory.
Meta is never given to a pyarrow JSON reader: ``details`` changes type between rows and breaks it.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TextIO

import pandas as pd

from mmrec_core.data.hub import DataUnavailable, download_category, raw_file_names
from mmrec_core.data.meta import clean_text, empty_item, normalise_meta, timestamp_ms, usable
from mmrec_core.data.schema import ITEM_COLUMNS, REVIEW_COLUMNS, Dataset, LoadReport
from mmrec_core.progress import ProgressCallback, Reporter

__all__ = [
    "DataUnavailable", "NotJsonLines", "clean_text", "dataset_name", "download_category", "load_local", "load_records",
    "normalise_meta", "open_text", "raw_file_names",
]

log = logging.getLogger("mmrec.data.amazon")

GZIP_MAGIC = b"\x1f\x8b"
PROGRESS_EVERY = 50_000  # lines between progress events
SNIFF_LINES = 20  # a file whose first 20 non-empty lines all fail to parse is not JSON lines
SNIFF_MAX_LINE = 4 << 20
_KEY = b'"parent_asin"'

Source = Callable[[], Iterator[tuple[int, Any]]]  # yields (1-based line number, bytes line or dict record)


class NotJsonLines(ValueError):
    """A file that is not JSON lines at all (binary, a JSON array, CSV, ...)."""


def _open_binary(path: Path) -> IO[bytes]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == GZIP_MAGIC:  # by content, not by name: a ".gz" may be plain text
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20)  # type: ignore[arg-type]
    return open(path, "rb", buffering=1 << 20)


def open_text(path: str | Path) -> TextIO:
    """Open a plain or gzip-compressed text file (gzip detected by its magic bytes) for reading."""
    return io.TextIOWrapper(_open_binary(Path(path)), encoding="utf-8", errors="replace")


def _sniff(path: Path) -> None:
    """Raise :class:`NotJsonLines` for binary content or when the first lines all fail to parse.

    A missing file raises :class:`FileNotFoundError` (what to do differs: check the path).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (check the path)")
    tried = bad = 0
    try:
        with _open_binary(path) as fh:
            if b"\x00" in fh.peek(1 << 16)[: 1 << 16]:
                raise NotJsonLines(f"{path} is not a JSON lines file: it holds binary content")
            while tried < SNIFF_LINES:
                line = fh.readline(SNIFF_MAX_LINE)
                if not line:
                    break
                if not line.strip():
                    continue
                tried += 1
                try:
                    bad += not isinstance(json.loads(line), dict)
                except ValueError:
                    bad += 1
    except (OSError, EOFError) as exc:  # a corrupt gzip stream
        raise NotJsonLines(f"{path} could not be read as JSON lines: {exc}") from exc
    if tried and bad == tried:
        raise NotJsonLines(f"{path} is not a JSON lines file: none of its first {tried} lines is a JSON object")


def _file_source(path: Path, limit: int | None) -> Source:
    if path.suffix == ".parquet":
        return _parquet_source(path, limit)
    _sniff(path)

    def lines() -> Iterator[tuple[int, bytes]]:
        with _open_binary(path) as fh:
            for no, line in enumerate(fh, 1):
                if limit is not None and no > limit:
                    break
                yield no, line

    return lines


def _parquet_source(path: Path, limit: int | None) -> Source:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise NotJsonLines(f"{path} is neither JSON lines nor a readable parquet file: {exc}") from exc

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        no = 0
        for batch in pf.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
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


def _parse(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict):
        return raw
    try:
        record = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return None
    return record if isinstance(record, dict) else None


def _review_row(record: dict[str, Any]) -> tuple[str, Any]:
    """("ok", row tuple) or (skip reason, None)."""
    item = usable(record.get("parent_asin"))
    if item is None:
        return "no parent_asin", None
    try:
        rating = float(record["rating"])
        user = usable(record["user_id"])
        ts = timestamp_ms(record.get("timestamp"))
    except (KeyError, TypeError, ValueError):
        return "malformed", None
    if rating == 0.0:
        return "rating 0.0", None
    if user is None or not 1.0 <= rating <= 5.0:
        return "malformed", None
    return "ok", (
        user,
        item,
        usable(record.get("asin")) or item,
        rating,
        ts,
        bool(record.get("verified_purchase") or False),
        int(record.get("helpful_vote") or 0),
        clean_text(record.get("title")),
        record.get("text") if isinstance(record.get("text"), str) else "",
    )


def _read_reviews(source: Source, report: LoadReport, sample_percent: float | None, seed: int,
                  reporter: Reporter) -> pd.DataFrame:
    rng = random.Random(seed)
    keep_below = None if sample_percent is None else sample_percent / 100.0
    seen: set[int] = set()
    rows: list[tuple[Any, ...]] = []
    for no, raw in source():
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
        record = _parse(raw)
        status, row = ("malformed", None) if record is None else _review_row(record)
        if status == "ok":
            key = hash((row[0], row[2], row[4], row[8]))  # user, asin, timestamp, raw text
            if key in seen:
                report.duplicate_reviews += 1
                continue
            seen.add(key)
            rows.append(row[:8] + (clean_text(row[8]),))
        elif status == "malformed":
            report.malformed_reviews += 1
            report.note_line(report.malformed_review_lines, no)
        elif status == "rating 0.0":
            report.zero_rating_reviews += 1
        else:
            report.missing_parent_asin += 1
    reporter.update(report.review_lines)
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
        record = _parse(raw)
        if record is None:
            report.malformed_meta += 1
            report.note_line(report.malformed_meta_lines, no)
            continue
        asin = usable(record.get("parent_asin"))
        if asin in needed and asin not in found:
            found[asin] = normalise_meta(record, base_dir)
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
    report.seconds = time.perf_counter() - start
    skipped = report.skipped()
    if skipped or report.items_without_meta or report.malformed_meta:
        log.warning(
            "%s: kept %d of %d review lines; skipped %s; %d malformed meta lines; %d of %d items without meta",
            name, report.reviews_kept, report.review_lines, skipped or "nothing", report.malformed_meta,
            report.items_without_meta, len(items),
        )
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
