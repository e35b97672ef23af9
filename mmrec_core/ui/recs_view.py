"""The Recommendations page: pick a user, see their history, each trained model's top-K, and the truth."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.ui import components, data_view, loaders, state

DISAGREE_USERS = 2_000  # users whose top-K lists are compared (a seeded sample beyond that): 125 K is minutes
SEARCH_OPTIONS = 200  # matching users listed at once
TOPS_CHUNK = 250  # users per step of the "where models disagree" bar
HISTORY_PAGE = 12  # pictures of a user's history per page


def trained_models(result: Any) -> dict[str, Any]:
    """Display name -> fitted ranker (first seed of each (setting, model))."""
    settings = {s for s, _, _ in result.models if s != "none"}
    out: dict[str, Any] = {}
    for (setting, model, _seed), ranker in sorted(result.models.items(), key=lambda kv: kv[0][2]):
        name = model if setting == "none" or len(settings) <= 1 else f"{setting}/{model}"
        out.setdefault(name, ranker)
    return out


def unseen_top(ranker: Any, user: int, k: int) -> np.ndarray:
    """The user's top-``k`` items without their train items. ``recommend`` pads a list with fewer than ``k``
    eligible items with excluded ones scored -inf; those are dropped, so a large K shows a shorter list."""
    top, scores = ranker.recommend(np.array([user]), k)
    keep = np.isfinite(scores[0]) & (top[0] >= 0)
    return top[0][keep]


def disagreement(tops: dict[str, np.ndarray]) -> np.ndarray:
    """Per user, 1 - the mean Jaccard overlap of the models' top-K lists (1 = no two models agree)."""
    lists = list(tops.values())
    if len(lists) < 2:
        return np.zeros(len(lists[0]) if lists else 0)
    scores = []
    for a, b in combinations(lists, 2):
        inter = np.array([len(set(x) & set(y)) for x, y in zip(a, b, strict=True)])
        union = np.array([len(set(x) | set(y)) for x, y in zip(a, b, strict=True)])
        scores.append(inter / np.maximum(union, 1))
    return 1.0 - np.mean(scores, axis=0)


def _data(run: dict[str, Any], ds: Any) -> Any:
    from mmrec_core.ui.rankers_view import interactions

    return interactions(ds, run["config"])


def _spread(run: dict[str, Any], users: np.ndarray, k: int) -> np.ndarray:
    """:func:`disagreement` of every model's top-``k`` for ``users``, computed once per run and K (under a bar
    that says which model it is at: on ``medium`` this takes about a minute); reruns read it from the memo."""
    models = trained_models(run["result"])

    def compute() -> np.ndarray:
        bar, out = st.progress(0.0), {}
        chunks = np.array_split(users, max(1, -(-len(users) // TOPS_CHUNK)))
        steps = len(models) * len(chunks)
        for m, (name, ranker) in enumerate(models.items()):
            parts = []
            for c, chunk in enumerate(chunks):
                bar.progress((m * len(chunks) + c) / steps, text=f"Comparing the models' top-{k} lists on "
                             f"{len(users):,} users: {name}, model {m + 1} of {len(models)} ...")
                parts.append(ranker.recommend(chunk, k)[0])
            out[name] = np.concatenate(parts)
        bar.empty()
        return disagreement(out)

    return loaders.memo("tops", (id(run["result"]), k), compute).value


def search_users(ids: np.ndarray, users: np.ndarray, query: str, limit: int) -> np.ndarray:
    """The first ``limit`` of ``users`` (indices into ``ids``) whose id contains ``query``, case-insensitive."""
    q = query.strip()
    if not q:
        return users[:limit]
    hit = pd.Series(ids[users]).astype(str).str.contains(q, case=False, regex=False).to_numpy()
    return users[hit][:limit]


PICK_WAYS = ["where models disagree", "random", "search", "by taste"]


def pick_user(run: dict[str, Any], ds: Any, k: int) -> int | None:
    """Where the models disagree, random, search (an id, or a product they reviewed) or by a taste in words;
    returns a user index of the run's interactions."""
    from mmrec_core.ui import users_view

    data = _data(run, ds)
    ids = data.inter.user_ids
    test_users = np.unique(data.inter.users[data.split.test])
    how = st.segmented_control("Pick a user", PICK_WAYS, key=state.widget_default("w:rec-how", PICK_WAYS[0]),
                               help="search: part of a user id, or words of a product they reviewed; by taste: "
                                    "a sentence, matched to each user's liked products") or "random"
    if how == "search":
        return users_view.search(ids, test_users, data.inter, ds, "rec", SEARCH_OPTIONS)
    if how == "by taste":
        config = run["config"]
        return users_view.by_taste(ids, test_users, ds, data, (config.data, ds.fingerprint, config.split))
    if how == "random":
        if st.button("Another random user", key="rec-random") or "rec_random_user" not in st.session_state:
            st.session_state["rec_random_user"] = int(np.random.default_rng().choice(test_users))
        return int(st.session_state["rec_random_user"])
    pool = test_users[viz.sample_rows(len(test_users), DISAGREE_USERS, seed=0)]
    if len(pool) < len(test_users):
        st.caption(f"Compared on a seeded sample of {len(pool):,} of the {len(test_users):,} evaluated users.")
    spread = _spread(run, pool, k)
    order = np.argsort(-spread, kind="stable")[:20]
    choices = [int(pool[i]) for i in order]
    score = dict(zip(choices, spread[order], strict=True))
    return int(st.selectbox("Users where the models' top-K lists overlap least", choices,
                            format_func=lambda u: f"{ids[u]}  (disagreement {score[u]:.2f})", key="w:rec-disagree-user"))


def pick_second(run: dict[str, Any], ds: Any, first: int) -> int | None:
    """The user to compare ``first`` with: searched like the first (an id or a product they reviewed)."""
    from mmrec_core.ui import users_view

    data = _data(run, ds)
    test_users = np.unique(data.inter.users[data.split.test])
    return users_view.search(data.inter.user_ids, test_users[test_users != first], data.inter, ds, "rec-second",
                             SEARCH_OPTIONS, label="Second user")


def _history(data: Any, items: pd.DataFrame, user: int) -> tuple[pd.DataFrame, dict[int, float]]:
    """The user's reviews, newest first, as cards (title, picture, rating, train or held out), and their
    held-out items with the ratings given."""
    inter, split = data.inter, data.split
    rows = np.flatnonzero(inter.users == user)
    test_rows = set(split.test.tolist())
    history = pd.DataFrame({
        "item_id": inter.item_ids[inter.items[rows]], "rating": inter.ratings[rows],
        "part": ["held out" if r in test_rows else "train" for r in rows], "ts": inter.timestamps[rows],
    }).sort_values("ts", ascending=False)
    held = {int(inter.items[r]): float(inter.ratings[r]) for r in rows if r in test_rows}
    return history.join(items[["title", "image_url"]], on="item_id"), held


def _liked(data: Any, user: int) -> np.ndarray:
    inter, train = data.inter, data.split.train
    return inter.items[train[(inter.users[train] == user) & (inter.labels[train] == 1)]]


def _hit_marks(top: np.ndarray, held: dict[int, float]) -> list[str | None]:
    return [f"✓ held out, rated {held[i]:.0f}★" if i in held else None for i in top]


def show_user(run: dict[str, Any], ds: Any, user: int, k: int) -> None:
    data = _data(run, ds)
    inter = data.inter
    uid = inter.user_ids[user]
    truth = getattr(ds, "truth", None)
    if truth is not None:
        st.info(f"**Hidden taste** (the demo's ground truth): {truth.describe_taste(uid)}", icon=":material/target:")
    items = data_view.item_table(ds).set_index("item_id")
    grid, held = _history(data, items, user)
    st.markdown(f"**History of {uid}**: {components.plural(len(grid), 'review')}, {len(held)} held out for testing")
    if st.session_state.get("rec_history_user") != user:  # another user's history starts on its first page
        st.session_state["rec_history_user"] = user
        st.session_state["w:rec-history-page"] = 1
    start, stop = components.pager(len(grid), HISTORY_PAGE, key="w:rec-history-page", noun="reviews", caption=False)
    components.card_strip(grid.iloc[start:stop], caption_cols=("part",), rating_col="rating", title_len=60)
    st.markdown(f"**Top-{k} per model** (train items excluded; ✓ and a green border: an item the user reviewed in the held-out part)")
    models = trained_models(run["result"])
    with st.container(key="models-rec"):
        _model_grids(models, inter, items, held, user, k, _liked(data, user))
    st.caption("Why this? Hover a product's title for its score's parts, or pick it under a model's list for the "
               "bar of parts and the liked products that pushed it up.")


COMPARE_HISTORY = 6  # the newest reviews of each user shown side by side


def compare_users(run: dict[str, Any], ds: Any, users: tuple[int, int], k: int) -> None:
    """Two users side by side under one model: hidden taste (demo), newest reviews, the model's top-``k`` with
    held-out hits marked, and how much the two lists share."""
    from mmrec_core.explain import describe, explain

    data = _data(run, ds)
    inter = data.inter
    models = trained_models(run["result"])
    names = list(models)
    if st.session_state.get("w:rec-compare-model") not in models:  # a model of an earlier run
        st.session_state["w:rec-compare-model"] = names[0]
    name = st.selectbox("Model", names, key="w:rec-compare-model")
    items = data_view.item_table(ds).set_index("item_id")
    titles = items["title"].reindex(inter.item_ids).to_numpy()
    truth = getattr(ds, "truth", None)
    tops = []
    with st.container(key="compare-users"):
        for col, user in zip(st.columns(2), users, strict=True):
            uid = inter.user_ids[user]
            grid, held = _history(data, items, user)
            top = unseen_top(models[name], user, k)
            tops.append(set(top.tolist()))
            marks = _hit_marks(top, held)
            why = explain(models[name], user, top, _liked(data, user))
            with col, st.container(key=f"compare-{len(tops)}"):
                st.markdown(f"**{uid}**")
                if truth is not None:
                    st.caption(f"Hidden taste: {truth.describe_taste(uid)}")
                st.caption(f"Newest {min(COMPARE_HISTORY, len(grid))} of {components.plural(len(grid), 'review')}")
                components.card_strip(grid.head(COMPARE_HISTORY), caption_cols=("part",), rating_col="rating")
                hits = sum(m is not None for m in marks)
                st.markdown(f"**{name}**, top-{k} · {components.plural(hits, 'hit')}")
                shown = items.loc[inter.item_ids[top], ["title", "image_url"]].reset_index()
                components.card_strip(shown, marks=marks, hovers=[describe(w, titles) for w in why])
    shared = len(tops[0] & tops[1])
    st.caption(f"The two top-{k} lists share {components.plural(shared, 'product')} (overlap "
               f"{shared / max(len(tops[0] | tops[1]), 1):.0%}): the less they share, the more {name} tells the two "
               "apart.")


def _model_grids(models: dict[str, Any], inter: Any, items: pd.DataFrame, held: dict[int, float], user: int,
                 k: int, liked: np.ndarray) -> None:
    from mmrec_core.explain import describe, explain

    titles = items["title"].reindex(inter.item_ids).to_numpy()
    names = list(models)
    for start in range(0, len(names), 3):
        cols = st.columns(3)
        for col, name in zip(cols, names[start : start + 3], strict=False):
            top = unseen_top(models[name], user, k)
            marks = _hit_marks(top, held)
            shown = items.loc[inter.item_ids[top], ["title", "image_url"]].reset_index()
            why = explain(models[name], user, top, liked)
            with col:
                hits = sum(m is not None for m in marks)
                st.markdown(f"**{name}** · {components.plural(hits, 'hit')}")
                if len(top) < k:
                    st.caption(f"only {components.plural(len(top), 'product')} this user has not reviewed in train")
                components.card_strip(shown, marks=marks, hovers=[describe(w, titles) for w in why])
                why_this(name, why, inter, items, user)


def why_this(name: str, why: list[Any], inter: Any, items: pd.DataFrame, user: int) -> None:
    """A picker under a model's list: the chosen product's score parts as bars, and the liked products that
    pushed it up most. One picker per user (another user starts with nothing picked); a product that left
    the list (a smaller K) is no longer offered, and the picker starts again."""
    by_item = {w.item: w for w in why}
    choice = st.selectbox("Why this?", [-1, *by_item], key=f"why-pick-{name}-{user}", format_func=lambda i: (
        "pick a product ..." if i < 0 else components.display_title(items.loc[inter.item_ids[i], "title"])))
    if choice is None or choice not in by_item:
        return
    w = by_item[choice]
    with st.container(key=f"why-{name}"):
        if w.parts:
            st.plotly_chart(viz.score_parts(w.parts, w.score, title="The parts of its score"), key=f"why-bar-{name}")
        else:
            st.caption(f"{name}'s score ({w.score:+.3f}) is not a sum of parts (an MLP reads profile and item "
                       "together).")
        if w.pushes:
            how = "their shares add up to the score" if w.pushes_add_up else w.push_basis
            st.caption(f"Liked products that pushed it up most ({how}):")
            pushed = items.loc[inter.item_ids[[i for i, _ in w.pushes]], ["title", "image_url"]].reset_index()
            pushed = pushed.assign(push=[f"{v:+.3f}" for _, v in w.pushes], part="liked")
            components.card_strip(pushed, caption_cols=("push",), title_len=40)
