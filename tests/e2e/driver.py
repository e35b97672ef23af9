"""Serve the dashboard on a loopback port and drive it in Debian Chromium (shared by the e2e test and the
benchmark). Flags and browser arguments as MACHINE.md measured them; never ``playwright install``."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MMREC_CHROMIUM", "/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 2400}  # Streamlit scrolls in its own container: a tall viewport shows it all
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str] | None = None, timeout: float = 90.0, log_path: Path | None = None) -> Iterator[str]:
    """``python -m streamlit run app.py`` on a free loopback port; yields the URL once /_stcore/health says ok."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)  # test-artifacts/ is not in a fresh clone
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode} (log: {log_path})")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer /_stcore/health within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group only (start_new_session)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log_path:
            log.close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)


def wait_idle(page, timeout_s: float = 120.0) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_s * 1000)


def wait_text(page, text: str, timeout_s: float = 120.0) -> None:
    page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout_s * 1000)
    wait_idle(page, timeout_s)


def wait_images(page, timeout_s: float = 30.0) -> int:
    """Wait until every picture in the main area has loaded; return how many there are."""
    page.wait_for_function(
        """() => { const imgs = [...document.querySelectorAll('[data-testid="stMain"] img')];
                   return imgs.every(i => i.complete && i.naturalWidth > 0); }""",
        timeout=timeout_s * 1000,
    )
    return page.locator('[data-testid="stMain"] img').count()


def broken_images(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] img')]
                 .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"""
    )


def error_texts(page) -> list[str]:
    return [t.strip() for t in page.locator(ERRORS).all_inner_texts()]


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def click_map_point(page, trace: int = 0, point: int = 0) -> None:
    """Click one point of the page's first plotly chart, at the pixel plotly itself places it (WebGL points are
    not DOM elements), then wait for the rerun."""
    at = page.evaluate("""([trace, point]) => {
      const gd = document.querySelector('.js-plotly-plot'), fl = gd._fullLayout, t = gd._fullData[trace];
      const box = gd.getBoundingClientRect();
      return {x: box.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[point]),
              y: box.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[point])};
    }""", [trace, point])
    page.mouse.click(at["x"], at["y"])
    time.sleep(0.5)  # the click's selection event reaches the server, which starts a rerun
    wait_idle(page)


def screenshot(page, out: Path | None, name: str) -> None:
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / f"{name}.png"))


def walk(page, url: str, out: Path | None = None, epochs: int = 2, clf_epochs: int = 3,
         timeout_s: float = 240.0, after_step=None, progress_seen: list[str] | None = None) -> dict[str, float]:
    """Click through the whole demo; returns seconds per step. Raises on a timeout (a step never finished).

    ``after_step(name)`` runs after each step (outside its timing), e.g. the test's assertions. With
    ``progress_seen`` the rankers step also waits for its running status line and appends its text.
    """
    times: dict[str, float] = {}

    def step(name: str, fn) -> None:
        start = time.perf_counter()
        fn()
        times[name] = round(time.perf_counter() - start, 2)

    def data() -> None:
        page.goto(url)
        wait_text(page, "Products", timeout_s)
        page.locator('[data-testid="stMain"] img').first.wait_for(timeout=timeout_s * 1000)
        wait_images(page)

    def embeddings() -> None:
        open_page(page, "Embeddings")
        page.get_by_role("button", name="Compute embeddings").click()
        wait_text(page, "Nearest neighbours", timeout_s)
        wait_images(page)

    def rankers() -> None:
        open_page(page, "Rankers")
        wait_text(page, "Train rankers")
        set_number(page, "Max epochs", epochs)
        page.get_by_role("button", name="Train rankers").click()
        if progress_seen is not None:  # the step's box is open while it runs and says where it is, in words
            running = page.get_by_text(re.compile(r"· run \d+ of \d+")).first
            running.wait_for(state="visible", timeout=timeout_s * 1000)
            progress_seen.append(running.inner_text())
        wait_text(page, "Protocol:", timeout_s)

    def classifier() -> None:
        open_page(page, "Rating classifier")
        wait_text(page, "Train classifier")
        set_number(page, "Max epochs", clf_epochs)
        page.get_by_role("button", name="Train classifier").click()
        wait_text(page, "Classification report", timeout_s)

    def recommendations() -> None:
        open_page(page, "Recommendations")
        wait_text(page, "per model", timeout_s)
        wait_images(page)

    for name, fn in (("data", data), ("embeddings", embeddings), ("rankers", rankers),
                     ("classifier", classifier), ("recommendations", recommendations)):
        step(name, fn)
        screenshot(page, out, f"{len(times):02d}-{name}")
        if after_step is not None:
            after_step(name)
    return times


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``, then wait for the rerun."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    time.sleep(0.3)
    wait_idle(page)


def sidebar_open(page) -> bool:
    return page.get_by_test_id("stSidebarNav").is_visible()


def set_sidebar(page, open_: bool) -> None:
    """Open or collapse the sidebar with its own buttons (the collapse button shows on hover)."""
    if sidebar_open(page) == open_:
        return
    if open_:
        page.get_by_test_id("stExpandSidebarButton").click()
    else:
        page.get_by_test_id("stSidebar").hover()
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
    page.wait_for_function("(want) => { const n = document.querySelector('[data-testid=\"stSidebarNav\"]');"
                           " return !!(n && n.getBoundingClientRect().right > 0) === want; }", arg=open_)
    time.sleep(0.5)  # the slide-in animation


def visit(page, title: str) -> None:
    """Open a page from the sidebar, leaving the sidebar as it was."""
    was_open = sidebar_open(page)
    set_sidebar(page, True)
    open_page(page, title)
    time.sleep(0.3)
    wait_idle(page)
    set_sidebar(page, was_open)


def overflowing_tables(page) -> list[dict]:
    """Data frames and tables in the main area whose content is wider than their box (a horizontal scroll)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stMain"] [data-testid="stDataFrame"], [data-testid="stMain"] [data-testid="stTable"]')]
      .map(e => { const s = e.querySelector('.dvn-scroller') || e;
                  return {scroll: s.scrollWidth, client: s.clientWidth, text: e.innerText.slice(0, 60)}; })
      .filter(t => t.scroll > t.client + 1)""")


def trace_colours(page) -> dict[str, str]:
    """The first plotly chart's legend: trace name -> marker colour, as plotly drew it."""
    return page.evaluate("""() => Object.fromEntries(document.querySelector('.js-plotly-plot')._fullData
        .map(t => [t.name, String(t.marker && t.marker.color)]))""")


def table_texts(page) -> list[str]:
    """The text of every table in the main area. A data frame is drawn on a canvas; its cells are read from
    the grid's accessibility table (screen-reader text, hidden from ``inner_text``), which the grid fills a
    moment after it is drawn: wait for it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # an empty frame never gets a cell: read what there is
        page.wait_for_function("""() => [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stDataFrame"]')].every(e => e.querySelector('td'))""",
                               timeout=15_000)
    return page.eval_on_selector_all(
        '[data-testid="stMain"] [data-testid="stDataFrame"], [data-testid="stMain"] [data-testid="stTable"]',
        "els => els.map(e => [...e.querySelectorAll('td, th')].map(c => c.textContent).join(' '))")


def card_ids(page, selector: str) -> list[str]:
    """``data-item`` of the picture cards matching ``selector`` (components.image_grid tags each card)."""
    return page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.item)")
