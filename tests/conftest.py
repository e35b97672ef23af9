"""Suite-wide settings: no model hub, and a cache folder of the test session's own.

Every test runs with ``HF_HUB_OFFLINE=1`` (CI has no network) and ``MMREC_CACHE_DIR`` pointing at one
temporary folder per session, so generated demo catalogues are shared between tests but never touch
the user's cache. Tests that need isolation still monkeypatch ``MMREC_CACHE_DIR`` to their ``tmp_path``.
"""

from __future__ import annotations

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if not os.environ.get("MMREC_TEST_KEEP_CACHE"):
    os.environ["MMREC_CACHE_DIR"] = tempfile.mkdtemp(prefix="mmrec-test-cache-")
