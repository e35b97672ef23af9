"""The whole demo in a real browser: streamlit on a loopback port, Debian Chromium driven by Playwright.

Load data, compute embeddings, train rankers, train the classifier, open a user's recommendations; after
each step assert on what a person sees (tables with values, pictures that loaded, no error boxes) and
save a screenshot under test-artifacts/e2e/.
"""

from __future__ import annotations

import re

from conftest import ARTIFACTS
from driver import (
    broken_images,
    click_map_point,
    error_texts,
    launch,
    open_page,
    serve,
    wait_idle,
    wait_text,
    walk,
)


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
                "images": main.locator("img").count(),
                "tables": main.locator('[data-testid="stDataFrame"], [data-testid="stTable"]').count(),
                "charts": main.locator('[data-testid="stPlotlyChart"]').count(),
            }

        progress: list[str] = []
        times = walk(page, url, out=ARTIFACTS, epochs=2, clf_epochs=3, after_step=check, progress_seen=progress)
        # a click on a map point selects it (the map opened in lasso mode used to ignore clicks)
        open_page(page, "Embeddings")
        wait_text(page, "Nearest neighbours")
        wait_idle(page)
        click_map_point(page)
        wait_text(page, "1 selected", timeout_s=30)
        clicked = page.get_by_test_id("stMain").inner_text()
        browser.close()

    assert list(times) == ["data", "embeddings", "rankers", "classifier", "recommendations"]
    assert "page 1 of 1 · selected 1-1 of 1" in clicked, "the clicked product's card under the map"
    assert progress and progress[0].startswith("Training 7 models: "), progress  # the step's label, then words
    data, emb, rank, clf, recs = (seen[k] for k in times)
    assert data["images"] >= 12, "the product gallery shows pictures"
    assert re.search(r"[\d,]+ reviews", data["text"])
    assert emb["charts"] >= 1 and emb["images"] >= 5, "the catalogue map and a neighbour strip"
    assert rank["tables"] >= 1 and rank["charts"] >= 1
    for model in ("popularity", "mlp-bpr", "lightgcn", "freedom", "oracle"):
        assert model in rank["text"], model
    assert re.search(r"0\.\d{3}", rank["text"]), "metric values in the results table"
    assert "Selected settings" in rank["text"] and "validation" in rank["text"]
    assert clf["charts"] >= 2 and "Classification report" in clf["text"]
    assert recs["images"] >= 20, "a user's history and each model's top-K as pictures"
    assert "Hidden taste" in recs["text"]
    assert "lightgcn" in recs["text"] and "freedom" in recs["text"], "the graph models' grids beside the others'"
