"""The Recommendations page's "from words" mode: a sentence becomes a cold-start user in a shared space."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import streamlit as st

from mmrec_core import preferences
from mmrec_core.config import EmbedConfig
from mmrec_core.ui import components, data_view, recs_view, state, steps

PAGE = "Recommendations"
EXAMPLE = "striped purple handbags, no checks"
FALLBACK = "bundled-aligned"  # the offline shared space, when the session's encoder has two spaces


def words_config() -> EmbedConfig:
    """The session's encoder when it has one space for words and pictures (CLIP, an aligned encoder), else
    :data:`FALLBACK` with the session's other settings."""
    from mmrec_core.encoders.registry import ENCODERS

    embed = state.get(state.EMBED) or state.default_embed_config()
    spec = ENCODERS.get(embed.encoder)
    if spec is not None and spec.shared_space:
        return embed
    return dataclasses.replace(embed, encoder=FALLBACK, checkpoint=None, image_checkpoint=None)


def _blend_user(ds: Any) -> tuple[str | None, float]:
    """An optional user whose liked items are blended in, and the weight of their history."""
    if not st.toggle("Blend with a user's history", key=state.widget_default("w:words-blend", False)):
        return None, 0.0
    ids = np.sort(ds.reviews["user_id"].astype(str).unique())
    c1, c2 = st.columns([2, 1])
    query = c1.text_input("User id contains", key=state.widget_default("w:words-user-q", ""))
    matches = recs_view.search_users(ids, np.arange(len(ids)), query, recs_view.SEARCH_OPTIONS)
    if not len(matches):
        c1.info("No user matches.")
        return None, 0.0
    user = c1.selectbox("User", ids[matches].tolist(), key="w:words-user")
    weight = c2.slider("Weight of their history", 0.0, 1.0, step=0.1, key=state.widget_default("w:words-weight", 0.3),
                       help="0: the words alone; 1: the user's liked items alone. Their reviewed items are left out.")
    return user, float(weight)


def section(ds: Any, k: int) -> None:
    """Text box, optional blend, and the top-``k`` grid with the parse and the space it was scored in."""
    config = words_config()
    own = state.get(state.EMBED)
    sentence = st.text_input("Describe what you like", key=state.widget_default("w:words-text", ""),
                             placeholder=f"e.g. {EXAMPLE}",
                             help="Likes and dislikes in plain words. 'no', 'not', 'without', 'dislike', 'avoid' "
                                  "mark what you do not want; it is pushed down, not up.")
    user, weight = _blend_user(ds)
    if not sentence.strip():
        st.caption(f"Type a preference, e.g. *{EXAMPLE}*, and press Enter.")
        return
    if own is None:
        st.caption(f"Scored in the {config.encoder} space (words and pictures in one space): no embeddings were "
                   "computed on the Embeddings page yet.")
    elif own.encoder != config.encoder:
        st.caption(f"Scored in the {config.encoder} space (words and pictures in one space); the session's "
                   f"{own.encoder} has one space for titles and another for pictures.")
    emb = steps.embeddings(ds, page=PAGE, embed=config)
    if emb is None:
        return
    try:
        found = preferences.recommend_from_words(ds, emb, config, sentence, k, user_id=user, history_weight=weight)
    except ValueError as exc:
        st.warning(f"{exc}.", icon=":material/info:")
        return
    blended = f"; blended with {components.plural(found.history_items, 'liked product')} of {user}" if (
        found.history_items) else ""
    st.markdown(f"**Read as** {found.preference.describe()}{blended}")
    st.caption("Each liked phrase and each dislike is embedded by the text tower; a product scores its cosine to "
               f"what is liked minus {preferences.NEGATIVE_WEIGHT:g} x its cosine to what is not.")
    shown = data_view.item_table(ds).iloc[found.items][["item_id", "title", "image_url"]]
    shown = shown.assign(score=[f"score {s:+.2f}" for s in found.scores])
    with st.container(key="words-recs"):
        components.card_strip(shown, caption_cols=("score",), title_len=60)
