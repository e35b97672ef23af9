"""Rankers: train the study's models on the fused item vectors, compare them, run the fusion ablation."""

import streamlit as st

from mmrec_core.ui import components, controls, rankers_view, runs_view, setup, state, steps

setup("Rankers", "Study A: pairwise BPR ranking from item content, next to collaborative baselines and the oracle.")

ds = steps.dataset()
if ds is None:
    st.stop()
emb = steps.embeddings(ds)
if emb is None:
    st.warning("No item embeddings yet: compute them on the Embeddings page (content models need them). "
               "Popularity and BPR-MF train without them.")
    st.page_link("pages/embeddings.py", label="Go to Embeddings", icon=":material/scatter_plot:")

names = [m for m, needs in rankers_view.model_names() if emb is not None or not needs]
models, split, train, selection = controls.ranker_controls(names)
fusion = rankers_view.usable_fusion(emb, (state.get(state.EMBED) or state.default_embed_config()).fusion)
config = rankers_view.study_config(tuple(m for m in models if m in names), split, train, (fusion,), selection)
st.caption(f"Fusion: **{fusion}** (set on the Embeddings page). The demo adds the **oracle**: the hidden "
           "taste the ratings were drawn from, the ceiling a model can reach.")
if st.button("Train rankers", type="primary", key="train-rankers", disabled=not config.models):
    oracle = " and the oracle" if getattr(ds, "truth", None) is not None else ""  # the run counts it
    stored = rankers_view.train(ds, emb, config, f"Training {len(config.models)} models{oracle}")
    if stored is not None:  # trained on this server before: shown at once
        state.put(state.RANKING, {"result": stored.value, "config": config, "origin": stored.origin})
        steps.refresh_sidebar()
components.error_box("Rankers")
result = rankers_view.collect()  # follows the training (also after a click elsewhere or a page change)
if result is not None:
    state.put(state.RANKING, {"result": result, "config": result.config})
    steps.refresh_sidebar()

run = state.get(state.RANKING)
if run is not None:
    st.subheader("Results")
    components.stale_note(run["config"], config, "Train rankers")
    rankers_view.origin_note(run)
    rankers_view.results_table(run["result"])
    rankers_view.curves(run["result"], key="ranker-curves")
    rankers_view.downloads(run["result"], run["config"], "rankers")
else:
    st.info("Pick models and press **Train rankers**. The line under the controls says what will run.")

st.subheader("Fusion ablation")
if emb is None:
    st.caption("Needs item embeddings.")
else:
    fusions, ab_models = rankers_view.ablation_controls(emb, config.models)
    ab_config = rankers_view.with_fusions(config, fusions, ab_models)
    if st.button("Run ablation", key="run-ablation", disabled=not (fusions and ab_models)):
        stored = rankers_view.train(ds, emb, ab_config, f"Ablation: {len(fusions)} fusion modes x "
                                    f"{len(ab_models)} models", job="ablation")
        if stored is not None:
            state.put(state.ABLATION, {"result": stored.value, "config": ab_config, "origin": stored.origin})
    result = rankers_view.collect(job="ablation")
    if result is not None:
        state.put(state.ABLATION, {"result": result, "config": result.config})
    ablation = state.get(state.ABLATION)
    if ablation is not None:
        rankers_view.origin_note(ablation)
        rankers_view.results_table(ablation["result"], key="ablation")
        rankers_view.ablation_chart(ablation["result"])
        rankers_view.downloads(ablation["result"], ablation["config"], "ablation")

runs_view.section()
