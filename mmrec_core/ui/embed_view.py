"""The Embeddings page's sections: what was computed, the 2-D catalogue map, nearest neighbours."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmrec_core import projection, viz
from mmrec_core.ui import components, data_view, loaders, state

COLOUR_OPTIONS = ("kind", "colour", "pattern", "main_category", "mean_rating", "user cluster")
MAP_SEED = 0  # the map's sample and its projection: the same points on every rerun and every server
SELECTION_PAGE = 12  # pictures of the selected points per page
PICK_OPTIONS = 200  # products listed in the neighbours picker at once


def summary(emb: Any) -> None:
    st.success(st.session_state.get("embed_note", ""), icon=":material/check_circle:")
    missing = {k: v for k, v in (emb.missing_reasons or {}).items() if v}
    components.metric_row({
        "items": f"{len(emb.item_ids):,}", "text dim": emb.text.shape[1], "image dim": emb.image.shape[1],
        "items with a picture vector": f"{int(emb.image_ok.sum()):,}",
        # how this set of vectors was first made; served again from memory, it is still the same set
        "vectors read / computed": f"{sum((emb.cache_hits or {}).values()):,} / "
                                   f"{sum((getattr(emb, 'computed', {}) or {}).values()):,}",
    })
    if missing:
        st.plotly_chart(viz.load_report_bars({}, missing, title="Items without a picture vector"), key="emb-missing")
    towers = getattr(emb, "alignment", None)
    if towers is not None:
        st.info(f"**One text-picture space, fitted on this catalogue**: {towers.trained_on:,} title-picture pairs, "
                f"{towers.epochs} epochs. On {towers.held_out:,} held-out items a title finds its own picture among "
                f"the 10 nearest in **{towers.recall_at_10:.0%}** of cases (chance {towers.chance_recall_at_10:.0%}); "
                f"the median rank of the own picture is **{towers.median_rank:.0f}** of {towers.held_out:,} "
                f"(chance {towers.chance_median_rank:.0f}).", icon=":material/join_inner:")
    with st.expander("Encoder identity (the cache key)"):
        st.code(emb.identity, language="json")


@st.cache_data(show_spinner=False, max_entries=8)
def _clusters(data_key: Any, embed_key: Any, fusion: str, _ds: Any, _features: np.ndarray) -> np.ndarray:
    from scipy.sparse import csr_matrix

    from mmrec_core.data.interactions import Interactions

    inter = Interactions.from_dataset(_ds)
    pos = inter.labels.astype(bool)
    users, items = inter.users[pos], inter.items[pos]
    # a sparse users x items product: np.add.at over a million liked items takes tens of seconds
    likes = csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(inter.n_users, inter.n_items))
    counts = np.asarray(likes.sum(axis=1)).reshape(-1, 1)
    profiles = np.asarray(likes @ _features) / np.maximum(counts, 1)
    return projection.audience_clusters(profiles, users, items, inter.n_items)


def fused(emb: Any, fusion: str, data: Any = None, embed: Any = None) -> Any:
    """The fused vectors, built once per (data, encoder settings, fusion): 100 K x 656 floats is not free.
    ``data`` and ``embed`` default to the session's."""
    from mmrec_core.embeddings import fuse

    key = (data or state.get(state.DATA), embed or state.get(state.EMBED), emb.identity, len(emb.item_ids), fusion)
    return loaders.memo("fused", key, lambda: fuse(emb, fusion)).value


def colour_options(items: pd.DataFrame) -> list[str]:
    """The map's "Colour by" choices: the columns of :data:`COLOUR_OPTIONS` the items have with at least two
    values (one value would paint every point alike: the demo's single ``main_category``), and the fans'
    taste cluster."""
    return [c for c in COLOUR_OPTIONS
            if c == "user cluster" or (c in items.columns and items[c].nunique(dropna=True) > 1)]


@st.fragment(run_every=1.0)
def _switch_to_umap_when_ready(fitting: tuple[Any, ...] | None = None) -> None:
    """Say the map is PCA while UMAP compiles (``fitting`` None) or fits on the map's points (``fitting``: the
    arguments of :func:`loaders.projection_in_background`), and redraw the page by itself when UMAP is ready."""
    if fitting is None:
        ready, failed = projection.umap_ready(), projection.umap_failed()
        waiting = "UMAP is warming up in the background (its first use compiles it, 10-20 s)"
    else:
        coords, error = loaders.projection_in_background(*fitting)
        ready, failed = coords is not None, error is not None
        waiting = (f"UMAP is being fitted on these {fitting[-1]:,} items in the background (about a minute per "
                   "5,000 items on two cores; once per catalogue and fusion, then kept)")
    if ready:
        st.rerun()
    if failed:
        st.warning("UMAP could not run here (the server log says why); the map stays on PCA.")
        return
    st.info(f"{waiting}; showing PCA meanwhile. The map switches to UMAP by itself when it is ready.",
            icon=":material/hourglass_top:")


def map_fitting(data: Any, embed: Any, fusion: str, method: str, vectors: np.ndarray,
                n_items: int) -> tuple[Any, ...]:
    """The arguments of :func:`loaders.projection_in_background` for the map: its seeded sample of rows."""
    sample = viz.sample_rows(n_items, viz.MAP_POINTS, MAP_SEED)
    return data, embed, fusion, method, vectors[sample], MAP_SEED, len(sample)


def fit_map(data: Any, embed: Any, emb: Any, fusion: str, method: str, n_items: int) -> None:
    """Fit the projection the map will show and wait for it (**Prepare the demo**, in its worker thread)."""
    vectors = fused(emb, fusion, data, embed).features
    loaders.load_projection(*map_fitting(data, embed, fusion, method, vectors, n_items))


def catalogue_map(ds: Any, emb: Any, fusion: str) -> pd.DataFrame:
    """Map controls, the scatter (click or lasso points) and the pictures of the selection, a page at a time.

    Beyond :data:`viz.MAP_POINTS` items the map shows a seeded sample and the projection is fitted on that
    sample only (the same rows on every rerun), so a 100 K catalogue maps in seconds.
    """
    data, embed = state.get(state.DATA), state.get(state.EMBED)
    items = data_view.item_table(ds)
    options = colour_options(items)
    c1, c2 = st.columns([2, 1])
    colour = c1.selectbox("Colour by", options, format_func=viz.words,
                          key=state.widget_default("w:map-colour", options[0]))
    method = c2.segmented_control("Projection", ["umap", "pca"], key=state.widget_default("w:map-method", "umap"))
    method = method or "umap"
    projection.warm_up_umap()
    vectors = fused(emb, fusion).features
    fitting = map_fitting(data, embed, fusion, method, vectors, len(items))
    sample = viz.sample_rows(len(items), viz.MAP_POINTS, MAP_SEED)
    coords = loaders.fitted_projection(*fitting)  # fitted before (by Prepare the demo, say)
    if coords is None and method == "umap" and not projection.umap_ready():
        _switch_to_umap_when_ready()
    elif coords is None and method == "umap":  # fitted in a worker: the page (and its PCA map) never waits for it
        coords, _ = loaders.projection_in_background(*fitting, wait_s=3.0)  # a small catalogue: no PCA flash
        if coords is None:
            _switch_to_umap_when_ready(fitting)
    if coords is None:
        method = "pca"
        with st.spinner(f"Projecting {len(sample):,} items with PCA ..."):
            coords = loaders.load_projection(data, embed, fusion, method, vectors[sample], seed=MAP_SEED,
                                             points=len(sample)).value
    shown = items
    if colour == "user cluster":
        shown = items.copy()  # the item table is shared between reruns: never add columns to it
        with st.spinner("Clustering users by taste ..."):
            clusters = _clusters(data, embed, fusion, ds, vectors)
        shown["user cluster"] = [f"cluster {c}" if c >= 0 else "no fans" for c in clusters]
    fig = viz.embedding_map(coords, shown, color_by=colour, title=f"Catalogue map ({method.upper()}, {fusion})",
                            max_points=viz.MAP_POINTS, seed=MAP_SEED)
    event = st.plotly_chart(fig, key="catalogue-map", on_select="rerun", selection_mode=("points", "box", "lasso"))
    st.caption(map_note(len(sample), len(items), method))
    rows = sorted({int(p["customdata"][0]) for p in (event.selection.points if event else []) if p.get("customdata")})
    if rows:
        st.caption(f"{len(rows):,} selected")
        start, stop = components.pager(len(rows), SELECTION_PAGE, key="w:map-selection-page", noun="selected")
        components.image_grid(shown.iloc[rows[start:stop]], columns=6, caption_cols=("title", colour))
    else:
        st.caption("Click a point, or pick the box or lasso tool above the map and drag, to see those products' "
                   "pictures and titles here.")
    return items


def map_note(shown: int, total: int, method: str) -> str:
    """What the map shows and what the projection was fitted on (the caption under the chart)."""
    if shown >= total:
        return f"All {total:,} items, {method.upper()} fitted on all of them."
    return (f"{viz.sample_caption(shown, total)}: {method.upper()} was fitted on these {shown:,} items only (seed "
            f"{MAP_SEED}, the same points on every rerun); the other {total - shown:,} are not projected. Use "
            "Nearest neighbours below to reach any item.")


# what "Similar by" compares: the page's fused vectors, the title's alone, the picture's alone
SIMILAR_BY = {"title and picture": None, "title": "text", "picture": "image"}
TRAIL = "nn_trail"  # ids of the products explored from before the one shown, oldest first (Back's path)


def explore(items: pd.DataFrame, row: int) -> None:
    """Make catalogue row ``row`` the chosen product (a neighbour's *Explore from here*): the search box gets its
    id, so the picker lists it, and the product shown until now goes on the trail *Back* returns along.
    Runs as a button callback, before the widgets are drawn."""
    current = st.session_state.get("w:nn-item")
    if current is not None and 0 <= int(current) < len(items) and current != row:
        st.session_state.setdefault(TRAIL, []).append(str(items["item_id"].iat[int(current)]))
    _choose(items, row)


def back(items: pd.DataFrame) -> None:
    """Return to the product explored from last (the *Back* button's callback)."""
    row = _trail_row(items)
    if row is not None:
        st.session_state[TRAIL].pop()
        _choose(items, row)


def _trail_row(items: pd.DataFrame) -> int | None:
    """The catalogue row of the trail's last product; None (and the trail forgotten) when there is none or it
    is not in this catalogue (another data set was loaded since)."""
    trail = st.session_state.get(TRAIL) or []
    rows = np.flatnonzero(items["item_id"].astype(str).to_numpy() == trail[-1]) if trail else []
    if not len(rows):
        st.session_state.pop(TRAIL, None)
        return None
    return int(rows[0])


def _choose(items: pd.DataFrame, row: int) -> None:
    st.session_state["w:nn-q"] = str(items["item_id"].iat[row])
    st.session_state["w:nn-item"] = int(row)


def neighbours(items: pd.DataFrame, emb: Any, fusion: str) -> None:
    """Find a product by title or id, see the 8 closest by cosine (on the fused vectors, the titles' or the
    pictures'), as pictures (two rows of four), and explore on from any of them.

    The picker lists at most :data:`PICK_OPTIONS` matches: a selectbox of 100 K options is slow to send and to open.
    """
    by = st.segmented_control("Similar by", list(SIMILAR_BY), key=state.widget_default("w:nn-by", "title and picture"),
                              help="title and picture: the page's fused vectors; title or picture: that vector alone "
                                   "(look-alikes by name, or by look)") or "title and picture"
    mode = SIMILAR_BY[by] or fusion
    f = fused(emb, mode)
    query = st.text_input("Find a product (title or id)", key=state.widget_default("w:nn-q", ""),
                          placeholder="e.g. linen shirt")
    matches = data_view.search_rows(items, query, limit=PICK_OPTIONS)
    if not len(matches):
        st.info(f"No product matches '{query.strip()}'.")
        return
    if st.session_state.get("w:nn-item") not in set(matches.tolist()):
        st.session_state["w:nn-item"] = int(matches[0])  # the list changed under the old pick
    titles, ids = items["title"], items["item_id"]
    pick = st.selectbox("Product", matches.tolist(),
                        format_func=lambda i: f"{components.display_title(titles.iat[i])[:70]}  ·  {ids.iat[i]}",
                        key="w:nn-item")
    if len(matches) < len(items):
        st.caption(f"{len(matches):,} products listed" + (f" matching '{query.strip()}'" if query.strip() else
                   f" of {len(items):,}") + "; search by title or id to reach any other.")
    pick = min(int(pick), len(items) - 1)
    left, right = st.columns([1, 5])
    with left, st.container(key="nn-chosen"):
        st.caption("Chosen")
        components.image_grid(items.iloc[[pick]], columns=1)
        previous = _trail_row(items)
        if previous is not None:
            st.button(f"Back ({len(st.session_state[TRAIL])})", key="nn-back", icon=":material/arrow_back:",
                      on_click=back, args=(items,), help=f"to {components.display_title(items['title'].iat[previous])[:60]}")
    with right, st.container(key="nn-strip"):
        if not f.has_features[pick]:
            st.info("This product has no picture vector (see the load report), so it has no look-alikes by picture; "
                    "choose **title** above.", icon=":material/hide_image:")
            return
        idx, sims = projection.nearest_neighbours(f.features, pick, k=8, valid=f.has_features)
        st.caption(f"Nearest by cosine similarity ({by if mode != fusion else f'{fusion} vectors'})"
                   " · *Explore from here* makes a neighbour the chosen product")
        strip = items.iloc[idx].copy()
        strip["similarity"] = [f"cosine {s:.3f}" for s in sims]
        components.image_grid(strip, columns=4, caption_cols=("title", "similarity"), action=components.CardAction(
            "Explore from here", "nn-explore", lambda i: explore(items, int(idx[i])),
            help="see this product's own neighbours (Back returns)"))
