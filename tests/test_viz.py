"""Figure builders: trace types, values and axis titles against hand-made inputs."""

import numpy as np
import pandas as pd
import pytest

from mmrec_core import viz


def test_rating_distribution_counts_each_star():
    fig = viz.rating_distribution([5, 5, 4, 1, 3.4, 0.2, 5])
    (bar,) = fig.data
    assert bar.type == "bar"
    assert list(bar.x) == [1, 2, 3, 4, 5]
    assert list(bar.y) == [2, 0, 1, 1, 3]  # 0.2 clips to 1, 3.4 rounds to 3
    assert fig.layout.xaxis.title.text == "rating"
    assert fig.layout.yaxis.title.text == "reviews"


def test_interactions_per_user_histogram_of_counts():
    fig = viz.interactions_per_user(["a", "a", "a", "b", "c", "c"])
    (hist,) = fig.data
    assert hist.type == "histogram"
    assert sorted(hist.x) == [1, 2, 3]
    assert fig.layout.xaxis.title.text == "reviews per user"


def test_training_curves_one_subplot_per_metric_one_line_per_model():
    history = pd.DataFrame({
        "model": ["mlp", "mlp", "mf", "mf"], "epoch": [1, 2, 1, 2],
        "loss": [0.7, 0.5, 0.69, 0.6], "auc": [0.6, 0.7, np.nan, 0.65],
    })
    fig = viz.training_curves(history)
    assert [a.text for a in fig.layout.annotations] == ["loss", "auc"]
    loss = [t for t in fig.data if t.xaxis == "x"]
    assert {t.name for t in loss} == {"mlp", "mf"}
    mlp_loss = next(t for t in loss if t.name == "mlp")
    assert list(mlp_loss.y) == [0.7, 0.5]
    mf_auc = next(t for t in fig.data if t.xaxis == "x2" and t.name == "mf")
    assert list(mf_auc.x) == [2] and list(mf_auc.y) == [0.65]  # NaN epochs are dropped
    assert fig.layout.xaxis.title.text == "epoch" and fig.layout.yaxis2.title.text == "auc"
    # a model keeps one colour across subplots, and the legend lists it once
    assert mlp_loss.line.color == next(t for t in fig.data if t.xaxis == "x2" and t.name == "mlp").line.color
    assert sum(bool(t.showlegend) for t in fig.data) == 2


def test_training_curves_empty_history():
    fig = viz.training_curves(pd.DataFrame({"model": [], "epoch": [], "loss": []}))
    assert len(fig.data) == 0


def test_confusion_matrix_counts_and_row_normalised():
    cm = np.array([[2, 2, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 3, 0], [0, 0, 0, 0, 5]])
    counts = viz.confusion_matrix(cm)
    (heat,) = counts.data
    assert heat.type == "heatmap"
    assert list(heat.x) == ["1", "2", "3", "4", "5"]
    assert heat.text[3][3] == "3" and heat.text[0][0] == "2"
    assert counts.layout.xaxis.title.text == "predicted rating"
    assert counts.layout.yaxis.title.text == "actual rating"
    norm = viz.confusion_matrix(cm, normalise=True).data[0]
    assert list(norm.z[0][:2]) == [0.5, 0.5]
    assert norm.z[3][3] == pytest.approx(0.75)
    assert list(norm.z[2]) == [0.0] * 5  # an empty row stays zero, not NaN
    assert norm.text[3][3] == "0.75"


def test_actual_vs_predicted_jitter_mean_and_diagonal():
    actual = [1, 1, 5, 5, 5]
    pred = [1, 3, 5, 5, 4]
    fig = viz.actual_vs_predicted(actual, pred, seed=1)
    scatter, mean, diag = fig.data
    assert scatter.type == "scatter" and len(scatter.x) == 5
    assert np.all(np.abs(np.array(scatter.x) - actual) <= 0.2)
    assert list(mean.x) == [1, 5] and list(mean.y) == pytest.approx([2.0, 14 / 3])
    assert list(diag.x) == [1, 5]
    assert fig.layout.xaxis.title.text == "actual rating"


def test_grouped_results_one_series_per_model_averaging_seeds():
    results = pd.DataFrame({
        "setting": ["concat", "concat", "concat", "text", "text"],
        "model": ["mlp", "mlp", "dot", "mlp", "dot"],
        "seed": [1, 2, 1, 1, 1],
        "test_accuracy": [0.6, 0.8, 0.5, 0.55, 0.52],
    })
    fig = viz.grouped_results(results, "test_accuracy")
    assert fig.layout.barmode == "group"
    mlp, dot = fig.data
    assert mlp.name == "mlp" and list(mlp.x) == ["concat", "text"]
    assert list(mlp.y) == pytest.approx([0.7, 0.55])
    assert mlp.error_y.array[0] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert list(dot.y) == [0.5, 0.52]
    assert fig.layout.yaxis.title.text == "test_accuracy"
    with pytest.raises(ValueError, match="ndcg"):
        viz.grouped_results(results, "ndcg")


def test_embedding_map_categorical_and_numeric():
    items = pd.DataFrame({
        "item_id": ["a", "b", "c", "d"], "title": ["Red hat", "Blue hat", None, "Red dress"],
        "colour": ["red", "blue", None, "red"], "rating": [1.0, 2.0, 3.0, 4.0],
    })
    xy = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], dtype=np.float32)
    fig = viz.embedding_map(xy, items, color_by="colour")
    assert {t.name for t in fig.data} == {"red", "blue", "(none)"}
    red = next(t for t in fig.data if t.name == "red")
    assert list(red.x) == [0.0, 3.0]
    assert [c[1] for c in red.customdata] == ["a", "d"]  # item ids for the selection handler
    assert [c[0] for c in red.customdata] == ["0", "3"]
    assert "customdata[2]" in red.hovertemplate
    none = next(t for t in fig.data if t.name == "(none)")
    assert none.customdata[0][2] == "(no title)"
    # colours named by the data are drawn in those colours (the demo pictures' shades), others in the palette
    assert red.marker.color == "rgb(200,32,44)" and next(t for t in fig.data if t.name == "blue").marker.color == (
        "rgb(38,84,196)")
    assert none.marker.color.startswith("#")
    numeric = viz.embedding_map(xy, items, color_by="rating", max_categories=2)
    (trace,) = numeric.data
    assert list(trace.marker.color) == [1.0, 2.0, 3.0, 4.0] and trace.marker.showscale
    with pytest.raises(ValueError):
        viz.embedding_map(xy[:2], items)


def test_load_report_bars_drop_zero_reasons():
    fig = viz.load_report_bars({"duplicate": 3, "rating 0.0": 0}, {"no image": 2, "http 404": 1})
    skipped, missing = fig.data
    assert list(skipped.y) == ["skipped reviews: duplicate"] and list(skipped.x) == [3]
    assert list(missing.x) == [2, 1]
    assert fig.layout.xaxis.title.text == "count"
    empty = viz.load_report_bars({}, {})
    assert "Nothing skipped" in empty.layout.title.text


def test_training_curves_train_and_validation_share_a_colour():
    history = pd.DataFrame({"model": ["text train", "text val"], "epoch": [1, 1], "loss": [1.0, 1.2]})
    train, val = viz.training_curves(history).data
    assert train.line.color == val.line.color
    assert train.line.dash == "solid" and val.line.dash == "dash"


def _catalogue(n: int) -> tuple[np.ndarray, pd.DataFrame]:
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "title": [f"t{k}" for k in range(n)],
                          "colour": ["red" if k % 3 else "blue" for k in range(n)]})
    # the x coordinate is the row number, so a plotted point tells which item it is
    xy = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    return xy, items


def _points(fig) -> tuple[list[int], list[float], list[str]]:
    rows, xs, ids = [], [], []
    for trace in fig.data:
        rows += [int(c[0]) for c in trace.customdata]
        ids += [c[1] for c in trace.customdata]
        xs += list(trace.x)
    return rows, xs, ids


def test_a_model_keeps_its_colour_from_chart_to_chart():
    curves = viz.training_curves(pd.DataFrame({"model": ["vbpr", "vbpr val"], "epoch": [1, 1], "loss": [1.0, 1.1]}))
    bars = viz.grouped_results(pd.DataFrame({"setting": ["concat"] * 3, "model": ["bpr-mf", "popularity", "vbpr"],
                                             "ndcg@10": [0.1, 0.05, 0.2]}), "ndcg@10")
    by_name = {t.name: t.marker.color for t in bars.data}
    assert curves.data[0].line.color == by_name["vbpr"], "the same model, alone or beside others"
    assert len(set(by_name.values())) == 3
    assert viz.series_colour("my-model") == viz.series_colour("my-model")  # a name without a fixed colour
    # names without a fixed colour are still told apart within one figure (the classifier's metric bars)
    metrics = viz.model_colours(["accuracy", "macro F1", "precision", "recall", "vbpr"])
    assert len(set(metrics.values())) == 5 and metrics["vbpr"] == by_name["vbpr"], metrics


def test_sample_rows_is_seeded_sorted_and_exact():
    a = viz.sample_rows(1000, 100, seed=3)
    assert len(a) == 100 and len(set(a.tolist())) == 100
    assert a.tolist() == sorted(a.tolist()) and a.min() >= 0 and a.max() < 1000
    assert viz.sample_rows(1000, 100, seed=3).tolist() == a.tolist()
    assert viz.sample_rows(1000, 100, seed=4).tolist() != a.tolist()
    assert viz.sample_rows(7, 100).tolist() == list(range(7))
    assert viz.sample_rows(0, 100).tolist() == []
    with pytest.raises(ValueError):
        viz.sample_rows(10, 0)


def test_every_demo_colour_is_drawn_in_its_own_colour():
    from mmrec_core.data.drawing import COLOUR_RGB

    names = list(COLOUR_RGB)
    items = pd.DataFrame({"item_id": names, "title": names, "colour": names, "kind": ["hat"] * len(names)})
    xy = np.arange(2 * len(names), dtype=np.float32).reshape(-1, 2)
    fig = viz.embedding_map(xy, items, color_by="colour")
    drawn = {t.name: t.marker.color for t in fig.data}
    assert drawn == {n: "rgb({},{},{})".format(*rgb) for n, rgb in COLOUR_RGB.items()}
    assert all(t.marker.line.width == 1 for t in fig.data), "a rim: white points show on the light plot"
    kinds = viz.embedding_map(xy, items, color_by="kind")
    assert kinds.data[0].marker.color.startswith("#")  # not a colour name: the palette


def test_embedding_map_draws_a_seeded_sample_of_exactly_max_points_with_webgl():
    xy, items = _catalogue(500)
    fig = viz.embedding_map(xy, items, color_by="colour", max_points=120, seed=1)
    assert {t.type for t in fig.data} == {"scattergl"}
    rows, xs, ids = _points(fig)
    assert len(rows) == 120 and len(set(rows)) == 120
    assert sorted(rows) == viz.sample_rows(500, 120, seed=1).tolist()
    # each point keeps its own coordinates and id: a lasso selection maps back to the right items
    assert all(x == r for x, r in zip(xs, rows, strict=True))
    assert ids == [f"i{r}" for r in rows]
    assert "120 of 500 items shown (seeded sample)" in fig.layout.title.text
    again = viz.embedding_map(xy, items, color_by="colour", max_points=120, seed=1)
    assert _points(again)[0] == rows  # the same points on every rerun


def test_embedding_map_accepts_coordinates_of_the_sample_only():
    xy, items = _catalogue(300)
    rows = viz.sample_rows(300, 50, seed=0)
    fig = viz.embedding_map(xy[rows], items, max_points=50)  # a projection fitted on the sample alone
    got, xs, _ = _points(fig)
    assert sorted(got) == rows.tolist() and all(x == r for x, r in zip(xs, got, strict=True))
    with pytest.raises(ValueError, match="sample"):
        viz.embedding_map(xy[:51], items, max_points=50)


def test_embedding_map_keeps_every_point_below_the_limit_and_says_so():
    xy, items = _catalogue(40)
    fig = viz.embedding_map(xy, items, max_points=40)
    assert sorted(_points(fig)[0]) == list(range(40))
    assert "all 40 items shown" in fig.layout.title.text
    assert viz.sample_caption(20_000, 100_000) == "20,000 of 100,000 items shown (seeded sample)"


def test_the_map_names_columns_in_words():
    items = pd.DataFrame({"item_id": list("abcd"), "title": list("abcd"), "mean_rating": [1.0, 2.5, 4.0, 5.0],
                          "main_category": ["Shoes", "Hats", "Hats", "Bags"]})
    xy = np.arange(8, dtype=np.float32).reshape(4, 2)
    numeric = viz.embedding_map(xy, items, color_by="mean_rating", max_categories=2)
    assert numeric.data[0].marker.colorbar.title.text == "mean rating" and "mean rating:" in numeric.data[0].hovertemplate
    categorical = viz.embedding_map(xy, items, color_by="main_category")
    assert categorical.layout.legend.title.text == "main category"
    # a click selects a point; Streamlit's chart ignores clicks while the drag mode is box or lasso
    assert categorical.layout.clickmode == "event+select" and categorical.layout.dragmode == "pan"


def test_score_parts_bars_one_per_part_coloured_by_sign():
    fig = viz.score_parts({"collaborative": 1.5, "content": -0.25, "item bias": 0.1}, 1.35)
    bar = fig.data[0]
    assert list(bar.y) == ["collaborative", "content", "item bias"] and list(bar.x) == [1.5, -0.25, 0.1]
    assert bar.marker.color[0] != bar.marker.color[1], "a part that pulls down is drawn in another colour"
    assert "+1.350 in all" in fig.layout.title.text
