"""The default encoder with its real packaged weights: neighbours must make sense."""

from __future__ import annotations

import numpy as np
import pytest

from mmrec_core.config import EmbedConfig
from mmrec_core.embeddings import get_encoder
from mmrec_core.encoders import ENCODERS


@pytest.fixture(scope="module")
def bundled():
    return get_encoder(EmbedConfig(encoder="bundled", device="cpu"))  # the one instance shared by the session


def test_available_offline_and_says_it_is_the_clip_stand_in():
    spec = ENCODERS["bundled"]
    assert spec.availability().ok
    assert "stand-in for CLIP" in spec.description and "No shared text-image space" in spec.description


def test_red_tshirt_nearer_red_tshirt_than_blue_handbag(bundled, pictures):
    v = bundled.encode_images([pictures["red_tshirt"], pictures["red_tshirt_2"], pictures["blue_bag"]])
    assert v.shape == (3, 1280)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.05


def test_text_neighbours(bundled):
    v = bundled.encode_texts(["red cotton t-shirt", "crimson tee shirt", "leather handbag"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_identity_names_both_weights_and_precision(bundled):
    identity = bundled.identity()
    assert "all-MiniLM-L6-v2" in identity and "efficientnet-lite0" in identity and "fp32" in identity
    assert bundled.shared_space is False
    assert np.float32 == bundled.encode_texts(["a"]).dtype
