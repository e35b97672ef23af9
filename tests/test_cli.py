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
from mmrec_core.config import StudyConfig, load_config

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


def write_config(path: Path, **fields) -> Path:
    payload = {
        "name": "cli-tiny",
        "data": {"demo_size": "tiny"},
        "embed": {"encoder": "classic"},
        "fusions": ["concat", "text"],
        "models": ["popularity", "dot", "mlp-bpr"],
        "train": {"epochs": 1},
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
    assert load_config(StudyConfig, out / "config.json").name == "cli-tiny"


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
        (json.dumps({"models": ["lightgcn"]}), "lightgcn"),
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
    path = tmp_path / "default.json"
    assert main(["study", "--write-default", str(path), "--size", "tiny"]) == 0
    config = load_config(StudyConfig, path)
    assert config.data.demo_size == "tiny" and config.embed.encoder == "bundled"
    assert main(["study", "--write-default", str(tmp_path / "a.json"), "--preset", "study-a"]) == 0
    study_a = load_config(StudyConfig, tmp_path / "a.json")
    assert study_a.models == ("dot", "mlp-bpr") and study_a.classifier is None


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
