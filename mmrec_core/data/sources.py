"""One entry point from a :class:`~mmrec_core.config.DataConfig` to a :class:`~mmrec_core.data.schema.Dataset`:
the embedded demo catalogue, local Amazon files, or a category downloaded from the hub. All three go
through the same loader (:func:`mmrec_core.data.amazon.load_local`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from mmrec_core.config import DataConfig, cache_dir
from mmrec_core.data.amazon import dataset_name, download_category, load_local
from mmrec_core.data.schema import Dataset
from mmrec_core.progress import ProgressCallback

log = logging.getLogger("mmrec.data.sources")

SOURCES = ("demo", "local", "hub")


def hub_folder() -> Path:
    """Where hub downloads go: ``cache_dir()/"amazon-2023"`` (the repo's ``raw/...`` layout below it)."""
    return cache_dir() / "amazon-2023"


def _sampling(config: DataConfig) -> dict[str, object]:
    return {
        "sample_percent": config.sample_percent,
        "first_n": config.first_n,
        "meta_first_n": config.meta_first_n,
        "seed": config.sample_seed,
    }


def load_dataset(config: DataConfig, progress: ProgressCallback | None = None) -> Dataset:
    """Load the data a config describes.

    Parameters
    ----------
    config:
        ``source`` "demo" (generate once, then read; hidden truth attached as ``Dataset.truth``), "local"
        (``reviews_path`` and ``meta_path``) or "hub" (download ``category`` then read); sampling fields
        apply to all three.
    progress:
        Passed on to the generator, the download and the loader.

    Raises
    ------
    ValueError
        Unknown source, or "local" without a reviews path.
    mmrec_core.data.hub.DataUnavailable
        "hub" with no network (the message names the files to fetch by hand).
    """
    if config.source == "demo":
        from mmrec_core.data.demo import DemoTruth, ensure_demo  # written by the demo module; lazy

        folder = Path(ensure_demo(config.demo_size, seed=config.demo_seed, variant=config.demo_variant,
                                  progress=progress))
        stem = f"demo {config.demo_size}" + ("" if config.demo_variant == "default" else f" {config.demo_variant}")
        dataset = load_local(folder / "reviews.jsonl.gz", folder / "meta.jsonl.gz", progress=progress,
                             name=dataset_name(stem, config.sample_percent, config.first_n), **_sampling(config))
        dataset.truth = DemoTruth.load(folder)
        dataset.source_dir = folder
        return dataset
    if config.source == "local":
        if not config.reviews_path:
            raise ValueError("the 'local' source needs a reviews file (DataConfig.reviews_path)")
        if not config.meta_path:
            log.warning("no meta file given: items will have no titles or pictures")
        return load_local(config.reviews_path, config.meta_path or None, progress=progress, **_sampling(config))
    if config.source == "hub":
        reviews, meta = download_category(config.category, hub_folder(), progress=progress)
        return load_local(reviews, meta, progress=progress,
                          name=dataset_name(config.category, config.sample_percent, config.first_n),
                          **_sampling(config))
    raise ValueError(f"unknown data source {config.source!r}; choose one of {SOURCES}")
