"""Dashboard timings in a real browser (Debian Chromium via Playwright), as issue 5 asks for them.

- first_page_s: from ``streamlit run`` to the Data page showing the demo catalogue's pictures (on an
  empty cache, so it includes generating the catalogue);
- walk_cold_s: the whole demo walk (data, embeddings, rankers, classifier, recommendations) on an
  empty cache: the demo catalogue is generated and every embedding computed;
- walk_warm_s: the same walk by a second visitor (a new browser session) on the running server: the
  data, the embeddings and the trained runs are memoised for the same settings;
- walk_restart_s, first_page_restart_s: a new server process over the same disk cache: the catalogue, the
  embeddings and the trained runs (``<cache>/trained``, :mod:`mmrec_core.trained`) come from disk, nothing trains;
- first_visit_s: one visit of each page after the cold walk (where a page may still compute: the
  Embeddings page fits UMAP once the background warm-up has finished);
- page_switch_s: then switching between pages, every result computed (Data, Embeddings, Rankers,
  Recommendations, three rounds: median and max, and the median per page).

``--size medium`` walks the same steps on the 5,000-item, 20,000-user catalogue (the ``classic`` encoder unless
``--encoder`` says otherwise; the bundled one would take minutes to embed it). Prints one JSON object, writes it
to ``benchmarks/results/dashboard/<size>.json`` (rewritten after each phase, so a stopped run keeps what it
measured) and, for the small walk, saves the recommendations page as ``benchmarks/figures/recommendations.png``
(the README's screenshot). Usage: ``python benchmarks/bench_dashboard.py [--size small] [--epochs 100]
[--no-restart]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from driver import VIEWPORT, launch, open_page, serve, wait_idle, wait_images, wait_text, walk  # noqa: E402

SWITCHES = (
    ("Data", "Products"),
    ("Embeddings", "Nearest neighbours"),
    ("Rankers", "Protocol:"),
    ("Recommendations", "per model"),
)


def first_visits(page, timeout_s: float) -> dict[str, float]:
    """One visit per page after the walk, not counted as a switch: a page may still compute here (the
    Embeddings page fits UMAP on its first visit once the background warm-up has finished)."""
    times = {}
    for title, marker in SWITCHES:
        start = time.perf_counter()
        open_page(page, title)
        wait_text(page, marker, timeout_s)
        times[title] = round(time.perf_counter() - start, 2)
    return times


def page_switches(page, rounds: int = 3, timeout_s: float = 120.0) -> dict[str, list[float]]:
    """Seconds from a click in the sidebar until the page shows its results and the script stopped, per page."""
    times: dict[str, list[float]] = {title: [] for title, _ in SWITCHES}
    for _ in range(rounds):
        for title, marker in SWITCHES:
            start = time.perf_counter()
            open_page(page, title)
            wait_text(page, marker, timeout_s)
            wait_idle(page, timeout_s)
            times[title].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", default="small", help="demo catalogue size (default small, the app's default)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=100,
        help="rankers: Max epochs of the page's quick selection (its default)",
    )
    parser.add_argument("--clf-epochs", type=int, default=50, help="classifier max epochs (the study's 50)")
    parser.add_argument(
        "--encoder",
        default=None,
        help="the Embeddings page's encoder (default: the app's, bundled; classic for medium/large)",
    )
    parser.add_argument("--step-timeout", type=float, default=240.0, help="seconds one walk step may take")
    parser.add_argument("--no-restart", action="store_true", help="skip the walk after a server restart")
    args = parser.parse_args()
    encoder = args.encoder or ("classic" if args.size in ("medium", "large") else None)

    from playwright.sync_api import sync_playwright

    cache = Path(tempfile.mkdtemp(prefix="mmrec-bench-dashboard-"))
    env = {"MMREC_CACHE_DIR": str(cache), "MMREC_DEMO_SIZE": args.size, "HF_HUB_OFFLINE": "1"}
    if encoder:
        env["MMREC_ENCODER"] = encoder
    out: dict[str, object] = {
        "demo_size": args.size,
        "encoder": encoder or "bundled",
        "epochs": args.epochs,
        "clf_epochs": args.clf_epochs,
        "step_timeout_s": args.step_timeout,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    shots = ROOT / "benchmarks" / "results" / "dashboard" / args.size
    record = ROOT / "benchmarks" / "results" / "dashboard" / f"{args.size}.json"

    def save() -> None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(out, indent=2) + "\n")

    try:
        with sync_playwright() as p:
            browser = launch(p)
            # cold: the first launch of the server, with an empty cache
            start = time.perf_counter()
            with serve(env=env) as url:
                out["server_ready_s"] = round(time.perf_counter() - start, 2)
                page = browser.new_page(viewport=VIEWPORT)
                cold = walk(
                    page,
                    url,
                    out=shots / "cold",
                    epochs=args.epochs,
                    clf_epochs=args.clf_epochs,
                    timeout_s=args.step_timeout,
                )
                # the walk's first step opens the app and waits for the catalogue's pictures
                out["first_page_s"] = round(out["server_ready_s"] + cold["data"], 2)
                out["walk_cold_steps_s"], out["walk_cold_s"] = cold, round(sum(cold.values()), 2)
                save()
                out["first_visit_s"] = first_visits(page, args.step_timeout)
                save()
                per_page = page_switches(page, timeout_s=args.step_timeout)
                switches = [t for times in per_page.values() for t in times]
                out["page_switch_median_s"] = round(statistics.median(switches), 3)
                out["page_switch_max_s"] = round(max(switches), 3)
                out["page_switch_median_by_page_s"] = {
                    k: round(statistics.median(v), 3) for k, v in per_page.items()
                }
                save()
                if args.size == "small":  # the README's screenshot is of the default catalogue
                    figure = ROOT / "benchmarks" / "figures"
                    figure.mkdir(parents=True, exist_ok=True)
                    open_page(page, "Recommendations")
                    wait_text(page, "per model")
                    wait_images(page)
                    page.set_viewport_size({"width": 1400, "height": 1500})
                    page.screenshot(path=str(figure / "recommendations.png"))
                page.close()
                # warm: a second visitor (new browser session) on the running server, same settings
                page = browser.new_page(viewport=VIEWPORT)
                warm = walk(
                    page,
                    url,
                    out=shots / "warm",
                    epochs=args.epochs,
                    clf_epochs=args.clf_epochs,
                    timeout_s=args.step_timeout,
                )
                out["walk_warm_steps_s"], out["walk_warm_s"] = warm, round(sum(warm.values()), 2)
                save()
                page.close()
            # restart: a new server process over the same disk cache (catalogue, embeddings and trained runs
            # on disk)
            start = time.perf_counter()
            with serve(env=env) if not args.no_restart else contextlib.nullcontext() as url:
                if url is not None:
                    ready = time.perf_counter() - start
                    page = browser.new_page(viewport=VIEWPORT)
                    again = walk(
                        page,
                        url,
                        out=shots / "restart",
                        epochs=args.epochs,
                        clf_epochs=args.clf_epochs,
                        timeout_s=args.step_timeout,
                    )
                    out["first_page_restart_s"] = round(ready + again["data"], 2)
                    out["walk_restart_steps_s"], out["walk_restart_s"] = again, round(sum(again.values()), 2)
            browser.close()
    except Exception as exc:
        out["error"] = (
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}"  # what the record lacks, and why
        )
        save()
        raise
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    out["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
