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


# --- hostile and damaged input: one bad record never stops a load ---------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
GOOD = json.dumps(review("u1", "P1", text="before"))
GOOD_AFTER = json.dumps(review("u2", "P1", text="after"))


def _bad_review(**fields) -> str:
    return json.dumps(review("u9", "P1", **{"text": "bad", **fields}))


BAD_REVIEW_LINES = {
    "deep array": DEEP,
    "deep inside a field": '{"parent_asin": "P1", "user_id": "u9", "rating": 5.0, "timestamp": 1, "x": ' + DEEP + "}",
    "timestamp Infinity": _bad_review().replace('"timestamp": 1600000000000', '"timestamp": Infinity'),
    "timestamp NaN": _bad_review().replace('"timestamp": 1600000000000', '"timestamp": NaN'),
    "timestamp 10**30": _bad_review(timestamp=10**30),
    "timestamp -10**30": _bad_review(timestamp=-(10**30)),
    "timestamp 1e300": _bad_review(timestamp=1e300),
    "timestamp a list": _bad_review(timestamp=[1]),
    "timestamp a word": _bad_review(timestamp="yesterday"),
    "timestamp true": _bad_review(timestamp=True),
    "helpful_vote abc": _bad_review(helpful_vote="abc"),
    "helpful_vote a list": _bad_review(helpful_vote=[1, 2]),
    "helpful_vote a dict": _bad_review(helpful_vote={"n": 1}),
    "helpful_vote 10**30": _bad_review(helpful_vote=10**30),
    "helpful_vote Infinity": _bad_review().replace('"helpful_vote": 1', '"helpful_vote": Infinity'),
    "helpful_vote 1.5": _bad_review(helpful_vote=1.5),
    "rating a word": _bad_review(rating="five"),
    "rating a list": _bad_review(rating=[5]),
    "rating a dict": _bad_review(rating={"v": 5}),
    "rating true": _bad_review(rating=True),
    "rating 10**400": _bad_review().replace('"rating": 5.0', '"rating": 1' + "0" * 400),
    "rating Infinity": _bad_review().replace('"rating": 5.0', '"rating": Infinity'),
    "rating missing": json.dumps({k: v for k, v in review("u9", "P1").items() if k != "rating"}),
    "user_id a list": _bad_review(user_id=["u9"]),
    "user_id missing": json.dumps({k: v for k, v in review("u9", "P1").items() if k != "user_id"}),
    "parent_asin a dict": _bad_review(parent_asin={"id": "P1"}),
    "asin a list": _bad_review(asin=["P1"]),
    "verified_purchase a word": _bad_review(verified_purchase="maybe"),
    "verified_purchase a list": _bad_review(verified_purchase=[True]),
    "title a dict": _bad_review(title={"t": 1}),
    "text a list": _bad_review(text=["a", "b"]),
    "lone surrogate in text": _bad_review().replace('"text": "bad"', '"text": "bad \\ud800 text"'),
    "lone surrogate in user_id": _bad_review().replace('"user_id": "u9"', '"user_id": "u\\udfff"'),
    "lone surrogate in title": _bad_review().replace('"title": "A title"', '"title": "\\ud83d"'),
    "a string": '"just a string"',
    "a number": "42",
    "null": "null",
    "a list of records": json.dumps([review("u9", "P1")]),
    "invalid utf-8": _bad_review().replace('"text": "bad"', '"text": "bad \udcff"'),  # a raw 0xff byte
}


@pytest.mark.parametrize("bad", list(BAD_REVIEW_LINES.values()), ids=list(BAD_REVIEW_LINES))
def test_any_bad_review_line_is_counted_as_malformed_not_raised(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(x.encode("utf-8", "surrogateescape") for x in (GOOD, bad, GOOD_AFTER)) + b"\n")
    data = load_local(path, write_jsonl(tmp_path / "m.jsonl", [meta("P1")]))
    rep = data.report
    assert rep.reviews_kept == 2 and list(data.reviews["text"]) == ["before", "after"]
    assert rep.malformed_reviews == 1 and rep.malformed_review_lines == [2]
    assert sum(rep.malformed_review_reasons.values()) == 1
    assert data.reviews["timestamp"].dtype == "int64" and data.reviews["helpful_vote"].dtype == "int64"
    assert len(data.fingerprint) == 16
    json.dumps(rep.to_dict(), ensure_ascii=False).encode()  # the report itself can be written


def test_field_coercions_that_keep_the_record(tmp_path: Path) -> None:
    lines = [
        review("u1", "P1", helpful_vote=None, verified_purchase=None, title=None, text=None),
        review("u2", "P1", helpful_vote="3", verified_purchase="false", timestamp="1600000000001", rating=4),
        review("u3", "P1", helpful_vote=2.0, verified_purchase=1),
    ]
    data = load_local(write_jsonl(tmp_path / "r.jsonl", lines), None)
    assert data.report.malformed_reviews == 0
    assert list(data.reviews["helpful_vote"]) == [0, 3, 2]
    assert list(data.reviews["verified_purchase"]) == [False, False, True]
    assert list(data.reviews["timestamp"]) == [1_600_000_000_000, 1_600_000_000_001, 1_600_000_000_000]
    assert list(data.reviews["review_title"]) == ["", "A title", "A title"] and data.reviews["text"].iloc[0] == ""


def _meta_line(**fields) -> str:
    return json.dumps(meta("P1", **fields))


BAD_META_LINES = {
    "deep array": DEEP,
    "deep details": '{"parent_asin": "P1", "title": "x", "details": ' + DEEP + "}",
    "lone surrogate in title": _meta_line().replace('"title": "Striped shirt"', '"title": "\\ud800"'),
    "lone surrogate deep in details": _meta_line(details={"a": {"b": ["SURR"]}}).replace("SURR", "\\udc00"),
    "lone surrogate in a feature": _meta_line(features=["SURR"]).replace("SURR", "\\ud800"),
    "lone surrogate in the image url": _meta_line(large="https://x.test/SURR.jpg").replace("SURR", "\\ud800"),
    "parent_asin a list": _meta_line(parent_asin=["P1"]),
    "a string": '"meta"',
    "a list": json.dumps([meta("P1")]),
}


@pytest.mark.parametrize("bad", list(BAD_META_LINES.values()), ids=list(BAD_META_LINES))
def test_any_bad_meta_line_is_counted_as_malformed_not_raised(tmp_path: Path, bad: str) -> None:
    reviews = write_jsonl(tmp_path / "r.jsonl", [review("u1", "P1"), review("u1", "P2")])
    metas = tmp_path / "m.jsonl"
    metas.write_text("\n".join([bad, json.dumps(meta("P2")), json.dumps(meta("P1", title="good one"))]) + "\n")
    data = load_local(reviews, metas)
    rep = data.report
    assert rep.malformed_meta == 1 and rep.malformed_meta_lines == [1] and sum(rep.malformed_meta_reasons.values()) == 1
    assert data.items.set_index("item_id").loc["P1", "title"] == "good one"  # a later good record is used
    assert rep.items_without_meta == 0 and len(data.fingerprint) == 16


def test_meta_fields_of_the_wrong_type_become_missing_never_garbage() -> None:
    row = normalise_meta(meta(
        "P1", title=["not", "a", "title"], store={"name": "Acme"}, main_category=7, categories=["Shoes", {"x": 1}, 3],
        features=["Cotton", ["nested"]], description={"p": "x"}, price=[12], average_rating=1e400,
        rating_number=1e300, details=json.dumps(json.loads("[" * 50 + "]" * 50)),
        images=[{"large": ["https://x.test/L.jpg"], "thumb": {"u": 1}, "hi_res": 5}, {"large": "https://x.test/L2.jpg"}],
    ))
    assert row["title"] is None and row["store"] is None and row["main_category"] is None
    assert row["categories"] == ["Shoes"] and row["features"] == ["Cotton"] and row["description"] == []
    assert math.isnan(row["price"]) and math.isnan(row["average_rating"]) and math.isnan(row["rating_number"])
    assert row["image_url"] == "https://x.test/L2.jpg" and row["image_url_hires"] == "https://x.test/L2.jpg"
    deep = normalise_meta(meta("P1", details="[" * 100_000 + "]" * 100_000))  # HF view: details as a JSON string
    assert set(deep["details"]) == {"raw"}
    assert math.isnan(normalise_meta(meta("P1", price=10**400))["price"])


def test_records_that_are_not_dicts_are_malformed() -> None:
    data = load_records([review("u1", "P1"), ["not", "a", "record"], "text", None, review("u2", "P1")],
                        [5, meta("P1"), meta("P1", title="second")])
    assert data.report.reviews_kept == 2 and data.report.malformed_review_lines == [2, 3, 4]
    assert data.report.malformed_meta == 1 and data.report.malformed_meta_lines == [1]
    assert data.items.iloc[0]["title"] == "Striped shirt"


# --- damaged gzip -------------------------------------------------------------------------------------


def _gz_reviews(tmp_path: Path, n: int = 3000) -> tuple[Path, bytes]:
    path = tmp_path / "reviews.jsonl.gz"
    lines = [review(f"u{i}", f"P{i % 50}", text=f"review number {i} " + "x" * (i % 97)) for i in range(n)]
    write_jsonl(path, lines, gz=True)
    return path, path.read_bytes()


def test_truncated_gzip_keeps_what_was_read_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, data = _gz_reviews(tmp_path)
    path.write_bytes(data[: len(data) * 2 // 3])
    with caplog.at_level("WARNING", logger="mmrec.data.amazon"):
        loaded = load_local(path, None)
    rep = loaded.report
    assert 100 < rep.reviews_kept < 3000 and rep.review_lines == rep.reviews_kept
    assert len(rep.warnings) == 1 and str(path) in rep.warnings[0]
    assert f"after line {rep.review_lines:,}" in rep.warnings[0]
    assert str(path) in caplog.text and "damaged" in caplog.text


def test_crc_damaged_gzip_keeps_every_line_and_warns(tmp_path: Path) -> None:
    path, data = _gz_reviews(tmp_path, n=500)
    crc = bytearray(data)
    crc[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    path.write_bytes(bytes(crc))
    rep = load_local(path, None).report
    assert rep.reviews_kept == 500 and len(rep.warnings) == 1 and "reviews.jsonl.gz" in rep.warnings[0]


def test_corrupt_deflate_stream_part_way_keeps_the_lines_before(tmp_path: Path) -> None:
    path, data = _gz_reviews(tmp_path)
    bad = bytearray(data)
    for at in range(len(bad) // 2, len(bad) // 2 + 64):
        bad[at] ^= 0xA5
    path.write_bytes(bytes(bad))
    rep = load_local(path, None).report
    assert 0 < rep.reviews_kept < 3000 and len(rep.warnings) == 1


def test_damaged_meta_gzip_keeps_the_reviews(tmp_path: Path) -> None:
    reviews = write_jsonl(tmp_path / "r.jsonl", [review("u1", f"P{i}") for i in range(400)])
    metas = write_jsonl(tmp_path / "meta.jsonl.gz", [meta(f"P{i}") for i in range(400)], gz=True)
    metas.write_bytes(metas.read_bytes()[:-200])
    data = load_local(reviews, metas)
    assert data.report.reviews_kept == 400 and 0 < data.report.meta_kept < 400
    assert len(data.report.warnings) == 1 and "meta.jsonl.gz" in data.report.warnings[0]


def test_damaged_gzip_with_nothing_usable_is_one_user_error(tmp_path: Path) -> None:
    path, data = _gz_reviews(tmp_path)
    path.write_bytes(data[:30])  # the header and a few bytes: not one line
    with pytest.raises(NotJsonLines, match="reviews.jsonl.gz"):
        load_local(path, None)
    zero = tmp_path / "zero.jsonl.gz"  # lines that parse but are never kept, then the damage
    write_jsonl(zero, [review(f"u{i}", "P1", rating=0.0, text=str(i) * 50) for i in range(2000)], gz=True)
    zero.write_bytes(zero.read_bytes()[:-100])
    with pytest.raises(NotJsonLines, match=r"zero\.jsonl\.gz.*damaged"):
        load_local(zero, None)


# --- parquet by content; long lines ---------------------------------------------------------------------


def test_parquet_recognised_by_magic_bytes_not_suffix(tmp_path: Path) -> None:
    pd.DataFrame([review("u1", "P1"), review("u2", "P2")]).to_parquet(tmp_path / "r.jsonl")
    pd.DataFrame([HF_META]).to_parquet(tmp_path / "m.bin")
    data = load_local(tmp_path / "r.jsonl", tmp_path / "m.bin")
    assert len(data.reviews) == 2 and data.items.set_index("item_id").loc["P1", "title"] == "Dotted dress"


def test_a_90_mb_first_line_is_skipped_as_too_long_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    from mmrec_core.data import amazon

    path = tmp_path / "r.jsonl"
    with open(path, "wb") as fh:
        fh.write(b'{"rating": 5.0, "text": "')
        chunk = b"y" * (1 << 20)
        for _ in range(90):
            fh.write(chunk)
        fh.write(b'"}\n')
        fh.write((GOOD + "\n" + GOOD_AFTER + "\n").encode())
    assert amazon.MAX_LINE_BYTES == 16 << 20
    tracemalloc.start()
    try:
        data = load_local(path, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data.report.reviews_kept == 2 and data.report.malformed_review_lines == [1]
    assert data.report.malformed_review_reasons == {"line too long": 1}
    assert peak < 40 << 20  # the cap (16 MB) plus change, never the 90 MB line


def test_lines_over_the_cap_are_malformed_wherever_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmrec_core.data import amazon

    monkeypatch.setattr(amazon, "MAX_LINE_BYTES", 2000)
    monkeypatch.setattr(amazon, "_SKIP_CHUNK", 64)
    long_review = json.dumps(review("u5", "P1", text="z" * 5000))
    at_cap = json.dumps(review("u6", "P1", text="c" * (2000 - 1 - len(json.dumps(review("u6", "P1", text=""))))))
    assert len(at_cap) + 1 == 2000  # with its newline, exactly the cap: kept
    path = write_jsonl(tmp_path / "r.jsonl", [GOOD, long_review, at_cap, long_review, GOOD_AFTER, long_review])
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # the last long line has no newline
    metas = write_jsonl(tmp_path / "m.jsonl", [meta("P0", description=["d" * 5000]), meta("P1")])
    data = load_local(path, metas)
    rep = data.report
    assert rep.reviews_kept == 3 and rep.malformed_review_lines == [2, 4, 6] and rep.review_lines == 6
    assert rep.malformed_review_reasons == {"line too long": 3}
    assert rep.malformed_meta_lines == [1] and rep.meta_kept == 1


# --- missing pictures in the load report ---------------------------------------------------------------


def test_load_report_counts_items_without_a_picture_by_reason(tmp_path: Path) -> None:
    reviews = write_jsonl(tmp_path / "r.jsonl", [review("u1", "P1"), review("u1", "P2"), review("u1", "P3")])
    metas = write_jsonl(tmp_path / "m.jsonl", [meta("P1"), meta("P2", large=None, images=[])])
    rep = load_local(reviews, metas).report
    assert rep.missing_images == {"no meta record": 1, "no image in meta": 1}
    rep.note_missing_images({"no image": 2, "network down": 1})
    assert rep.missing_images == {"no meta record": 1, "no image in meta": 1, "network down": 1}
    rep.note_missing_images({"no image": 2, "file not found": 1})  # a later fetch replaces the earlier one
    assert rep.missing_images == {"no meta record": 1, "no image in meta": 1, "file not found": 1}


def test_local_picture_files_that_do_not_exist_are_counted_at_load_time(tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "P1.jpg").write_bytes(b"a picture")
    reviews = write_jsonl(tmp_path / "r.jsonl", [review("u1", f"P{i}") for i in range(1, 5)])
    metas = write_jsonl(tmp_path / "m.jsonl", [meta("P1", large="pics/P1.jpg"), meta("P2", large="pics/P2.jpg"),
                                               meta("P3", large=str(tmp_path / "gone.jpg")), meta("P4")])
    rep = load_local(reviews, metas).report
    assert rep.missing_images == {"file not found": 2}, "two local files absent; the URL is only known when fetched"
    rep.note_missing_images({"file not found": 2, "http 404": 1})  # the fetch's count replaces the load's
    assert rep.missing_images == {"file not found": 2, "http 404": 1}


def test_damaged_parquet_keeps_the_rows_before_the_damage(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "r.parquet"
    rows = [review(f"u{i}", f"P{i % 40}", ts=1_600_000_000_000 + i) for i in range(12_000)]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=5000)
    page = pq.ParquetFile(path).metadata.row_group(2).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[page : page + 12] = b"\xff" * 12  # the third row group's first page header
    path.write_bytes(bytes(data))
    rep = load_local(path, None).report
    assert 4096 <= rep.reviews_kept < 12_000 and len(rep.warnings) == 1 and "r.parquet" in rep.warnings[0]
    assert rep.warnings[0].isprintable()


def test_a_huge_one_line_json_array_is_not_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmrec_core.data import amazon

    monkeypatch.setattr(amazon, "MAX_LINE_BYTES", 4000)
    path = tmp_path / "reviews.jsonl"
    path.write_text(json.dumps([review(f"u{i}", "P1") for i in range(100)]))  # one line, over the cap
    with pytest.raises(NotJsonLines, match="reviews.jsonl"):
        load_local(path, None)
    path.write_text(json.dumps(review("u1", "P1", text="t" * 5000)) + "\n" + GOOD + "\n")  # a huge object: judged later
    assert load_local(path, None).report.malformed_review_reasons == {"line too long": 1}
