import json

import pytest

from mmrec_core.config import (
    DataConfig,
    StudyConfig,
    TrainConfig,
    cache_dir,
    from_dict,
    load_config,
    save_config,
    to_dict,
)


def test_study_config_round_trips_through_json(tmp_path):
    config = StudyConfig(name="x", data=DataConfig(demo_size="tiny"), fusions=("text",), seeds=(1, 2))
    path = save_config(config, tmp_path / "config.json")
    assert json.loads(path.read_text())["config_type"] == "StudyConfig"
    assert load_config(StudyConfig, path) == config


def test_nested_none_and_tuples_are_restored():
    config = StudyConfig(classifier=None, train=TrainConfig(early_stopping_patience=3))
    back = from_dict(StudyConfig, to_dict(config))
    assert back.classifier is None
    assert back.train.early_stopping_patience == 3
    assert isinstance(back.models, tuple)


def test_unknown_field_is_named_in_the_error():
    with pytest.raises(ValueError, match="epochz"):
        from_dict(TrainConfig, {"epochz": 3})
    with pytest.raises(ValueError, match="demo_sise"):
        from_dict(StudyConfig, {"data": {"demo_sise": "tiny"}})


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().epochs = 9  # type: ignore[misc]


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    assert cache_dir().is_dir()
