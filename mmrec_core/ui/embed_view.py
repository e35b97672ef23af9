"""The Embeddings page's sections: what was computed, the 2-D catalogue map, nearest neighbours."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmrec_core import projection, viz
from mmrec_core.ui import components, data_view, loaders, state

COLOUR_OPTIONS = ("kind", "colour", "pattern", "main_category", "mean_rating", "user cluster")


def summary(emb: Any) -> None:
    st.success(st.session_state.get("embed_note", ""), icon=":material/check_circle:")
    missing = {k: v for k, v in (emb.missing_reasons or {}).items() if v}
    components.metric_row({
        "items": f"{len(emb.item_ids):,}", "text dim": emb.text.shape[1], "image dim": emb.image.shape[1],
        "items with a picture vector": f"{int(emb.image_ok.sum()):,}",
        "read from disk cache": f"{emb.cache_hits.get('text', 0) + emb.cache_hits.get('image', 0):,} vectors",
    })
    if missing:
        st.plotly_chart(viz.load_report_bars({}, missing, title="Items without a picture vector"), key="emb-missing")
    with st.expander("Encoder identity (the cache key)"):
        st.code(emb.identity, language="json")


@st.cache_data(show_spinner=False, max_entries=8)
def _clusters(data_key: Any, embed_key: Any, fusion: str, _ds: Any, _features: np.ndarray) -> np.ndarray:
    from mmrec_core.data.interactions import Interactions

    inter = Interactions.from_dataset(_ds)
    pos = inter.labels.astype(bool)
    n_users, d = inter.n_users, _features.shape[1]
    sums = np.zeros((n_users, d), dtype=np.float32)
    np.add.at(sums, inter.users[pos], _features[inter.items[pos]])
    counts = np.bincount(inter.users[pos], minlength=n_users)[:, None]
    profiles = sums / np.maximum(counts, 1)
    return projection.audience_clusters(profiles, inter.users[pos], inter.items[pos], inter.n_items)


def fused(emb: Any, fusion: str) -> Any:
    from mmrec_core.embeddings import fuse

    return fuse(emb, fusion)


def catalogue_map(ds: Any, emb: Any, fusion: str) -> pd.DataFrame:
    """Map controls, the scatter (click or lasso points) and the pictures of the selection."""
    data, embed = state.get(state.DATA), state.get(state.EMBED)
    items = data_view.item_table(ds)
    options = [c for c in COLOUR_OPTIONS if c in items.columns or c == "user cluster"]
    c1, c2 = st.columns([2, 1])
    colour = c1.selectbox("Colour by", options, key=state.widget_default("w:map-colour", options[0]))
    method = c2.segmented_control("Projection", ["umap", "pca"], key=state.widget_default("w:map-method", "umap"))
    method = method or "umap"
    projection.warm_up_umap()
    if method == "umap" and not projection.umap_ready():
        st.info("UMAP is warming up in the background (first use compiles it); showing PCA meanwhile. "
                "Rerun in a few seconds for UMAP.", icon=":material/hourglass_top:")
        method = "pca"
    vectors = fused(emb, fusion).features
    with st.spinner(f"Projecting with {method.upper()} ..."):
        coords = loaders.load_projection(data, embed, fusion, method, vectors).value
    if colour == "user cluster":
        items["user cluster"] = [f"cluster {c}" if c >= 0 else "no fans" for c in
                                 _clusters(data, embed, fusion, ds, vectors)]
    fig = viz.embedding_map(coords, items, color_by=colour, title=f"Catalogue map ({method.upper()}, {fusion})")
    event = st.plotly_chart(fig, key="catalogue-map", on_select="rerun", selection_mode=("points", "box", "lasso"))
    rows = sorted({int(p["customdata"][0]) for p in (event.selection.points if event else []) if p.get("customdata")})
    if rows:
        st.caption(f"{len(rows)} selected" + (" (showing the first 12)" if len(rows) > 12 else ""))
        components.image_grid(items.iloc[rows[:12]], columns=6, caption_cols=("title", colour))
    else:
        st.caption("Click a point, or drag a box or lasso, to see those products' pictures and titles here.")
    return items


def neighbours(items: pd.DataFrame, emb: Any, fusion: str) -> None:
    """Pick a product, see the 8 closest by cosine on the fused vectors, as a picture strip."""
    f = fused(emb, fusion)
    labels = (items["title"].fillna("(no title)").str.slice(0, 70) + "  ·  " + items["item_id"]).tolist()
    pick = st.selectbox("Product", range(len(items)), format_func=lambda i: labels[i],
                        key=state.widget_default("w:nn-item", 0))
    pick = min(int(pick), len(items) - 1)
    idx, sims = projection.nearest_neighbours(f.features, pick, k=8, valid=f.has_features)
    left, right = st.columns([1, 5])
    with left:
        st.caption("Chosen")
        components.image_grid(items.iloc[[pick]], columns=1)
    with right:
        st.caption(f"Nearest by cosine similarity ({fusion} vectors)")
        strip = items.iloc[idx].copy()
        strip["similarity"] = [f"cosine {s:.3f}" for s in sims]
        components.image_grid(strip, columns=8, caption_cols=("title", "similarity"), title_len=40)
