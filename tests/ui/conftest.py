"""AppTest fixtures: the tiny demo catalogue with the classic encoder, and no memo shared between tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """``st.cache_*`` are process-global: a test must not see the data set or models of the one before, nor
    the trained runs it left in the disk store (a test that trains must train)."""
    import shutil

    from mmrec_core.trained import trained_root

    shutil.rmtree(trained_root(), ignore_errors=True)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app(monkeypatch) -> AppTest:
    """The dashboard on the 60-item demo with the weight-free encoder (set before the first run reads them)."""
    monkeypatch.setenv("MMREC_DEMO_SIZE", "tiny")
    monkeypatch.setenv("MMREC_ENCODER", "classic")
    return AppTest.from_file(str(APP), default_timeout=60)
