"""The whole demo in a real browser: streamlit on a loopback port, Debian Chromium driven by Playwright.

Load data, compute embeddings, train rankers, train the classifier, open a user's recommendations; after
each step assert on what a person sees (tables with values, pictures that loaded, no error boxes) and
save a screenshot under test-artifacts/e2e/. Then what a class in front of a projector needs: a neighbour
explored from and back, the map's colours as named, no train item in a top-K list, every page at 1024 px (sidebar collapsed, no table wider
than its column) and 1400 px, an error cleared by the next success, a training stopped from its box, a
training that goes on while its page is left, the bundled encoder aligned on the catalogue with mean fusion, a
sentence turned into recommendations, "why this?" on a grid item, and a restart followed by the same walk, which
reads every trained run from the disk store.
"""

from __future__ import annotations

import colorsys
import json
import re
import time

from conftest import ARTIFACTS
from driver import (
    broken_images,
    card_ids,
    choose,
    click_map_point,
    error_texts,
    launch,
    open_page,
    overflowing_tables,
    screenshot,
    serve,
    set_number,
    set_sidebar,
    table_texts,
    trace_colours,
    visit,
    wait_idle,
    wait_images,
    wait_text,
    walk,
)

PAGES = ("Data", "Embeddings", "Rankers", "Rating classifier", "Recommendations")


def looks_like(name: str, colour: str) -> bool:
    """Whether an ``rgb(r, g, b)`` colour is what its name says, by hue, saturation and value (names the demo
    uses; any other name passes)."""
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    hue = h * 360
    checks = {
        "black": v < 0.3, "white": v > 0.85 and s < 0.15,
        "red": s > 0.5 and (hue < 15 or hue > 345), "pink": s > 0.2 and (hue > 300 or hue < 20) and v > 0.7,
        "yellow": s > 0.5 and 40 < hue < 65, "green": s > 0.4 and 90 < hue < 160,
        "blue": s > 0.4 and 200 < hue < 250, "purple": s > 0.3 and 260 < hue < 300,
    }
    return checks.get(name, True)


def test_click_through_the_whole_demo(chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    env = {"MMREC_CACHE_DIR": str(tmp_path / "cache")}  # a cold cache: the first-run path users take
    with serve(env=env, log_path=ARTIFACTS.parent / "e2e-streamlit.log") as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        seen: dict[str, dict] = {}

        def check(name: str) -> None:
            assert error_texts(page) == [], f"{name}: error boxes on screen"
            assert broken_images(page) == [], f"{name}: pictures that did not load"
            main = page.get_by_test_id("stMain")
            seen[name] = {
                "text": main.inner_text(),
                "cells": " ".join(table_texts(page)),
                "images": main.locator("img").count(),
                "tables": main.locator('[data-testid="stDataFrame"], [data-testid="stTable"]').count(),
                "charts": main.locator('[data-testid="stPlotlyChart"]').count(),
            }

        progress: list[str] = []
        times = walk(page, url, out=ARTIFACTS, epochs=2, clf_epochs=3, after_step=check, progress_seen=progress)
        why = why_this(page)  # on the walk's Recommendations page, every model trained
        # a click on a map point selects it (the map opened in lasso mode used to ignore clicks)
        open_page(page, "Embeddings")
        wait_text(page, "Nearest neighbours")
        wait_idle(page)
        click_map_point(page)
        wait_text(page, "1 selected", timeout_s=30)
        clicked = page.get_by_test_id("stMain").inner_text()
        explored = explore_a_neighbour(page)
        colours = map_colours(page)
        top_k = train_items_in_top_k(page)
        widths = every_page_at(page, 1024, collapsed=True) | every_page_at(page, 1400, collapsed=False)
        cleared = error_then_success(page)
        stopped = stop_a_training(page)
        background = leave_a_training(page)
        aligned = align_on_the_catalogue(page)
        words = words_to_recommendations(page)
        browser.close()
    # a restart: a new server on the same cache; the same walk reads every trained run from the disk store
    with serve(env=env, log_path=ARTIFACTS.parent / "e2e-streamlit-restart.log") as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        origins: dict[str, str] = {}

        def origin(name: str) -> None:  # the line under the results (the toast beside it is gone in 4 s)
            if name in ("rankers", "classifier"):
                origins[name] = page.get_by_test_id("stMain").inner_text()

        restart = walk(page, url, out=ARTIFACTS / "restart", epochs=2, clf_epochs=3, after_step=origin)
        restart_recs = page.get_by_test_id("stMain").inner_text()
        prepared = prepare_the_demo(page)
        browser.close()
    (ARTIFACTS / "restart.json").write_text(json.dumps({"first_walk_s": times, "restart_walk_s": restart}, indent=2)
                                            + "\n")

    assert list(times) == ["data", "embeddings", "rankers", "classifier", "recommendations"]
    assert "page 1 of 1 · selected 1-1 of 1" in clicked, "the clicked product's card under the map"
    assert explored["now"] in explored["neighbours"] and explored["now"] == explored["query"] != explored["before"], explored
    assert explored["back"] == explored["before"], explored
    assert progress and progress[0].startswith("Training 7 models and the oracle: "), progress  # the step's label, then words
    data, emb, rank, clf, recs = (seen[k] for k in times)
    assert data["images"] >= 12, "the product gallery shows pictures"
    assert re.search(r"[\d,]+ reviews", data["text"])
    assert emb["charts"] >= 1 and emb["images"] >= 5, "the catalogue map and a neighbour strip"
    assert rank["tables"] >= 1 and rank["charts"] >= 1
    for model in ("popularity", "mlp-bpr", "lightgcn", "freedom", "oracle"):
        assert model in rank["text"], model
    assert re.search(r"0\.\d{3}", rank["cells"]), "metric values in the results table"
    assert "Selected settings" in rank["text"] and "validation" in rank["text"]
    assert clf["charts"] >= 2 and "Classification report" in clf["text"]
    assert recs["images"] >= 20, "a user's history and each model's top-K as pictures"
    assert "Hidden taste" in recs["text"]
    assert "lightgcn" in recs["text"] and "freedom" in recs["text"], "the graph models' grids beside the others'"
    # the map's "colour" categories are drawn in the colours they name
    assert {"black", "white", "red", "blue"} <= set(colours), colours
    assert [n for n, c in colours.items() if not looks_like(n, c)] == [], colours
    # with K at its largest, no model's top-K holds an item of the user's train history
    assert top_k["train"] and top_k["top"], top_k
    assert not set(top_k["train"]) & set(top_k["top"]), top_k
    # every page at 1024 px with the sidebar collapsed and at 1400 px: no table wider than its column
    assert widths == {w: {page: [] for page in PAGES} for w in (1024, 1400)}, widths
    # an error box goes when the next load succeeds
    assert cleared["failed"] and "does-not-exist" in " ".join(cleared["failed"]), cleared
    assert cleared["after"] == [], cleared
    # Stop in the step's box: the finished models are kept, the rest are not shown as if trained
    assert stopped["running"] and stopped["stop_visible"] and stopped["bar_visible"], stopped
    assert re.search(r"stopped by the user after (\d+) of (\d+) models", stopped["text"]), stopped["text"][:600]
    done, total = map(int, re.search(r"after (\d+) of (\d+) models", stopped["text"]).groups())
    assert 0 < done < total, (done, total)
    assert "popularity" in stopped["table"] and "freedom" not in stopped["table"], stopped["table"]
    # a training keeps going while its page is left, the sidebar says so, and its report is there on return
    assert "Running" in background["sidebar"], background
    assert "Classification report" in background["text"], background["text"][:400]
    # the bundled vectors aligned on the catalogue: one space, so the study's mean fusion maps and trains
    assert "One text-picture space, fitted on this catalogue" in aligned["text"], aligned["text"][:600]
    assert "mean fusion needs" not in aligned["text"] and aligned["errors"] == [], aligned
    assert "Catalogue map (" in aligned["map_title"] and ", mean)" in aligned["map_title"], aligned
    # a sentence becomes recommendations: the parse shown, the products it names (by the demo's hidden kinds)
    assert "Read as likes: sunglasses · dislikes: checks" in words["text"], words["text"][:600]
    assert len(words["ids"]) >= 9 and words["kinds"][:4] == ["sunglasses"] * 4, words  # K: left at 24 above
    assert words["errors"] == [], words
    # why this?: the picked product's score parts as bars that add up to its score, and the liked products
    assert why["parts"] == ["collaborative", "content (pictures and titles)", "item bias"], why
    assert abs(sum(why["values"]) - why["total"]) < 2e-3, why
    assert "Liked products that pushed it up most" in why["text"] and why["pushed"] >= 1, why
    # after the restart nothing trains again: both runs come from the disk store, the grids are there
    assert list(restart) == list(times), restart
    assert all("read from the disk cache, nothing retrained" in origins[k] for k in ("rankers", "classifier")), {
        k: v[:400] for k, v in origins.items()}
    assert "Hidden taste" in restart_recs and "freedom" in restart_recs
    # Prepare the demo, after a reset and with another seed: its box shows the step while the rankers train,
    # then every page opens on what it made, with no button pressed
    assert any("step 4 of 5, training the rankers" in s for s in prepared["running"]), prepared["running"]
    assert "The demo is ready" in prepared["sidebar"], prepared["sidebar"]
    assert "Trained by Prepare the demo" in prepared["rankers"] and "lightgcn" in prepared["rankers"], prepared
    assert "Classification report" in prepared["classifier"], prepared["classifier"][:400]
    assert "Hidden taste" in prepared["recommendations"] and prepared["errors"] == [], prepared


def map_colours(page) -> dict[str, str]:
    """Colour the catalogue map by colour; return each legend entry's marker colour."""
    choose(page, "Colour by", "colour")
    return trace_colours(page)


def train_items_in_top_k(page) -> dict[str, list[str]]:
    """K at its largest on the Recommendations page; the user's train items (every history page) and every
    model's top-K items."""
    visit(page, "Recommendations")
    wait_text(page, "per model")
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("End")
    time.sleep(0.3)
    wait_idle(page)
    wait_text(page, "Top-24 per model")
    top = card_ids(page, '[class*="st-key-models-"] .mm-card[data-item]:not([data-part="liked"])')  # not "why this?"
    train = card_ids(page, '.mm-card[data-part="train"]')
    pager = page.get_by_label("Page", exact=True)
    if pager.count():
        for n in range(2, int(pager.get_attribute("max") or 1) + 1):
            set_number(page, "Page", n)
            train += card_ids(page, '.mm-card[data-part="train"]')
    return {"train": train, "top": top}


def every_page_at(page, width: int, collapsed: bool) -> dict[int, dict[str, list[dict]]]:
    """Screenshot every page at ``width`` px (test-artifacts/e2e/<width>-<page>.png); tables that overflow."""
    page.set_viewport_size({"width": width, "height": 2400})
    set_sidebar(page, not collapsed)
    found = {}
    for title in PAGES:
        visit(page, title)
        wait_images(page)
        found[title] = overflowing_tables(page)
        screenshot(page, ARTIFACTS, f"{width}-{title.lower().replace(' ', '-')}")
    set_sidebar(page, True)
    return {width: found}


def error_then_success(page) -> dict[str, list[str]]:
    """Load local files that do not exist (an error box), then the demo again: the box must go."""
    visit(page, "Data")
    local = page.get_by_test_id("stMain").get_by_text("Local Amazon files", exact=True)
    if not local.is_visible():
        page.get_by_test_id("stMain").get_by_text("Source and sampling", exact=True).click()
    local.click()
    wait_idle(page)
    box = page.get_by_label("Reviews file (.jsonl, .jsonl.gz or .parquet)", exact=True)
    box.fill("/does-not-exist/reviews.jsonl")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Load data").click()
    page.locator('[data-testid="stAlertContentError"]').first.wait_for(timeout=60_000)
    wait_idle(page)
    failed = error_texts(page)
    screenshot(page, ARTIFACTS, "error-shown")
    page.get_by_test_id("stMain").get_by_text("Demo catalogue", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Load data").click()
    time.sleep(0.5)
    wait_text(page, "Products")
    screenshot(page, ARTIFACTS, "error-cleared")
    return {"failed": failed, "after": error_texts(page)}


def stop_a_training(page) -> dict:
    """Train with a long budget, press Stop in the step's box after three models; what the page says then.
    The seconds from the click to the box's "stopped" go to test-artifacts/e2e/stop.json (a figure, not an
    assertion)."""
    visit(page, "Rankers")
    wait_text(page, "Train rankers")
    set_number(page, "Max epochs", 60)
    page.get_by_role("button", name="Train rankers").click()
    running = page.get_by_text(re.compile(r"· run [4-9] of \d+")).first
    running.wait_for(state="visible", timeout=300_000)
    seen = {"running": running.inner_text(), "bar_visible": page.get_by_test_id("stProgress").first.is_visible()}
    stop = page.get_by_role("button", name="Stop")
    seen["stop_visible"] = stop.is_visible()
    screenshot(page, ARTIFACTS, "stop-running")
    start = time.perf_counter()
    stop.click()
    page.get_by_text("stopped after").first.wait_for(timeout=60_000)
    seen["stop_s"] = round(time.perf_counter() - start, 2)
    wait_idle(page)
    seen["idle_s"] = round(time.perf_counter() - start, 2)
    screenshot(page, ARTIFACTS, "stop-stopped")
    main = page.get_by_test_id("stMain")
    seen["text"] = main.inner_text()
    seen["table"] = " ".join(table_texts(page))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "stop.json").write_text(json.dumps(
        {k: seen[k] for k in ("running", "stop_s", "idle_s")}, indent=2) + "\n")
    return seen


def prepare_the_demo(page) -> dict[str, object]:
    """Reset the demo, set the walk's epochs and another seed (so the rankers really train), press *Prepare the
    demo* in the sidebar and wait for its report; then read each page, opened with no button pressed."""
    page.get_by_role("button", name="Reset the demo").click()
    wait_text(page, "The demo is reset", timeout_s=60)
    visit(page, "Rankers")
    wait_text(page, "Train rankers")
    set_number(page, "Max epochs", 2)
    set_number(page, "Seed", 7)
    visit(page, "Rating classifier")
    wait_text(page, "Train classifier")
    set_number(page, "Max epochs", 3)
    page.get_by_role("button", name="Prepare the demo").click()
    sidebar, running = page.get_by_test_id("stSidebar"), []
    deadline = time.perf_counter() + 300
    while "The demo is ready" not in (text := sidebar.inner_text()) and time.perf_counter() < deadline:
        running.extend(line for line in text.splitlines() if line.startswith("Preparing the demo"))
        time.sleep(0.5)
    seen: dict[str, object] = {"running": sorted(set(running)), "sidebar": sidebar.inner_text(), "errors": []}
    for name, title, ready in (("rankers", "Rankers", "Protocol:"), ("classifier", "Rating classifier",
                               "Classification report"), ("recommendations", "Recommendations", "per model")):
        visit(page, title)
        wait_text(page, ready, timeout_s=60)
        seen[name] = page.get_by_test_id("stMain").inner_text()
        seen["errors"] += error_texts(page)
    return seen


def leave_a_training(page) -> dict[str, str]:
    """Start the classifier, go to the Data page while it trains, come back: the report is there."""
    visit(page, "Rating classifier")
    wait_text(page, "Train classifier")
    set_number(page, "Max epochs", 15)  # long enough (tens of seconds) to leave the page while it runs
    page.get_by_role("button", name="Train classifier").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
    open_page(page, "Data")
    wait_text(page, "Products")
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    visit(page, "Rating classifier")
    wait_text(page, "Classification report", timeout_s=240)
    return {"sidebar": sidebar, "text": page.get_by_test_id("stMain").inner_text()}


def explore_a_neighbour(page) -> dict[str, object]:
    """On the Embeddings page: *Explore from here* under the first neighbour makes it the chosen product (the
    search box gets its id), then *Back* returns to the product before."""
    box = page.get_by_label("Find a product (title or id)", exact=True)
    chosen = ".st-key-nn-chosen .mm-card"
    before = card_ids(page, chosen)[0]
    neighbours = card_ids(page, ".st-key-nn-strip .mm-card")
    page.locator(".st-key-nn-explore-0 button").first.click()
    wait_text(page, "Back (1)", timeout_s=60)
    wait_idle(page)
    now = card_ids(page, chosen)[0]
    query = box.input_value()
    page.get_by_role("button", name=re.compile(r"Back \(1\)")).click()
    page.get_by_role("button", name=re.compile(r"Back \(1\)")).wait_for(state="detached", timeout=60_000)
    wait_idle(page)
    return {"before": before, "neighbours": neighbours, "now": now, "query": query,
            "back": card_ids(page, chosen)[0]}


def words_to_recommendations(page) -> dict:
    """Recommendations from a sentence (the aligned space the previous step computed), checked against the
    demo's hidden item kinds (truth.json of the catalogue the server generated)."""
    from mmrec_core.config import DataConfig
    from mmrec_core.data.sources import load_dataset

    visit(page, "Recommendations")
    wait_text(page, "Recommend for")
    page.get_by_test_id("stMain").get_by_text("words", exact=True).click()
    wait_text(page, "Describe what you like")
    box = page.get_by_label("Describe what you like", exact=True)
    box.fill("I love sunglasses, no checks")
    box.press("Enter")
    wait_text(page, "Read as", timeout_s=240)
    wait_images(page)
    screenshot(page, ARTIFACTS, "words")
    ids = card_ids(page, ".st-key-words-recs .mm-card")
    kinds = load_dataset(DataConfig(demo_size="small")).truth.item_attributes.set_index("item_id").loc[ids, "kind"]
    return {"text": page.get_by_test_id("stMain").inner_text(), "ids": ids, "kinds": kinds.tolist(),
            "errors": error_texts(page)}


def why_this(page) -> dict:
    """On a user's grids, "Why this?" on VBPR's first product: the bars and the liked products."""
    wait_text(page, "per model", timeout_s=240)
    column = page.locator('[data-testid="stColumn"]').filter(has=page.get_by_text(re.compile(r"^vbpr · \d+ hit")))
    box = column.first.get_by_label("Why this?", exact=True)
    box.click()
    if not page.get_by_role("option").count():  # a selectbox low on a long page may take the click as focus only
        box.press("ArrowDown")
    page.get_by_role("option").nth(1).click()
    page.locator(".st-key-why-vbpr .js-plotly-plot").wait_for(timeout=60_000)
    wait_idle(page)
    wait_images(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    column.first.screenshot(path=str(ARTIFACTS / "why-this.png"))  # VBPR's list, its bars and the liked products
    bar = page.evaluate("""() => { const gd = document.querySelector('.st-key-why-vbpr .js-plotly-plot');
        return {y: [...gd._fullData[0].y], x: [...gd._fullData[0].x], title: gd._fullLayout.title.text}; }""")
    total = float(re.search(r"([+-][0-9.]+) in all", bar["title"]).group(1))
    why = page.locator(".st-key-why-vbpr")
    return {"parts": bar["y"], "values": bar["x"], "total": total, "text": why.inner_text(),
            "pushed": why.locator(".mm-card").count()}


def align_on_the_catalogue(page) -> dict:
    """Embeddings with the bundled encoder aligned on the catalogue and mean fusion: the retrieval figures, the map."""
    visit(page, "Embeddings")
    choose(page, "Encoder", "MiniLM + EfficientNet-Lite0, aligned on the catalogue (shared space, offline)")
    choose(page, "Fusion", "mean")
    page.get_by_role("button", name="Compute with these settings").click()
    wait_text(page, "One text-picture space", timeout_s=240)
    wait_text(page, "Nearest neighbours")
    screenshot(page, ARTIFACTS, "aligned-embeddings")
    title = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullLayout.title.text")
    return {"text": page.get_by_test_id("stMain").inner_text(), "errors": error_texts(page), "map_title": title}

