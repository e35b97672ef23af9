"""Embeddings: encode every product's title and picture, map the catalogue, find look-alikes."""

import streamlit as st

from mmrec_core.ui import components, controls, embed_view, setup, state, steps

setup("Embeddings", "Item vectors from the title and the picture, fused; cached on disk by encoder and input.")

ds = steps.dataset()
if ds is None:
    st.stop()

config = controls.embed_controls()
problem = controls.encoder_problem(config)
if problem:
    st.warning(problem)
computed = state.get(state.EMBED)
label = "Compute embeddings" if computed is None else "Compute with these settings"
go = st.button(label, type="primary", key="compute-embeddings", disabled=problem is not None)
components.error_box("Embeddings")

emb = None
if go:
    previous = computed
    state.put(state.EMBED, config)
    emb = steps.embeddings(ds, compute=True)
    if emb is None:
        state.put(state.EMBED, previous)  # keep showing the earlier result
    else:
        steps.refresh_sidebar()
if emb is None and state.get(state.EMBED) is not None:
    emb = steps.embeddings(ds)

if emb is None:
    st.info("Choose an encoder and press **Compute embeddings**. The bundled encoder runs offline.")
    st.stop()

fusion = state.get(state.EMBED).fusion
if fusion == "mean" and not emb.shared_space:
    st.warning("mean fusion needs one text-image space (CLIP, or an encoder aligned on the catalogue); showing "
               "concat instead.")
    fusion = "concat"

embed_view.summary(emb)
st.subheader("Catalogue map")
items = embed_view.catalogue_map(ds, emb, fusion)
st.subheader("Nearest neighbours")
embed_view.neighbours(items, emb, fusion)
