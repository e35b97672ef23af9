"""load_dataset: one config -> one Dataset, for the demo, local files and the hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrec_core.config import DataConfig
from mmrec_core.data.hub import DataUnavailable
from mmrec_core.data.sources import load_dataset


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    reviews = [{"rating": 4.0, "text": "fine", "asin": f"P{i % 3}", "parent_asin": f"P{i % 3}", "user_id": f"u{i}",
                "timestamp": 1_600_000_000_000 + i, "helpful_vote": 0, "verified_purchase": True} for i in range(30)]
    meta = [{"title": f"Item {i}", "parent_asin": f"P{i}", "images": [{"large": f"images/P{i}.jpg"}]} for i in range(3)]
    return write(tmp_path / "Amazon_Fashion.jsonl", reviews), write(tmp_path / "meta_Amazon_Fashion.jsonl", meta)


def test_local_source(files: tuple[Path, Path]) -> None:
    reviews, meta = files
    data = load_dataset(DataConfig(source="local", reviews_path=str(reviews), meta_path=str(meta), first_n=10))
    assert data.name == "Amazon_Fashion first 10" and len(data.reviews) == 10 and data.items["has_meta"].all()
    assert data.source_dir == reviews.parent.resolve() and data.truth is None
    assert data.items["image_url"].str.startswith(str(meta.parent.resolve())).all()


def test_local_source_needs_a_reviews_path() -> None:
    with pytest.raises(ValueError, match="reviews"):
        load_dataset(DataConfig(source="local"))


def test_unknown_source() -> None:
    with pytest.raises(ValueError, match="unknown data source"):
        load_dataset(DataConfig(source="s3"))


def test_hub_source_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    with pytest.raises(DataUnavailable, match="meta_categories/meta_Amazon_Fashion.jsonl"):
        load_dataset(DataConfig(source="hub", category="Amazon_Fashion", sample_percent=1))


def test_hub_source_reads_files_already_downloaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   files: tuple[Path, Path]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    from mmrec_core.data.sources import hub_folder

    for src, sub in zip(files, ("raw/review_categories", "raw/meta_categories"), strict=True):
        (hub_folder() / sub).mkdir(parents=True)
        (hub_folder() / sub / src.name).write_bytes(src.read_bytes())
    data = load_dataset(DataConfig(source="hub", category="Amazon_Fashion", sample_percent=50))
    assert data.name == "Amazon_Fashion 50%" and 0 < len(data.reviews) < 30


def test_demo_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("mmrec_core.data.demo")
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    data = load_dataset(DataConfig(source="demo", demo_size="tiny"))
    assert data.name == "demo tiny" and data.truth is not None and data.source_dir is not None
    assert len(data.reviews) > 100 and data.items["has_meta"].all()
    assert data.report.malformed_reviews == 0 and data.report.items_without_meta == 0
    # demo pictures are relative paths in meta, resolved to files that exist
    assert all(Path(p).is_file() for p in data.items["image_url"].dropna())
    assert set(data.truth.item_attributes["item_id"]) >= set(data.items["item_id"])
