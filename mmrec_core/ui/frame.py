"""The frame every page shares: one setup call (state + sidebar), so a page also runs on its own.

AppTest's ``switch_page`` runs a page without ``app.py``; every page therefore starts with
:func:`setup`, which is also where the shared sidebar is drawn.
"""

from __future__ import annotations

import streamlit as st

from mmrec_core.ui import components, jobs, loaders, prepare, state

PAGES = (
    ("pages/data.py", "Data", ":material/table:"),
    ("pages/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    ("pages/rankers.py", "Rankers", ":material/leaderboard:"),
    ("pages/classifier.py", "Rating classifier", ":material/grade:"),
    ("pages/recommendations.py", "Recommendations", ":material/recommend:"),
)


def navigation() -> None:
    """Page config, navigation over :data:`PAGES`, then run the chosen page (called by ``app.py``)."""
    st.set_page_config(page_title="mmrec", page_icon=":material/checkroom:", layout="wide")
    pages = [st.Page(path, title=title, icon=icon, default=i == 0) for i, (path, title, icon) in enumerate(PAGES)]
    st.navigation(pages).run()


def setup(title: str, intro: str = "") -> None:
    """Initialise the session, keep widget values across pages, draw the sidebar and the page header."""
    state.init()
    state.keep_widgets()
    # a new id per script run: components.error_box draws each page's failure once per run
    st.session_state["_run_id"] = st.session_state.get("_run_id", 0) + 1
    st.html(components.CSS)  # style only: takes no space
    sidebar()
    if st.session_state.get("w:presenter"):
        st.html(components.PRESENTER_CSS)
    note = st.session_state.pop("_reset_note", None)
    if note:
        st.toast(note, icon=":material/restart_alt:")
    st.title(title)
    if intro:
        st.caption(intro)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def sidebar() -> None:
    """Current data set and encoder (a slot :func:`refresh_sidebar` redraws), cache size and a clear button."""
    with st.sidebar:
        st.markdown("### mmrec")
        st.session_state["_sidebar_slot"] = st.empty()
        refresh_sidebar()
        info = loaders.cache_status()
        st.markdown(f"**Cache**: {_size(info['bytes'])} in {info['files']:,} files")
        st.caption(info["path"])
        st.markdown("**In front of a class**")
        st.toggle("Presenter view", key=state.widget_default("w:presenter", False),
                  help="Larger type and larger product pictures for a projector (made for 1024 px wide); "
                       "collapse the sidebar with « for the full width.")
        prepare.button()
        if st.button("Reset the demo", key="sidebar-reset", icon=":material/restart_alt:",
                     help="Start the walk again: forgets this session's data, embeddings, trained runs and choices "
                          "(a running training is stopped). Nothing on disk is deleted, so the next walk reads the "
                          "cached vectors and trained runs and takes seconds."):
            stopped = jobs.stop_all()
            state.reset()
            st.session_state["_reset_note"] = "The demo is reset" + (
                f" ({stopped} running training stopped)" if stopped else "") + ": start again on the Data page."
            st.switch_page("pages/data.py")
        if st.button("Clear embedding cache", key="sidebar-clear", help="Deletes cached embeddings and forgets "
                     "memoised results; the demo catalogue and downloaded pictures stay."):
            freed = loaders.clear_caches(disk=True)
            st.toast(f"Cleared {_size(freed)}")


def refresh_sidebar() -> None:
    """Redraw the status lines (after a step finished, so the sidebar never lags one click behind)."""
    slot = st.session_state.get("_sidebar_slot")
    if slot is None:
        return
    data, embed = state.get(state.DATA), state.get(state.EMBED)
    lines = []
    if data is None:
        lines.append("**Data**: none loaded yet (open *Data*)")
    else:
        label = f"demo {data.demo_size}" if data.source == "demo" else data.source
        lines.append(f"**Data**: {label}")
        summary = state.get("data_summary")
        if summary:
            lines.append(f"{summary['reviews']:,} reviews · {summary['users']:,} users · {summary['items']:,} items")
    lines.append(f"**Encoder**: {embed.encoder} · {embed.fusion}" if embed else "**Encoder**: not computed yet")
    ran = [name for name, key in (("rankers", state.RANKING), ("classifier", state.CLASSIFIER)) if state.get(key)]
    lines.append("**Trained**: " + (", ".join(ran) if ran else "nothing yet"))
    lines.extend(f"**Running**: {job.label} (on *{job.page}*)" for job in jobs.running()
                 if job.page != prepare.PAGE)  # that one has its own box below
    slot.markdown("  \n".join(lines))
