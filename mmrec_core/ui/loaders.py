"""Memoised core calls keyed on frozen configs, so switching pages never recomputes.

``st.cache_resource`` holds one object per config for every session (data sets and embeddings are
read-only once built); arguments starting with ``_`` (progress callbacks, the data set itself) are not
hashed, the configs and the data set fingerprint are. Each loader says whether it computed or hit the cache.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from mmrec_core.config import DataConfig, EmbedConfig, ImageConfig, cache_dir
from mmrec_core.progress import ProgressCallback

log = logging.getLogger("mmrec.ui")


@dataclass
class Loaded:
    """A cached value, whether this call computed it, and the seconds it took."""

    value: Any
    computed: bool
    seconds: float


@st.cache_resource(show_spinner=False, max_entries=32)
def _slot(kind: str, *key: Any) -> dict[str, Any]:
    """A memo slot per (kind, key) shared by every session. The value is computed *outside* the cached
    function so progress bars drawn while computing are not recorded for Streamlit's element replay."""
    return {"lock": threading.Lock()}


def memo(kind: str, key: tuple, compute: Any) -> Loaded:
    """``compute()`` once per ``(kind, key)`` for the whole server; later calls return the stored value."""
    return fill(slot(kind, key), compute)


def slot(kind: str, key: tuple) -> dict[str, Any]:
    """The memo slot of ``(kind, key)``: ``"value"`` in it once computed. Taken on the script thread and
    handed to a worker (Streamlit's cache wants a script context), which fills it with :func:`fill`."""
    return _slot(kind, *key)


def fill(slot: dict[str, Any], compute: Any, keep: Any = None) -> Loaded:
    """The slot's value, computing it first if needed; ``keep(value)`` False leaves a computed value out of the
    slot (a stopped or failed run must run again next time, not be served from memory). A slot from
    :func:`trained_slot` also stores a kept value on disk."""
    start = time.perf_counter()
    with slot["lock"]:  # two sessions asking at once compute once
        if "value" in slot:
            return Loaded(slot["value"], False, time.perf_counter() - start)
        value = compute()
        if keep is None or keep(value):
            slot["value"] = value
            if "store" in slot:
                from mmrec_core.trained import save_run

                save_run(*slot["store"], value)
    return Loaded(value, True, time.perf_counter() - start)


def trained_slot(kind: str, config: Any, fingerprint: str, identity: str | None) -> dict[str, Any]:
    """The memo slot of a trained run (``ranking``, ``classifier``) of ``config`` on this data and these
    embeddings; when this server has not trained it, filled from the disk store
    (:mod:`mmrec_core.trained`) if a finished run is there: after a restart nothing trains again.

    The disk is read without the slot's lock (a training job holds it for minutes; a page must not wait).
    """
    from mmrec_core.trained import load_run, run_key

    found = slot(kind, (config, fingerprint, identity))
    if "value" not in found and "store" not in found:
        key = run_key(kind, config, fingerprint, identity)
        stored = load_run(kind, key)
        if stored is not None:
            found.setdefault("value", stored)
            found["from_disk"] = True
        found["store"] = (kind, key)
    return found


def forget(kind: str, key: tuple) -> None:
    """Drop a memoised value (a run that failed must be computed again, not served from memory)."""
    _slot(kind, *key).pop("value", None)


def load_dataset(config: DataConfig, progress: ProgressCallback | None = None) -> Loaded:
    """The data set of ``config`` (memoised for every session)."""
    from mmrec_core.data.sources import load_dataset as load

    return memo("dataset", (config,), lambda: load(config, progress=progress))


def load_embeddings(data: DataConfig, dataset: Any, embed: EmbedConfig, images: ImageConfig = ImageConfig(),
                    progress: ProgressCallback | None = None) -> Loaded:
    """Item embeddings of ``dataset`` (the core's disk cache makes a fresh process fast too)."""
    from mmrec_core.embeddings import embed_items

    return memo("embeddings", (data, dataset.fingerprint, embed, images),
                lambda: embed_items(dataset, embed, images, progress=progress))


def load_projection(data: DataConfig, embed: EmbedConfig, fusion: str, method: str, vectors: Any,
                    seed: int = 0, points: int | None = None) -> Loaded:
    """2-D coordinates of ``vectors``; ``points`` (the map's sample size) is part of the key, since the caller
    passes the sampled rows' vectors only."""
    from mmrec_core.projection import project

    return memo("projection", (data, embed, fusion, method, seed, points),
                lambda: project(vectors, method=method, seed=seed))


def fitted_projection(data: DataConfig, embed: EmbedConfig, fusion: str, method: str, vectors: Any,
                      seed: int = 0, points: int | None = None) -> Any | None:
    """The coordinates :func:`load_projection` or :func:`projection_in_background` fitted for these arguments
    (in any session, e.g. by **Prepare the demo**), or None; never fits."""
    return slot("projection", (data, embed, fusion, method, seed, points)).get("value")


_starting = threading.Lock()


def projection_in_background(data: DataConfig, embed: EmbedConfig, fusion: str, method: str, vectors: Any,
                             seed: int = 0, points: int | None = None,
                             wait_s: float = 0.0) -> tuple[Any, BaseException | None]:
    """Like :func:`load_projection`, but a fit not yet done runs in a worker thread (UMAP on 5,000 items takes
    over a minute here): ``(coords, None)`` once fitted, ``(None, None)`` while it runs, ``(None, error)``
    when it failed. The call that starts the fit waits up to ``wait_s`` for it (a small catalogue's map then
    never flashes PCA); later calls while it runs return at once, so a page switch during a long fit does not
    wait again each time. Every session asking for the same map shares the one fit."""
    from mmrec_core.projection import project

    box = slot("projection", (data, embed, fusion, method, seed, points))
    if "value" in box:
        return box["value"], None
    with _starting:  # not the slot's own lock: the worker holds that for the whole fit
        if "value" in box or box.get("error") is not None:
            return box.get("value"), box.get("error")
        worker = box.get("worker")
        started = worker is None or not worker.is_alive()
        if started:
            def fit() -> None:
                try:
                    fill(box, lambda: project(vectors, method=method, seed=seed))
                except Exception as exc:  # noqa: BLE001 - shown on the page; the map stays on PCA
                    log.exception("%s projection failed", method)
                    box["error"] = exc

            worker = box["worker"] = threading.Thread(target=fit, name=f"mmrec {method}", daemon=True)
            worker.start()
    worker.join(wait_s if started else 0.0)
    return box.get("value"), box.get("error")


@st.cache_data(show_spinner=False, ttl=15)
def cache_status() -> dict[str, Any]:
    """Size of the disk cache (re-measured at most every 15 s: walking a big cache is not free)."""
    root = cache_dir()
    files, size = 0, 0
    for path in root.rglob("*"):
        if path.is_file():
            files += 1
            size += path.stat().st_size
    info: dict[str, Any] = {"path": str(root), "files": files, "bytes": size}
    try:
        from mmrec_core.embeddings import cache_info

        info["embeddings"] = cache_info()
    except ImportError:
        pass
    return info


_cleared = [0]  # how many times clear_caches ran in this server


def generation() -> int:
    """Bumped by every :func:`clear_caches`: a session's "already loaded" marks from before it are void, so
    the recompute that follows shows its progress box instead of a bare spinner."""
    return _cleared[0]


def clear_caches(disk: bool = True) -> int:
    """Forget every memoised result; with ``disk`` also delete the embedding cache. Returns bytes freed."""
    _cleared[0] += 1
    freed = 0
    if disk:
        try:
            from mmrec_core.embeddings import clear_cache

            freed = clear_cache()
        except ImportError:
            pass
    st.cache_data.clear()
    st.cache_resource.clear()
    return freed
