"""Finding a user on the Recommendations page: by id, by a product they reviewed, or by a taste in words.

A class rarely knows a 28-character Amazon user id; it knows "someone who bought that striped handbag" or
"someone into purple stripes". Both searches return user indices of the run's interactions, best first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmrec_core import preferences
from mmrec_core.ui import components, data_view, loaders, state, steps

PAGE = "Recommendations"
TASTE_USERS = 20  # users listed for a taste
TASTE_EXAMPLE = "striped handbags, no checks"


def find_users(ids: np.ndarray, users: np.ndarray, inter: Any, items: pd.DataFrame, query: str,
               limit: int) -> tuple[np.ndarray, dict[int, str]]:
    """At most ``limit`` of ``users`` (indices into ``ids``): those whose id contains ``query`` first, then
    those who reviewed a product whose title or id matches it (:func:`data_view.search_rows`, word starts in
    any order), most matching reviews first; and, for the latter, the title of one product that matched."""
    q = query.strip()
    if not q:
        return users[:limit], {}
    from mmrec_core.ui.recs_view import search_users

    by_id = search_users(ids, users, q, limit=len(users))
    rows = data_view.search_rows(items, q, limit=len(items))
    wanted = set(items["item_id"].iloc[rows].astype(str))
    hit_items = np.flatnonzero(pd.Series(inter.item_ids).astype(str).isin(wanted).to_numpy())
    reviews = np.flatnonzero(np.isin(inter.items, hit_items) & np.isin(inter.users, users))
    reviews = reviews[~np.isin(inter.users[reviews], by_id)]
    who, first, counts = np.unique(inter.users[reviews], return_index=True, return_counts=True)
    order = np.lexsort((who, -counts))  # most matching reviews first, then by user index
    titles = items.set_index(items["item_id"].astype(str))["title"]
    why = {int(u): components.display_title(titles.get(str(inter.item_ids[inter.items[reviews[f]]])))
           for u, f in zip(who[order], first[order], strict=True)}
    found = np.concatenate([by_id, who[order]])[:limit]
    return found, {u: t for u, t in why.items() if u in set(found.tolist())}


def search(ids: np.ndarray, users: np.ndarray, inter: Any, ds: Any, key: str, limit: int,
           label: str = "User") -> int | None:
    """A text box and a picker over :func:`find_users`; the chosen user, or None when nothing matches."""
    query = st.text_input("User id, or a product they reviewed", key=state.widget_default(f"w:{key}-q", ""),
                          placeholder="e.g. part of an id, or words of a product title")
    matches, why = find_users(ids, users, inter, data_view.item_table(ds), query, limit)
    if not len(matches):
        st.info(f"No evaluated user has '{query.strip()}' in their id or reviewed a product matching it.")
        return None
    if len(matches) == limit:
        st.caption(f"The first {limit} matching users of {len(users):,} evaluated; type more to narrow them.")
    return int(st.selectbox(label, matches.tolist(), key=f"w:{key}-user", format_func=lambda u: str(ids[u]) + (
        f"  · reviewed {why[u][:50]}" if u in why else "")))


def _profiles(ds: Any, data: Any, emb: Any, config: Any, key: tuple) -> np.ndarray:
    """Every user's taste vector in the words space (mean of their liked train items), once per data and space."""

    def compute() -> np.ndarray:
        inter, train = data.inter, data.split.train
        row_of = {item: i for i, item in enumerate(ds.items["item_id"].astype(str))}
        rows = np.array([row_of.get(str(i), -1) for i in inter.item_ids], np.int64)
        liked = train[(inter.labels[train] == 1) & (rows[inter.items[train]] >= 0)]
        vectors = preferences.item_vectors(emb, "mean")
        return preferences.taste_profiles(vectors, inter.users[liked], rows[inter.items[liked]], inter.n_users)

    return loaders.memo("taste-profiles", (*key, config), compute).value


def by_taste(ids: np.ndarray, users: np.ndarray, ds: Any, data: Any, key: tuple) -> int | None:
    """A sentence (likes and dislikes, as in *Recommend for: words*) and the evaluated users whose liked
    products are nearest it in the shared space; the chosen user, or None before a sentence is typed."""
    from mmrec_core.ui.words_view import words_config

    sentence = st.text_input("Describe a taste", key=state.widget_default("w:rec-taste", ""),
                             placeholder=f"e.g. {TASTE_EXAMPLE}",
                             help="Finds users whose liked products (train part) are nearest these words; 'no ...' "
                                  "pushes away, as in Recommend for: words.")
    if not sentence.strip():
        st.caption(f"Type a taste, e.g. *{TASTE_EXAMPLE}*, and press Enter.")
        return None
    config = words_config()
    emb = steps.embeddings(ds, page=PAGE, embed=config)
    if emb is None:
        return None
    try:
        preference = preferences.parse_preference(sentence)
        if preference.empty:
            raise ValueError(preferences.NO_WORDS)
        query = preferences.query_vectors([preference], preferences.text_encoder(emb, config))[0]
    except ValueError as exc:
        st.warning(f"{exc}.", icon=":material/info:")
        return None
    found, scores = preferences.users_by_taste(query, _profiles(ds, data, emb, config, key), users, TASTE_USERS)
    if not len(found):
        st.info("No evaluated user liked anything in the train part.")
        return None
    st.caption(f"Read as {preference.describe()}; scored in the {config.encoder} space by the cosine of each user's "
               "mean liked product with the words.")
    score = dict(zip(found.tolist(), scores.tolist(), strict=True))
    return int(st.selectbox("Users whose liked products are nearest this taste", found.tolist(), key="w:rec-taste-user",
                            format_func=lambda u: f"{ids[u]}  (taste match {score[u]:.2f})"))
