"""Recommendations: one user's history next to each trained model's top-K, with held-out hits marked."""

import streamlit as st

from mmrec_core.ui import components, recs_view, setup, state, steps, words_view

setup("Recommendations", "What each model would show a user, and whether it found what they reviewed later.")

ds = steps.dataset()
if ds is None:
    st.stop()
k = st.slider("K", 3, 24, key=state.widget_default("w:rec-k", 9))
mode = st.segmented_control("Recommend for", ["a user", "words"], key=state.widget_default("w:rec-mode", "a user"),
                            help="words: a sentence of likes and dislikes becomes a new user (no training needed)")
if mode == "words":
    words_view.section(ds, k)
    st.stop()
run = state.get(state.RANKING)
if run is None or not getattr(run["result"], "models", None):
    st.info("Train some rankers first; their recommendations appear here.")
    st.page_link("pages/rankers.py", label="Go to Rankers", icon=":material/leaderboard:")
    st.caption("Or choose **words** above: a sentence needs no trained model.")
    st.stop()

try:
    user = recs_view.pick_user(run, ds, k)
except Exception as exc:  # noqa: BLE001 - a readable box, the trained models stay
    components.report_failure("Recommendations", exc, "retrain the rankers on the Rankers page.")
    st.stop()
if user is None:
    st.stop()
if st.toggle("Compare with a second user", key=state.widget_default("w:rec-compare", False),
             help="two users side by side under one model: their tastes, reviews and top-K"):
    second = recs_view.pick_second(run, ds, user)
    if second is not None:
        recs_view.compare_users(run, ds, (user, second), k)
else:
    recs_view.show_user(run, ds, user, k)
