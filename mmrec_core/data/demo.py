"""The embedded demo catalogue: a seeded fashion shop in the exact raw Amazon Reviews 2023 layout.

:func:`ensure_demo` writes ``reviews.jsonl.gz`` and ``meta.jsonl.gz`` (the raw JSONL field names and
types, meta ``images`` as a list of dicts with relative paths), ``images/*.jpg`` and ``truth.json``
once per (variant, size, seed), atomically, so the same loader reads it as reads real data.

How the data is made: every item is a kind, a colour and a pattern (drawn by
:mod:`mmrec_core.data.drawing`); about a third of the titles leave out the colour and, independently, a
third the pattern, so part of a taste is visible only in the picture. Users belong to one of six taste
segments (liked and disliked kinds, colours, patterns) plus individual noise; the oracle is
``affinity = w_kind + w_colour + w_pattern``. A user reviews items drawn mostly by a softmax of affinity
times a Zipf-like item popularity, plus some random picks; ratings are the noisy affinity cut at
quantiles that give real Amazon's skew (about 58 % five stars, 12 % one star). Review wording follows the
rating, with 10 % mismatching. Variant ``"image-only"``: titles and texts never name a colour or pattern,
and tastes are over colour and pattern only.

Pictures are capped at :data:`MAX_PICTURES` drawn files: items beyond the cap share the picture of an
earlier item with the same kind, colour and pattern, so the 100K-item preset draws in well under a minute.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmrec_core.config import cache_dir
from mmrec_core.data import demo_text as text
from mmrec_core.data.demo_text import COLOURS, KINDS, PATTERNS
from mmrec_core.data.drawing import render
from mmrec_core.progress import ProgressCallback, Reporter

log = logging.getLogger("mmrec.data.demo")

VARIANTS: tuple[str, ...] = ("default", "image-only")
DEMO_SIZES: dict[str, dict] = {
    "tiny": {"items": 60, "users": 120, "reviews": 1_500},
    "small": {"items": 500, "users": 1_000, "reviews": 12_000},
    "medium": {"items": 5_000, "users": 20_000, "reviews": 150_000},
    "large": {"items": 100_000, "users": 125_000, "reviews": 1_000_000},
}
MAX_PICTURES = 3_000
GENERATOR_VERSION = "2"
MARKER = ".complete"
# a writer's temporary folder is left behind when it is killed (kill -9, power loss): one whose process is
# gone, or that nothing has written to for this long (a writer on another machine sharing the cache), is
# removed by the next ensure_demo
STALE_TMP_SECONDS = 30 * 60
_TMP_NAME = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+$")
_OLD_NAME = re.compile(r"^\..+\.old-[0-9a-f]+$")

N_SEGMENTS = 6
TEMPERATURE = 0.5  # softmax temperature of the review choice over affinity (low: taste drives choice)
RANDOM_SHARE = 0.1  # reviews of items picked by popularity alone
# A milder popularity skew than real data (Amazon is nearer 0.9): the demo is built so that taste, which
# content models can learn, decides most choices; with 0.9 popularity alone beat the hidden-taste oracle.
POPULARITY_EXPONENT = 0.4
RATING_NOISE = 0.8  # std of the noise added to affinity before the rating cut
RATING_SHARES = (0.12, 0.07, 0.08, 0.15, 0.58)  # 1..5 stars, as in Amazon Fashion
WORDING_NOISE = 0.10
T0_MS, T1_MS = 1_546_300_800_000, 1_703_980_800_000  # 2019-01-01 .. 2023-12-31


@dataclass
class DemoTruth:
    """The generator's hidden truth: item attributes and user tastes (the oracle behind the ratings)."""

    item_attributes: pd.DataFrame  # item_id, kind, colour, pattern, title_shows_colour, title_shows_pattern
    user_tastes: pd.DataFrame  # user_id, segment, "kind:<k>", "colour:<c>", "pattern:<p>" weights
    params: dict = field(default_factory=dict)
    _index: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, folder: str | Path) -> DemoTruth:
        """Read ``truth.json`` of a demo folder written by :func:`ensure_demo`."""
        raw = json.loads((Path(folder) / "truth.json").read_text())
        items = pd.DataFrame(raw["items"])
        weights = pd.DataFrame(raw["users"]["weights"], columns=raw["users"]["weight_columns"], dtype="float32")
        users = pd.concat(
            [pd.DataFrame({"user_id": raw["users"]["user_id"], "segment": raw["users"]["segment"]}), weights], axis=1
        )
        return cls(items, users, raw["params"])

    def _matrices(self) -> tuple[pd.Index, pd.Index, np.ndarray, np.ndarray]:
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def _build_index(self) -> tuple[pd.Index, pd.Index, np.ndarray, np.ndarray]:
        cols = self.user_tastes.columns
        w = self.user_tastes[[c for c in cols if c.split(":")[0] in ("kind", "colour", "pattern")]]
        a = self.item_attributes
        # item attributes as offsets into the concatenated [kinds | colours | patterns] weight vector
        codes = np.stack(
            [
                pd.Categorical(a["kind"], categories=KINDS).codes,
                len(KINDS) + pd.Categorical(a["colour"], categories=COLOURS).codes,
                len(KINDS) + len(COLOURS) + pd.Categorical(a["pattern"], categories=PATTERNS).codes,
            ],
            axis=1,
        )
        return pd.Index(self.user_tastes["user_id"]), pd.Index(a["item_id"]), w.to_numpy(np.float32), codes

    def affinity(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        """Oracle scores, float32 ``(len(user_ids), len(item_ids))``: the hidden preference ratings came from.

        Raises
        ------
        KeyError
            If a user or item id is not in the catalogue.
        """
        wu, c = self._rows(user_ids, item_ids)
        return (wu[:, c[:, 0]] + wu[:, c[:, 1]] + wu[:, c[:, 2]]).astype(np.float32)

    def affinity_factors(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The oracle as a dot product: ``(users, items)`` with ``users @ items.T == affinity(...)``.

        ``users`` holds each user's taste weights over [kinds | colours | patterns]; ``items`` marks each
        item's kind, colour and pattern with a 1. On a large catalogue the oracle then ranks in blocks like
        any factor model, never as a users x items matrix.
        """
        wu, c = self._rows(user_ids, item_ids)
        items = np.zeros((len(c), wu.shape[1]), np.float32)
        np.put_along_axis(items, c.astype(np.int64), 1.0, axis=1)
        return np.ascontiguousarray(wu, np.float32), items

    @staticmethod
    def factor_parts() -> dict[str, slice]:
        """The blocks of :meth:`affinity_factors`: the kind, colour and pattern parts of the hidden affinity."""
        k, c = len(KINDS), len(COLOURS)
        return {"kind": slice(0, k), "colour": slice(k, k + c), "pattern": slice(k + c, k + c + len(PATTERNS))}

    def _rows(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Taste weight rows of ``user_ids`` and attribute codes of ``item_ids``; KeyError for unknown ids."""
        uidx, iidx, w, codes = self._matrices()
        u, i = uidx.get_indexer(list(user_ids)), iidx.get_indexer(list(item_ids))
        if (u < 0).any() or (i < 0).any():
            bad = [x for x, j in zip(list(user_ids) + list(item_ids), np.r_[u, i], strict=True) if j < 0]
            raise KeyError(f"not in the demo catalogue: {bad[:5]}")
        return w[u], codes[i]

    def describe_taste(self, user_id: str) -> str:
        """A one-line taste, e.g. ``"loves red, stripes; likes sneakers; dislikes handbags"``."""
        row = self.user_tastes.loc[self.user_tastes["user_id"] == user_id]
        if row.empty:
            raise KeyError(user_id)
        groups: dict[str, list[str]] = {"loves": [], "likes": [], "dislikes": []}
        for col, v in row.iloc[0].drop(["user_id", "segment"]).sort_values(ascending=False).items():
            name = text.plural_name(*str(col).split(":", 1))
            if v >= 1.0:
                groups["loves"].append(name)
            elif v >= 0.5:
                groups["likes"].append(name)
            elif v <= -0.6:
                groups["dislikes"].append(name)
        parts = [f"{k} {', '.join(v)}" for k, v in groups.items() if v]
        return "; ".join(parts) or "no strong taste"


def demo_folder(size: str = "small", seed: int = 0, variant: str = "default", root: Path | None = None) -> Path:
    """Where :func:`ensure_demo` keeps a catalogue: ``<root or cache_dir()>/demo/<variant>-<size>-s<seed>``."""
    return Path(root or cache_dir()) / "demo" / f"{variant}-{size}-s{seed}"


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a finished catalogue of the current generator version."""
    marker = folder / MARKER
    return marker.is_file() and marker.read_text().strip() == GENERATOR_VERSION


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except (OverflowError, ValueError):  # not a pid this system can have
        return False
    return True


def _last_write(path: Path) -> float:
    """The newest mtime of a folder and its direct children (a writer adds files as it goes)."""
    times = [path.lstat().st_mtime]
    with contextlib.suppress(OSError):
        times += [child.lstat().st_mtime for child in path.iterdir()]
    return max(times)


def clean_stale(parent: Path) -> list[Path]:
    """Remove the temporary folders of demo writers that died (pid gone or idle past
    :data:`STALE_TMP_SECONDS`) and half-deleted ``.old-*`` folders under ``parent``; returns what went."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    now = time.time()
    for path in parent.iterdir():
        match = _TMP_NAME.match(path.name)
        try:
            if match is not None:
                stale = not _pid_alive(int(match.group(1))) or now - _last_write(path) > STALE_TMP_SECONDS
            else:
                stale = _OLD_NAME.match(path.name) is not None
        except OSError:  # gone meanwhile
            continue
        if stale and not path.is_symlink() and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.info("removed %d leftover folder(s) of interrupted demo generations in %s", len(removed), parent)
    return removed


def ensure_demo(
    size: str = "small",
    seed: int = 0,
    variant: str = "default",
    root: Path | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Generate the demo catalogue once and return its folder (at once when it is already complete).

    Parameters
    ----------
    size:
        A key of :data:`DEMO_SIZES`.
    seed:
        Everything (items, tastes, reviews, pictures) follows from it; same seed, same files.
    variant:
        ``"default"`` or ``"image-only"`` (colour and pattern never named; tastes only over them).
    root:
        Cache root to use instead of :func:`mmrec_core.config.cache_dir` (the folder is ``root/demo/...``).
    progress:
        Receives :class:`mmrec_core.progress.ProgressEvent` s.

    Written into a temporary sibling folder and renamed into place when finished, so an interrupted
    run never leaves a folder that looks complete; the temporary folders of killed runs are removed by
    the next generation (:func:`clean_stale`).
    """
    if size not in DEMO_SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {sorted(DEMO_SIZES)}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown demo variant {variant!r}; choose one of {list(VARIANTS)}")
    folder = demo_folder(size, seed, variant, root)
    if is_complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(folder.parent)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        _generate(tmp, size, seed, variant, progress)
        (tmp / MARKER).write_text(GENERATOR_VERSION)
        if folder.exists():  # stale (older generator or foreign leftovers): move aside, then replace
            if is_complete(folder):  # a concurrent run finished first
                return folder
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            folder.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(folder)
        except OSError:
            if not is_complete(folder):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("demo catalogue %s written to %s", folder.name, folder)
    return folder


def _ids(rng: np.random.Generator, n: int, prefix: str, length: int, taken: set[str]) -> list[str]:
    """``n`` distinct ids like ``B0XXXXXXXX`` (ASINs) or 28-character ``AE...`` user ids."""
    chars = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    out: list[str] = []
    while len(out) < n:
        picks = chars[rng.integers(0, len(chars), (n - len(out), length - len(prefix)))]
        for s in picks.view(f"<U{length - len(prefix)}").ravel():
            if prefix + s not in taken:
                taken.add(prefix + s)
                out.append(prefix + s)
    return out


def _tastes(rng: np.random.Generator, n_users: int, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-user weight vectors ``[kinds | colours | patterns]`` around six segment prototypes."""
    nk, nc, npat = len(KINDS), len(COLOURS), len(PATTERNS)
    protos = np.zeros((N_SEGMENTS, nk + nc + npat), np.float32)
    image_only = variant == "image-only"
    for s in range(N_SEGMENTS):
        if not image_only:
            k = rng.permutation(nk)
            protos[s, k[:2]] = (1.2, 0.7)
            protos[s, k[-1]] = -1.2
        c = nk + rng.permutation(nc)
        protos[s, c[:2]] = (1.3, 0.9)
        protos[s, c[-2:]] = (-1.0, -1.3)
        p = nk + nc + rng.permutation(npat)
        protos[s, p[0]], protos[s, p[-1]] = 1.1, -1.1
    if image_only:
        protos *= 1.4  # the same spread of affinity with only colour and pattern to carry it
    segment = rng.integers(0, N_SEGMENTS, n_users)
    w = protos[segment] + rng.normal(0, 0.3, (n_users, protos.shape[1])).astype(np.float32)
    if image_only:
        w[:, :nk] = 0.0
    return segment, np.round(w, 3).astype(np.float32)


def _review_counts(rng: np.random.Generator, spec: dict) -> np.ndarray:
    """Reviews per user: a fifth with 1-4, the rest 5 or more (geometric tail), mean near the preset's."""
    n_users, mean = spec["users"], spec["reviews"] / spec["users"]
    few = rng.random(n_users) < 0.2
    extra = max((mean - 0.2 * 2.5) / 0.8 - 5, 0.5)
    counts = np.where(few, rng.integers(1, 5, n_users), 5 + rng.geometric(1 / (extra + 1), n_users) - 1)
    return np.minimum(counts, max(5, spec["items"] // 2))


def _sample_reviews(
    rng: np.random.Generator, w: np.ndarray, combo: np.ndarray, pop: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which items each user reviews: combo (kind, colour, pattern) by softmax(affinity) x popularity,
    then an item of that combo by popularity; candidates are oversampled and de-duplicated."""
    n_combo = len(KINDS) * len(COLOURS) * len(PATTERNS)
    combo_pop = np.bincount(combo, weights=pop, minlength=n_combo)
    order = np.argsort(combo, kind="stable")
    cum = np.cumsum(pop[order])
    combo_end = np.cumsum(combo_pop)
    ck, cc, cp = np.unravel_index(np.arange(n_combo), (len(KINDS), len(COLOURS), len(PATTERNS)))
    cols = np.stack([ck, len(KINDS) + cc, len(KINDS) + len(COLOURS) + cp], 1)
    with np.errstate(divide="ignore"):
        log_pop = np.log(combo_pop / combo_pop.sum())
    cand = np.ceil(counts * 1.6).astype(np.int64) + 3
    users, items = [], []
    chunk = 20_000
    for lo in range(0, len(w), chunk):
        wu = w[lo : lo + chunk]
        aff = wu[:, cols[:, 0]] + wu[:, cols[:, 1]] + wu[:, cols[:, 2]]
        logits = aff / TEMPERATURE + log_pop
        p = np.exp(logits - logits.max(1, keepdims=True))
        p = (1 - RANDOM_SHARE) * p / p.sum(1, keepdims=True) + RANDOM_SHARE * np.exp(log_pop)
        cdf = np.cumsum(p, 1)
        cdf /= cdf[:, -1:]
        u = np.repeat(np.arange(len(wu)), cand[lo : lo + chunk])
        # one searchsorted for all rows: row r's CDF is shifted to [r, r + 1], so the flat array stays sorted
        flat = (cdf + np.arange(len(wu))[:, None]).ravel()
        pos = np.searchsorted(flat, u + rng.random(len(u)), side="right")
        c = np.clip(pos - u * n_combo, 0, n_combo - 1)
        target = combo_end[c] - combo_pop[c] * rng.random(len(u))
        items.append(order[np.minimum(np.searchsorted(cum, target), len(order) - 1)])
        users.append(u + lo)
    u, i = np.concatenate(users), np.concatenate(items)
    _, first = np.unique(u * len(pop) + i, return_index=True)
    first.sort()  # keep candidates in drawn order, users stay contiguous
    u, i = u[first], i[first]
    starts = np.searchsorted(u, np.arange(len(w)))
    rank = np.arange(len(u)) - starts[u]
    keep = rank < counts[u]
    return u[keep], i[keep]


def _generate(folder: Path, size: str, seed: int, variant: str, progress: ProgressCallback | None) -> None:
    spec = DEMO_SIZES[size]
    rng = np.random.default_rng([seed, VARIANTS.index(variant), 7])
    n_items, n_users = spec["items"], spec["users"]
    steps = Reporter(progress, f"demo {size}: generate", 4, "steps")
    taken: set[str] = set()
    item_ids = _ids(rng, n_items, "B0", 10, taken)
    kind, colour, pattern = (rng.integers(0, n, n_items) for n in (len(KINDS), len(COLOURS), len(PATTERNS)))
    combo = (kind * len(COLOURS) + colour) * len(PATTERNS) + pattern
    pop = 1.0 / (rng.permutation(n_items) + 3.0) ** POPULARITY_EXPONENT  # Zipf-like popularity
    image_only = variant == "image-only"
    shows_c = ~image_only & (rng.random(n_items) >= 0.35)
    shows_p = ~image_only & (rng.random(n_items) >= 0.35)
    user_ids = _ids(rng, n_users, "AE", 28, taken)
    segment, w = _tastes(rng, n_users, variant)
    u, i = _sample_reviews(rng, w, combo, pop, _review_counts(rng, spec))
    steps.update(1, message=f"{len(u):,} reviews drawn")

    aff = w[u, kind[i]] + w[u, len(KINDS) + colour[i]] + w[u, len(KINDS) + len(COLOURS) + pattern[i]]
    noisy = aff + rng.normal(0, RATING_NOISE, len(u))
    thresholds = np.quantile(noisy, np.cumsum(RATING_SHARES)[:-1])
    rating = 1 + np.searchsorted(thresholds, noisy, side="right")
    perm = rng.permutation(len(u))  # file order: not grouped by user or item, like a sample of the real file
    u, i, rating = u[perm], i[perm], rating[perm]
    asins = _variant_asins(rng, item_ids, i, taken)

    pictures = _draw_pictures(folder, rng, seed, item_ids, kind, colour, pattern, combo, progress)
    steps.update(2, message=f"{len(set(pictures.tolist())):,} pictures")
    attrs = {"kind": kind, "colour": colour, "pattern": pattern, "shows_c": shows_c, "shows_p": shows_p}
    meta = text.meta_records(rng, item_ids, attrs, pictures, i, rating)
    _write_jsonl(folder / "meta.jsonl.gz", meta)
    steps.update(3)
    reviews = text.review_records(
        rng, item_ids, user_ids, asins, u, i, rating, attrs, image_only, pictures, (T0_MS, T1_MS), WORDING_NOISE
    )
    _write_jsonl(folder / "reviews.jsonl.gz", reviews)
    truth = {
        "params": {
            "size": size, "seed": seed, "variant": variant, "generator_version": GENERATOR_VERSION,
            "n_items": n_items, "n_users": n_users, "n_reviews": int(len(u)), "n_segments": N_SEGMENTS,
            "temperature": TEMPERATURE, "random_share": RANDOM_SHARE, "popularity_exponent": POPULARITY_EXPONENT,
            "rating_noise": RATING_NOISE,
            "rating_shares": list(RATING_SHARES), "rating_thresholds": [round(float(t), 4) for t in thresholds],
            "wording_noise": WORDING_NOISE, "max_pictures": MAX_PICTURES, "n_pictures": len(set(pictures.tolist())),
        },
        "items": {
            "item_id": item_ids,
            "kind": [KINDS[k] for k in kind],
            "colour": [COLOURS[c] for c in colour],
            "pattern": [PATTERNS[p] for p in pattern],
            "title_shows_colour": shows_c.tolist(),
            "title_shows_pattern": shows_p.tolist(),
        },
        "users": {
            "user_id": user_ids,
            "segment": segment.tolist(),
            "weight_columns": [f"kind:{k}" for k in KINDS] + [f"colour:{c}" for c in COLOURS]
            + [f"pattern:{p}" for p in PATTERNS],
            "weights": w.tolist(),
        },
    }
    (folder / "truth.json").write_text(json.dumps(truth, separators=(",", ":")))
    steps.update(4, message="done")


def _variant_asins(rng: np.random.Generator, item_ids: list[str], rev_items: np.ndarray, taken: set[str]) -> np.ndarray:
    """The reviewed ``asin``: a fifth of the items sell 1-3 variants whose asin differs from ``parent_asin``."""
    n = len(item_ids)
    n_var = np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), 0)
    children = np.array(_ids(rng, int(n_var.sum()), "B0", 10, taken) or [""])
    start = np.cumsum(n_var) - n_var
    pick = start[rev_items] + (rng.random(len(rev_items)) * n_var[rev_items]).astype(np.int64)
    return np.where(n_var[rev_items] > 0, children[np.minimum(pick, len(children) - 1)], np.array(item_ids)[rev_items])


def _draw_pictures(
    folder: Path, rng: np.random.Generator, seed: int, item_ids: list[str], kind: np.ndarray, colour: np.ndarray,
    pattern: np.ndarray, combo: np.ndarray, progress: ProgressCallback | None,
) -> np.ndarray:
    """Draw up to :data:`MAX_PICTURES` JPEGs; returns, per item, the relative path of its picture."""
    owner = np.arange(len(item_ids))
    if len(item_ids) > MAX_PICTURES:
        drawn = pd.Series(np.arange(MAX_PICTURES)).groupby(combo[:MAX_PICTURES]).apply(np.asarray).to_dict()
        pick = rng.random(len(item_ids))
        for j in range(MAX_PICTURES, len(item_ids)):
            group = drawn.get(combo[j])
            if group is not None:  # share a same-looking picture; a combo never drawn gets its own
                owner[j] = group[int(pick[j] * len(group))]
    to_draw = np.unique(owner).tolist()
    (folder / "images").mkdir()
    report = Reporter(progress, "demo: draw pictures", len(to_draw), "pictures")

    def draw(j: int) -> None:  # each picture has its own generator, so threads keep the output deterministic
        img = render(KINDS[kind[j]], COLOURS[colour[j]], PATTERNS[pattern[j]], np.random.default_rng([seed, j]))
        img.save(folder / "images" / f"{item_ids[j]}.jpg", "JPEG", quality=88)

    # Pillow releases the GIL while it rasterises, resamples and encodes: threads use every core
    pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
    try:
        for n, _ in enumerate(pool.map(draw, to_draw), 1):
            if n % 50 == 0 or n == len(to_draw):
                report.update(n)
    finally:
        pool.shutdown(cancel_futures=True)  # an interrupted run stops drawing at once
    return np.array([f"images/{item_ids[j]}.jpg" for j in owner])


def _write_jsonl(path: Path, records: Iterable[dict]) -> None:
    """Gzip JSON lines with a fixed header (mtime 0, no name), so the same seed gives the same bytes."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=5) as gz:
        with io.TextIOWrapper(gz, encoding="utf-8", newline="\n") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False))
                f.write("\n")
