"""One AppTest per dashboard page on the 60-item demo catalogue with the classic encoder.

Each test drives the pages the way a person clicks them (load, embed, train) and checks what is drawn:
the figure specs (trace types, axis titles, point counts), the tables' rows and values, and that no
exception or error box appears. The browser test (tests/e2e) checks the same flow in Chromium.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

from mmrec_core import viz

RANKERS = ("popularity", "dot", "mlp-bpr", "bpr-mf", "vbpr", "lightgcn", "freedom", "oracle")


def healthy(at: AppTest) -> AppTest:
    """Fail on an exception or an error box, naming what was shown."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def chart(at: AppTest, key: str) -> dict[str, Any]:
    """The figure dict of the plotly chart drawn with ``key``."""
    found = [el for el in at.get("plotly_chart") if el.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, f"chart {key!r}: {[el.proto.id for el in at.get('plotly_chart')]}"
    return json.loads(found[0].proto.spec)


def values(array: Any) -> np.ndarray:
    """A trace array as numpy: plotly writes numeric arrays as ``{"dtype", "bdata"[, "shape"]}``."""
    if isinstance(array, dict) and "bdata" in array:
        out = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = array.get("shape")
        return out.reshape([int(n) for n in str(shape).split(",")]) if shape else out
    return np.asarray(array)


def axis_titles(spec: dict[str, Any], axis: str) -> list[str]:
    """Titles of every ``xaxis``/``yaxis`` (subplots add ``xaxis2`` ...)."""
    return [(v.get("title") or {}).get("text", "") for k, v in spec["layout"].items() if k.startswith(axis)]


def text_of(at: AppTest) -> str:
    """Markdown, captions, info boxes and subheaders of the page, one string to search."""
    parts = [*at.markdown, *at.caption, *at.info, *at.subheader, *at.success, *at.warning]
    return "\n".join(str(p.value) for p in parts)


def embedded(at: AppTest) -> AppTest:
    """Open the dashboard (the Data page loads the demo) and compute the embeddings."""
    healthy(at.run())
    healthy(at.switch_page("pages/embeddings.py").run())
    return healthy(at.button(key="compute-embeddings").click().run())


def trained(at: AppTest, epochs: int = 1) -> AppTest:
    """:func:`embedded`, then train every ranker (quick selection, at most ``epochs`` epochs) on the Rankers page."""
    embedded(at)
    healthy(at.switch_page("pages/rankers.py").run())
    at.number_input(key="w:epochs").set_value(epochs).run()
    return healthy(at.button(key="train-rankers").click().run())


def results(at: AppTest):
    """The Rankers page's first results table (columns in words: ``model``, ``NDCG@10`` ...)."""
    frames = [d.value for d in at.dataframe if {"model", "NDCG@10"} <= set(d.value.columns)]
    assert frames, "no results table"
    return frames[0]


def test_data_page_shows_the_demo_with_nothing_configured(app):
    at = healthy(app.run())
    assert [t.label for t in at.tabs] == ["Products", "Interactions", "Load report"]
    assert at.subheader[0].value.lower().startswith("demo")
    # the gallery: one st.image per product card, and no grey "no picture" card on the demo
    assert len(at.get("image")) >= 12
    assert not any("no picture" in m.value for m in at.markdown)
    assert "60 products" in text_of(at)

    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["reviews kept"].replace(",", "")) > 0
    assert metrics["review lines read"] == metrics["reviews kept"]
    assert metrics["items"] == "60"

    ratings = chart(at, "rating-dist")
    (bars,) = ratings["data"]
    assert bars["type"] == "bar"
    assert values(bars["x"]).tolist() == [1, 2, 3, 4, 5]
    assert values(bars["y"]).sum() == int(metrics["reviews"].replace(",", ""))
    assert axis_titles(ratings, "xaxis") == ["rating"]
    per_user = chart(at, "per-user")
    assert per_user["data"][0]["type"] == "histogram"
    assert len(values(per_user["data"][0]["x"])) == int(metrics["users"])


def test_embeddings_page_computes_maps_and_finds_neighbours(app):
    at = healthy(app.run())
    healthy(at.switch_page("pages/embeddings.py").run())
    assert not at.get("plotly_chart"), "no map before the button is pressed"
    at = healthy(at.button(key="compute-embeddings").click().run())

    metrics = {m.label: str(m.value) for m in at.metric}
    assert metrics["items"] == "60"
    assert metrics["text dim"] == "512" and metrics["image dim"] == "144"
    assert metrics["items with a picture vector"] == "60"
    disk, computed = (int(n.replace(",", "")) for n in metrics["vectors read / computed"].split(" / "))
    assert disk + computed == 120, "60 text and 60 picture vectors, each read or computed"

    spec = chart(at, "catalogue-map")
    assert {t["type"] for t in spec["data"]} <= {"scatter", "scattergl"}
    assert sum(len(values(t["x"])) for t in spec["data"]) == 60
    assert "Catalogue map" in spec["layout"]["title"]["text"]
    assert "all 60 items shown" in spec["layout"]["title"]["text"]
    # the neighbour strip: the chosen product and its 8 nearest, each with a cosine similarity
    assert sum("cosine" in m.value for m in at.markdown) == 8
    assert len(at.get("image")) >= 9


def test_data_page_gallery_pages_through_the_catalogue(app):
    at = healthy(app.run())
    assert "page 1 of 3 · products 1-24 of 60" in text_of(at)
    first = [m.value for m in at.markdown if "title=" in m.value]
    at = healthy(at.number_input(key="w:gallery-page").set_value(3).run())
    assert "page 3 of 3 · products 49-60 of 60" in text_of(at)
    last = [m.value for m in at.markdown if "title=" in m.value]
    assert len(first) == 24 and len(last) == 12, "a full first page and the 12 left over on the last"
    assert not set(first) & set(last)
    # a search that leaves one page moves the pager back into range
    at = healthy(at.text_input(key="w:gallery-q").input("a").run())
    assert at.session_state["w:gallery-page"] == 1 and "page 3 of" not in text_of(at)
    # the words of a title in another order find it (the search the product pickers use)
    title = re.search(r"title='([^']+)'", first[0]).group(1)
    words = title.replace("-", " ").split()
    at = healthy(at.text_input(key="w:gallery-q").input(f"{words[-1]} {words[0]}").run())
    assert any(f"title='{title}'" in m.value for m in at.markdown if "title=" in m.value), title


def test_embeddings_map_samples_a_large_catalogue_and_says_so(app, monkeypatch):
    from mmrec_core import viz

    monkeypatch.setattr(viz, "MAP_POINTS", 25)  # the 60-item demo stands in for a catalogue over the limit
    at = embedded(app)
    spec = chart(at, "catalogue-map")
    assert {t["type"] for t in spec["data"]} == {"scattergl"}
    rows = sorted(int(c[0]) for t in spec["data"] for c in t["customdata"])
    assert rows == viz.sample_rows(60, 25, seed=0).tolist(), "the seeded sample, the same on every rerun"
    assert "25 of 60 items shown (seeded sample)" in spec["layout"]["title"]["text"]
    assert "fitted on these 25 items only" in text_of(at)
    at = healthy(at.run())
    assert sorted(int(c[0]) for t in chart(at, "catalogue-map")["data"] for c in t["customdata"]) == rows


def test_embeddings_map_colours_items_by_their_fans_cluster(app):
    at = embedded(app)
    options = at.selectbox(key="w:map-colour").options
    assert {"kind", "colour", "pattern", "user cluster"} <= set(options)
    assert "main_category" not in options, "one value on the demo: it would paint every point alike"
    at = healthy(at.selectbox(key="w:map-colour").set_value("user cluster").run())
    names = {t["name"] for t in chart(at, "catalogue-map")["data"]}
    assert names and names <= {f"cluster {k}" for k in range(6)} | {"no fans"}
    assert len(names - {"no fans"}) >= 2, "the demo's users fall into several taste clusters"


def test_embeddings_neighbours_picker_searches_titles_and_ids(app):
    at = embedded(app)
    picker = at.selectbox(key="w:nn-item")
    assert len(picker.options) == 60
    wanted = picker.options[17].split("  ·  ")[-1]  # an item id
    at = healthy(at.text_input(key="w:nn-q").input(wanted.lower()).run())
    picker = at.selectbox(key="w:nn-item")
    assert [o.split("  ·  ")[-1] for o in picker.options] == [wanted]
    assert sum("cosine" in m.value for m in at.markdown) == 8
    at = healthy(at.text_input(key="w:nn-q").input("no such product zzz").run())
    assert any("No product matches" in i.value for i in at.info)


def test_rankers_page_trains_every_model_and_offers_downloads(app):
    at = trained(app, epochs=2)
    table = results(at)
    assert set(RANKERS) <= set(table["model"])
    ndcg = table["NDCG@10"].astype(float)
    assert ndcg.between(0, 1).all(), table[["model", "NDCG@10"]]
    assert set(table["item content"]) == {"ratings only", "text + picture"}, "settings in words"

    val = dict(zip(table["model"], table["valid. NDCG@10"], strict=True))
    assert 0 < val["bpr-mf"] < 1 and np.isnan(val["popularity"]), "validation beside test, where there is one"
    assert "up to 2 epochs and stops 5 epochs after its best validation ndcg@10" in text_of(at)

    curves = chart(at, "ranker-curves")
    assert {"loss", "val ndcg@10"} <= set(axis_titles(curves, "yaxis"))
    lines = [t for t in curves["data"] if t["mode"] == "lines+markers"]
    assert lines and all(1 <= len(values(t["x"])) <= 2 for t in lines), "one point per epoch, at most 2"
    stars = [t for t in curves["data"] if t["mode"] == "markers"]
    # each model trains in one setting here: its lines are named by the model alone, in the model's colour
    assert {t["name"] for t in stars} == {"mlp-bpr test", "bpr-mf test", "vbpr test", "lightgcn test", "freedom test"}
    assert {t["name"]: t["line"]["color"] for t in lines if t["name"] == "vbpr"} == {"vbpr": viz.series_colour("vbpr")}
    chosen = next(d.value for d in at.dataframe if "epochs" in d.value.columns)
    assert set(chosen["model"]) == {"mlp-bpr", "bpr-mf", "vbpr", "lightgcn", "freedom"}
    assert chosen["epochs"].between(1, 2).all()
    assert {b.proto.label for b in at.get("download_button")} == {"Download results JSON", "Download table CSV",
                                                                  "Download config JSON"}


def test_rankers_page_runs_the_fusion_ablation(app):
    at = embedded(app)
    healthy(at.switch_page("pages/rankers.py").run())
    at.number_input(key="w:epochs").set_value(1).run()
    fusions = at.multiselect(key="w:ablation-fusions").value
    assert set(fusions) == {"concat", "text", "image"}, "mean needs a shared space; classic has none"
    at = healthy(at.button(key="run-ablation").click().run())

    spec = chart(at, "ablation-bar")
    assert spec["layout"]["barmode"] == "group"
    assert all(t["type"] == "bar" for t in spec["data"])
    assert set(fusions) <= set(spec["data"][0]["x"])
    assert {"dot", "mlp-bpr", "vbpr"} <= {t["name"] for t in spec["data"]}
    assert set(results(at)["item content"]) >= {"text + picture", "text", "picture"}


def test_classifier_page_trains_and_reports(app):
    at = healthy(app.run())
    healthy(at.switch_page("pages/classifier.py").run())
    at.number_input(key="w:clf-epochs").set_value(2).run()
    at = healthy(at.button(key="train-classifier").click().run())

    summary = at.table[0].value
    assert list(summary["modality"]) == ["text+image", "text", "image"]
    assert summary["accuracy"].between(0, 1).all()
    assert summary["time"].str.fullmatch(r"\d+\.\d s").all(), "seconds as '63.7 s', not '63.7000'"
    test_rows = int(summary.loc[summary["modality"] == "text+image", "test rows"].iloc[0])

    counts = chart(at, "cm-counts")
    (heatmap,) = counts["data"]
    z = values(heatmap["z"]).astype(float)
    assert heatmap["type"] == "heatmap" and z.shape == (5, 5)
    assert z.sum() == test_rows
    assert axis_titles(counts, "xaxis") == ["predicted rating"]
    normalised = values(chart(at, "cm-norm")["data"][0]["z"]).astype(float)
    np.testing.assert_allclose(normalised.sum(axis=1)[z.sum(axis=1) > 0], 1.0)

    report = at.table[1].value
    assert [str(c) for c in report["class"][:5]] == ["1", "2", "3", "4", "5"]
    assert report["support"][:5].sum() == test_rows
    assert "Classification report" in text_of(at)
    assert "early stopping watches 10 % of train" in text_of(at), "what the classifier selects on"


def test_recommendations_page_shows_history_and_each_models_top_k(app):
    at = trained(app)
    at = healthy(at.switch_page("pages/recommendations.py").run())
    text = text_of(at)
    assert "Hidden taste" in text
    assert "History of " in text
    assert "per model" in text
    for model in RANKERS:
        assert f"**{model}** ·" in text, model
    strips = [h.proto.body for h in at.get("html") if "mm-strip" in h.proto.body]
    history = [s for s in strips if "data-part='train'" in s]
    strips = [s for s in strips if "data-part=" not in s]
    assert len(history) == 1 and "<img src='data:image/jpeg;base64," in history[0] and "★" in history[0]
    assert len(strips) == len(RANKERS), "one strip of cards per model"
    assert all(s.count("<img src='data:image/jpeg;base64,") == 9 for s in strips), "each model's top-K as pictures"
    assert any("collaborative" in s and "content" in s for s in strips), "VBPR's parts in the hover text"


def test_why_this_shows_the_parts_that_add_up_and_the_liked_products_behind_it(app):
    at = trained(app)
    at = healthy(at.switch_page("pages/recommendations.py").run())
    vbpr = next(s for s in at.selectbox if s.key.startswith("why-pick-vbpr-"))
    vbpr.select_index(1).run()
    spec = chart(healthy(at), "why-bar-vbpr")
    bar = spec["data"][0]
    parts = values(bar["x"])
    assert list(bar["y"]) == ["collaborative", "content (pictures and titles)", "item bias"]
    total = float(re.search(r"([+-][0-9.]+) in all", spec["layout"]["title"]["text"]).group(1))
    assert abs(parts.sum() - total) < 2e-3, "the bars add up to the score"
    assert "Liked products that pushed it up most" in text_of(at)
    dot = next(s for s in at.selectbox if s.key.startswith("why-pick-dot-"))
    dot.select_index(2).run()
    assert "their shares add up to the score" in text_of(healthy(at))


def test_trained_runs_survive_a_restart_and_nothing_trains_again(app, monkeypatch):
    """A restart is a fresh process: every memo gone, only the disk cache left. The same walk then reads the
    rankers and the classifier from the disk store, and the Recommendations page works at once."""
    import streamlit as st

    from mmrec_core import trained as store

    first = results(trained(app))
    healthy(app.switch_page("pages/classifier.py").run())
    healthy(app.button(key="train-classifier").click().run())
    accuracy = [m.value for m in app.metric]
    assert len(list(store.trained_root().glob("*.run"))) == 2, "the ranking and the classifier run are stored"
    st.cache_data.clear()
    st.cache_resource.clear()  # the restart
    fitted: list[str] = []
    from mmrec_core.models import classifier
    from mmrec_core.models.neural import TorchRanker

    real_fit, real_classifier = TorchRanker.fit, classifier.train_classifier
    monkeypatch.setattr(TorchRanker, "fit", lambda self, *a, **kw: fitted.append(self.name) or real_fit(self, *a, **kw))
    monkeypatch.setattr(classifier, "train_classifier",
                        lambda *a, **kw: fitted.append("classifier") or real_classifier(*a, **kw))
    from pathlib import Path

    again = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at = trained(again)
    assert [t.value for t in at.toast if "read from the disk cache" in t.value], "says where the run came from"
    assert [c.value for c in at.caption if "read from the disk cache" in c.value], "and keeps saying it"
    assert results(at).equals(first), "the same table"
    healthy(at.switch_page("pages/classifier.py").run())
    healthy(at.button(key="train-classifier").click().run())
    assert [m.value for m in at.metric] == accuracy
    assert [c.value for c in at.caption if "read from the disk cache" in c.value], "the classifier's too"
    assert not fitted, f"nothing trained again: {fitted}"
    at = healthy(at.switch_page("pages/recommendations.py").run())
    assert "**vbpr** ·" in text_of(at)


def test_recommendations_page_asks_for_rankers_first(app):
    at = healthy(app.run())
    at = healthy(at.switch_page("pages/recommendations.py").run())
    assert any("Train some rankers first" in i.value for i in at.info)


def test_a_sentence_becomes_recommendations_without_any_training(app):
    """The classic encoder has two spaces, so the words are scored in bundled-aligned's; the grid shows the
    products the sentence names (the demo's hidden attributes), the parse, and each card's score."""
    at = embedded(app)
    at = healthy(at.switch_page("pages/recommendations.py").run())
    at.button_group(key="w:rec-mode").set_value("words").run()
    assert "Type a preference" in text_of(healthy(at))
    at.text_input(key="w:words-text").input("I love sunglasses, no checks").run()
    text = text_of(healthy(at))
    assert "**Read as** likes: sunglasses · dislikes: checks" in text
    assert "bundled-aligned space" in text
    (strip,) = [h.proto.body for h in at.get("html") if "mm-strip" in h.proto.body]
    kinds = re.findall(r"class='mm-card' data-item='([^']+)'", strip)
    assert len(kinds) == 9, "K products"
    from mmrec_core.config import DataConfig
    from mmrec_core.data.sources import load_dataset

    truth = load_dataset(DataConfig(demo_size="tiny")).truth.item_attributes.set_index("item_id")
    assert (truth.loc[kinds[:4], "kind"] == "sunglasses").all(), truth.loc[kinds]
    assert strip.count("score ") == 9, "each card says its score"


def test_a_failed_load_explains_itself_and_keeps_earlier_results(app):
    at = embedded(app)
    healthy(at.switch_page("pages/data.py").run())
    at.button_group(key="w:data-source").set_value("local").run()
    at.text_input(key="w:local-reviews").input("/nonexistent/reviews.jsonl.gz").run()
    at.button(key="load-data").click().run()
    assert not at.exception
    (box,) = at.error
    assert "/nonexistent/reviews.jsonl.gz" in box.value and "check the path" in box.value

    # offline, the hub source names the files to fetch; the stale local failure is not shown next to it
    at.button_group(key="w:data-source").set_value("hub").run()
    at.button(key="load-data").click().run()
    assert not at.exception
    (box,) = at.error
    assert "DataUnavailable" in box.value and "meta_Amazon_Fashion" in box.value
    assert "What to do" in box.value

    at = healthy(at.switch_page("pages/embeddings.py").run())
    assert {m.label: str(m.value) for m in at.metric}["items"] == "60", "the demo and its embeddings stay"


def test_page_switch_keeps_results_and_settings(app):
    at = trained(app, epochs=1)
    before = results(at)
    healthy(at.switch_page("pages/data.py").run())
    at = healthy(at.switch_page("pages/rankers.py").run())
    assert at.number_input(key="w:epochs").value == 1
    after = results(at)
    assert after.equals(before)
    assert chart(at, "ranker-curves")["data"]


def test_an_unavailable_encoder_cannot_be_computed_until_a_model_folder_is_given(app, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no hub: CLIP's default checkpoint is not to be had
    at = healthy(app.run())
    at = healthy(at.switch_page("pages/embeddings.py").run())
    at = healthy(at.selectbox(key="w:encoder").set_value("clip").run())
    assert at.button(key="compute-embeddings").disabled
    assert any("CLIP is not available here" in str(w.value) for w in at.warning)
    at = healthy(at.text_input(key="w:clip-checkpoint").input(str(tmp_path)).run())
    assert at.button(key="compute-embeddings").disabled
    assert any("has no config.json" in str(w.value) for w in at.warning), "the folder's own problem"
    (tmp_path / "config.json").write_text("{}")
    at = healthy(at.text_input(key="w:clip-checkpoint").input(f" {tmp_path} ").run())
    assert not at.button(key="compute-embeddings").disabled, "a saved model folder: Compute is on again"
    at = healthy(at.selectbox(key="w:encoder").set_value("classic").run())
    assert not at.button(key="compute-embeddings").disabled and not at.warning


def test_loading_another_data_set_says_which_results_it_put_away(app):
    at = embedded(app)
    at = healthy(at.switch_page("pages/data.py").run())
    at.number_input(key="w:demo-seed").set_value(1).run()  # another tiny catalogue
    at = healthy(at.button(key="load-data").click().run())
    note = " ".join(str(c.value) for c in at.caption)
    assert "The embeddings results of the previous data set were put away" in note
    at = healthy(at.switch_page("pages/embeddings.py").run())
    assert not at.metric, "the other catalogue's vectors are not shown for this one"


def test_a_failed_load_is_cleared_by_the_next_good_one(app):
    at = healthy(app.run())
    at.button_group(key="w:data-source").set_value("local").run()
    at.text_input(key="w:local-reviews").input("/nonexistent/reviews.jsonl.gz").run()
    at = at.button(key="load-data").click().run()
    assert len(at.error) == 1
    at.button_group(key="w:data-source").set_value("demo").run()
    assert len(at.error) == 1, "a failure stays until the next success, not until the next click"
    at = healthy(at.button(key="load-data").click().run())  # the demo again: loaded, and the red box gone


def test_the_recompute_after_clear_cache_shows_its_progress_box(app):
    at = embedded(app)
    assert any(s.label.startswith("Embedding 60 items") for s in at.status)
    healthy(at.run())
    assert not any(s.label.startswith("Embedding") for s in at.status), "a memo hit: no box"
    at = healthy(at.button(key="sidebar-clear").click().run())  # the page recomputes in its progress box
    assert any(s.label.startswith("Embedding 60 items") for s in at.status), [s.label for s in at.status]
    assert "catalogue-map" in " ".join(el.proto.id for el in at.get("plotly_chart"))


def test_an_encoder_aligned_on_the_catalogue_runs_the_studys_mean_fusion(app):
    at = healthy(app.run())
    healthy(at.switch_page("pages/embeddings.py").run())
    at.selectbox(key="w:encoder").set_value("classic-aligned").run()
    at.selectbox(key="w:fusion").set_value("mean").run()
    at = healthy(at.button(key="compute-embeddings").click().run())
    shared = [i.value for i in at.info if "One text-picture space" in i.value]
    assert len(shared) == 1 and "held-out items" in shared[0] and "chance" in shared[0], shared
    assert not any("mean fusion needs" in w.value for w in at.warning)
    metrics = {m.label: str(m.value) for m in at.metric}
    assert metrics["text dim"] == metrics["image dim"] == "256"
    assert ", mean)" in chart(at, "catalogue-map")["layout"]["title"]["text"], "the map of the mean-fused vectors"
    healthy(at.switch_page("pages/rankers.py").run())
    assert "Fusion: **mean**" in text_of(at), "the rankers train on the study's own fusion"


def test_reset_the_demo_forgets_the_session_but_not_the_disk(app):
    from mmrec_core import trained as store

    at = trained(app)
    assert at.session_state["ranking_run"] is not None
    stored = sorted(store.trained_root().glob("*.run"))
    assert stored
    at.sidebar.button(key="sidebar-reset").click().run()
    healthy(at)
    assert at.session_state["ranking_run"] is None and at.session_state["embed_config"] is None
    assert any("The demo is reset" in t.value for t in at.toast)
    assert sorted(store.trained_root().glob("*.run")) == stored, "the disk cache stays"
    at = trained(at)  # the same walk again: the run comes back at the click (the server still holds it)
    assert at.session_state["ranking_run"] is not None and "rankers" not in at.session_state["_jobs"]


def test_presenter_view_enlarges_type_and_cards_and_survives_a_reset(app):
    at = healthy(app.run())
    assert not [h for h in at.get("html") if "font-size: 18px" in h.proto.body]
    at.sidebar.toggle(key="w:presenter").set_value(True).run()
    assert [h for h in at.get("html") if "font-size: 18px" in h.proto.body], "the presenter's style is on"
    at.sidebar.button(key="sidebar-reset").click().run()
    assert [h for h in healthy(at).get("html") if "font-size: 18px" in h.proto.body], "kept across a reset"


def test_words_work_before_any_embedding_was_computed(app):
    at = healthy(app.run())
    at = healthy(at.switch_page("pages/recommendations.py").run())
    at.button_group(key="w:rec-mode").set_value("words").run()
    at.text_input(key="w:words-text").input("red hats").run()
    text = text_of(healthy(at))
    assert "**Read as** likes: red hats" in text
    assert "no embeddings were computed on the Embeddings page yet" in text
    assert [h for h in at.get("html") if "mm-strip" in h.proto.body], "the products"


def _neighbour_ids(at: AppTest) -> list[str]:
    """Item ids of the neighbour cards (the ones captioned with a cosine), in order."""
    return [re.search(r"data-item='([^']+)'", m.value).group(1) for m in at.markdown
            if "cosine" in m.value and "data-item=" in m.value]


def test_neighbours_by_title_or_picture_and_exploring_on_from_one(app):
    """Each "Similar by" choice lists the 8 items nearest by cosine on that vector (checked against the
    embeddings themselves); *Explore from here* makes a neighbour the chosen product, *Back* returns."""
    from mmrec_core.config import DataConfig, EmbedConfig
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items

    at = embedded(app)
    ds = load_dataset(DataConfig(demo_size="tiny"))
    emb = embed_items(ds, EmbedConfig(encoder="classic"))
    pick = int(at.selectbox(key="w:nn-item").value)

    def brute(x):
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        sims = unit @ unit[pick]
        sims[pick] = -np.inf
        return ds.items["item_id"].iloc[np.argsort(-sims, kind="stable")[:8]].tolist()

    fused = _neighbour_ids(at)
    at = healthy(at.button_group(key="w:nn-by").set_value("title").run())
    assert _neighbour_ids(at) == brute(emb.text)
    at = healthy(at.button_group(key="w:nn-by").set_value("picture").run())
    assert _neighbour_ids(at) == brute(emb.image)
    assert _neighbour_ids(at) != brute(emb.text) or fused != brute(emb.text), "three different neighbourhoods"
    first = _neighbour_ids(at)[0]
    at = healthy(at.button(key="nn-explore-0").click().run())
    row = int(at.selectbox(key="w:nn-item").value)
    assert ds.items["item_id"].iat[row] == first and at.text_input(key="w:nn-q").value == first
    assert first not in _neighbour_ids(at), "a product is not its own neighbour"
    at = healthy(at.button(key="nn-back").click().run())
    assert int(at.selectbox(key="w:nn-item").value) == pick
    assert not [b for b in at.button if b.key == "nn-back"], "nothing left to go back to"


def test_find_a_user_by_a_product_they_reviewed_or_by_taste(app):
    from mmrec_core.config import DataConfig
    from mmrec_core.data.sources import load_dataset

    at = trained(app)
    at = healthy(at.switch_page("pages/recommendations.py").run())
    at = healthy(at.button_group(key="w:rec-how").set_value("search").run())
    everyone = at.selectbox(key="w:rec-user").options
    ds = load_dataset(DataConfig(demo_size="tiny"))
    someone = everyone[3]
    item = ds.reviews.loc[ds.reviews["user_id"] == someone, "item_id"].iloc[0]
    title = ds.items.set_index("item_id").loc[item, "title"]
    at = healthy(at.text_input(key="w:rec-q").input(title).run())
    found = at.selectbox(key="w:rec-user").options
    assert any(o.startswith(f"{someone}  · reviewed ") for o in found), found
    reviewers = set(ds.reviews.loc[ds.reviews["item_id"].isin(ds.items.loc[ds.items["title"] == title, "item_id"]),
                                   "user_id"])
    assert {o.split("  · ")[0] for o in found} <= reviewers, "only users who reviewed a product of that title"
    at = healthy(at.text_input(key="w:rec-q").input("no such product zzz").run())
    assert any("No evaluated user" in i.value for i in at.info)

    at = healthy(at.button_group(key="w:rec-how").set_value("by taste").run())
    assert "Type a taste" in text_of(at)
    at = healthy(at.text_input(key="w:rec-taste").input("sunglasses, no checks").run())
    picker = at.selectbox(key="w:rec-taste-user")
    matches = [float(re.search(r"taste match (-?[0-9.]+)", o).group(1)) for o in picker.options]
    assert len(matches) == min(20, len(everyone)) and matches == sorted(matches, reverse=True)
    assert "Read as likes: sunglasses · dislikes: checks" in text_of(at)
    assert f"History of {picker.options[picker.index].split('  (')[0]}" in text_of(at), "the chosen user's page"


def test_two_users_side_by_side_under_one_model(app):
    at = trained(app)
    at = healthy(at.switch_page("pages/recommendations.py").run())
    picker = at.selectbox(key="w:rec-disagree-user")
    first = picker.options[picker.index].split("  (")[0]
    at = healthy(at.toggle(key="w:rec-compare").set_value(True).run())
    picker = at.selectbox(key="w:rec-second-user")
    second = picker.options[picker.index]
    assert second != first
    at = healthy(at.selectbox(key="w:rec-compare-model").set_value("vbpr").run())
    text = text_of(at)
    assert f"**{first}**" in text and f"**{second}**" in text and text.count("Hidden taste:") == 2
    assert text.count("**vbpr**, top-9 ·") == 2 and "The two top-9 lists share" in text
    strips = [h.proto.body for h in at.get("html") if "mm-strip" in h.proto.body]
    assert len(strips) == 4, "each user's newest reviews and their top-K"
    assert sum(s.count("<img src='data:image/jpeg;base64,") == 9 for s in strips) == 2
    assert "History of " not in text, "the single-user view is replaced"
