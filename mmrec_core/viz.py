"""Pure plotly figure builders: arrays and tidy frames in, ``plotly.graph_objects.Figure`` out.

Nothing here imports streamlit, so every figure the dashboard shows is unit-tested without a browser and
can be saved from a notebook or the CLI with ``fig.write_html``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

RATINGS = (1, 2, 3, 4, 5)
# A qualitative palette that stays readable on a white background; models keep their colour across figures.
PALETTE = (
    "#2563eb", "#ea580c", "#16a34a", "#dc2626", "#9333ea",
    "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d",
)
# The catalogue map draws at most this many points (a seeded sample beyond it): WebGL keeps 20 K markers
# interactive in a browser, and a projection fitted on 20 K items takes seconds, not the minutes of 100 K.
MAP_POINTS = 20_000
# plotly's tool buttons stand in a column at the right edge: across the top they covered a long title
_LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=50, b=45), height=360,
               modebar=dict(orientation="v"))


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


# Every model and classifier input keeps one colour on every chart of every page, whatever else is drawn
# beside it (a colour picked by rank among the names of one figure changed from chart to chart).
SERIES_COLOURS = {
    "popularity": "#4b5563", "dot": "#2563eb", "mlp-bpr": "#ea580c", "bpr-mf": "#16a34a", "vbpr": "#9333ea",
    "lightgcn": "#0891b2", "freedom": "#db2777", "oracle": "#ca8a04",
    "text+image": "#2563eb", "text": "#ea580c", "image": "#16a34a",
}


def series_colour(name: str) -> str:
    """The colour of a model (or a classifier's input): fixed for the known names, otherwise a palette colour
    chosen by the name's checksum, so it is the same in every figure and every session."""
    return SERIES_COLOURS.get(name) or _colour(zlib.crc32(name.encode()))


def model_colours(models: Sequence[str]) -> dict[str, str]:
    """A colour per name, distinct within the figure: the known models and inputs keep their fixed colour
    (see :func:`series_colour`); any other name takes the first colour not yet used, from its checksum on."""
    names = list(dict.fromkeys(str(m) for m in models))
    out = {n: SERIES_COLOURS[n] for n in names if n in SERIES_COLOURS}
    used = set(out.values())
    for name in sorted(n for n in names if n not in out):
        start = zlib.crc32(name.encode())
        free = [_colour(start + j) for j in range(len(PALETTE)) if _colour(start + j) not in used]
        out[name] = free[0] if free else series_colour(name)
        used.add(out[name])
    return {m: out[str(m)] for m in dict.fromkeys(models)}


def _is_validation(name: object) -> bool:
    return str(name).startswith("val") or str(name).endswith(" val")


def _series_base(name: object) -> str:
    """``"text val"`` and ``"text train"`` share a colour (validation is dashed)."""
    text = str(name)
    for suffix in (" val", " train"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def rating_distribution(ratings: Sequence[float] | np.ndarray, title: str = "Rating distribution") -> go.Figure:
    """Bar chart of how many reviews gave each star rating 1..5 (ratings are rounded and clipped)."""
    r = np.clip(np.rint(np.asarray(ratings, dtype=float)), 1, 5).astype(int)
    counts = [int((r == k).sum()) for k in RATINGS]
    fig = go.Figure(go.Bar(x=list(RATINGS), y=counts, marker_color=PALETTE[0], text=counts, textposition="auto"))
    fig.update_layout(title=title, **_LAYOUT)
    fig.update_xaxes(title="rating", tickmode="array", tickvals=list(RATINGS))
    fig.update_yaxes(title="reviews")
    return fig


def interactions_per_user(
    user_ids: Sequence[str] | np.ndarray, title: str = "Interactions per user", max_bins: int = 40
) -> go.Figure:
    """Histogram of the number of reviews per user (one bar per count up to ``max_bins``)."""
    counts = pd.Series(np.asarray(user_ids)).value_counts().to_numpy()
    fig = go.Figure(go.Histogram(x=counts, nbinsx=max_bins, marker_color=PALETTE[2]))
    fig.update_layout(title=title, bargap=0.05, **_LAYOUT)
    fig.update_xaxes(title="reviews per user")
    fig.update_yaxes(title="users")
    return fig


def training_curves(
    history: pd.DataFrame, metrics: Sequence[str] | None = None, title: str = "", points: pd.DataFrame | None = None
) -> go.Figure:
    """Loss and metrics per epoch, one subplot per metric, one line per model.

    Parameters
    ----------
    history:
        Tidy frame with columns ``model``, ``epoch`` and one column per metric (missing values allowed).
    metrics:
        Columns to plot; default every numeric column except ``epoch``/``epochs``.
    points:
        Single values to mark beside the curves (:func:`test_points`): columns ``model``, ``epoch``,
        ``column`` (the subplot) and ``value``; drawn as stars in the model's colour, named ``<model> test``.
    """
    if metrics is None:
        skip = {"model", "epoch", "epochs", "setting", "seed", "seconds", "best_epoch", "lr", "trial", "phase"}
        metrics = [c for c in history.columns if c not in skip and pd.api.types.is_numeric_dtype(history[c])]
    metrics = [m for m in metrics if m in history.columns and history[m].notna().any()]
    if not metrics:
        fig = go.Figure()
        fig.update_layout(title=title or "No training history yet", **_LAYOUT)
        return fig
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=list(metrics), horizontal_spacing=0.08)
    models = list(dict.fromkeys(history["model"])) if "model" in history else ["model"]
    colours = model_colours([_series_base(m) for m in models])
    for col, metric in enumerate(metrics, start=1):
        for model in models:
            part = history[history["model"] == model] if "model" in history else history
            part = part[part[metric].notna()].sort_values("epoch")
            if part.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=part["epoch"].tolist(), y=part[metric].astype(float).tolist(), mode="lines+markers",
                    name=str(model), legendgroup=str(model), showlegend=col == 1,
                    line=dict(color=colours[_series_base(model)], dash="dash" if _is_validation(model) else "solid"),
                ),
                row=1, col=col,
            )
        fig.update_xaxes(title_text="epoch", row=1, col=col)
        fig.update_yaxes(title_text=metric, row=1, col=col)
    for p in ([] if points is None or points.empty else points.to_dict("records")):
        if p["column"] not in metrics or str(p["model"]) not in colours:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p["epoch"]], y=[float(p["value"])], mode="markers", name=f"{p['model']} test",
                legendgroup=str(p["model"]), showlegend=False,
                marker=dict(symbol="star", size=13, color=colours[str(p["model"])], line=dict(width=1, color="#111827")),
            ),
            row=1, col=list(metrics).index(p["column"]) + 1,
        )
    fig.update_layout(title=title or None, **_LAYOUT)
    return fig


def test_points(rows: pd.DataFrame, selection: dict[str, dict], *, by_setting: bool = False) -> pd.DataFrame:
    """The test value of each selected model at its chosen epoch, to mark on its validation curve.

    ``rows`` are a study's result rows (mean over seeds is taken); ``selection`` is ``StudyResult.selection``.
    Returns columns ``model`` (``setting/model`` when ``by_setting``), ``epoch``, ``column``, ``value``.
    """
    out = []
    for key, sel in selection.items():
        setting, model = key.split("/", 1)
        metric = sel.get("metric", "ndcg@10")
        mine = rows[(rows["setting"] == setting) & (rows["model"] == model)] if not rows.empty else rows
        epoch = (sel.get("settings") or {}).get("epochs")
        if mine.empty or metric not in mine or epoch is None or mine[metric].isna().all():
            continue
        out.append({"model": key if by_setting else model, "epoch": epoch, "column": f"val {metric}",
                    "value": float(mine[metric].mean())})
    return pd.DataFrame(out, columns=["model", "epoch", "column", "value"])


def confusion_matrix(
    matrix: np.ndarray, labels: Sequence[int] = RATINGS, normalise: bool = False, title: str | None = None
) -> go.Figure:
    """Annotated heatmap of a confusion matrix (rows = actual, columns = predicted).

    ``normalise`` divides each row by its total, so the diagonal reads as per-class recall.
    """
    m = np.asarray(matrix, dtype=float)
    if normalise:
        totals = m.sum(axis=1, keepdims=True)
        m = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
        text = [[f"{v:.2f}" for v in row] for row in m]
    else:
        text = [[f"{int(v)}" for v in row] for row in m]
    names = [str(label) for label in labels]
    fig = go.Figure(
        go.Heatmap(
            z=m.tolist(), x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues",
            zmin=0, zmax=1 if normalise else None, hovertemplate="actual %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(title=title or ("Confusion matrix (row-normalised)" if normalise else "Confusion matrix (counts)"),
                      **{**_LAYOUT, "height": 380})
    fig.update_xaxes(title="predicted rating", type="category")
    fig.update_yaxes(title="actual rating", type="category", autorange="reversed")
    return fig


def actual_vs_predicted(
    actual: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, seed: int = 0,
    title: str = "Actual vs predicted rating",
) -> go.Figure:
    """Jittered scatter of predicted against actual ratings, the mean prediction per class and y = x.

    Jitter (uniform +-0.2, seeded) spreads the 25 integer cells so their density is visible.
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    rng = np.random.default_rng(seed)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=(a + rng.uniform(-0.2, 0.2, len(a))).tolist(), y=(p + rng.uniform(-0.2, 0.2, len(p))).tolist(),
        mode="markers", name="reviews", marker=dict(size=5, opacity=0.35, color=PALETTE[0]),
        customdata=np.stack([a, p], axis=1).tolist() if len(a) else None,
        hovertemplate="actual %{customdata[0]:.0f}, predicted %{customdata[1]:.0f}<extra></extra>",
    ))
    present = [k for k in RATINGS if (a == k).any()]
    fig.add_trace(go.Scatter(
        x=present, y=[float(p[a == k].mean()) for k in present], mode="lines+markers", name="mean prediction",
        line=dict(color=PALETTE[1], width=3),
    ))
    fig.add_trace(go.Scatter(x=[1, 5], y=[1, 5], mode="lines", name="perfect", line=dict(color="#9ca3af", dash="dot")))
    fig.update_layout(title=title, **{**_LAYOUT, "height": 400})
    fig.update_xaxes(title="actual rating", tickvals=list(RATINGS), range=[0.5, 5.5])
    fig.update_yaxes(title="predicted rating", tickvals=list(RATINGS), range=[0.5, 5.5])
    return fig


def grouped_results(
    results: pd.DataFrame, metric: str, group: str = "setting", series: str = "model", title: str | None = None
) -> go.Figure:
    """Grouped bar chart of one metric: x = ``group`` (fusion mode), one bar series per ``series`` (model).

    Several rows per (group, series) (e.g. seeds) are averaged, with the standard deviation as error bars.
    """
    if metric not in results.columns:
        raise ValueError(f"metric {metric!r} not in results columns {list(results.columns)}")
    agg = results.groupby([group, series], sort=False)[metric].agg(["mean", "std", "count"]).reset_index()
    groups = list(dict.fromkeys(results[group]))
    colours = model_colours(list(results[series]))
    fig = go.Figure()
    for name in dict.fromkeys(results[series]):
        part = agg[agg[series] == name].set_index(group).reindex(groups)
        has_err = bool((part["count"] > 1).any())
        fig.add_trace(go.Bar(
            x=[str(g) for g in groups], y=part["mean"].tolist(), name=str(name), marker_color=colours[name],
            error_y=dict(type="data", array=part["std"].fillna(0).tolist(), visible=True) if has_err else None,
            text=[None if pd.isna(v) else f"{v:.3f}" for v in part["mean"]], textposition="outside",
        ))
    fig.update_layout(barmode="group", title=title or f"{metric} by {group} and {series}", **{**_LAYOUT, "height": 400})
    fig.update_xaxes(title=group)
    fig.update_yaxes(title=metric)
    return fig


def sample_rows(n_rows: int, max_points: int = MAP_POINTS, seed: int = 0) -> np.ndarray:
    """Sorted row numbers of a seeded uniform sample of ``max_points`` of ``n_rows`` (all rows when fewer).

    The same ``(n_rows, max_points, seed)`` gives the same rows in every process, so a map keeps its points
    across reruns and a projection fitted on the sample lines up with the plotted rows.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    if n_rows <= max_points:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_points, replace=False))


def sample_caption(shown: int, total: int, noun: str = "items") -> str:
    """``"20,000 of 100,000 items shown (seeded sample)"``, or ``"all 498 items shown"``."""
    if shown >= total:
        return f"all {total:,} {noun} shown"
    return f"{shown:,} of {total:,} {noun} shown (seeded sample)"


def embedding_map(
    coords: np.ndarray, items: pd.DataFrame, color_by: str | None = None, title: str = "Catalogue map",
    id_col: str = "item_id", title_col: str = "title", max_categories: int = 12, max_points: int = MAP_POINTS,
    seed: int = 0,
) -> go.Figure:
    """WebGL scatter of a 2-D projection of at most ``max_points`` items, coloured by a column of ``items``.

    Beyond ``max_points`` items the map draws the seeded sample :func:`sample_rows` ``(len(items), max_points,
    seed)`` and says so under the title. ``coords`` holds a point for every item, or only for the sampled rows
    (in their order), so a costly projection need only be fitted on the sample. Hover shows the title;
    ``customdata[0]`` is the row number in ``items`` (of the full table, also for a sample) and ``[1]`` the item
    id, so a selection handler can show the selected products' pictures (plotly hover cannot show images).
    """
    xy = np.asarray(coords, dtype=float)
    rows = sample_rows(len(items), max_points, seed)
    if len(xy) == len(items):
        xy = xy[rows]
    elif len(xy) != len(rows):
        raise ValueError(f"{len(xy)} coordinates for {len(items)} items (or their {len(rows)}-row sample)")
    shown = items.iloc[rows]
    titles = (shown[title_col].fillna("(no title)").astype(str).str.slice(0, 80) if title_col in shown
              else pd.Series([""] * len(shown)))
    ids = shown[id_col].astype(str) if id_col in shown else pd.Series(rows).astype(str)
    custom = np.stack([rows.astype(str), ids.to_numpy(), titles.to_numpy()], axis=1)
    hover = "<b>%{customdata[2]}</b><br>%{customdata[1]}"
    size = 7 if len(rows) <= 5000 else 4  # smaller markers keep a dense map readable
    fig = go.Figure()
    values = shown[color_by] if color_by and color_by in shown else None
    if values is not None and pd.api.types.is_numeric_dtype(values) and values.nunique() > max_categories:
        fig.add_trace(go.Scattergl(
            x=xy[:, 0], y=xy[:, 1], mode="markers", customdata=custom.tolist(),
            marker=dict(size=size, color=values.astype(float).to_numpy(), colorscale="Viridis", showscale=True,
                        colorbar=dict(title=words(color_by))),
            hovertemplate=hover + f"<br>{words(color_by)}: %{{marker.color:.2f}}<extra></extra>", name=words(color_by),
        ))
    else:
        labels = values.fillna("(none)").astype(str) if values is not None else pd.Series(["items"] * len(shown))
        top = labels.value_counts().index[:max_categories]
        labels = labels.where(labels.isin(top), "other")
        for i, label in enumerate(sorted(labels.unique(), key=lambda s: (s == "other", s))):
            mask = (labels == label).to_numpy()
            fig.add_trace(go.Scattergl(
                x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=label,
                customdata=custom[mask].tolist(), marker=_category_marker(label, i, size),
                hovertemplate=hover + f"<br>{words(color_by or '')}: {label}<extra></extra>",
            ))
    subtitle = sample_caption(len(rows), len(items))
    # Dragging pans and a click selects the point ("event+select"): Streamlit's chart turns clicks off while the
    # drag mode is box or lasso, so a map opened in lasso mode ignored every click. Box and lasso stay one
    # click away in the chart's toolbar.
    fig.update_layout(title=f"{title}<br><sup>{subtitle}</sup>", dragmode="pan", clickmode="event+select",
                      legend_title_text=words(color_by or ""),
                      **{**_LAYOUT, "height": 520, "margin": dict(l=50, r=20, t=70, b=45)})
    fig.update_xaxes(title="dim 1", showticklabels=False)
    fig.update_yaxes(title="dim 2", showticklabels=False)
    return fig


def words(name: str) -> str:
    """A column name as a class reads it: ``main_category`` -> ``main category``."""
    return str(name).replace("_", " ")


def _category_marker(label: str, i: int, size: int) -> dict[str, Any]:
    """A category's marker: a category named after a colour is drawn in it (the demo pictures' own shade), with
    a dark rim so white and yellow show on the light plot; other categories take the palette."""
    from mmrec_core.data.drawing import COLOUR_RGB

    rgb = COLOUR_RGB.get(label.strip().lower())
    if rgb is None:
        return dict(size=size, color=_colour(i), opacity=0.85)
    return dict(size=size, color="rgb({},{},{})".format(*rgb), opacity=0.9, line=dict(width=1, color="#4b5563"))


def load_report_bars(
    skipped: Mapping[str, int], missing_images: Mapping[str, int], title: str = "What the load left out"
) -> go.Figure:
    """Horizontal bars: skipped reviews by reason and missing item pictures by reason."""
    fig = go.Figure()
    for name, counts, colour in (("skipped reviews", skipped, PALETTE[3]), ("missing images", missing_images, PALETTE[1])):
        items = [(k, int(v)) for k, v in counts.items() if v]
        fig.add_trace(go.Bar(
            y=[f"{name}: {k}" for k, _ in items], x=[v for _, v in items], orientation="h", name=name,
            marker_color=colour, text=[v for _, v in items], textposition="auto",
        ))
    n = sum(1 for c in (skipped, missing_images) for v in c.values() if v)
    fig.update_layout(title=title if n else "Nothing skipped, no missing images",
                      **{**_LAYOUT, "height": max(200, 60 + 32 * n)})
    fig.update_xaxes(title="count")
    fig.update_yaxes(autorange="reversed")
    return fig


def score_parts(parts: Mapping[str, float], score: float, title: str = "Why this? The parts of its score") -> go.Figure:
    """Horizontal bars, one per named part of a score (green pushes up, red pushes down), the total in the title."""
    names = list(parts)
    values = [float(parts[n]) for n in names]
    fig = go.Figure(go.Bar(
        y=names, x=values, orientation="h", marker_color=[PALETTE[2] if v >= 0 else PALETTE[3] for v in values],
        text=[f"{v:+.3f}" for v in values], textposition="auto", showlegend=False,
    ))
    fig.update_layout(title=f"{title}: {score:+.3f} in all", **{**_LAYOUT, "height": max(180, 90 + 36 * len(names)),
                                                                "margin": dict(l=10, r=20, t=50, b=40)})
    fig.update_xaxes(title="contribution to the score", zeroline=True, zerolinecolor="#6b7280")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig
