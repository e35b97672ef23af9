"""``*_controls()`` draw widgets and return the frozen configs the CLI uses too (one pipeline, two front ends).

Widget keys start with ``w:`` so :func:`mmrec_core.ui.state.keep_widgets` keeps them across pages.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from mmrec_core.config import (
    FUSIONS,
    SELECTION_BUDGETS,
    SPLITS,
    ClassifierConfig,
    DataConfig,
    EmbedConfig,
    SelectionConfig,
    SplitConfig,
    TrainConfig,
    cache_dir,
)
from mmrec_core.ui import state

SOURCES = {"demo": "Demo catalogue", "local": "Local Amazon files", "upload": "Upload a small sample",
           "hub": "Download from the hub"}


def _demo_sizes() -> list[str]:
    try:
        from mmrec_core.data.demo import DEMO_SIZES

        return [s for s in DEMO_SIZES if s != "large"]  # large is for benchmarks, not clicking
    except ImportError:
        return ["tiny", "small", "medium"]


def _sampling(prefix: str) -> dict:
    """Sampling widgets for real files: all, a percentage (Study A) or the first N lines (Study B)."""
    how = st.radio("Sample", ["all reviews", "a percentage", "the first N lines"], horizontal=True,
                   key=state.widget_default(f"w:{prefix}-sample", "a percentage"))
    if how == "a percentage":
        pct = st.number_input("Percent of reviews", 0.01, 100.0, step=0.5, format="%.2f",
                              key=state.widget_default(f"w:{prefix}-pct", 5.0))
        return {"sample_percent": float(pct)}
    if how == "the first N lines":
        n = st.number_input("First N review lines (and meta lines)", 100, 10_000_000, step=1000,
                            key=state.widget_default(f"w:{prefix}-n", 25_000))
        return {"first_n": int(n), "meta_first_n": int(n)}
    return {}


def _save_upload(file) -> str:
    """Store an uploaded file under the cache; the loader reads paths. Returns the stored path.

    The name is made here, never taken from the browser (a client can send ``../../x`` or ``/tmp/x``):
    the content's SHA-256 and a suffix from :data:`UPLOAD_SUFFIXES`, inside ``<cache>/uploads``.
    """
    return str(store_upload(file.getvalue(), cache_dir() / "uploads"))


UPLOAD_SUFFIXES = {b"\x1f\x8b": ".jsonl.gz"}  # gzip by its magic bytes; anything else is read as JSON lines


def store_upload(data: bytes, folder: Path) -> Path:
    """Write ``data`` once as ``folder/<sha256><suffix>`` (atomic) and return that path."""
    suffix = UPLOAD_SUFFIXES.get(data[:2], ".jsonl")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if not path.exists():
        tmp = folder / f"{path.name}.{os.getpid()}.{threading.get_ident()}.part"
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def data_controls() -> DataConfig | None:
    """Source and sampling; returns the DataConfig, or None while an upload is incomplete."""
    default = state.get(state.DATA) or state.default_data_config()
    source = st.segmented_control("Source", list(SOURCES), format_func=SOURCES.get,
                                  key=state.widget_default("w:data-source", default.source))
    source = source or "demo"
    if source == "demo":
        sizes = _demo_sizes()
        c1, c2, c3 = st.columns(3)
        size = c1.selectbox("Size", sizes, key=state.widget_default("w:demo-size", default.demo_size
                                                                      if default.demo_size in sizes else "small"))
        variant = c2.selectbox("Variant", ["default", "image-only"], key=state.widget_default(
            "w:demo-variant", default.demo_variant), help="image-only: colour and pattern only in the pictures")
        seed = c3.number_input("Seed", 0, 9999, key=state.widget_default("w:demo-seed", default.demo_seed))
        return DataConfig(source="demo", demo_size=size, demo_variant=variant, demo_seed=int(seed))
    if source == "local":
        c1, c2 = st.columns(2)
        reviews = c1.text_input("Reviews file (.jsonl, .jsonl.gz or .parquet)",
                                key=state.widget_default("w:local-reviews", default.reviews_path or ""),
                                placeholder="~/data/Amazon_Fashion.jsonl.gz")
        meta = c2.text_input("Meta file", key=state.widget_default("w:local-meta", default.meta_path or ""),
                             placeholder="~/data/meta_Amazon_Fashion.jsonl.gz")
        sampling = _sampling("local")
        if not reviews.strip():
            st.info("Enter the paths of a reviews file and a meta file from Amazon Reviews 2023.")
            return None
        return DataConfig(source="local", reviews_path=str(Path(reviews.strip()).expanduser()),
                          meta_path=str(Path(meta.strip()).expanduser()) if meta.strip() else None, **sampling)
    if source == "upload":
        c1, c2 = st.columns(2)
        rev = c1.file_uploader("Reviews (JSON lines, optionally gzipped)", type=["jsonl", "gz", "json"], key="up-rev")
        meta = c2.file_uploader("Meta (JSON lines, optionally gzipped)", type=["jsonl", "gz", "json"], key="up-meta")
        if rev is None:
            st.info("Upload a reviews file and a meta file (a few MB) in the raw Amazon Reviews 2023 layout.")
            return None
        return DataConfig(source="local", reviews_path=_save_upload(rev),
                          meta_path=_save_upload(meta) if meta is not None else None)
    category = st.text_input("Category", key=state.widget_default("w:hub-category", default.category))
    st.caption("Downloads raw/review_categories and raw/meta_categories files of McAuley-Lab/Amazon-Reviews-2023.")
    return DataConfig(source="hub", category=category.strip(), **_sampling("hub"))


def encoder_choices() -> list[tuple[object, object]]:
    """``(spec, availability)`` of every registered encoder (empty until the registry lands)."""
    try:
        from mmrec_core.encoders.registry import list_encoders

        return list_encoders()
    except ImportError:
        return []


def embed_controls() -> EmbedConfig:
    """Encoder (with availability reasons) and fusion mode."""
    default = state.get(state.EMBED) or state.default_embed_config()
    specs = encoder_choices()
    names = [spec.name for spec, _ in specs] or [default.encoder]
    labels = {spec.name: spec.label + ("" if av.ok else " (unavailable)") for spec, av in specs}
    c1, c2 = st.columns([2, 1])
    name = c1.selectbox("Encoder", names, format_func=lambda n: labels.get(n, n),
                        key=state.widget_default("w:encoder", default.encoder if default.encoder in names else names[0]))
    fusion = c2.selectbox("Fusion", list(FUSIONS), key=state.widget_default("w:fusion", default.fusion),
                          help="mean needs a shared text-image space (CLIP, or an encoder aligned on the catalogue); "
                               "concat works for every encoder")
    checkpoint, image_checkpoint = None, None
    for spec, _av in specs:
        if spec.name != name:
            continue
        st.caption(spec.description)
        if spec.default_checkpoint is not None and (spec.aligned_from or name) != "bundled":
            # the "saved model folder" the description and the unavailable message offer
            checkpoint = _folder(f"{spec.label}: model folder or hub id (empty: {spec.default_checkpoint})",
                                 f"w:{name}-checkpoint")
            if spec.default_image_checkpoint is not None:
                image_checkpoint = _folder(f"Picture model folder or hub id (empty: {spec.default_image_checkpoint})",
                                           f"w:{name}-image-checkpoint")
    if name == "bundled":
        st.info("**bundled** is the offline stand-in for CLIP: MiniLM text + EfficientNet-Lite0 pictures, "
                "two separate spaces (no shared text-image space), so use concat/text/image fusion, not mean; "
                "its *aligned on the catalogue* version maps both into one space, for mean.")
    return replace(default, encoder=name, fusion=fusion, checkpoint=checkpoint, image_checkpoint=image_checkpoint)


def _folder(label: str, key: str) -> str | None:
    value = st.text_input(label, key=state.widget_default(key, ""), placeholder="/path/to/saved/model")
    return value.strip() or None


def encoder_problem(config: EmbedConfig) -> str | None:
    """Why ``config``'s encoder cannot run here (with what to do), or None when it can: the page draws it
    beside the Compute button and keeps the button off."""
    from mmrec_core.encoders.registry import ENCODERS

    spec = ENCODERS.get(config.encoder)
    if spec is None:
        return f"unknown encoder {config.encoder!r}"
    found = spec.availability(config.checkpoint, config.image_checkpoint)
    return None if found.ok else f"{spec.label} is not available here: {found.reason}"


def ranker_controls(available: list[str]) -> tuple[tuple[str, ...], SplitConfig, TrainConfig, SelectionConfig | None]:
    """Models, split protocol, the model-selection budget and the seed; a caption says what will really run."""
    from mmrec_core.selection import plan_text

    st.multiselect("Models", available, key=state.widget_default("w:models", list(available)))
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Split protocol", list(SPLITS), key=state.widget_default("w:split", RANKER_DEFAULTS["w:split"]))
    budget = c2.selectbox("Model selection", list(SELECTION_BUDGETS), format_func=BUDGET_LABELS.get,
                          key=state.widget_default("w:selection", RANKER_DEFAULTS["w:selection"]),
                          help="full: the CLI's default study (a search over each model's settings); quick: "
                               "each model's own settings, early-stopped on validation; off: fixed epochs")
    selection = SELECTION_BUDGETS.get(budget, SELECTION_BUDGETS["quick"])
    if selection is not None:
        c3.number_input("Max epochs", 1, 1000, key=state.widget_default("w:epochs", selection.max_epochs),
                        help="early stopping on the validation split usually ends training sooner")
    c4.number_input("Seed", 0, 9999, key=state.widget_default("w:seed", RANKER_DEFAULTS["w:seed"]))
    models, split, train, selection = ranker_settings(st.session_state, available)
    st.caption(plan_text(models, selection, train))
    return models, split, train, selection


RANKER_DEFAULTS: dict[str, Any] = {"w:split": SPLITS[0], "w:selection": "quick", "w:seed": 42}


def ranker_settings(values: Mapping[str, Any],
                    available: list[str]) -> tuple[tuple[str, ...], SplitConfig, TrainConfig, SelectionConfig | None]:
    """What the Rankers page's controls say, read from their values (``w:`` keys; a missing one is its default):
    the page and **Prepare the demo** train the same config."""
    models = tuple(m for m in values.get("w:models", available) if m in available)
    budget = values.get("w:selection", RANKER_DEFAULTS["w:selection"])
    selection = SELECTION_BUDGETS.get(budget, SELECTION_BUDGETS["quick"])
    if selection is not None and values.get("w:epochs") is not None:
        selection = replace(selection, max_epochs=int(values["w:epochs"]))
    seed = int(values.get("w:seed", RANKER_DEFAULTS["w:seed"]))
    split = SplitConfig(protocol=values.get("w:split", RANKER_DEFAULTS["w:split"]), seed=seed)
    return models, split, TrainConfig(seed=seed), selection


BUDGET_LABELS = {"quick": "quick (early stopping)", "full": "full (search settings)", "off": "off (fixed epochs)"}


def classifier_controls() -> ClassifierConfig:
    """Epochs, patience, class weights and the modality ablation."""
    c1, c2, c3, c4 = st.columns(4)
    d = CLASSIFIER_DEFAULTS
    c1.number_input("Max epochs", 1, 500, key=state.widget_default("w:clf-epochs", d["w:clf-epochs"]))
    c2.number_input("Early-stopping patience", 1, 100, key=state.widget_default("w:clf-patience", d["w:clf-patience"]))
    c3.selectbox("Class weights", ["balanced", "none"], key=state.widget_default("w:clf-weights", d["w:clf-weights"]))
    c4.toggle("Modality ablation", key=state.widget_default("w:clf-ablate", d["w:clf-ablate"]),
              help="also train on text only and on pictures only")
    return classifier_settings(st.session_state)


CLASSIFIER_DEFAULTS: dict[str, Any] = {"w:clf-epochs": 30, "w:clf-patience": 12, "w:clf-weights": "balanced",
                                       "w:clf-ablate": True}


def classifier_settings(values: Mapping[str, Any]) -> ClassifierConfig:
    """The classifier page's config from its controls' values (a missing one is its default)."""
    def get(key: str) -> Any:
        return values.get(key, CLASSIFIER_DEFAULTS[key])

    modalities = ("text+image", "text", "image") if get("w:clf-ablate") else ("text+image",)
    return ClassifierConfig(epochs=int(get("w:clf-epochs")), patience=int(get("w:clf-patience")),
                            class_weight=get("w:clf-weights"), modalities=modalities)
