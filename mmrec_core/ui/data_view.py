"""The Data page's sections: interaction statistics and the browsable product gallery."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.ui import components, loaders, state

PAGE_SIZE = 24


def item_table(ds: Any) -> pd.DataFrame:
    """Items with their review count and mean rating in the loaded reviews (plus demo truth columns).

    Built once per data set (a group-by over 1 M reviews is not free on every rerun) and shared between
    reruns and pages: treat it as read-only and copy before adding a column.
    """
    return loaders.memo("item-table", (ds.fingerprint,), lambda: _item_table(ds)).value


def search_rows(items: pd.DataFrame, query: str, limit: int) -> np.ndarray:
    """Row numbers of at most ``limit`` items whose title or id has a word starting with each word of ``query``
    (case-insensitive, in any order: "red dress" finds "Polka Dot Dress - Red", not "Checkered Dress"), in
    catalogue order; the first ``limit`` rows for an empty query."""
    words = query.split()
    if not words:
        return np.arange(min(limit, len(items)))
    text = items["title"].fillna("").astype(str) + " " + items["item_id"].astype(str)
    hit = np.ones(len(items), bool)
    for word in words:
        hit &= text.str.contains(r"(?<![^\W_])" + re.escape(word), case=False, regex=True).to_numpy()
    return np.flatnonzero(hit)[:limit]


def _item_table(ds: Any) -> pd.DataFrame:
    stats = ds.reviews.groupby("item_id")["rating"].agg(reviews="count", mean_rating="mean")
    items = ds.items.merge(stats, left_on="item_id", right_index=True, how="left")
    truth = getattr(ds, "truth", None)
    if truth is not None:
        attrs = truth.item_attributes[["item_id", "kind", "colour", "pattern"]]
        items = items.merge(attrs, on="item_id", how="left")
    items["reviews"] = items["reviews"].fillna(0).astype(int)
    return items


def statistics(ds: Any) -> None:
    """Users, items, reviews, density, and the two distributions."""
    s = ds.summary()
    components.metric_row({
        "reviews": f"{s['reviews']:,}", "users": f"{s['users']:,}", "items": f"{s['items']:,}",
        "density": f"{s['density']:.4%}", "items with a picture": f"{s['items_with_image']:,}",
    })
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(viz.rating_distribution(ds.reviews["rating"]), key="rating-dist")
    with c2:
        st.plotly_chart(viz.interactions_per_user(ds.reviews["user_id"]), key="per-user")


def gallery(ds: Any) -> None:
    """Product pictures with titles and mean ratings; search, sort and paging."""
    items = item_table(ds)
    c1, c2, c3 = st.columns([3, 2, 1])
    query = c1.text_input("Search titles", key=state.widget_default("w:gallery-q", ""), placeholder="e.g. red dress")
    order = c2.selectbox("Sort by", ["most reviewed", "best rated", "worst rated", "catalogue order"],
                         key=state.widget_default("w:gallery-sort", "most reviewed"))
    if query.strip():  # the same word-start search as the product pickers ("red dress" finds "Dress - Red")
        items = items.iloc[search_rows(items, query, limit=len(items))]
    if order == "most reviewed":
        items = items.sort_values("reviews", ascending=False, kind="stable")
    elif order in ("best rated", "worst rated"):
        items = items.sort_values("mean_rating", ascending=order == "worst rated", kind="stable", na_position="last")
    st.caption(f"{len(items):,} products" + (f" matching '{query.strip()}'" if query.strip() else ""))
    with c3:
        start, stop = components.pager(len(items), PAGE_SIZE, key="w:gallery-page", noun="products", caption=False)
    shown = items.iloc[start:stop].copy()
    shown["info"] = [f"{n} reviews · {r:.1f}★" if n else "no reviews" for n, r in
                     zip(shown["reviews"], shown["mean_rating"].fillna(0), strict=True)]
    components.image_grid(shown, columns=6, caption_cols=("title", "info"), rating_col="mean_rating")
