"""*Prepare the demo* in a real browser (Debian Chromium via Playwright): how long one press takes.

- cold: a new server on an empty cache; the Data page opens, then the sidebar's *Prepare the demo* runs the
  whole walk with the pages' default settings (the data, the embeddings, the catalogue map, every ranker
  with the quick selection, the rating classifier). Records the total, when each step started (read from
  the sidebar's box every half second) and its report;
- after restart: a new server on the same cache, the same press (the vectors and the trained runs come from
  the disk cache; the map's projection is held in memory only, so it is fitted again);
- page_open_s: after each press, one visit of each page (each opens on its results, no button pressed).

Prints one JSON object and writes it to ``benchmarks/results/dashboard/prepare-<size>.json``.
Usage: ``python benchmarks/bench_prepare.py [--size small]`` (needs Debian Chromium: ``make browser``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from driver import VIEWPORT, error_texts, launch, open_page, serve, wait_idle, wait_text  # noqa: E402

PAGES = ("Embeddings", "Rankers", "Rating classifier", "Recommendations")
ENDED = ("The demo is ready", "failed", "Stopped after")


def press(page, timeout_s: float) -> dict[str, object]:
    """Press *Prepare the demo* and follow the sidebar's box to its report."""
    start = time.perf_counter()
    page.get_by_role("button", name="Prepare the demo").click()
    sidebar, steps = page.get_by_test_id("stSidebar"), {}
    while time.perf_counter() - start < timeout_s:
        text = sidebar.inner_text()
        for line in text.splitlines():
            if line.startswith("Preparing the demo: step"):
                steps.setdefault(line.split(", ", 1)[-1], round(time.perf_counter() - start, 1))
        if any(word in text for word in ENDED):
            break
        time.sleep(0.5)
    total = round(time.perf_counter() - start, 1)
    report = [line for line in sidebar.inner_text().splitlines() if any(word in line for word in ENDED)]
    opened = {}
    for title in PAGES:
        begin = time.perf_counter()
        open_page(page, title)
        wait_idle(page)
        opened[title] = round(time.perf_counter() - begin, 2)
        if error_texts(page):
            report.append(f"{title}: {error_texts(page)}")
    return {"total_s": total, "step_started_at_s": steps, "report": report, "page_open_s": opened}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", help="demo catalogue size (default small, the app's default)")
    parser.add_argument("--timeout", type=float, default=1500.0, help="seconds one press may take")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    cache = Path(tempfile.mkdtemp(prefix="mmrec-bench-prepare-"))
    env = {"MMREC_CACHE_DIR": str(cache), "MMREC_DEMO_SIZE": args.size, "HF_HUB_OFFLINE": "1"}
    out: dict[str, object] = {
        "demo_size": args.size,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for phase in ("cold", "after restart"):
                with serve(env=env) as url:
                    page = browser.new_page(viewport=VIEWPORT)
                    page.goto(url)
                    wait_text(page, "Products", args.timeout)
                    wait_idle(page)
                    out[phase] = press(page, args.timeout)
                    page.close()
            browser.close()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    record = ROOT / "benchmarks" / "results" / "dashboard" / f"prepare-{args.size}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
