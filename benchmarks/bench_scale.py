"""Cost against size: the default study on each demo preset, time and peak memory per stage.

For each size the real CLI runs in a child process on its own empty cache:

1. ``python -m mmrec_core demo-data --size S``: the catalogue is generated (stage ``generate``);
2. ``python -m mmrec_core study --config <write-default --size S, encoder E>``: the default study (model
   selection on validation, three fusions, five rankers, the oracle, the classifier). Its ``results.json``
   gives the stages (``load``, ``interactions``, ``embed``, ``ranking``, ``classifier``) and each model's
   fit and evaluation seconds.

A sampler thread reads the child's resident memory (with its own children) every 0.2 s; a stage's peak is
the largest sample inside its time window. Prints one JSON object, writes it to
``benchmarks/results/scale.json`` and draws ``benchmarks/figures/scale.png`` (seconds and peak GB against
the number of reviews, log-log) with the test browser (Chromium), since no plotting package that writes
pictures is a dependency.

Usage: ``python benchmarks/bench_scale.py [--sizes tiny,small,medium,large] [--encoder classic]``; sizes run
separately merge with ``--combine a.json b.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("load", "interactions", "embed", "ranking", "classifier")


class Sampler(threading.Thread):
    """(time, RSS bytes) of a process and its children, every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.proc, self.interval = psutil.Process(pid), interval
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                break
            self.samples.append((time.perf_counter(), rss))
            self.done.wait(self.interval)

    def peak(self, start: float, end: float) -> int:
        # one sampling interval either side: a stage shorter than the interval still gets its nearest sample
        inside = [rss for t, rss in self.samples if start - self.interval <= t <= end + self.interval]
        return max(inside, default=0)


def run_child(cmd: list[str], env: dict[str, str], log_path: Path) -> tuple[float, float, Sampler]:
    """Run ``cmd``; returns its (start, end) perf_counter times and the memory sampler."""
    with open(log_path, "w") as log:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        sampler = Sampler(child.pid)
        sampler.start()
        code = child.wait()
        end = time.perf_counter()
        sampler.done.set()
        sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {code}; see {log_path}")
    return start, end, sampler


def bench_size(size: str, encoder: str, work: Path) -> dict:
    py = sys.executable
    cache = work / f"cache-{size}"
    env = {**os.environ, "MMREC_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    out: dict = {"size": size, "encoder": encoder, "stages": {}}
    start, end, sampler = run_child([py, "-m", "mmrec_core", "demo-data", "--size", size], env, work / f"{size}-demo.log")
    out["stages"]["generate"] = {"seconds": end - start, "peak_gb": sampler.peak(start, end) / 1e9}

    config_path = work / f"{size}.json"
    subprocess.run([py, "-m", "mmrec_core", "study", "--write-default", str(config_path), "--size", size],
                   env=env, check=True, capture_output=True, cwd=ROOT)
    config = json.loads(config_path.read_text())
    config["embed"]["encoder"] = encoder
    config_path.write_text(json.dumps(config, indent=1))
    run_dir = work / f"run-{size}"
    cmd = [py, "-m", "mmrec_core", "study", "--config", str(config_path), "--out", str(run_dir)]
    start, end, sampler = run_child(cmd, env, work / f"{size}-study.log")
    result = json.loads((run_dir / "results.json").read_text())
    timings = result.get("timings", {})
    # stages ran one after the other from the child's start: their windows follow from the durations
    at = start + max(0.0, (end - start) - timings.get("total", end - start))  # interpreter start-up before
    for stage in STAGES:
        if stage in timings:
            out["stages"][stage] = {"seconds": timings[stage], "peak_gb": sampler.peak(at, at + timings[stage]) / 1e9}
            at += timings[stage]
    out["study_seconds"] = end - start
    out["peak_gb"] = sampler.peak(start, end) / 1e9
    data = result.get("dataset", {})
    out["reviews"], out["users"], out["items"] = data.get("reviews"), data.get("users"), data.get("items")
    rows = result.get("rows", [])
    out["models"] = [
        {k: r.get(k) for k in ("setting", "model", "fit_seconds", "eval_seconds", "ndcg@10", "n_eval_users")}
        for r in rows
    ]
    out["selection"] = config.get("selection")
    out["eval_max_users"] = config.get("eval", {}).get("max_users")
    return out


def draw(results: list[dict], path: Path) -> None:
    """Seconds per stage and peak GB against reviews (log-log), as a PNG via Chromium."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from driver import launch
    from playwright.sync_api import sync_playwright

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Seconds per stage", "Peak memory (GB)"))
    x = [r["reviews"] for r in results]
    for stage in ("generate", *STAGES):
        y = [r["stages"].get(stage, {}).get("seconds") for r in results]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=stage), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r["study_seconds"] for r in results], mode="lines+markers", name="whole study",
                             line={"dash": "dash", "color": "black"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r["peak_gb"] for r in results], mode="lines+markers", name="peak RSS",
                             line={"color": "firebrick"}), row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(type="log", title_text="reviews", row=1, col=col)
        fig.update_yaxes(type="log", row=1, col=col)
    sizes = ", ".join(f"{r['size']} ({r['items']:,} items)" for r in results)
    fig.update_layout(width=1100, height=440, title=f"The default study against size: {sizes}",
                      margin={"l": 50, "r": 20, "t": 70, "b": 50})
    html = path.with_suffix(".html")
    fig.write_html(html, include_plotlyjs=True, full_html=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 440})
        page.goto(html.as_uri())
        page.wait_for_selector(".main-svg")
        page.screenshot(path=str(path))
        browser.close()
    html.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,small,medium,large")
    parser.add_argument("--encoder", default="classic")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    parser.add_argument("--figure", default=str(ROOT / "benchmarks" / "figures" / "scale.png"))
    parser.add_argument("--combine", nargs="+", metavar="JSON",
                        help="run nothing: merge the sizes of earlier results files into --out and draw them")
    args = parser.parse_args()
    if args.combine:
        reports = [json.loads(Path(f).read_text()) for f in args.combine]
        results = sorted((s for r in reports for s in r["sizes"]), key=lambda s: s["reviews"])
        report = {**reports[0], "sizes": results}
        Path(args.out).write_text(json.dumps(report, indent=1))
        draw(results, Path(args.figure))
        return
    sys.path.insert(0, str(ROOT))
    from mmrec_core.bench import machine

    work = Path(tempfile.mkdtemp(prefix="mmrec-bench-scale-"))
    results = []
    for size in args.sizes.split(","):
        results.append(bench_size(size, args.encoder, work))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    report = {"machine": machine(), "cpus": os.cpu_count(), "work": str(work), "sizes": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    draw(results, Path(args.figure))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
