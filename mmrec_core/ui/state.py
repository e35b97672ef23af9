"""Session state: the configs and results a user builds page by page, kept across page switches.

Widget keys start with ``w:``; Streamlit forgets a widget's value when the widget is not drawn on the next
page, so :func:`keep_widgets` re-assigns them at the start of every run (the documented way to keep them).
File uploaders must not use ``w:`` keys: Streamlit refuses to assign their values through session state.
Results (training runs, classifier runs) live under plain keys and survive page switches and failures.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from mmrec_core.config import DataConfig, EmbedConfig

DATA = "data_config"  # DataConfig of the loaded data set (None until loaded)
EMBED = "embed_config"  # EmbedConfig of the computed embeddings (None until computed)
RANKING = "ranking_run"  # the last ranking run (dict, see ui.rankers)
ABLATION = "ablation_run"
CLASSIFIER = "classifier_run"
ERRORS = "errors"  # page -> (message, what to do) of the last failure, shown until the next success


def default_data_config() -> DataConfig:
    """The demo catalogue; ``MMREC_DEMO_SIZE`` picks the size (tests and the browser test use ``tiny``)."""
    return DataConfig(source="demo", demo_size=os.environ.get("MMREC_DEMO_SIZE", "small"))


def default_embed_config() -> EmbedConfig:
    return EmbedConfig(encoder=os.environ.get("MMREC_ENCODER", "bundled"))


def init() -> None:
    """Create every key once per session."""
    defaults: dict[str, Any] = {DATA: None, EMBED: None, RANKING: None, ABLATION: None, CLASSIFIER: None, ERRORS: {}}
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def keep_widgets() -> None:
    """Keep ``w:`` widget values alive while their page is not shown."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith("w:"):
            st.session_state[key] = st.session_state[key]


KEEP_ON_RESET = ("w:presenter",)  # how the dashboard is shown is not part of the demo


def reset() -> None:
    """Forget everything this session built and chose (data, embeddings, runs, widget values, errors) and
    start again from the defaults; the disk cache and the server's memo stay, so the walk is quick again."""
    for key in list(st.session_state.keys()):
        if key not in KEEP_ON_RESET:
            del st.session_state[key]
    init()


def widget_default(key: str, value: Any) -> str:
    """Seed a widget's value once (never pass ``value=`` too: Streamlit warns) and return the key."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def get(key: str) -> Any:
    return st.session_state.get(key)


def put(key: str, value: Any) -> None:
    st.session_state[key] = value


def set_error(page: str, message: str, hint: str) -> None:
    st.session_state[ERRORS][page] = (message, hint)


def clear_error(page: str) -> None:
    st.session_state[ERRORS].pop(page, None)


def error(page: str) -> tuple[str, str] | None:
    return st.session_state.get(ERRORS, {}).get(page)
