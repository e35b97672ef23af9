"""Running a step behind ``st.status`` with a progress bar, and the data set every page starts from."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from mmrec_core.config import DataConfig
from mmrec_core.ui import components, loaders, state
from mmrec_core.ui.progress import ProgressBridge

HINTS = {
    "FileNotFoundError": "check the path (it is read on the machine that runs the dashboard).",
    "NotJsonLines": "pick the raw Amazon Reviews 2023 .jsonl / .jsonl.gz files (one JSON object per line).",
    "DataUnavailable": "download the two files named above on a machine with network access and load them "
                       "with 'Local Amazon files', or use the demo catalogue.",
}


def hint_for(exc: BaseException, default: str) -> str:
    """The hint of the innermost known exception in ``exc``'s cause chain (a missing file wrapped in
    ``NotJsonLines`` should say "check the path", not "pick JSON lines files")."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__
    for link in reversed(chain):
        if type(link).__name__ in HINTS:
            return HINTS[type(link).__name__]
    return default


def run_step(page: str, label: str, fn: Callable[..., Any], hint: str, expanded: bool = True) -> Any | None:
    """Run ``fn(progress=bridge)`` inside ``st.status``; on failure show what to do and return None.

    Earlier results stay in the session either way; the status box ends in its complete or error state.
    """
    start = time.perf_counter()
    with st.status(f"{label} ...", expanded=expanded) as status:
        bridge = ProgressBridge(status=status, label=label)
        try:
            value = fn(progress=bridge)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable box, never a traceback page
            status.update(label=f"{label} failed", state="error")
            components.report_failure(page, exc, hint_for(exc, hint))
            return None
        bridge.done(f"done in {time.perf_counter() - start:.1f} s")
        status.update(label=f"{label}: done in {time.perf_counter() - start:.1f} s", state="complete", expanded=False)
    components.clear_failure(page)  # the page's box, drawn earlier in this run, empties now: no stale red box
    return value


def _loaded_keys() -> set:
    """What this session loaded through a progress box since the caches were last cleared (then only a
    spinner shows while the memo answers)."""
    if st.session_state.get("_loaded_generation") != loaders.generation():
        st.session_state["_loaded_generation"] = loaders.generation()
        st.session_state["_loaded"] = set()
    return st.session_state["_loaded"]


def mark_loaded(key: Any) -> None:
    """Record a data config (or an ``("emb", data, embed)`` key) as loaded by this session, as if its page had
    loaded it: the page then reads the memo without a progress box (used by **Prepare the demo**)."""
    _loaded_keys().add(key)


def use_data(config: DataConfig) -> None:
    """Make ``config`` the session's data set; on a change, put away the results of the one before (they would
    be misleading here) and say which, so a presenter who reloads does not find them gone without a word."""
    if state.get(state.DATA) == config:
        return
    state.put(state.DATA, config)
    cleared = [name for key, name in ((state.EMBED, "embeddings"), (state.RANKING, "rankers"),
                                      (state.ABLATION, "ablation"), (state.CLASSIFIER, "classifier"))
               if state.get(key) is not None]
    for key in (state.EMBED, state.RANKING, state.ABLATION, state.CLASSIFIER):
        state.put(key, None)
    st.session_state["data_cleared_note"] = (
        f"The {', '.join(cleared)} results of the previous data set were put away (they do not apply here). "
        "Back on that data set, Train shows a run already trained on this server at once."
    ) if cleared else ""


def dataset(config: DataConfig | None = None, page: str = "Data") -> Any | None:
    """The data set of ``config`` (default: the loaded one, else the default demo), loading it if needed.

    A config this session already loaded is a memo hit: no status box, just the value.
    """
    asked = config is not None  # "Load data" pressed: its success clears the page's last failure
    config = config or state.get(state.DATA) or state.default_data_config()
    loaded_before = config in _loaded_keys() and state.get(state.DATA) == config
    if config in _loaded_keys():
        with st.spinner("Loading data ..."):
            loaded = loaders.load_dataset(config)
        if asked:
            components.clear_failure(page)
    else:
        what = f"demo catalogue ({config.demo_size})" if config.source == "demo" else config.source + " data"
        loaded = run_step(page, f"Loading the {what}", lambda progress: loaders.load_dataset(config, progress),
                          "check the source settings above and try again.")
        if loaded is None:
            return None
        _loaded_keys().add(config)
        st.session_state["data_load_note"] = (
            f"Loaded in {loaded.seconds:.1f} s" if loaded.computed else "Loaded from the in-memory cache"
        )
    ds = loaded.value
    use_data(config)
    if state.get("data_summary") is None or not loaded_before:
        state.put("data_summary", ds.summary())
        refresh_sidebar()
    return ds


def embeddings(ds: Any, page: str = "Embeddings", compute: bool = False, embed: Any = None) -> Any | None:
    """The current item embeddings (memoised), computing them only when asked (``compute``) or already done;
    ``embed`` asks for another encoder's (recommending from words needs a shared space), computed if needed."""
    own = embed is None or embed == state.get(state.EMBED)  # the page's note is about the session's own vectors
    if embed is not None:
        compute = compute or ("emb", state.get(state.DATA), embed) not in _loaded_keys()
    embed = embed or state.get(state.EMBED)
    if embed is None:
        return None
    data = state.get(state.DATA)
    key = ("emb", data, embed)
    if key in _loaded_keys() and not compute:
        with st.spinner("Loading embeddings ..."):
            return loaders.load_embeddings(data, ds, embed).value
    loaded = run_step(page, f"Embedding {ds.n_items:,} items with {embed.encoder}",
                      lambda progress: loaders.load_embeddings(data, ds, embed, progress=progress),
                      "pick another encoder (the bundled one always works offline) or clear the cache.")
    if loaded is None:
        return None
    _loaded_keys().add(key)
    emb = loaded.value
    if not own:
        return emb
    hits = getattr(emb, "cache_hits", {}) or {}
    if not loaded.computed:
        note = "Loaded from the in-memory cache (computed earlier in this server)."
    elif hits and all(hits.values()):
        note = f"Loaded from the disk cache in {loaded.seconds:.1f} s ({getattr(emb, 'identity', '')})."
    else:
        note = f"Computed in {loaded.seconds:.1f} s ({ds.n_items / max(loaded.seconds, 1e-9):,.0f} items/s)."
    st.session_state["embed_note"] = note
    return emb


def refresh_sidebar() -> None:
    from mmrec_core.ui.frame import refresh_sidebar as _refresh

    _refresh()
