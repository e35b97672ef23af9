"""One-way layers: pages/ -> mmrec_core/ui/ -> the rest of mmrec_core. Only mmrec_core/ui imports streamlit."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE_LIMIT = 150


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_ui_package_imports_streamlit():
    core = ROOT / "mmrec_core"
    offenders = [
        str(path.relative_to(ROOT))
        for path in core.rglob("*.py")
        if "ui" not in path.relative_to(core).parts[:1]
        and any(name == "streamlit" or name.startswith("streamlit.") for name in _imports(path))
    ]
    assert offenders == [], f"streamlit imported outside mmrec_core/ui/: {offenders}"


def test_pages_are_thin_and_only_reach_core_through_ui():
    pages = sorted((ROOT / "pages").glob("*.py"))
    assert pages, "no pages found"
    for page in pages:
        lines = len(page.read_text().splitlines())
        assert lines <= PAGE_LIMIT, f"{page.name} has {lines} lines (limit {PAGE_LIMIT})"
        core = {n for n in _imports(page) if n.startswith("mmrec_core") and not n.startswith("mmrec_core.ui")}
        assert not core - {"mmrec_core"}, f"{page.name} imports core modules directly: {core}"


def test_the_detector_sees_an_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom streamlit.testing.v1 import AppTest\n")
    assert "streamlit.testing.v1" in _imports(probe)
