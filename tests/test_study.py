"""The study runner end to end on the tiny demo catalogue (classic encoder: no weights, instant)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from mmrec_core.config import (
    ClassifierConfig,
    DataConfig,
    EmbedConfig,
    SelectionConfig,
    SplitConfig,
    StudyConfig,
    TrainConfig,
    load_config,
)
from mmrec_core.models.registry import RANKERS
from mmrec_core.results import NO_CONTENT, StudyResult, list_runs
from mmrec_core.study import (
    StudyConfigError,
    load_data,
    model_train_config,
    prepare_interactions,
    run_classifier,
    run_ranking,
    run_study,
    validate_config,
)

CONTENT_MODELS = ("dot", "mlp-bpr", "vbpr", "freedom")
FAST_SELECTION = SelectionConfig(max_epochs=3, patience=2, trials=2)
FUSIONS = ("concat", "text", "image")


def tiny_config(**changes) -> StudyConfig:
    base = StudyConfig(
        name="tiny-test",
        data=DataConfig(demo_size="tiny"),
        embed=EmbedConfig(encoder="classic"),
        fusions=FUSIONS,
        train=TrainConfig(epochs=2),
        classifier=ClassifierConfig(epochs=2, max_images=400),
        selection=FAST_SELECTION,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One full run shared by the tests below: (result, output folder, events, epochs)."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    events, epochs = [], []
    result = run_study(tiny_config(), progress=events.append, on_epoch=epochs.append, out_dir=out)
    return result, out, events, epochs


def test_every_setting_and_model_has_a_row(study):
    result, *_ = study
    rows = result.results
    got = set(zip(rows["setting"], rows["model"], strict=True))
    want = {(NO_CONTENT, m) for m in ("popularity", "bpr-mf", "lightgcn", "oracle")}
    want |= {(f, m) for f in FUSIONS for m in CONTENT_MODELS}
    assert got == want
    assert rows["error"].isna().all(), rows.loc[rows["error"].notna(), ["setting", "model", "error"]]
    assert len(rows) == len(want)  # content-free models are not repeated per fusion


def test_accuracies_and_counts_are_sane(study):
    rows = study[0].results
    for col in ("train_accuracy", "test_accuracy", "auc", "recall@10", "ndcg@10", "hr@10", "coverage@10"):
        assert rows[col].between(0, 1).all(), col
    assert (rows["n_train_pairs"] > 0).all() and (rows["n_test_pairs"] > 0).all()
    assert (rows["novelty@10"] > 0).all()


def test_oracle_is_the_ceiling(study):
    rows = study[0].results.set_index(["setting", "model"])
    oracle = rows.loc[(NO_CONTENT, "oracle"), "ndcg@10"]
    learned = rows.drop(index=(NO_CONTENT, "oracle"))["ndcg@10"]
    assert oracle >= learned.max()


def test_classifier_runs_every_modality_on_the_same_rows(study):
    result = study[0]
    assert set(result.classifier) == {"text+image", "text", "image"}
    for out in result.classifier.values():
        assert 0 <= out["accuracy"] <= 1
        assert np.array(out["confusion_matrix"]).shape == (5, 5)
        assert np.array(out["confusion_matrix"]).sum() == out["n_test"] == len(out["y_pred"])
        assert len(out["history"]["loss"]) >= 1
    assert result.classifier_info["rows"] == 400  # the max_images cap
    dims = {m: out["dim"] for m, out in result.classifier.items()}
    assert dims["text+image"] == dims["text"] + dims["image"]


def test_json_has_the_study_shape_and_reads_back(study):
    result, out, *_ = study
    data = json.loads((out / "results.json").read_text())
    for key in ("settings", "classifier", "protocol", "seeds"):
        assert key in data
    mlp = data["settings"]["concat"]["mlp-bpr"]
    for key in ("test_accuracy", "train_accuracy", "n_train_pairs", "n_test_pairs", "recall@10", "ndcg@10"):
        assert key in mlp
    assert isinstance(mlp["n_train_pairs"], int)
    assert "per-user random 80/20" in data["protocol"]
    per = json.loads((out / "results_text.json").read_text())
    assert per["setting"] == "text" and set(per["models"]) == set(CONTENT_MODELS)
    assert load_config(StudyConfig, out / "config.json") == result.config

    back = StudyResult.from_json(out)
    assert back.config == result.config
    pd.testing.assert_frame_equal(
        back.results[["setting", "model", "seed", "ndcg@10"]],
        result.results[["setting", "model", "seed", "ndcg@10"]],
        check_dtype=False,
    )
    assert back.classifier["text"]["accuracy"] == pytest.approx(result.classifier["text"]["accuracy"])
    assert back.histories.keys() == result.histories.keys()
    assert back.to_markdown() == result.to_markdown()


def test_progress_epochs_histories_and_tests(study):
    result, out, events, epochs = study
    stages = {e.stage for e in events}
    assert {"study: ranking", "train concat/mlp-bpr trial 1", "train concat/mlp-bpr trial 2"} <= stages
    assert "train concat/mlp-bpr refit" in stages
    mlp = [e for e in epochs if e.get("setting") == "concat" and e.get("model") == "mlp-bpr"]
    trial1 = [e["epoch"] for e in mlp if e.get("trial") == 1]
    assert trial1 == list(range(1, len(trial1) + 1)) and 1 <= len(trial1) <= 3
    assert all("loss" in e for e in mlp) and any(e.get("phase") == "refit" for e in mlp)
    assert any(e.get("setting") == "classifier" for e in epochs)
    history = result.histories["concat/mlp-bpr"]
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    assert all("val ndcg@10" in h for h in history)
    tests = result.paired_tests("ndcg@10")
    assert not tests.empty and (tests["over"] == "users").all()
    assert tests["p"].between(0, 1).all()
    assert list_runs(out.parent) == [out]
    assert {"load", "embed", "ranking", "classifier", "total"} <= set(result.timings)


def test_selected_settings_are_in_the_result_and_the_json(study):
    result, out, *_ = study
    trained = {(s, m) for s, m in zip(result.results["setting"], result.results["model"], strict=True)
               if m in RANKERS and RANKERS[m].trained}
    assert {tuple(k.split("/", 1)) for k in result.selection} == trained
    chosen = result.selection["none/bpr-mf"]
    assert chosen["metric"] == "ndcg@10" and len(chosen["trials"]) == 2 and chosen["refit"] is True
    assert set(chosen["settings"]) >= {"lr", "weight_decay", "factors", "epochs"}
    assert 1 <= chosen["settings"]["epochs"] <= 3
    row = result.results.set_index(["setting", "model"]).loc[(NO_CONTENT, "bpr-mf")]
    assert row["val_ndcg@10"] == pytest.approx(chosen["validation"])
    saved = json.loads((out / "results.json").read_text())
    assert saved["selection"]["none/bpr-mf"]["settings"] == chosen["settings"]
    assert StudyResult.from_json(out).selection_table().equals(result.selection_table())
    assert "validation" in result.protocol and "selected on validation ndcg@10" in result.protocol


def test_a_failing_model_is_recorded_and_the_rest_kept(monkeypatch, tmp_path):
    import mmrec_core.models.registry as registry

    real = registry.create_ranker

    def flaky(name, config=None):
        if name == "vbpr":
            raise RuntimeError("boom")
        return real(name, config)

    monkeypatch.setattr(registry, "create_ranker", flaky)
    config = tiny_config(fusions=("text",), models=("popularity", "vbpr"), classifier=None)
    result = run_study(config, out_dir=tmp_path)
    rows = result.results.set_index(["setting", "model"])
    assert "boom" in rows.loc[("text", "vbpr"), "error"]
    assert pd.isna(rows.loc[(NO_CONTENT, "popularity"), "error"])
    assert result.errors and "boom" in result.errors[0]["error"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert "boom" in saved["settings"]["text"]["vbpr"]["error"]
    assert "popularity" in saved["settings"][NO_CONTENT]
    assert "error: RuntimeError: boom" in result.to_markdown()


def test_seeds_give_mean_and_spread():
    from mmrec_core.data.sources import load_dataset

    config = tiny_config(fusions=("text",), models=("bpr-mf",), seeds=(1, 2), classifier=None)
    data = prepare_interactions(load_dataset(config.data), config)
    result = run_ranking(config, data)
    assert sorted(result.results.query("model == 'bpr-mf'")["seed"]) == [1, 2]
    summary = result.summary().set_index("model")
    assert summary.loc["bpr-mf", "n_seeds"] == 2 and "ndcg@10_std" in summary
    entry = result.settings_dict()[NO_CONTENT]["bpr-mf"]
    assert [s["seed"] for s in entry["per_seed"]] == [1, 2] and "std" in entry
    assert "±" in result.to_markdown()


def test_model_defaults_apply_only_where_the_config_keeps_the_default():
    assert model_train_config("bpr-mf", TrainConfig(), 7).epochs == 60
    mine = model_train_config("bpr-mf", TrainConfig(epochs=2), 7)
    assert mine.epochs == 2 and mine.seed == 7 and mine.lr == 1e-3 and mine.weight_decay == 1e-2
    assert model_train_config("mlp-bpr", TrainConfig(), 3) == dataclasses.replace(TrainConfig(), seed=3, batch_size=32)
    assert model_train_config("dot", TrainConfig(), 3) == dataclasses.replace(TrainConfig(), seed=3)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"fusions": ("concat", "sum")}, "fusion 'sum'"),
        ({"models": ("mlp-bpr", "sasrec")}, "model 'sasrec'"),
        ({"fusions": ("mean",)}, "mean"),
        ({"embed": EmbedConfig(encoder="nope")}, "encoder 'nope'"),
        ({"seeds": ()}, "seeds"),
        ({"classifier": ClassifierConfig(modalities=("audio",))}, "audio"),
    ],
)
def test_invalid_configs_fail_before_any_work(changes, match):
    with pytest.raises(StudyConfigError, match=match):
        validate_config(tiny_config(**changes))


def test_fixed_epochs_can_monitor_test_ndcg_per_epoch_without_selecting_on_it():
    from mmrec_core.config import EvalConfig
    from mmrec_core.data.sources import load_dataset

    config = tiny_config(fusions=(), models=("bpr-mf",), classifier=None, selection=None,
                         eval=EvalConfig(monitor_epochs=True))
    data = prepare_interactions(load_dataset(config.data), config)
    result = run_ranking(config, data)
    epochs = result.histories["none/bpr-mf"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(0 <= e["test ndcg@10"] <= 1 for e in epochs)
    assert "best_epoch" not in epochs[-1]  # monitored, not selected on
    assert result.selection == {} and "fixed epochs" in result.protocol


def test_freedom_reads_each_settings_modalities_unfused():
    """text only, image only, both: one item graph per modality the setting holds (issue 11's ablation)."""
    config = tiny_config(models=("freedom",), classifier=None, selection=None, train=TrainConfig(epochs=1))
    result = run_study(config, keep_models=True)
    names = {setting: model.net.names for (setting, name, _s), model in result.models.items() if name == "freedom"}
    assert names == {"concat": ["text", "image"], "text": ["text"], "image": ["image"]}
    assert result.results["error"].isna().all()


def test_an_interrupted_run_keeps_every_finished_model(monkeypatch, tmp_path):
    import mmrec_core.ranking as ranking

    real, calls = ranking._fit_one, []

    def fit_or_interrupt(*args, **kwargs):
        calls.append(args[3])  # (config, data, setting, model, ...)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third model
        return real(*args, **kwargs)

    monkeypatch.setattr(ranking, "_fit_one", fit_or_interrupt)
    config = tiny_config(fusions=("text",), models=("popularity", "bpr-mf", "dot"), classifier=None, selection=None)
    with pytest.raises(KeyboardInterrupt):
        run_study(config, out_dir=tmp_path / "run")
    saved = StudyResult.from_json(tmp_path / "run")
    assert list(saved.results["model"]) == calls[:2] == ["popularity", "bpr-mf"], "both finished models written"


def test_a_stopped_run_keeps_the_finished_models_whole(tmp_path):
    """Stop (the dashboard's button) during the last model's second seed: the finished models stay, every
    trace of the stopped one goes (its finished seed, curve, fitted model), and the result says where."""
    import threading

    from mmrec_core.progress import cancellable

    stop = threading.Event()

    def on_epoch(record):
        if record["model"] == "mlp-bpr" and record["seed"] == 1 and record["epoch"] == 2:
            stop.set()  # the next batch ends the run

    config = tiny_config(fusions=("text",), models=("popularity", "bpr-mf", "dot", "mlp-bpr"), classifier=None,
                         selection=None, seeds=(0, 1), train=TrainConfig(epochs=3))
    with cancellable(stop):
        result = run_study(config, on_epoch=on_epoch, out_dir=tmp_path / "run", keep_models=True)
    finished = ["popularity", "bpr-mf", "oracle", "dot"]  # content-free models and the oracle run first
    assert result.stopped == "stopped by the user after 4 of 5 models, while training mlp-bpr"
    assert list(dict.fromkeys(result.results["model"])) == finished
    assert {name for _s, name, _seed in result.models} == set(finished)
    assert {name for _s, name, _seed in result.per_user} == set(finished)
    assert not any(key.endswith("/mlp-bpr") for key in result.histories), "the stopped model's curve is gone"
    saved = StudyResult.from_json(tmp_path / "run")
    assert saved.stopped == result.stopped and len(saved.results) == 8  # 4 models x 2 seeds


def test_a_run_that_is_not_stopped_says_nothing_about_stopping():
    config = tiny_config(fusions=("text",), models=("popularity",), classifier=None)
    assert run_study(config).stopped == ""


def test_a_stopped_classifier_keeps_the_modalities_that_finished():
    import threading

    from mmrec_core.progress import cancellable

    stop = threading.Event()

    def on_epoch(record):
        if record["model"] == "text":
            stop.set()

    config = tiny_config(models=(), classifier=ClassifierConfig(modalities=("image", "text", "text+image"),
                                                                epochs=3, max_images=400))
    with cancellable(stop):
        outputs, info = run_classifier(config, load_data(config), None, on_epoch=on_epoch)
    assert list(outputs) == ["image"] and "accuracy" in outputs["image"]
    assert info["stopped"] == "stopped by the user after 1 of 3 modalities"


def test_a_study_refuses_early_stopping_outside_selection():
    config = tiny_config(train=TrainConfig(early_stopping_patience=3))
    with pytest.raises(StudyConfigError, match="selection.patience"):
        validate_config(config)


def test_selection_needs_a_validation_split():
    with pytest.raises(StudyConfigError, match="validation_frac"):
        validate_config(tiny_config(split=SplitConfig(validation_frac=0.0)))
    validate_config(tiny_config(split=SplitConfig(validation_frac=0.0), selection=None))
    with pytest.raises(StudyConfigError, match="metric"):
        validate_config(tiny_config(selection=SelectionConfig(metric="ndcg@0")))


def test_two_identical_runs_give_identical_metrics():
    """Ties (popularity, the oracle) break by lower item index: every metric repeats exactly."""
    from mmrec_core.data.sources import load_dataset

    config = tiny_config(fusions=("text",), models=("popularity", "dot", "bpr-mf"), classifier=None)
    dataset = load_dataset(config.data)
    runs = [run_ranking(config, prepare_interactions(dataset, config)).results for _ in range(2)]
    metrics = [c for c in runs[0].columns if c not in ("fit_seconds", "eval_seconds", "error")]
    pd.testing.assert_frame_equal(runs[0][metrics], runs[1][metrics])


def test_a_setting_without_usable_features_is_skipped_with_its_reason(tmp_path):
    """No picture loaded: the image setting is not scored by ties, and says why; the text setting runs."""
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.study import embed_catalogue

    config = tiny_config(fusions=("image", "text"), models=("dot", "mlp-bpr"), classifier=None)
    dataset = load_dataset(config.data)
    emb = embed_catalogue(dataset, config)
    emb = dataclasses.replace(emb, image_ok=np.zeros_like(emb.image_ok), image=np.zeros_like(emb.image))
    result = run_ranking(config, prepare_interactions(dataset, config), emb)
    rows = result.results.set_index(["setting", "model"])
    for model in ("dot", "mlp-bpr"):
        assert rows.loc[("image", model), "error"].startswith("skipped: 0 of 60 items have a picture")
        assert pd.isna(rows.loc[("image", model), "ndcg@10"]) if "ndcg@10" in rows else True
        assert pd.isna(rows.loc[("text", model), "error"])
    assert [e["step"] for e in result.errors] == ["image/dot seed 42", "image/mlp-bpr seed 42"]
    assert "Load report" in result.errors[0]["error"]


def test_identical_features_are_unusable_too():
    from mmrec_core.embeddings import Fused
    from mmrec_core.study import unusable_features

    ones = np.ones((5, 3), np.float32)
    assert "identical" in unusable_features(Fused(ones, np.ones(5, bool), 0), "text")
    assert "1 of 5 items" in unusable_features(Fused(ones, np.eye(5, dtype=bool)[0], 0), "concat")
    assert unusable_features(Fused(np.eye(5, 3, dtype=np.float32), np.ones(5, bool), 0), "text") is None
