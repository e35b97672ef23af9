"""Reading a run back: a damaged results.json is one RunFileError line; run folders never leave runs/."""

from __future__ import annotations

import json

import pytest

from mmrec_core.config import StudyConfig, save_config
from mmrec_core.results import StudyResult, default_run_dir, runs_dir
from mmrec_core.run_files import RunFileError

ROW = {"setting": "text", "model": "dot", "seed": 42, "ndcg@10": 0.3, "error": None}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (json.dumps([]), "must be an object"),
        (json.dumps({"rows": {"a": 1}}), "rows must be a list"),
        (json.dumps({"rows": [{"model": "dot", "seed": 1}]}), "rows.0. has no 'setting'"),
        (json.dumps({"rows": [{**ROW, "seed": True}]}), "seed must be an integer"),
        (json.dumps({"rows": [{**ROW, "ndcg@10": [1]}]}), "ndcg@10 must be a number"),
        (json.dumps({"rows": [{**ROW, "error": 5}]}), "error must be a string"),
        ('{"rows": [{"setting": "text", "model": "dot", "seed": 42, "ndcg@10": Infinity}]}', "finite"),
        ('{"rows": NaN}', "rows must be a list"),
        (json.dumps({"histories": {"text/dot": [5]}}), "histories"),
        (json.dumps({"classifier": {"text": {"best_epoch": "3"}}}), "best_epoch"),
        (json.dumps({"errors": [{"step": ["x"]}]}), "errors"),
        (json.dumps({"dataset": []}), "dataset must be an object"),
        (json.dumps({"selection": []}), "selection must be an object"),
        (json.dumps({"selection": {"bpr-mf": {}}}), "setting/model"),
        (json.dumps({"selection": {"none/bpr-mf": {"settings": {"lr": [1]}}}}), "settings.lr"),
        (json.dumps({"selection": {"none/bpr-mf": {"validation": "high"}}}), "validation must be a number"),
        (json.dumps({"selection": {"none/bpr-mf": {"trials": [3]}}}), "trials.0. must be an object"),
        ("[" * 100_000, "nested too deeply"),
        ("\xff", "not valid JSON"),
    ],
)
def test_a_damaged_results_file_is_one_clear_error(tmp_path, text, match):
    save_config(StudyConfig(), tmp_path / "config.json")
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(RunFileError, match=match) as info:
        StudyResult.from_json(tmp_path)
    assert "\n" not in str(info.value) and "results.json" in str(info.value)


def test_a_damaged_config_beside_good_results_is_a_run_file_error(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"rows": [ROW]}))
    (tmp_path / "config.json").write_text(json.dumps({"train": {"epochs": "5"}}))
    with pytest.raises(RunFileError, match="config.json.*train.epochs"):
        StudyResult.from_json(tmp_path)


def test_nan_metrics_and_unknown_plain_keys_still_read(tmp_path):
    save_config(StudyConfig(), tmp_path / "config.json")
    (tmp_path / "results.json").write_text('{"rows": [' + json.dumps({**ROW, "new_metric": 1}).replace("0.3", "NaN")
                                           + '], "something_new": {"kept": true}}')
    result = StudyResult.from_json(tmp_path)
    assert list(result.results["model"]) == ["dot"]


@pytest.mark.parametrize("name", ["/tmp/ESCAPE/owned", "../../../x", "..", ".hidden", "a/b\\c", "", "x" * 5000,
                                  "nul\x00byte", "tab\tand\nnewline", "名前"])
def test_run_folders_stay_inside_the_runs_folder(name):
    folder = default_run_dir(name)
    assert folder.parent == runs_dir()
    assert not folder.name.startswith(".") and len(folder.name) <= 100
    assert all(c.isascii() and (c.isalnum() or c in "-_.") for c in folder.name), folder.name
