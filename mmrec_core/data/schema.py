"""The one normalised schema every loader produces (raw JSONL, HF parquet view, demo catalogue).

``Dataset.reviews`` has one row per kept review with :data:`REVIEW_COLUMNS`; ``Dataset.items`` one row
per item referenced by a kept review with :data:`ITEM_COLUMNS` (``has_meta`` False, content missing,
where the meta file had no record for it). Item ids are ``parent_asin`` (the join key to meta).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

REVIEW_COLUMNS = [
    "user_id",  # str
    "item_id",  # str: parent_asin
    "asin",  # str
    "rating",  # float 1..5
    "timestamp",  # int64, milliseconds since the epoch
    "verified_purchase",  # bool
    "helpful_vote",  # int
    "review_title",  # str
    "text",  # str, HTML cleaned
]

ITEM_COLUMNS = [
    "item_id",  # str: parent_asin
    "title",  # str or None
    "main_category",  # str or None
    "categories",  # list[str]
    "store",  # str or None
    "price",  # float or NaN
    "average_rating",  # float or NaN
    "rating_number",  # int or NaN
    "features",  # list[str]
    "description",  # list[str]
    "details",  # dict
    "image_url",  # str or None: Study A, the first usable `large` image
    "image_url_hires",  # str or None: Study B, first image's hi_res, else large, else thumb
    "has_meta",  # bool
]

MAX_LINE_NUMBERS = 50  # how many offending line numbers a report keeps per reason
LOAD_TIME_IMAGE_REASONS = ("no meta record", "no image in meta")  # missing pictures known before fetching


@dataclass
class LoadReport:
    """What a load read, kept and skipped, and why; shown in the dashboard and the CLI.

    ``*_lines`` hold the first :data:`MAX_LINE_NUMBERS` 1-based line numbers of each skip reason;
    ``malformed_*_reasons`` say why lines were malformed. ``missing_images`` counts items without a usable
    picture by reason: at load time "no meta record" and "no image in meta", then, once pictures have been
    fetched (:meth:`note_missing_images`), the fetch failures ("not found", "network down", ...).
    ``warnings`` are problems with a whole file (a truncated gzip) that the load survived.
    """

    reviews_file: str = ""
    meta_file: str = ""
    review_lines: int = 0
    reviews_kept: int = 0
    malformed_review_lines: list[int] = field(default_factory=list)
    malformed_reviews: int = 0
    empty_review_lines: int = 0
    duplicate_reviews: int = 0
    zero_rating_reviews: int = 0
    missing_parent_asin: int = 0
    sampled_out_reviews: int = 0
    meta_lines: int = 0
    meta_kept: int = 0
    malformed_meta_lines: list[int] = field(default_factory=list)
    malformed_meta: int = 0
    empty_meta_lines: int = 0
    items_without_meta: int = 0
    reviews_without_meta: int = 0
    items_without_title: int = 0
    items_without_image: int = 0
    missing_images: dict[str, int] = field(default_factory=dict)  # reason -> item count
    malformed_review_reasons: dict[str, int] = field(default_factory=dict)  # e.g. "line too long" -> count
    malformed_meta_reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. a damaged gzip: which file, last good line
    seconds: float = 0.0

    def note_line(self, bucket: list[int], line_no: int) -> None:
        if len(bucket) < MAX_LINE_NUMBERS:
            bucket.append(line_no)

    def note_missing_images(self, reasons: dict[str, int]) -> None:
        """Add the reasons pictures could not be had (from embedding) to the load-time ones.

        The fetcher's "no image" (no reference at all) is already counted at load time as "no meta record"
        and "no image in meta", so it is only kept when the load counted neither.
        """
        kept = {k: v for k, v in self.missing_images.items() if k in LOAD_TIME_IMAGE_REASONS}
        fetched = {str(k): int(v) for k, v in reasons.items() if v and (k != "no image" or not kept)}
        self.missing_images = {**kept, **fetched}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def skipped(self) -> dict[str, int]:
        """Skipped reviews by reason (only non-zero reasons)."""
        reasons = {
            "malformed line": self.malformed_reviews,
            "empty line": self.empty_review_lines,
            "duplicate": self.duplicate_reviews,
            "rating 0.0": self.zero_rating_reviews,
            "no parent_asin": self.missing_parent_asin,
        }
        return {k: v for k, v in reasons.items() if v}


@dataclass
class Dataset:
    """Reviews and items in the normalised schema, with the load report.

    ``truth`` is the demo generator's hidden truth (a :class:`mmrec_core.data.demo.DemoTruth`), None for
    real data. ``fingerprint`` identifies the content for cache keys.
    """

    name: str
    reviews: pd.DataFrame
    items: pd.DataFrame
    report: LoadReport
    source_dir: Path | None = None
    truth: Any = None
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            self.fingerprint = fingerprint_frames(self.reviews, self.items)

    @property
    def n_users(self) -> int:
        return int(self.reviews["user_id"].nunique())

    @property
    def n_items(self) -> int:
        return len(self.items)

    def summary(self) -> dict[str, Any]:
        n_u, n_i, n = self.n_users, self.n_items, len(self.reviews)
        return {
            "reviews": n,
            "users": n_u,
            "items": n_i,
            "density": n / (n_u * n_i) if n_u and n_i else 0.0,
            "items_with_image": int(self.items["image_url"].notna().sum()),
        }


def fingerprint_frames(reviews: pd.DataFrame, items: pd.DataFrame) -> str:
    """A short content hash of the interactions and item content (order-sensitive, fast)."""
    h = hashlib.sha256()
    for frame, cols in ((reviews, ["user_id", "item_id", "rating", "timestamp"]), (items, ["item_id", "title", "image_url"])):
        present = [c for c in cols if c in frame.columns]
        h.update(pd.util.hash_pandas_object(frame[present].astype(str), index=False).values.tobytes())
    return h.hexdigest()[:16]
