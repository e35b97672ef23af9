"""The demo catalogue: raw Amazon layout, determinism, hidden tastes that really drive the ratings."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import spearmanr

from mmrec_core.data import demo
from mmrec_core.data.demo import COLOURS, DEMO_SIZES, KINDS, PATTERNS, DemoTruth, ensure_demo

REVIEW_FIELDS = {
    "rating": float, "title": str, "text": str, "images": list, "asin": str, "parent_asin": str,
    "user_id": str, "timestamp": int, "helpful_vote": int, "verified_purchase": bool,
}
META_FIELDS = [
    "main_category", "title", "average_rating", "rating_number", "features", "description", "price", "images",
    "videos", "store", "categories", "details", "parent_asin", "bought_together",
]
REVEALING = re.compile(
    r"\b(" + "|".join(COLOURS) + r"|solid|stripes?|striped|dots?|dotted|polka|checks?|checked|checkered|plaid|"
    r"gingham|colou?rs?)\b",
    re.IGNORECASE,
)


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return ensure_demo("tiny", seed=0, root=tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def tiny_records(tiny) -> tuple[list[dict], list[dict]]:
    return read_jsonl(tiny / "reviews.jsonl.gz"), read_jsonl(tiny / "meta.jsonl.gz")


def test_folder_layout_and_default_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    folder = ensure_demo("tiny", seed=5)
    assert folder == tmp_path / "demo" / "default-tiny-s5"
    assert {p.name for p in folder.iterdir()} >= {"reviews.jsonl.gz", "meta.jsonl.gz", "images", "truth.json"}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = ensure_demo("tiny", seed=1, root=tmp_path / "a")
    b = ensure_demo("tiny", seed=1, root=tmp_path / "b")
    c = ensure_demo("tiny", seed=2, root=tmp_path / "c")
    for name in ("reviews.jsonl.gz", "meta.jsonl.gz", "truth.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert sorted(p.name for p in (a / "images").iterdir()) == sorted(p.name for p in (b / "images").iterdir())
    first = sorted((a / "images").iterdir())[0]
    assert first.read_bytes() == (b / "images" / first.name).read_bytes()
    assert read_jsonl(a / "reviews.jsonl.gz") != read_jsonl(c / "reviews.jsonl.gz")


def test_reviews_have_the_raw_amazon_fields_and_types(tiny_records):
    reviews, meta = tiny_records
    assert 1000 <= len(reviews) <= 2000
    for r in reviews:
        assert list(r) == list(REVIEW_FIELDS)
        for key, typ in REVIEW_FIELDS.items():
            assert type(r[key]) is typ, key
        assert 1.0 <= r["rating"] <= 5.0 and r["rating"].is_integer()
        assert 1_546_300_800_000 <= r["timestamp"] <= 1_703_980_800_000  # milliseconds, 2019..2023
        assert re.fullmatch(r"AE[A-Z0-9]{26}", r["user_id"])
        assert re.fullmatch(r"B0[A-Z0-9]{8}", r["asin"]) and re.fullmatch(r"B0[A-Z0-9]{8}", r["parent_asin"])
    share_variant = np.mean([r["asin"] != r["parent_asin"] for r in reviews])
    assert 0.03 < share_variant < 0.5
    assert 0.8 < np.mean([r["verified_purchase"] for r in reviews]) < 0.97
    assert np.mean([r["helpful_vote"] == 0 for r in reviews]) > 0.5
    assert np.mean([r["images"] == [] for r in reviews]) > 0.9
    assert any("<br />" in r["text"] for r in reviews) and any("&amp;" in r["text"] for r in reviews)
    assert {r["parent_asin"] for r in reviews} <= {m["parent_asin"] for m in meta}


def test_meta_has_the_raw_amazon_fields_and_relative_pictures(tiny, tiny_records):
    _, meta = tiny_records
    assert len(meta) == DEMO_SIZES["tiny"]["items"]
    for m in meta:
        assert list(m) == META_FIELDS
        assert m["main_category"] == "AMAZON FASHION" and m["bought_together"] is None and m["videos"] == []
        assert isinstance(m["title"], str) and isinstance(m["store"], str)
        assert isinstance(m["average_rating"], float) and isinstance(m["rating_number"], int)
        assert m["price"] is None or isinstance(m["price"], float)
        assert isinstance(m["features"], list) and isinstance(m["description"], list)
        assert isinstance(m["categories"], list) and isinstance(m["details"], dict)
        (img,) = m["images"]
        assert set(img) == {"thumb", "large", "variant", "hi_res"} and img["variant"] == "MAIN"
        assert re.fullmatch(r"images/B0[A-Z0-9]{8}\.jpg", img["large"])
        assert (tiny / img["large"]).is_file()
    assert any(m["images"][0]["hi_res"] is None for m in meta)
    assert any(m["price"] is None for m in meta) and any(m["categories"] == [] for m in meta)


def test_pictures_are_rgb_and_large_enough(tiny):
    files = sorted((tiny / "images").glob("*.jpg"))
    assert len(files) == DEMO_SIZES["tiny"]["items"]
    for path in files[:10]:
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and min(im.size) >= 224
    a, b = (np.asarray(Image.open(p)) for p in files[:2])
    assert not np.array_equal(a, b)


def oracle_of(folder: Path, reviews: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The hidden affinity of each review's (user, item), and its rating."""
    truth = DemoTruth.load(folder)
    users = [r["user_id"] for r in reviews]
    items = [r["parent_asin"] for r in reviews]
    uidx = {u: k for k, u in enumerate(dict.fromkeys(users))}
    iidx = {i: k for k, i in enumerate(dict.fromkeys(items))}
    aff = truth.affinity(list(uidx), list(iidx))[[uidx[u] for u in users], [iidx[i] for i in items]]
    return aff, np.array([r["rating"] for r in reviews])


def test_ratings_follow_the_hidden_tastes(tiny, tiny_records):
    aff, ratings = oracle_of(tiny, tiny_records[0])
    assert spearmanr(aff, ratings).statistic > 0.5
    order = np.argsort(aff)
    quarter = len(order) // 4
    assert ratings[order[-quarter:]].mean() - ratings[order[:quarter]].mean() > 1.5


def test_rating_skew_and_enough_reviews_per_user(tiny_records):
    reviews, _ = tiny_records
    shares = Counter(r["rating"] for r in reviews)
    assert shares.most_common(1)[0][0] == 5.0
    assert 0.5 < shares[5.0] / len(reviews) < 0.65 and 0.08 < shares[1.0] / len(reviews) < 0.16
    per_user = Counter(r["user_id"] for r in reviews)
    assert np.mean([n >= 5 for n in per_user.values()]) >= 0.6
    assert min(per_user.values()) < 5  # a few light users, as in real data


def test_titles_hide_colour_or_pattern_for_some_items(tiny, tiny_records):
    _, meta = tiny_records
    attrs = DemoTruth.load(tiny).item_attributes.set_index("item_id")
    assert 0.15 < 1 - attrs["title_shows_colour"].mean() < 0.6
    assert 0.15 < 1 - attrs["title_shows_pattern"].mean() < 0.6
    for m in meta:
        row = attrs.loc[m["parent_asin"]]
        assert bool(re.search(rf"\b{row['colour']}\b", m["title"], re.IGNORECASE)) == row["title_shows_colour"]
        assert row["kind"] in KINDS and row["pattern"] in PATTERNS


def test_image_only_variant_never_names_colour_or_pattern(tmp_path):
    folder = ensure_demo("tiny", seed=0, variant="image-only", root=tmp_path)
    reviews, meta = read_jsonl(folder / "reviews.jsonl.gz"), read_jsonl(folder / "meta.jsonl.gz")
    for text in [m["title"] for m in meta] + [r["text"] for r in reviews] + [r["title"] for r in reviews]:
        assert not REVEALING.search(text), text
    for m in meta:
        assert not REVEALING.search(" ".join(m["features"] + m["description"]))
    truth = DemoTruth.load(folder)
    kind_cols = [f"kind:{k}" for k in KINDS]
    assert (truth.user_tastes[kind_cols].to_numpy() == 0).all()
    assert not truth.item_attributes["title_shows_colour"].any()
    assert spearmanr(*oracle_of(folder, reviews)).statistic > 0.5  # the taste is there, only in the pictures


def test_truth_api(tiny):
    truth = DemoTruth.load(tiny)
    assert list(truth.item_attributes.columns[:6]) == [
        "item_id", "kind", "colour", "pattern", "title_shows_colour", "title_shows_pattern",
    ]
    assert truth.user_tastes["segment"].nunique() == 6
    users, items = truth.user_tastes["user_id"][:3].tolist(), truth.item_attributes["item_id"][:4].tolist()
    aff = truth.affinity(users, items)
    assert aff.shape == (3, 4) and aff.dtype == np.float32
    row = truth.user_tastes.iloc[0]
    attr = truth.item_attributes.iloc[0]
    expected = row[f"kind:{attr['kind']}"] + row[f"colour:{attr['colour']}"] + row[f"pattern:{attr['pattern']}"]
    assert aff[0, 0] == pytest.approx(expected, abs=1e-5)
    assert re.search(r"(loves|likes|dislikes) ", truth.describe_taste(users[0]))
    with pytest.raises(KeyError):
        truth.affinity(["nobody"], items)
    all_users, all_items = truth.user_tastes["user_id"].tolist(), truth.item_attributes["item_id"].tolist()
    u, v = truth.affinity_factors(all_users, all_items)  # the oracle as a dot product: the same scores
    assert (v.sum(axis=1) == 3).all() and set(np.unique(v)) == {0.0, 1.0}
    np.testing.assert_allclose(u @ v.T, truth.affinity(all_users, all_items), atol=1e-5)
    with pytest.raises(KeyError):
        truth.affinity_factors(users, ["nothing"])
    with pytest.raises(KeyError):
        truth.describe_taste("nobody")


def test_second_call_returns_at_once(tiny, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("regenerated a complete catalogue")

    monkeypatch.setattr(demo, "_generate", boom)
    assert ensure_demo("tiny", seed=0, root=tiny.parent.parent) == tiny


def test_interrupted_generation_leaves_nothing_complete(tmp_path):
    class Stop(Exception):
        pass

    def progress(event):
        if event.stage == "demo: draw pictures":
            raise Stop

    with pytest.raises(Stop):
        ensure_demo("tiny", seed=9, root=tmp_path, progress=progress)
    parent = tmp_path / "demo"
    assert list(parent.iterdir()) == []
    events = []
    folder = ensure_demo("tiny", seed=9, root=tmp_path, progress=events.append)
    assert demo.is_complete(folder) and events and events[-1].message == "done"


def test_incomplete_leftover_is_replaced(tmp_path):
    stale = demo.demo_folder("tiny", 4, "default", tmp_path)
    stale.mkdir(parents=True)
    (stale / "reviews.jsonl.gz").write_bytes(b"half a file")
    folder = ensure_demo("tiny", seed=4, root=tmp_path)
    assert folder == stale and len(read_jsonl(folder / "reviews.jsonl.gz")) > 1000


def test_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        ensure_demo("gigantic")
    with pytest.raises(ValueError, match="variant"):
        ensure_demo("tiny", variant="sound-only")


def test_leftovers_of_killed_generations_are_cleaned_at_the_next_one(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import time

    parent = tmp_path / "demo"
    parent.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folders = {
            "dead writer": parent / f".default-tiny-s0.tmp-{dead_pid}-0badc0de",
            "dead writer, other catalogue": parent / f".image-only-small-s3.tmp-{dead_pid}-12345678",
            "live writer, idle for hours": parent / f".default-small-s0.tmp-{alive.pid}-abcdef01",
            "live writer, busy": parent / f".default-small-s1.tmp-{alive.pid}-abcdef02",
            "half-deleted old copy": parent / ".default-tiny-s0.old-feedf00d",
            "not ours": parent / "notes.tmp-1-aa",
        }
        for folder in folders.values():
            (folder / "images").mkdir(parents=True)
            (folder / "images" / "x.jpg").write_bytes(b"x")
        hours_ago = time.time() - 3 * 3600
        for path in (folders["live writer, idle for hours"], *folders["live writer, idle for hours"].rglob("*")):
            os.utime(path, (hours_ago, hours_ago))
        monkeypatch.setattr(demo, "_generate", lambda folder, *args: None)
        ensure_demo("tiny", seed=0, root=tmp_path)
        left = {name for name, folder in folders.items() if folder.exists()}
        assert left == {"live writer, busy", "not ours"}
        assert demo.is_complete(parent / "default-tiny-s0")
    finally:
        alive.kill()
        alive.wait()
