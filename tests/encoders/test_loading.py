"""Each encoder's loading path: local folders, the local HF cache, and failing at once when offline."""

from __future__ import annotations

import shutil
import socket
import time
from types import SimpleNamespace

import numpy as np
import pytest

from mmrec_core.encoders import ENCODERS, EncoderUnavailable, create_encoder, hub, list_encoders
from mmrec_core.encoders.batching import features_of, resolve_device

CLIP_MESSAGE = (
    "weights for openai/clip-vit-base-patch32 are not in the local Hugging Face cache and the hub is "
    "unreachable: run `hf download openai/clip-vit-base-patch32` on a machine with network, "
    "or choose a local folder"
)


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf"


def test_offline_default_clip_fails_at_once_with_the_message(empty_hf_cache, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("must not touch the network when HF_HUB_OFFLINE=1")

    monkeypatch.setattr(socket, "create_connection", no_network)
    start = time.perf_counter()
    with pytest.raises(EncoderUnavailable) as info:
        create_encoder("clip")
    assert str(info.value) == CLIP_MESSAGE
    assert time.perf_counter() - start < 2.0
    assert isinstance(info.value, RuntimeError)


def test_list_encoders_reports_reasons(empty_hf_cache):
    listed = {spec.name: found for spec, found in list_encoders()}
    assert set(listed) == {"bundled", "clip", "bert-resnet", "classic", "bundled-aligned", "classic-aligned"}
    assert listed["bundled"].ok and listed["classic"].ok
    assert listed["bundled-aligned"].ok and listed["classic-aligned"].ok, "aligned: as available as their base"
    assert listed["clip"].reason == CLIP_MESSAGE
    assert not listed["bert-resnet"].ok and "distilbert-base-uncased" in listed["bert-resnet"].reason


def test_unknown_encoder_and_folder_without_config(tmp_path):
    with pytest.raises(ValueError, match="unknown encoder 'nope'"):
        create_encoder("nope")
    with pytest.raises(EncoderUnavailable, match="has no config.json"):
        create_encoder("clip", str(tmp_path))


def test_clip_from_folder_is_one_space(tiny_models, pictures):
    enc = create_encoder("clip", str(tiny_models["clip"]), device="cpu")
    assert enc.shared_space and enc.text_dim == enc.image_dim == 16
    assert enc.encode_texts(["red"]).shape == enc.encode_images([pictures["blue_bag"]]).shape == (1, 16)
    assert ENCODERS["clip"].availability(str(tiny_models["clip"])).ok


def test_clip_hub_id_found_in_local_cache(tiny_models, empty_hf_cache):
    # the HF cache layout: models--org--name/refs/main -> commit, snapshots/<commit>/files
    repo = empty_hf_cache / "models--openai--clip-vit-base-patch32"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_models["clip"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    assert ENCODERS["clip"].availability().ok
    enc = create_encoder("clip", device="cpu")
    assert enc.folder == repo / "snapshots" / commit
    assert "openai/clip-vit-base-patch32" in enc.identity()
    np.testing.assert_allclose(np.linalg.norm(enc.encode_texts(["a b"]), axis=1), 1.0, atol=1e-5)


def test_bert_resnet_from_folders(tiny_models, pictures):
    enc = create_encoder("bert-resnet", str(tiny_models["distilbert"]), str(tiny_models["resnet"]), device="cpu")
    assert not enc.shared_space and (enc.text_dim, enc.image_dim) == (24, 12)
    assert enc.encode_images([pictures["red_tshirt"]]).shape == (1, 12)
    # max length 128: a long review is truncated, not an error
    assert enc.encode_texts(["red " * 500]).shape == (1, 24)


def test_identity_follows_the_weights(tiny_models, tmp_path):
    import torch
    from transformers import CLIPModel

    copy = tmp_path / "clip"
    shutil.copytree(tiny_models["clip"], copy)
    before = create_encoder("clip", str(copy), device="cpu").identity()
    model = CLIPModel.from_pretrained(copy)
    with torch.no_grad():
        model.text_projection.weight.mul_(2)
    model.save_pretrained(copy)
    hub._file_fingerprint.cache_clear()
    assert create_encoder("clip", str(copy), device="cpu").identity() != before


def test_features_of_accepts_tensors_and_model_outputs():
    tensor = np.ones((2, 3))
    assert features_of(tensor) is tensor
    assert features_of(SimpleNamespace(pooler_output=tensor)) is tensor


def test_device_resolution_without_a_gpu():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
