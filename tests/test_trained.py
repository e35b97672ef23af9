"""Trained runs on disk: a round trip, keys that change with what decides a run, and every way a stored file
can be wrong (truncated, flipped bytes, another version, no header, garbage) ignored with a warning."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading

import pytest

from mmrec_core import trained
from mmrec_core.config import DataConfig, StudyConfig, TrainConfig


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    return tmp_path


CONFIG = StudyConfig(data=DataConfig(demo_size="tiny"))
RUN = {"rows": [1, 2, 3], "name": "a run"}


def stored_file(key: str):
    (path,) = trained.trained_root().glob(f"ranking-{key}.run")
    return path


def test_a_stored_run_comes_back_equal():
    key = trained.run_key("ranking", CONFIG, "fp", "identity")
    assert trained.load_run("ranking", key) is None, "nothing stored yet"
    assert trained.save_run("ranking", key, RUN) == stored_file(key)
    assert trained.load_run("ranking", key) == RUN
    assert not list(trained.trained_root().glob(".*.tmp")), "no temporary file left behind"


def test_the_key_changes_with_the_config_the_data_the_embeddings_and_the_kind():
    base = trained.run_key("ranking", CONFIG, "fp", "identity")
    other = dataclasses.replace(CONFIG, train=TrainConfig(epochs=7))
    assert len({base, trained.run_key("ranking", other, "fp", "identity"),
                trained.run_key("ranking", CONFIG, "fp2", "identity"), trained.run_key("ranking", CONFIG, "fp", "other"),
                trained.run_key("classifier", CONFIG, "fp", "identity"), trained.run_key("ranking", CONFIG, "fp", None)}) == 6
    assert base == trained.run_key("ranking", StudyConfig(data=DataConfig(demo_size="tiny")), "fp", "identity")
    with pytest.raises(ValueError, match="unknown run kind"):
        trained.run_key("nope", CONFIG, "fp", None)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-20])


def _flip(path):
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))


def _older(path):
    header, payload = path.read_bytes().split(b"\n", 1)
    path.write_bytes(json.dumps({**json.loads(header), "mmrec": "0.0.1"}).encode() + b"\n" + payload)


def _format(path):
    header, payload = path.read_bytes().split(b"\n", 1)
    path.write_bytes(json.dumps({**json.loads(header), "format": 99}).encode() + b"\n" + payload)


def _renamed(path):
    path.rename(path.with_name("ranking-" + "0" * 32 + ".run"))


@pytest.mark.parametrize("damage, why", [
    (_truncate, "damaged"), (_flip, "damaged"), (_older, "stale"), (_format, "stale"),
    (lambda p: p.write_bytes(b"not json\n" + b"x" * 10), "unreadable"), (lambda p: p.write_bytes(b"[1, 2]\n"), "no header"),
    (lambda p: p.write_bytes(b""), "unreadable"),
])
def test_a_damaged_or_stale_file_is_ignored_with_a_warning_and_removed(caplog, damage, why):
    key = trained.run_key("ranking", CONFIG, "fp", "identity")
    trained.save_run("ranking", key, RUN)
    path = stored_file(key)
    damage(path)
    with caplog.at_level(logging.WARNING, logger="mmrec.trained"):
        assert trained.load_run("ranking", key) is None
    assert why in caplog.text and "training again" in caplog.text
    assert not path.exists(), "removed: the next run stores a good one"
    trained.save_run("ranking", key, RUN)
    assert trained.load_run("ranking", key) == RUN


def test_a_renamed_file_does_not_answer_for_another_key(caplog):
    key = trained.run_key("ranking", CONFIG, "fp", "identity")
    trained.save_run("ranking", key, RUN)
    _renamed(stored_file(key))
    with caplog.at_level(logging.WARNING, logger="mmrec.trained"):
        assert trained.load_run("ranking", "0" * 32) is None
    assert "stale" in caplog.text


def test_a_run_that_cannot_be_stored_is_warned_about_and_kept_in_memory(caplog):
    with caplog.at_level(logging.WARNING, logger="mmrec.trained"):
        assert trained.save_run("ranking", "k" * 32, {"lock": threading.Lock()}) is None
    assert "could not store" in caplog.text
    assert not list(trained.trained_root().glob("*")), "nothing half-written"
