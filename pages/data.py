"""Data: choose the source, see what the load kept and skipped, and browse the catalogue."""

import streamlit as st

from mmrec_core.ui import components, controls, data_view, setup, state, steps

setup("Data", "Reviews and products, as the studies read them: the demo catalogue opens with nothing to configure.")

with st.expander("Source and sampling", expanded=state.get(state.DATA) is None):
    config = controls.data_controls()
    load = st.button("Load data", type="primary", disabled=config is None, key="load-data")

components.error_box("Data")
ds = steps.dataset(config if load else None)

if ds is not None:
    st.subheader(ds.name)
    st.caption(st.session_state.get("data_load_note", ""))
    if st.session_state.get("data_cleared_note"):
        st.caption(st.session_state["data_cleared_note"])
    tab_gallery, tab_stats, tab_report = st.tabs(["Products", "Interactions", "Load report"])
    with tab_gallery:
        data_view.gallery(ds)
    with tab_stats:
        data_view.statistics(ds)
    with tab_report:
        components.load_report(ds.report)
