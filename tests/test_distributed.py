"""The Ray path in local mode: the same vectors as the single-process path, read back as cache hits.

Ray is a pinned requirement: a missing ``ray`` fails this module at import, it is never skipped. One local
Ray instance (2 CPUs, no dashboard) serves the whole module; start-up costs about 10 s.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import ray
import scipy.sparse as sp

from mmrec_core import distributed
from mmrec_core.config import EmbedConfig, RetrievalConfig
from mmrec_core.data.amazon import load_local
from mmrec_core.data.demo import ensure_demo
from mmrec_core.embeddings import embed_items
from mmrec_core.encoders.classic import ClassicEncoder
from mmrec_core.retrieval import ItemIndex

CLASSIC = EmbedConfig(encoder="classic")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """The tiny demo with three pictures made bad (known reasons) and two malformed meta lines."""
    folder = tmp_path_factory.mktemp("catalogue")
    demo = ensure_demo("tiny")
    shutil.copytree(demo / "images", folder / "images")
    shutil.copy(demo / "reviews.jsonl.gz", folder / "reviews.jsonl.gz")
    (folder / "images" / "broken.jpg").write_bytes(b"not a picture at all")
    with gzip.open(demo / "meta.jsonl.gz", "rt") as fh:
        records = [json.loads(line) for line in fh]
    expected = {}
    for record, (images, reason) in zip(
        records,
        [
            ([{"large": "images/not-there.jpg"}], "file not found"),
            ([{"large": "images/broken.jpg"}], "not an image"),
            ([], "no image"),
        ],
        strict=False,
    ):
        record["images"] = images
        expected[record["parent_asin"]] = reason
    records[2]["title"] = None  # its text comes from category and first feature, on both paths
    lines = [json.dumps(r) for r in records]
    lines[5:5] = ["{not json", "[1, 2, 3]"]
    with gzip.open(folder / "meta.jsonl.gz", "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return folder, folder / "meta.jsonl.gz", expected


def test_encoder_pool_one_actor_per_gpu_else_per_cpu():
    gpu = distributed.encoder_pool({"CPU": 16.0, "GPU": 4.0})
    assert gpu["concurrency"] == 4 and gpu["num_gpus"] == 1
    cpu = distributed.encoder_pool({"CPU": 8.0})
    assert cpu["concurrency"] == 8 and "num_gpus" not in cpu
    assert cpu["concurrency"] * cpu["num_cpus"] <= 8.0 - distributed.READ_RESERVE  # reading keeps a share
    assert distributed.encoder_pool({"CPU": 8.0}, actors=3)["concurrency"] == 3
    assert distributed.encoder_pool({"CPU": 1.0})["concurrency"] == 1


def test_ray_embed_matches_single_process_and_fills_the_cache(ray_local, catalogue, tmp_path, monkeypatch):
    folder, meta, expected = catalogue
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "local-cache"))
    dataset = load_local(folder / "reviews.jsonl.gz", meta)
    local = embed_items(dataset, CLASSIC)
    assert set(expected) <= set(local.item_ids)

    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "ray-cache"))
    result = distributed.embed_catalogue(meta, CLASSIC, out_dir=tmp_path / "out")
    frame = distributed.read_vectors(tmp_path / "out")
    with gzip.open(meta, "rt") as fh:
        good = [json.loads(line) for line in fh if line.startswith('{"')]
    assert frame["item_id"].tolist() == [r["parent_asin"] for r in good]  # the meta file's order
    assert result.items == len(good) and result.malformed == 2
    assert result.missing_reasons == {"file not found": 1, "not an image": 1, "no image": 1}
    for item_id, reason in expected.items():
        row = frame.set_index("item_id").loc[item_id]
        assert not row["image_ok"] and row["missing_reason"] == reason
        assert not np.any(row["image"])  # a broken picture is missing, never replaced

    rows = frame.set_index("item_id").loc[list(local.item_ids)]
    assert np.allclose(np.stack(rows["text"].to_numpy()), local.text, atol=1e-6)
    assert np.array_equal(rows["image_ok"].to_numpy(), local.image_ok)
    assert np.allclose(np.stack(rows["image"].to_numpy()), local.image, atol=1e-6)

    def recomputed(*args, **kwargs):
        raise AssertionError("a vector the Ray job wrote was computed again")

    monkeypatch.setattr(ClassicEncoder, "encode_texts", recomputed)
    monkeypatch.setattr(ClassicEncoder, "encode_images", recomputed)
    again = embed_items(
        load_local(folder / "reviews.jsonl.gz", meta), CLASSIC
    )  # what study and the dashboard call
    n_ok = int(local.image_ok.sum())
    assert again.cache_hits == {"text": len(local.item_ids), "image": n_ok}
    assert again.computed == {"text": 0, "image": 0}
    assert np.allclose(again.text, local.text)
    assert np.array_equal(again.image_ok, local.image_ok)
    assert again.missing_reasons == local.missing_reasons

    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "elsewhere"))  # Parquet copied to another machine
    added = distributed.import_vectors(tmp_path / "out")
    assert added == {"text": len(good), "image": len(good) - 3}
    assert embed_items(dataset, CLASSIC).computed == {"text": 0, "image": 0}


def test_cli_embed_engine_ray_then_local_reads_the_cache(ray_local, tmp_path, monkeypatch, capsys):
    from mmrec_core.cli import EXIT_USER_ERROR, main

    demo = ensure_demo("tiny")
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copytree(demo, tmp_path / "cache" / "demo" / demo.name)  # no regeneration
    assert (
        main(
            [
                "embed",
                "--size",
                "tiny",
                "--encoder",
                "classic",
                "--engine",
                "ray",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "60 items on 2 CPU actor(s)" in out and "cache gained: text 60, image 60" in out
    assert len(distributed.read_vectors(tmp_path / "o")) == 60
    assert main(["embed", "--size", "tiny", "--encoder", "classic"]) == 0
    assert "from cache: text 60, image 60" in capsys.readouterr().out
    assert (
        main(["embed", "--size", "tiny", "--address", "auto"]) == EXIT_USER_ERROR
    )  # --address needs --engine ray


def test_rank_all_users_equals_one_process_search(ray_local):
    """A FAISS index serialised once, broadcast, searched by two actors: the single-process answer."""
    rng = np.random.default_rng(3)
    users = rng.standard_normal((700, 16)).astype(np.float32)
    items = rng.standard_normal((400, 16)).astype(np.float32)
    seen = sp.random(700, 400, density=0.05, format="csr", random_state=4)
    seen.data[:] = 1
    config = RetrievalConfig(engine="faiss-flat")
    expected = ItemIndex(items, config).search(users, 10, exclude=seen)
    top, scores = distributed.rank_all_users(
        users, items, 10, exclude=seen, config=config, block=128, actors=2
    )
    assert np.array_equal(top, expected[0])
    assert np.allclose(scores, expected[1])
    assert not seen[np.arange(700)[:, None], top].toarray().any()  # seen items never come back


def test_ray_embed_reads_the_parquet_view_of_meta(ray_local, catalogue, tmp_path, monkeypatch):
    """The Hugging Face Parquet view (images a dict of lists, details a JSON string) gives the same vectors."""
    import pandas as pd

    folder, meta, _ = catalogue
    with gzip.open(meta, "rt") as fh:
        records = [json.loads(line) for line in fh if line.startswith('{"')]
    for r in records:
        r["images"] = {k: [i.get(k) for i in r["images"]] for k in ("thumb", "large", "variant", "hi_res")}
        r["details"], r["price"] = json.dumps(r["details"]), str(r["price"])
    pd.DataFrame(records).to_parquet(folder / "meta.parquet")
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    local = embed_items(load_local(folder / "reviews.jsonl.gz", folder / "meta.parquet"), CLASSIC)
    result = distributed.embed_catalogue(folder / "meta.parquet", CLASSIC, out_dir=tmp_path / "out")
    frame = distributed.read_vectors(tmp_path / "out").set_index("item_id")
    assert result.items == len(records) and result.missing_reasons == local.missing_reasons
    rows = frame.loc[list(local.item_ids)]
    assert np.allclose(np.stack(rows["text"].to_numpy()), local.text, atol=1e-6)
    assert np.array_equal(rows["image_ok"].to_numpy(), local.image_ok)
    assert np.allclose(np.stack(rows["image"].to_numpy()), local.image, atol=1e-6)
