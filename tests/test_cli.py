"""``python -m mmrec_core``: the real entry point in a subprocess, the cheap commands in process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmrec_core.cli import main
from mmrec_core.config import SelectionConfig, StudyConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mmrec_core", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(autouse=True)
def _restore_logging():
    """main() installs its stderr handler on the "mmrec" logger; put the test session's back afterwards."""
    logger = logging.getLogger("mmrec")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers, logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture(autouse=True)
def _no_stored_runs():
    """Each test trains what it asks for: no run stored by an earlier test answers for it."""
    import shutil

    from mmrec_core.trained import trained_root

    shutil.rmtree(trained_root(), ignore_errors=True)


def write_config(path: Path, **fields) -> Path:
    payload = {
        "name": "cli-tiny",
        "data": {"demo_size": "tiny"},
        "embed": {"encoder": "classic"},
        "fusions": ["concat", "text"],
        "models": ["popularity", "dot", "mlp-bpr"],
        "train": {"epochs": 1},
        "selection": {"max_epochs": 2, "patience": 1, "trials": 1},
        "classifier": {"epochs": 1, "max_images": 200, "modalities": ["text+image"]},
        **fields,
    }
    path.write_text(json.dumps(payload))
    return path


def test_study_runs_end_to_end_and_writes_results(tmp_path):
    config = write_config(tmp_path / "study.json")
    out = tmp_path / "run"
    proc = run_cli("study", "--config", str(config), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert set(data["settings"]) == {"none", "concat", "text"}
    assert "oracle" in data["settings"]["none"]
    assert 0 <= data["settings"]["text"]["mlp-bpr"]["test_accuracy"] <= 1
    assert "accuracy" in data["classifier"]["text+image"]
    assert "| concat | mlp-bpr |" in proc.stdout and "wrote" in proc.stdout
    assert "selected on the validation split" in proc.stdout and data["selection"]["text/mlp-bpr"]["settings"]
    assert "classifier: early stopping watches 10 % of train" in proc.stdout
    assert data["errors"] == []
    assert load_config(StudyConfig, out / "config.json").name == "cli-tiny"


def test_a_second_study_of_the_same_config_reads_the_stored_runs(tmp_path, capsys):
    config = write_config(tmp_path / "study.json", fusions=["concat"], models=["popularity", "dot"])
    assert main(["study", "--config", str(config), "--out", str(tmp_path / "one")]) == 0
    first = json.loads((tmp_path / "one" / "results.json").read_text())
    assert "ran before" not in capsys.readouterr().err
    assert main(["study", "--config", str(config), "--out", str(tmp_path / "two")]) == 0
    second = json.loads((tmp_path / "two" / "results.json").read_text())
    err = capsys.readouterr().err
    assert "ranking: the same config, data and embeddings ran before" in err
    assert "classifier: the same config" in err
    assert second["settings"] == first["settings"] and second["classifier"] == first["classifier"]
    assert main(["study", "--config", str(config), "--out", str(tmp_path / "three"), "--retrain"]) == 0
    assert "ran before" not in capsys.readouterr().err


def test_a_failed_job_is_listed_and_exits_3(tmp_path, capsys):
    """The classifier cannot train on 5 reviews: the ranking results stay, the failure is named, exit 3."""
    config = write_config(tmp_path / "study.json", fusions=["text"], models=["popularity"],
                          classifier={"epochs": 1, "max_images": 5, "modalities": ["text", "image"]})
    code = main(["-q", "study", "--config", str(config), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 3
    assert "2 requested job(s) failed or were skipped (exit code 3)" in out
    assert "classifier text: only 5 of" in out and "reviews have a loaded picture" in out
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [e["step"] for e in saved["errors"]] == ["classifier text", "classifier image"]
    assert "popularity" in saved["settings"]["none"]


def test_unknown_field_exits_2_with_one_line(tmp_path):
    config = write_config(tmp_path / "bad.json", train={"epochz": 3})
    proc = run_cli("study", "--config", str(config), timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "epochz" in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        (json.dumps({"fusions": ["mean"], "embed": {"encoder": "classic"}}), "mean"),
        (json.dumps({"models": ["sasrec"]}), "sasrec"),
    ],
)
def test_bad_configs_exit_2_in_process(tmp_path, capsys, content, match):
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content)
    assert main(["study", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and match in err and "\n" not in err


def test_write_default_round_trips(tmp_path, capsys):
    from mmrec_core.cli import default_study_config

    path = tmp_path / "default.json"
    assert main(["study", "--write-default", str(path), "--size", "tiny"]) == 0
    config = load_config(StudyConfig, path)
    assert config.data.demo_size == "tiny" and config.embed.encoder == "bundled"
    assert main(["study", "--write-default", str(tmp_path / "a.json"), "--preset", "study-a"]) == 0
    study_a = load_config(StudyConfig, tmp_path / "a.json")
    assert study_a.models == ("dot", "mlp-bpr") and study_a.classifier is None
    assert config.selection == SelectionConfig() and config.eval.max_users is None  # the small demos: full
    assert main(["study", "--write-default", str(tmp_path / "large.json"), "--size", "large"]) == 0
    large = load_config(StudyConfig, tmp_path / "large.json")
    assert large.selection.trials == 1 and large.selection.max_users == 2_000 and large.eval.max_users == 5_000
    assert large.train.batch_size == 1024 and large.fusions == config.fusions
    # the graph models propagate the whole graph each batch (minutes an epoch on large): named, not default
    assert large.models == tuple(m for m in config.models if m not in ("lightgcn", "freedom"))
    medium = default_study_config(size="medium")
    assert medium.models == config.models and {"lightgcn", "freedom"} <= set(config.models)


def test_bench_train_prints_one_json_object(monkeypatch, capsys):
    import mmrec_core.bench as bench

    monkeypatch.setattr(bench, "peak_gflops", lambda *a, **k: 100.0)  # the matmul peak alone takes ~15 s
    assert main(["-q", "bench", "train", "--pairs", "2000", "--dim", "32", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    result = json.loads(out)
    assert {"pairs_per_s", "naive_pairs_per_s"} <= set(result)
    assert result["pairs"] == 2000 and result["dim"] == 32


def test_demo_data_embed_and_cache(capsys):
    assert main(["demo-data", "--size", "tiny"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert Path(lines[0]).is_dir() and (Path(lines[0]) / "reviews.jsonl.gz").is_file()
    assert "items 60" in lines[1]

    assert main(["embed", "--size", "tiny", "--encoder", "classic", "--fusion", "concat"]) == 0
    assert main(["embed", "--size", "tiny", "--encoder", "classic", "--fusion", "text"]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second.startswith("60 items, from cache: text 60, image 60")

    assert main(["cache", "info"]) == 0
    assert "embeddings" in capsys.readouterr().out


def test_user_errors_exit_2(capsys, tmp_path):
    assert main(["demo-data", "--size", "huge"]) == 2
    assert "huge" in capsys.readouterr().err
    assert main(["embed", "--reviews", str(tmp_path / "r.jsonl"), "--meta", str(tmp_path / "m.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["embed", "--size", "tiny", "--encoder", "clip", "--checkpoint", str(tmp_path / "none")]) == 2
    # without a terminal, progress of the demo's generation comes first as log lines; the error ends it
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error:")


def _fill_cache(root: Path) -> None:
    from mmrec_core.cache import VectorStore

    VectorStore.open("enc", "id", "text", 2, root=root / "embeddings").put(["k"], [[1.0, 0.0]])
    for part, name in (("images", "ab/cd.jpg"), ("demo", "default-tiny-s0/meta.jsonl.gz"),
                       ("uploads", "0123456789abcdef/reviews.jsonl"), ("runs", "demo-small-20260101/results.json")):
        (root / part / name).parent.mkdir(parents=True, exist_ok=True)
        (root / part / name).write_bytes(b"x" * 100)


def test_cache_info_shows_every_part_and_clear_takes_what(tmp_path, monkeypatch, capsys):
    from mmrec_core.cache import CACHE_PARTS
    from mmrec_core.cli import CACHE_WHAT

    assert CACHE_WHAT == (*CACHE_PARTS, "all")
    root = tmp_path / "cache"
    monkeypatch.setenv("MMREC_CACHE_DIR", str(root))
    _fill_cache(root)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    for part in ("embeddings", "images", "demo", "uploads", "runs"):
        assert f"{part} {root / part}: " in out
    assert "uploads" in out and "1 files, 100 B" in out and "enc text: 1 vectors" in out

    assert main(["cache", "clear"]) == 0  # default: the embeddings only
    assert not (root / "embeddings").exists() and (root / "images" / "ab" / "cd.jpg").exists()
    assert "cleared embeddings" in capsys.readouterr().out
    assert main(["cache", "clear", "--what", "images", "--what", "uploads"]) == 0
    assert not (root / "images").exists() and not (root / "uploads").exists()
    assert (root / "demo").exists() and (root / "runs").exists()
    assert main(["cache", "clear", "--what", "all"]) == 0
    assert sorted(p.name for p in root.iterdir()) == []
    assert main(["cache", "clear", "--what", "all"]) == 0  # nothing there: fine
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["cache", "clear", "--what", "home"])


def test_cache_clear_never_deletes_outside_the_cache_root(tmp_path, monkeypatch, capsys):
    root, outside = tmp_path / "cache", tmp_path / "precious"
    monkeypatch.setenv("MMREC_CACHE_DIR", str(root))
    outside.mkdir()
    (outside / "thesis.txt").write_text("keep me")
    root.mkdir()
    (root / "images").symlink_to(outside, target_is_directory=True)  # a part that is a link leading out
    assert main(["cache", "info"]) == 0
    assert "images: " in capsys.readouterr().out
    assert main(["cache", "clear", "--what", "images"]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and len(err.strip().splitlines()) == 1
    assert (outside / "thesis.txt").read_text() == "keep me" and (root / "images").is_symlink()
    (root / "images").unlink()
    (root / "demo" / "default-tiny-s0").mkdir(parents=True)
    (root / "demo" / "default-tiny-s0" / "out").symlink_to(outside, target_is_directory=True)  # a link inside
    (root / "demo" / "thesis-link.txt").symlink_to(outside / "thesis.txt")
    assert main(["cache", "info"]) == 0
    assert main(["cache", "clear", "--what", "demo", "--what", "embeddings"]) == 0
    assert not (root / "demo").exists()
    assert (outside / "thesis.txt").read_text() == "keep me"
    (root / "embeddings").symlink_to(outside, target_is_directory=True)
    assert main(["cache", "clear", "--what", "all"]) == 2
    assert (outside / "thesis.txt").read_text() == "keep me"


def test_a_damaged_gzip_is_one_line_exit_2_or_a_loud_warning(tmp_path, monkeypatch, capsys):
    import gzip

    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))

    def gz(path: Path, records: list[dict], cut: int) -> Path:
        data = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
        path.write_bytes(data[:-cut])
        return path

    def review(i: int, rating: float) -> dict:
        return {"rating": rating, "parent_asin": f"P{i % 5}", "user_id": f"u{i}", "timestamp": 1_600_000_000_000 + i,
                "text": f"review {i} " + "w" * (i % 50)}

    metas = gz(tmp_path / "meta.jsonl.gz", [{"parent_asin": f"P{i}", "title": f"item {i}"} for i in range(5)], cut=0)
    unusable = gz(tmp_path / "zero.jsonl.gz", [review(i, 0.0) for i in range(3000)], cut=100)
    args = ["embed", "--encoder", "classic", "--meta", str(metas), "--reviews"]
    assert main([*args, str(unusable)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]  # progress log lines may come first
    assert errors == [err[-1]] and "zero.jsonl.gz" in err[-1] and "damaged" in err[-1]
    usable = gz(tmp_path / "half.jsonl.gz", [review(i, 5.0) for i in range(3000)], cut=100)
    assert main([*args, str(usable)]) == 0
    captured = capsys.readouterr()
    assert "5 items" in captured.out and "half.jsonl.gz is damaged after line" in captured.err


# --- hostile input: every bad config value is one line and exit 2 --------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (json.dumps({"train": {"epochs": "5"}}), 'train.epochs must be an integer in 1..10000, got "5"'),
        (json.dumps({"train": {"epochs": True}}), "train.epochs"),
        (json.dumps({"train": {"lr": -1}}), "train.lr"),
        (json.dumps({"seeds": ["a"]}), "seeds[0]"),
        (json.dumps({"eval": {"ks": []}}), "eval.ks"),
        (json.dumps({"split": {"train_frac": 1.5}}), "split.train_frac"),
        (json.dumps({"data": {"sample_percent": "5"}}), "data.sample_percent"),
        (json.dumps({"images": {"timeout_s": None}}), "images.timeout_s"),
        (json.dumps({"fusions": "text"}), "fusions must be a list"),
        (json.dumps({"embed": {"device": "cuda:7"}}), "embed.device"),
        (json.dumps("a string"), "JSON object"),
        ("5", "JSON object"),
        (DEEP, "nested too deeply"),
    ],
)
def test_hostile_configs_exit_2_with_one_line_naming_the_field(tmp_path, capsys, content, match):
    import torch

    if "cuda:7" in content and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    path = tmp_path / "c.json"
    path.write_text(content)
    assert main(["study", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and match in err and "\n" not in err


def test_command_line_overrides_are_checked_like_the_file(tmp_path, capsys):
    path = write_config(tmp_path / "c.json")
    assert main(["study", "--config", str(path), "--epochs", "0"]) == 2
    assert "train.epochs" in capsys.readouterr().err
    assert main(["embed", "--size", "tiny", "--encoder", "classic", "--batch-size", "0"]) == 2
    assert "embed.batch_size" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly_without_a_traceback():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mmrec_core", "cache", "info"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line (`| true`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_progress_without_a_terminal_is_logged_and_throttled(caplog):
    from mmrec_core.cli import TqdmProgress
    from mmrec_core.progress import ProgressEvent

    logging.getLogger("mmrec").propagate = True  # restored by _restore_logging
    now = [0.0]
    progress = TqdmProgress(every_s=5.0, clock=lambda: now[0])
    assert progress.lines  # pytest's stderr is not a terminal
    with caplog.at_level(logging.INFO, logger="mmrec.cli"):
        for done in range(1, 101):
            now[0] = done * 0.1  # 100 events over 10 s
            progress(ProgressEvent("train mlp-bpr", done, 100, unit="batches", metrics={"loss": 0.5}))
    lines = [r.getMessage() for r in caplog.records if r.name == "mmrec.cli"]
    assert 2 <= len(lines) <= 4, lines  # the start, one every 5 s, the end
    assert lines[0].startswith("train mlp-bpr 1/100 batches") and "loss 0.5" in lines[0]
    assert lines[-1].startswith("train mlp-bpr 100/100 batches")


def test_recommend_from_words_prints_the_parse_and_the_named_products(capsys):
    from mmrec_core.config import DataConfig
    from mmrec_core.data.sources import load_dataset

    assert main(["-q", "recommend", "--size", "tiny", "--text", "I love sunglasses, no checks", "-k", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "read as likes: sunglasses · dislikes: checks"
    ids = [line.split()[2] for line in out[1:]]
    assert len(ids) == 4
    kinds = load_dataset(DataConfig(demo_size="tiny")).truth.item_attributes.set_index("item_id").loc[ids, "kind"]
    assert (kinds == "sunglasses").all()


@pytest.mark.parametrize("args, match", [
    (["--text", "no"], "no words to go on"),
    (["--text", "hats", "--encoder", "classic"], "two spaces"),
    (["--text", "hats", "--history-weight", "0.5"], "--user"),
    (["--text", "hats", "--user", "nobody"], "no reviews by user"),
])
def test_recommend_refuses_what_it_cannot_do_in_one_line(capsys, args, match):
    assert main(["-q", "recommend", "--size", "tiny", *args]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
