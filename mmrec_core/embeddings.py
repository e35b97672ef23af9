"""Item and review embeddings, computed once and then read from the disk cache; fusion of text and picture.

Each item's text and picture vectors are stored under a hash of that item's exact input (the title text;
the picture's path + size + mtime for local files, its URL for remote ones), in a store per encoder
identity and modality (:mod:`mmrec_core.cache`). A second call reads everything from disk without loading
a model or decoding a picture; a changed title or picture recomputes only that item; a killed run keeps
every finished chunk of :data:`FLUSH_EVERY` items.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mmrec_core.cache import VectorStore, cache_info, clear_cache, content_key
from mmrec_core.config import FUSIONS, EmbedConfig, ImageConfig
from mmrec_core.data.schema import Dataset
from mmrec_core.encoders.base import Encoder
from mmrec_core.progress import ProgressCallback, ProgressEvent, Reporter

__all__ = [
    "FLUSH_EVERY",
    "Fused",
    "ItemEmbeddings",
    "cache_info",
    "clear_cache",
    "embed_images_for",
    "embed_items",
    "embed_texts",
    "fuse",
    "get_encoder",
    "item_texts",
]

log = logging.getLogger("mmrec.embeddings")

FLUSH_EVERY = 256  # items per chunk: each finished chunk is written to disk before the next starts
_NULLS = {"", "none", "null", "nan"}
_encoders: dict[tuple[str, str | None, str | None, str], Encoder] = {}
_encoders_lock = threading.Lock()


@dataclass
class ItemEmbeddings:
    """Text and picture vectors of every item, rows in ``dataset.items`` order.

    ``image`` has zero rows where ``image_ok`` is False; ``missing_reasons`` counts why (``no image``,
    ``http 404``, ...). ``cache_hits`` counts vectors read from disk per modality; ``untitled`` the items
    whose text came from their category and first feature because they had no title.
    """

    item_ids: np.ndarray
    text: np.ndarray
    image: np.ndarray
    image_ok: np.ndarray
    missing_reasons: dict[str, int]
    encoder: str
    identity: str
    shared_space: bool
    cache_hits: dict[str, int]
    seconds: float
    untitled: int = 0
    computed: dict[str, int] = field(default_factory=dict)
    alignment: Any = None  # the catalogue-fitted towers (mmrec_core.alignment.Alignment) of an aligned encoder


@dataclass
class Fused:
    """Item features after fusion; ``text_fallback`` counts items that got only their text part.

    ``modalities`` keeps the setting's vectors unfused, ``{"text": (vectors, has), "image": (vectors, has)}``
    (one entry for ``text`` or ``image``, both for ``concat`` and ``mean``), for rankers that treat each
    modality on its own (FREEDOM builds one item graph per modality).
    """

    features: np.ndarray
    has_features: np.ndarray
    text_fallback: int
    modalities: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def get_encoder(config: EmbedConfig) -> Encoder:
    """The encoder of ``config``, built once per process (models then load once, on first use). An aligned
    encoder answers with the encoder its towers read: Study B's review texts are embedded in that space."""
    from mmrec_core.encoders.registry import ENCODERS, create_encoder

    spec = ENCODERS.get(config.encoder)
    name = spec.aligned_from if spec is not None and spec.aligned_from else config.encoder  # its towers' input
    key = (name, config.checkpoint, config.image_checkpoint, config.device)
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = create_encoder(name, config.checkpoint, config.image_checkpoint, config.device)
        return _encoders[key]


def _shifted(master: Reporter, offset: int) -> ProgressCallback:
    """Re-emit an encoder's per-chunk progress as progress over the whole run."""

    def callback(event: ProgressEvent) -> None:
        master.update(offset + event.done)

    return callback


def _cached(
    encoder: Encoder,
    modality: str,
    keys: Sequence[str | None],
    compute: Callable[[list[int], ProgressCallback, list[int]], tuple[np.ndarray, np.ndarray]],
    progress: ProgressCallback | None,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Vectors for ``keys`` (None = no input) from the store, computing the absent ones chunk by chunk.

    ``compute(positions, callback, upcoming)`` returns ``(vectors, ok)`` for those positions (``ok`` False
    where the input turned out unusable, e.g. a picture that failed to load); ``upcoming`` are the next
    chunk's positions, so it can start loading them. Returns ``(vectors, ok, hits, computed)``.
    """
    dim = encoder.text_dim if modality == "text" else encoder.image_dim
    store = VectorStore.open(encoder.name, encoder.identity(), modality, dim)
    present = np.array([k is not None for k in keys], dtype=bool)
    out = np.zeros((len(keys), dim), dtype=np.float32)
    ok = np.zeros(len(keys), dtype=bool)
    if present.any():
        known = [k for k in keys if k is not None]
        vectors, found = store.get(known)
        out[present], ok[present] = vectors, found
    hits = int(ok.sum())
    todo: dict[str, list[int]] = {}  # one computation per distinct input
    for pos, key in enumerate(keys):
        if key is not None and not ok[pos]:
            todo.setdefault(key, []).append(pos)
    order = list(todo)
    stage = "embed-texts" if modality == "text" else "embed-images"
    master = Reporter(progress, stage, len(order))
    computed = 0
    if not order:
        master.update(0, message=f"{hits} from cache")
    for start in range(0, len(order), FLUSH_EVERY):
        chunk = order[start : start + FLUSH_EVERY]
        upcoming = [todo[k][0] for k in order[start + FLUSH_EVERY : start + 2 * FLUSH_EVERY]]
        vectors, chunk_ok = compute([todo[k][0] for k in chunk], _shifted(master, start), upcoming)
        good = [k for k, flag in zip(chunk, chunk_ok, strict=True) if flag]
        store.put(good, vectors[chunk_ok])
        for key, vector, flag in zip(chunk, vectors, chunk_ok, strict=True):
            out[todo[key]], ok[todo[key]] = vector, flag
        computed += len(good)
        master.update(start + len(chunk))
    return out, ok, hits, computed


def _log_hits(what: str, hits: int, total: int, encoder: Encoder) -> None:
    if hits:
        log.info("embeddings: %d/%d %s vectors from cache (%s %s)", hits, total, what, encoder.name, encoder.identity())


def _embed_texts(encoder: Encoder, texts: Sequence[str], batch_size: int, progress: ProgressCallback | None):
    texts = [str(t) for t in texts]
    keys = [content_key(t) for t in texts]

    def compute(positions: list[int], callback: ProgressCallback, upcoming: list[int]) -> tuple[np.ndarray, np.ndarray]:
        vectors = encoder.encode_texts([texts[p] for p in positions], batch_size=batch_size, progress=callback)
        return vectors, np.ones(len(positions), dtype=bool)

    vectors, _, hits, computed = _cached(encoder, "text", keys, compute, progress)
    _log_hits("text", hits, len(texts), encoder)
    return vectors, hits, computed


def _is_null(ref: Any) -> bool:
    return ref is None or (isinstance(ref, float) and math.isnan(ref)) or str(ref).strip().lower() in _NULLS


def image_key(ref: Any) -> str | None:
    """The cache key of a picture reference without decoding it (None when there is no reference).

    Local files: path + size + mtime (a replaced picture re-keys); URLs: the URL itself, whose bytes the
    image loader caches on disk on first download.
    """
    if _is_null(ref):
        return None
    ref = str(ref).strip()
    if "://" not in ref or ref.startswith("file://"):
        # abspath, not resolve(): no syscall per path component (10K pictures stat in ~50 ms)
        path = os.path.abspath(os.path.expanduser(ref[7:] if ref.startswith("file://") else ref))
        try:
            st = os.stat(path)
        except OSError:
            return content_key("missing-file", path)  # never stored; the loader names the reason
        return content_key("file", path, str(st.st_size), str(st.st_mtime_ns))
    return content_key("url", ref)


def _embed_images(
    encoder: Encoder,
    refs: Sequence[Any],
    batch_size: int,
    images: ImageConfig,
    progress: ProgressCallback | None,
):
    from mmrec_core.data.images import load_images

    refs = [None if _is_null(r) else str(r).strip() for r in refs]
    keys = [image_key(r) for r in refs]
    reasons: Counter[str] = Counter("no image" for k in keys if k is None)
    pending: dict[tuple[int, ...], Future] = {}

    def load(positions: list[int]) -> list:
        return load_images([refs[p] for p in positions], images)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmrec-load") as pool:

        def compute(positions: list[int], callback: ProgressCallback, upcoming: list[int]) -> tuple[np.ndarray, np.ndarray]:
            future = pending.pop(tuple(positions), None)
            if upcoming:  # decode the next chunk's pictures while this one runs through the model
                pending[tuple(upcoming)] = pool.submit(load, upcoming)
            results = future.result() if future is not None else load(positions)
            ok = np.array([r.ok for r in results], dtype=bool)
            reasons.update(r.reason or "unknown" for r in results if not r.ok)
            vectors = np.zeros((len(positions), encoder.image_dim), dtype=np.float32)
            good = [r.image for r in results if r.ok]
            if good:
                vectors[ok] = encoder.encode_images(good, batch_size=batch_size, progress=callback)
            return vectors, ok

        try:
            vectors, ok, hits, computed = _cached(encoder, "image", keys, compute, progress)
        finally:
            for future in pending.values():
                future.cancel()
    _log_hits("image", hits, len(refs), encoder)
    return vectors, ok, dict(reasons.most_common()), hits, computed


def item_texts(items: pd.DataFrame) -> tuple[list[str], int]:
    """The text embedded per item: its title, else ``"<main_category>: <first feature>"``.

    Returns the texts and how many items had no title.
    """
    texts, untitled = [], 0
    for title, category, features in zip(
        items.get("title", pd.Series([None] * len(items))),
        items.get("main_category", pd.Series([None] * len(items))),
        items.get("features", pd.Series([None] * len(items))),
        strict=True,
    ):
        if not _is_null(title):
            texts.append(str(title).strip())
            continue
        untitled += 1
        parts = [] if _is_null(category) else [str(category).strip()]
        if features is not None and not isinstance(features, float) and len(features):
            parts.append(str(list(features)[0]).strip())
        texts.append(": ".join(parts))
    return texts, untitled


def embed_items(
    dataset: Dataset,
    config: EmbedConfig = EmbedConfig(),
    images: ImageConfig = ImageConfig(),
    progress: ProgressCallback | None = None,
) -> ItemEmbeddings:
    """Text (title) and picture (``items.image_url``) vectors of every item, from the cache where possible.

    Only pictures whose vectors are not cached are loaded (:func:`mmrec_core.data.images.load_images`);
    a picture that cannot be had stays missing (``image_ok`` False, zero row, reason counted), never a
    placeholder. The reasons are also added to ``dataset.report.missing_images``. Progress stages:
    ``embed-texts``, ``embed-images``.
    """
    from mmrec_core.encoders.registry import ENCODERS

    spec = ENCODERS.get(config.encoder)
    if spec is not None and spec.aligned_from:
        return _aligned_items(dataset, config, spec.aligned_from, images, progress)
    start = time.perf_counter()
    encoder = get_encoder(config)
    items = dataset.items
    texts, untitled = item_texts(items)
    if untitled:
        log.info("embeddings: %d of %d items have no title; using category and first feature", untitled, len(items))
    text, text_hits, text_new = _embed_texts(encoder, texts, config.batch_size, progress)
    refs = items["image_url"].tolist() if "image_url" in items else [None] * len(items)
    image, image_ok, reasons, image_hits, image_new = _embed_images(encoder, refs, config.batch_size, images, progress)
    report = getattr(dataset, "report", None)
    if report is not None:  # the load report then lists missing pictures by reason, not only this summary
        report.note_missing_images(reasons)
    return ItemEmbeddings(
        item_ids=items["item_id"].astype(str).to_numpy(),
        text=text,
        image=image,
        image_ok=image_ok,
        missing_reasons=reasons,
        encoder=encoder.name,
        identity=encoder.identity(),
        shared_space=encoder.shared_space,
        cache_hits={"text": text_hits, "image": image_hits},
        seconds=time.perf_counter() - start,
        untitled=untitled,
        computed={"text": text_new, "image": image_new},
    )


def _aligned_items(dataset: Dataset, config: EmbedConfig, base: str, images: ImageConfig,
                   progress: ProgressCallback | None) -> ItemEmbeddings:
    """The ``base`` encoder's vectors (cached as that encoder's), mapped by towers fitted on this catalogue
    (:func:`mmrec_core.alignment.align`) into one space: ``shared_space`` True, so ``mean`` fusion applies.
    Items without a picture keep a zero picture row."""
    from mmrec_core.alignment import align

    raw = embed_items(dataset, dataclasses.replace(config, encoder=base), images, progress)
    start = time.perf_counter()
    towers = align(raw.text, raw.image, raw.image_ok, raw.identity, progress=progress)
    image = towers.project_image(raw.image)
    image[~raw.image_ok] = 0.0
    return dataclasses.replace(
        raw, text=towers.project_text(raw.text), image=image, encoder=config.encoder, shared_space=True,
        identity=f"{raw.identity} | aligned {towers.key[:16]}", alignment=towers,
        seconds=raw.seconds + time.perf_counter() - start,
    )


def embed_texts(texts: Sequence[str], config: EmbedConfig = EmbedConfig(), progress: ProgressCallback | None = None) -> np.ndarray:
    """``(len(texts), text_dim)`` vectors of arbitrary texts (Study B's review texts), cached per text."""
    return _embed_texts(get_encoder(config), texts, config.batch_size, progress)[0]


def embed_images_for(
    refs: Sequence[str | None],
    config: EmbedConfig = EmbedConfig(),
    images: ImageConfig = ImageConfig(),
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors, ok)`` for picture references (Study B's review item pictures); zero rows where not ok."""
    vectors, ok, *_ = _embed_images(get_encoder(config), refs, config.batch_size, images, progress)
    return vectors, ok


def fuse(emb: ItemEmbeddings, mode: str) -> Fused:
    """Item features from the text and picture vectors.

    ``mean``: Study A's ``(text + image) / 2`` of unit vectors, kept exactly (not renormalised); only for a
    shared space of one size (CLIP). ``concat``: ``[text, image] / sqrt(2)``, unit norm when both exist.
    ``text``; ``image``. An item without a picture gets its text vector (``mean``), its text half with a
    zero image half (``concat``) - counted in ``text_fallback`` - or no features at all (``image``:
    ``has_features`` False, as the study skips pairs without an embedding).

    Raises
    ------
    ValueError
        For an unknown mode, or ``mean`` over two different spaces.
    """
    n = len(emb.item_ids)
    missing = ~emb.image_ok
    all_rows = np.ones(n, dtype=bool)
    text = ("text", (emb.text, all_rows))
    image = ("image", (emb.image, emb.image_ok))
    if mode == "text":
        return Fused(emb.text.astype(np.float32, copy=True), all_rows, 0, dict([text]))
    if mode == "image":
        return Fused(emb.image.astype(np.float32, copy=True), emb.image_ok.copy(), 0, dict([image]))
    if mode == "mean":
        if not emb.shared_space or emb.text.shape[1] != emb.image.shape[1]:
            raise ValueError(
                f"mean fusion needs text and image vectors in one space (clip); {emb.encoder} gives "
                f"{emb.text.shape[1]}-d text and {emb.image.shape[1]}-d image vectors: choose concat"
            )
        features = np.where(missing[:, None], emb.text, (emb.text + emb.image) / 2).astype(np.float32)
        return Fused(features, all_rows, int(missing.sum()), dict([text, image]))
    if mode == "concat":
        # the same 1/sqrt(2) for every item keeps text halves comparable between items with and without a picture
        features = np.hstack([emb.text, emb.image]).astype(np.float32) / np.float32(math.sqrt(2))
        return Fused(features, all_rows, int(missing.sum()), dict([text, image]))
    raise ValueError(f"unknown fusion {mode!r}; choose one of {list(FUSIONS)}")
