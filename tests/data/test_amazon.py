"""Amazon Reviews 2023 loaders against tiny synthetic files in the real layout (no real records)."""

from __future__ import annotations

import gzip
import json
import math
import time
from pathlib import Path

import pandas as pd
import pytest

from mmrec_core.data.amazon import (
    DataUnavailable,
    NotJsonLines,
    clean_text,
    download_category,
    load_local,
    load_records,
    normalise_meta,
    open_text,
    raw_file_names,
)
from mmrec_core.data.schema import ITEM_COLUMNS, REVIEW_COLUMNS


def review(user: str, item: str, rating: float = 5.0, ts: int = 1_600_000_000_000, text: str = "ok", **extra) -> dict:
    record = {
        "rating": rating, "title": "A title", "text": text, "images": [], "asin": item + "-v", "parent_asin": item,
        "user_id": user, "timestamp": ts, "helpful_vote": 1, "verified_purchase": True,
    }
    record.update(extra)
    return record


def meta(item: str, *, title: str | None = "Striped shirt", large: str | None = "https://x.test/L.jpg", **extra) -> dict:
    record = {
        "main_category": "AMAZON FASHION", "title": title, "average_rating": 4.5, "rating_number": 12,
        "features": ["Cotton"], "description": ["<p>Soft</p>"], "price": 12.5,
        "images": [{"thumb": "https://x.test/T.jpg", "large": large, "variant": "MAIN", "hi_res": None}],
        "videos": [], "store": "Acme", "categories": [], "details": {"Size": ["S", "M"], "Weight": 3},
        "parent_asin": item, "bought_together": None,
    }
    record.update(extra)
    return record


def write_jsonl(path: Path, lines: list, gz: bool = False) -> Path:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_clean_text_html() -> None:
    assert clean_text("Great<br />fit &amp; feel, it&#39;s <b>nice</b>") == "Great\nfit & feel, it's nice"
    assert clean_text("<p>One</p><p>Two</p>") == "One\n\nTwo"
    assert clean_text("  a \t  b&nbsp;c  ") == "a b c"
    assert clean_text("&lt;b&gt; stays") == "<b> stays"
    assert clean_text(None) == ""


def test_gzip_by_magic_bytes_not_name(tmp_path: Path) -> None:
    plain_gz = write_jsonl(tmp_path / "plain.jsonl.gz", [review("u1", "P1")])  # plain text named .gz
    real_gz = write_jsonl(tmp_path / "real.jsonl", [review("u1", "P1")], gz=True)  # gzip named .jsonl
    for path in (plain_gz, real_gz):
        with open_text(path) as fh:
            assert json.loads(fh.readline())["user_id"] == "u1"
    meta_path = write_jsonl(tmp_path / "meta.jsonl.gz", [meta("P1")])
    for path in (plain_gz, real_gz):
        data = load_local(path, meta_path)
        assert list(data.reviews["item_id"]) == ["P1"] and bool(data.items["has_meta"].iloc[0])


def test_schema_types_and_study_image_rules(tmp_path: Path) -> None:
    images = [
        {"thumb": "https://x.test/T0.jpg", "large": "None", "variant": "MAIN", "hi_res": None},
        {"thumb": "t1", "large": "https://x.test/L1.jpg", "variant": "PT01", "hi_res": "https://x.test/H1.jpg"},
    ]
    reviews = write_jsonl(tmp_path / "r.jsonl", [review("u1", "P1", text="Nice<br />fit")])
    metas = write_jsonl(tmp_path / "m.jsonl", [meta("P1", images=images)])
    data = load_local(reviews, metas)
    assert list(data.reviews.columns) == REVIEW_COLUMNS and list(data.items.columns) == ITEM_COLUMNS
    row = data.reviews.iloc[0]
    assert row["text"] == "Nice\nfit" and row["asin"] == "P1-v" and row["timestamp"] == 1_600_000_000_000
    assert data.reviews["timestamp"].dtype == "int64" and data.reviews["verified_purchase"].dtype == bool
    item = data.items.iloc[0]
    assert item["image_url"] == "https://x.test/L1.jpg"  # Study A: first usable large, "None" skipped
    assert item["image_url_hires"] == "https://x.test/T0.jpg"  # Study B: first image: hi_res, else large, else thumb
    assert item["details"] == {"Size": ["S", "M"], "Weight": 3} and item["price"] == 12.5
    assert item["description"] == ["Soft"] and item["rating_number"] == 12


def test_hires_rule_first_image() -> None:
    rec = meta("P1", images=[{"thumb": "T0", "large": "L0", "hi_res": None}, {"large": "L1", "hi_res": "H1"}])
    assert normalise_meta(rec)["image_url_hires"] == "L0"  # first image: hi_res, else large, else thumb
    rec = meta("P1", images=[{"thumb": "T0", "large": None, "hi_res": None}])
    assert normalise_meta(rec)["image_url_hires"] == "T0" and normalise_meta(rec)["image_url"] is None


HF_META = {
    "main_category": "AMAZON FASHION", "title": "Dotted dress", "average_rating": 4.0, "rating_number": 3,
    "features": ["Viscose"], "description": [], "price": "None",
    "images": {"thumb": ["T0", "T1"], "large": ["", "https://x.test/L1.jpg"], "variant": ["MAIN", "PT01"],
               "hi_res": ["None", "https://x.test/H1.jpg"]},
    "videos": {"title": [], "url": [], "user_id": []}, "store": "Acme", "categories": [],
    "details": json.dumps({"Brand": "Acme", "Dims": {"w": 1}}), "parent_asin": "P1", "bought_together": None,
}


def test_hf_view_records_dict_of_lists() -> None:
    row = normalise_meta(HF_META)
    assert row["image_url"] == "https://x.test/L1.jpg"
    assert row["image_url_hires"] == "T0"  # first image: hi_res "None" and large "" unusable, thumb T0
    assert row["details"] == {"Brand": "Acme", "Dims": {"w": 1}} and math.isnan(row["price"])
    assert normalise_meta({**HF_META, "price": "19.99"})["price"] == 19.99
    data = load_records([review("u1", "P1")], [HF_META])
    assert data.items.iloc[0]["title"] == "Dotted dress" and data.report.items_without_meta == 0


def test_hf_view_parquet(tmp_path: Path) -> None:
    pd.DataFrame([HF_META, {**HF_META, "parent_asin": "P2", "title": None}]).to_parquet(tmp_path / "m.parquet")
    pd.DataFrame([review("u1", "P1"), review("u2", "P2")]).to_parquet(tmp_path / "r.parquet")
    data = load_local(tmp_path / "r.parquet", tmp_path / "m.parquet")
    items = data.items.set_index("item_id")
    assert items.loc["P1", "image_url"] == "https://x.test/L1.jpg"
    assert items.loc["P1", "details"] == {"Brand": "Acme", "Dims": {"w": 1}}
    assert data.report.items_without_title == 1 and len(data.reviews) == 2


def test_relative_image_paths_resolved_against_meta_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cat"
    folder.mkdir()
    reviews = write_jsonl(folder / "reviews.jsonl", [review("u1", "P1")])
    metas = write_jsonl(folder / "meta.jsonl", [meta("P1", large="images/P1.jpg")])
    item = load_local(reviews, metas).items.iloc[0]
    assert item["image_url"] == str((folder / "images" / "P1.jpg").resolve())


def test_bad_lines_duplicates_zero_ratings_missing_meta(tmp_path: Path) -> None:
    lines = [
        review("u1", "P1", text="first"),  # 1 kept
        '{"rating": 5.0, "user_id": "u9", "parent_as',  # 2 malformed (truncated)
        "",  # 3 empty
        review("u1", "P1", text="first"),  # 4 duplicate of 1
        review("u2", "P1", rating=0.0),  # 5 rating 0.0
        review("u3", "P2", parent_asin=None),  # 6 no parent_asin
        "[1, 2]",  # 7 JSON but not an object: malformed
        review("u4", "P3", text="no meta for me"),  # 8 kept, item without meta
        review("u1", "P4"),  # 9 kept; meta has no title and no image
    ]
    reviews = write_jsonl(tmp_path / "r.jsonl", lines)
    metas = write_jsonl(tmp_path / "m.jsonl", [meta("P1"), "{oops", "", meta("P4", title=None, large=None, images=[])])
    data = load_local(reviews, metas)
    rep = data.report
    assert rep.review_lines == 9 and rep.reviews_kept == 3 == len(data.reviews)
    assert rep.malformed_reviews == 2 and rep.malformed_review_lines == [2, 7]
    assert rep.empty_review_lines == 1 and rep.duplicate_reviews == 1
    assert rep.zero_rating_reviews == 1 and rep.missing_parent_asin == 1
    assert rep.skipped() == {"malformed line": 2, "empty line": 1, "duplicate": 1, "rating 0.0": 1,
                             "no parent_asin": 1}
    assert rep.malformed_meta == 1 and rep.malformed_meta_lines == [2] and rep.empty_meta_lines == 1
    items = data.items.set_index("item_id")
    assert list(items.index) == ["P1", "P3", "P4"]
    assert not items.loc["P3", "has_meta"] and pd.isna(items.loc["P3", "title"])
    assert rep.items_without_meta == 1 and rep.reviews_without_meta == 1
    assert rep.items_without_title == 2 and rep.items_without_image == 2  # P3 (no meta) and P4


def test_warning_summarises_skips(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    reviews = write_jsonl(tmp_path / "r.jsonl", [review("u1", "P1"), "garbage", review("u1", "P1")])
    with caplog.at_level("WARNING", logger="mmrec.data.amazon"):
        load_local(reviews, None)
    assert "duplicate" in caplog.text and "malformed line" in caplog.text


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
    b"user,item,rating\nu1,P1,5\nu2,P2,4\n",
    json.dumps([review("u1", "P1"), review("u2", "P2")], indent=2).encode(),
])
def test_not_json_lines_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotJsonLines, match="reviews.jsonl"):
        load_local(path, None)


def test_sample_percent_is_seeded_and_streams_meta(tmp_path: Path) -> None:
    n = 4000
    reviews = write_jsonl(tmp_path / "r.jsonl", [review(f"u{i}", f"P{i}") for i in range(n)], gz=True)
    metas = write_jsonl(tmp_path / "m.jsonl", [meta(f"P{i}") for i in range(n)])
    a = load_local(reviews, metas, sample_percent=10, seed=7)
    b = load_local(reviews, metas, sample_percent=10, seed=7)
    c = load_local(reviews, metas, sample_percent=10, seed=8)
    assert 320 <= len(a.reviews) <= 480  # ~10 % of 4000 (binomial sd ~19)
    assert a.reviews.equals(b.reviews) and not a.reviews.equals(c.reviews)
    assert a.report.sampled_out_reviews == n - len(a.reviews) and a.name == "r 10%"
    assert set(a.items["item_id"]) == set(a.reviews["item_id"]) and a.items["has_meta"].all()
    assert a.report.meta_kept == len(a.items)  # only the sampled items' meta was kept


def test_first_n_and_meta_first_n(tmp_path: Path) -> None:
    reviews = write_jsonl(tmp_path / "r.jsonl", [review(f"u{i}", f"P{i % 5}", ts=i) for i in range(20)])
    metas = write_jsonl(tmp_path / "m.jsonl", [meta(f"P{i}") for i in range(5)])
    data = load_local(reviews, metas, first_n=8, meta_first_n=3)
    assert len(data.reviews) == 8 and data.report.review_lines == 8 and data.name == "r first 8"
    assert data.report.meta_lines == 3
    with_meta = set(data.items.loc[data.items["has_meta"], "item_id"])
    assert with_meta == {"P0", "P1", "P2"} and data.report.items_without_meta == 2


def test_progress_reports_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mmrec_core.data.amazon as amazon

    monkeypatch.setattr(amazon, "PROGRESS_EVERY", 10)
    reviews = write_jsonl(tmp_path / "r.jsonl", [review(f"u{i}", "P1", ts=i) for i in range(35)])
    events = []
    load_local(reviews, None, progress=events.append)
    assert [e.done for e in events] == [10, 20, 30, 35]
    assert {e.unit for e in events} == {"lines"} and events[0].stage == "read reviews"


def test_hub_offline_says_so_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert raw_file_names("Amazon_Fashion") == (
        "raw/review_categories/Amazon_Fashion.jsonl", "raw/meta_categories/meta_Amazon_Fashion.jsonl")
    start = time.perf_counter()
    with pytest.raises(DataUnavailable) as info:
        download_category("Amazon_Fashion", tmp_path)
    assert time.perf_counter() - start < 5  # a generous hang guard, not a benchmark
    message = str(info.value)
    for part in ("raw/review_categories/Amazon_Fashion.jsonl", "raw/meta_categories/meta_Amazon_Fashion.jsonl",
                 "McAuley-Lab/Amazon-Reviews-2023", str(tmp_path), "Local Amazon files"):
        assert part in message
    assert message.count(". ") == 0  # one sentence


def test_hub_uses_files_already_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rel_r, rel_m = raw_file_names("Toys")
    write_jsonl((tmp_path / rel_r).parent.mkdir(parents=True) or tmp_path / rel_r, [review("u", "P")])
    write_jsonl((tmp_path / rel_m).parent.mkdir(parents=True) or tmp_path / rel_m, [meta("P")])
    assert download_category("Toys", tmp_path) == (tmp_path / rel_r, tmp_path / rel_m)


def test_hub_unreachable_without_offline_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mmrec_core.data.hub as hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout_s=2.0: False)
    with pytest.raises(DataUnavailable, match="unreachable from here: download raw/review_categories/Beauty"):
        download_category("Beauty", tmp_path)


def test_hub_download_failure_becomes_data_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    import mmrec_core.data.hub as hub

    def refuse(**kwargs) -> str:
        raise ConnectionError("no route to host")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout_s=2.0: True)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    with pytest.raises(DataUnavailable, match="meta_Amazon_Fashion.jsonl"):
        download_category("Amazon_Fashion", tmp_path)


def test_a_missing_file_is_reported_as_missing_not_as_bad_content(tmp_path):
    with pytest.raises(FileNotFoundError, match="check the path"):
        load_local(tmp_path / "nope.jsonl", None)
