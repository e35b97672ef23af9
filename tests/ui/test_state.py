"""Session-state rules the pages rely on (regressions found by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _tiny_demo(monkeypatch):
    monkeypatch.setenv("MMREC_DEMO_SIZE", "tiny")
    monkeypatch.setenv("MMREC_ENCODER", "classic")


def test_the_upload_source_survives_reruns():
    # keep_widgets() re-assigns every "w:" widget each run; Streamlit refuses that for file uploaders, so
    # with "w:" keys the second run of the upload source raised StreamlitValueAssignmentNotAllowedError.
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=60).run()
    at.session_state["w:data-source"] = "upload"
    at.run()
    at.run()
    assert not at.exception
    assert any("Upload a reviews file" in info.value for info in at.info)
