"""Rating classifier: Study B, predicting the 1-5 star rating from the review text and the product picture."""

import streamlit as st

from mmrec_core.ui import classifier_view, components, controls, rankers_view, setup, state, steps

setup("Rating classifier", "Study B: review text vectors + product picture vectors -> an MLP over 5 classes.")

ds = steps.dataset()
if ds is None:
    st.stop()
emb = steps.embeddings(ds)
if emb is None:
    st.info("Pictures are embedded with the encoder chosen on the Embeddings page; computing them there first "
            "lets the classifier reuse those vectors.")

cc = controls.classifier_controls()
if st.button("Train classifier", type="primary", key="train-classifier"):
    stored = classifier_view.train(ds, emb, cc)  # trained on this server before: shown at once
    if stored is not None:
        state.put(state.CLASSIFIER, stored)
        steps.refresh_sidebar()
components.error_box("Rating classifier")
run = classifier_view.collect()  # follows the training, also after leaving the page and coming back
if run is not None:
    state.put(state.CLASSIFIER, run)
    steps.refresh_sidebar()

run = state.get(state.CLASSIFIER)
if run is None:
    st.info("Press **Train classifier**: it embeds the review texts (cached), then trains one model per modality "
            "with early stopping on the validation loss.")
    st.stop()

components.stale_note(run["config"], classifier_view.study_config(cc), "Train classifier")
rankers_view.origin_note(run)
classifier_view.results(run)
