import dataclasses
import json
import re
import typing

import pytest

from mmrec_core.config import (
    ClassifierConfig,
    ConfigError,
    DataConfig,
    EmbedConfig,
    EvalConfig,
    ImageConfig,
    RetrievalConfig,
    SplitConfig,
    StudyConfig,
    TrainConfig,
    cache_dir,
    from_dict,
    load_config,
    parse_config,
    save_config,
    to_dict,
    validate,
)
from mmrec_core.rules import RULES


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


# --- validation: every field, one line naming it ------------------------------------------------------

BAD_VALUES = [
    ({"train": {"epochs": "5"}}, 'train.epochs must be an integer in 1..10000, got "5"'),
    ({"train": {"epochs": 1e9}}, "train.epochs"),
    ({"train": {"epochs": 10**9}}, "train.epochs"),
    ({"train": {"epochs": 0}}, "train.epochs"),
    ({"train": {"epochs": -3}}, "train.epochs"),
    ({"train": {"epochs": True}}, "train.epochs .* got true"),
    ({"train": {"lr": -1}}, "train.lr"),
    ({"train": {"lr": float("nan")}}, "train.lr"),
    ({"train": {"threads": 0}}, "train.threads"),
    ({"train": {"negatives": "some"}}, "negatives mode 'some' in train.negatives"),
    ({"seeds": ["a"]}, r"seeds\[0\]"),
    ({"seeds": []}, "seeds"),
    ({"seeds": 42}, "seeds must be a list"),
    ({"eval": {"ks": [0]}}, r"eval.ks\[0\]"),
    ({"eval": {"ks": []}}, "eval.ks"),
    ({"eval": {"chunk_size": 0}}, "eval.chunk_size"),
    ({"eval": {"exclude_seen": 1}}, "eval.exclude_seen must be true or false"),
    ({"split": {"train_frac": 1.5}}, "split.train_frac"),
    ({"split": {"protocol": "random"}}, "split protocol 'random' in split.protocol"),
    ({"data": {"sample_percent": 0}}, "data.sample_percent"),
    ({"data": {"sample_percent": "5"}}, "data.sample_percent"),
    ({"data": {"source": "s3"}}, "data source 's3' in data.source"),
    ({"data": {"demo_size": "huge"}}, "demo size 'huge' in data.demo_size"),
    ({"data": {"category": "../../etc"}}, "data.category"),
    ({"images": {"timeout_s": None}}, "images.timeout_s .* got null"),
    ({"images": {"timeout_s": 0}}, "images.timeout_s"),
    ({"images": {"timeout_s": -1}}, "images.timeout_s"),
    ({"embed": {"encoder": "nope"}}, "encoder 'nope' in embed.encoder"),
    ({"embed": {"device": "gpu"}}, "embed.device"),
    ({"fusions": "text"}, 'fusions must be a list of strings, got "text"'),
    ({"fusions": ["text", "text"]}, "fusions lists a value twice"),
    ({"fusions": ["sum"]}, r"fusion 'sum' in fusions\[0\]"),
    ({"models": ["sasrec"]}, r"model 'sasrec' in models\[0\]"),
    ({"classifier": {"modalities": "text"}}, "classifier.modalities must be a list"),
    ({"classifier": {"modalities": ["audio"]}}, "classifier modality 'audio'"),
    ({"classifier": {"validation": "val"}}, "validation mode 'val' in classifier.validation"),
    ({"classifier": {"class_weight": "auto"}}, "classifier.class_weight"),
    ({"classifier": {"lr_factor": 1}}, "classifier.lr_factor"),
    ({"train": 5}, r"train must be .*TrainConfig.*got 5"),
    ({"train": None}, "train must be .* got null"),
    ({"name": ""}, "name"),
]


@pytest.mark.parametrize(("data", "match"), BAD_VALUES)
def test_bad_values_are_refused_in_one_line_naming_the_field(data, match):
    with pytest.raises(ConfigError, match=match) as info:
        from_dict(StudyConfig, data)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('"a string"', "must be a JSON object"),
        ("5", "must be a JSON object"),
        ("[1, 2]", "must be a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"train": ' * 10_000 + "{}" + "}" * 10_000, "nested too deeply"),
        (" " * 2_000_000, "bytes"),
        ("{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ('{"seeds": [' + "1" * 5000 + "]}", "not valid JSON"),
    ],
)
def test_text_that_is_not_a_config_is_refused_in_one_line(text, match):
    with pytest.raises(ConfigError, match=match) as info:
        parse_config(StudyConfig, text)
    assert "\n" not in str(info.value)


def test_load_config_refuses_a_bad_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"train": {"epochs": 0}}))
    with pytest.raises(ConfigError, match="train.epochs"):
        load_config(StudyConfig, path)


def _leaves(cls, prefix=""):
    """(dotted path, field, type hint) of every non-config field of ``cls``, nested configs included."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        inner = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)] or (
            [hint] if dataclasses.is_dataclass(hint) else [])
        if inner:
            yield from _leaves(inner[0], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hint


def _nest(path: str, value):
    out = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


@pytest.mark.parametrize(("path", "hint"), list(_leaves(StudyConfig)), ids=lambda v: str(v))
def test_every_field_refuses_a_value_of_the_wrong_type(path, hint):
    wrong = [{"a": 1}, [[1]]] + ([] if "bool" in str(hint) else [True]) + (["5"] if "str" not in str(hint) else [])
    for value in wrong:
        with pytest.raises(ConfigError, match=re.escape(path)):
            from_dict(StudyConfig, _nest(path, value))


def test_every_field_of_every_config_has_a_rule():
    # A new field needs its bounds or names declared beside its class (mmrec_core.config: rules(...)).
    for cls in (DataConfig, ImageConfig, SplitConfig, EmbedConfig, TrainConfig, EvalConfig, ClassifierConfig,
                StudyConfig, RetrievalConfig):
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in RULES.get(cls, {})]
        assert not missing, f"{cls.__name__} fields without a rule: {missing}"


def test_defaults_and_presets_are_valid():
    from mmrec_core.cli import PRESETS, default_study_config

    validate(StudyConfig())
    for preset in PRESETS:
        validate(default_study_config(preset, "tiny"))


def test_configs_built_in_code_are_checked_too():
    with pytest.raises(ConfigError, match="train.epochs"):
        validate(StudyConfig(train=TrainConfig(epochs=0)))
    with pytest.raises(ConfigError, match="eval.ks"):
        validate(StudyConfig(eval=EvalConfig(ks=())))
    with pytest.raises(ConfigError, match="batch_size"):
        validate(TrainConfig(batch_size=True))


def test_a_device_this_machine_lacks_is_refused_before_a_run_but_a_saved_run_still_reads():
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    config = StudyConfig(embed=EmbedConfig(device="cuda:7"))
    with pytest.raises(ConfigError, match=r'embed.device is "cuda:7" but'):
        validate(config)
    assert from_dict(StudyConfig, to_dict(config)) == config  # reading only: a GPU run opens on a laptop


def test_differences_name_each_changed_field_in_a_line():
    from mmrec_core.config import differences

    base = StudyConfig()
    new = dataclasses.replace(base, name="other", models=("bpr-mf",), selection=None,
                              train=dataclasses.replace(base.train, epochs=40))
    assert differences(base, base) == [] and differences(base, dataclasses.replace(base, name="x")) == []
    lines = differences(base, new)
    assert lines == [f"models {', '.join(base.models)} -> bpr-mf", f"train.epochs {base.train.epochs} -> 40",
                     "selection set -> none"]
    assert differences(base, new, limit=1) == [lines[0], "and 2 more"]
    # named by the controls that set them; two fields of one control are said once
    assert (base.seeds, base.train.seed) == ((42,), 42)
    seeds = dataclasses.replace(base, seeds=(7,), train=dataclasses.replace(base.train, seed=7))
    label = {"seeds": "Seed", "train.seed": "Seed"}
    assert differences(base, seeds, names=lambda path: label.get(path, path)) == ["Seed 42 -> 7"]
