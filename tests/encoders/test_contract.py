"""One contract, every encoder: shapes, dtype, unit norm, determinism, empty input, a missing picture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmrec_core.config import EmbedConfig, ImageConfig
from mmrec_core.data.schema import Dataset, LoadReport
from mmrec_core.embeddings import embed_items, get_encoder
from mmrec_core.encoders import Encoder

NAMES = ["classic", "bundled", "clip", "bert-resnet"]
TEXTS = ["red cotton t-shirt", "blue leather handbag with a long strap", "striped tee", "x"]


def _config(name: str, tiny_models) -> EmbedConfig:
    if name == "clip":
        return EmbedConfig(encoder="clip", checkpoint=str(tiny_models["clip"]), device="cpu")
    if name == "bert-resnet":
        return EmbedConfig(
            encoder="bert-resnet",
            checkpoint=str(tiny_models["distilbert"]),
            image_checkpoint=str(tiny_models["resnet"]),
            device="cpu",
        )
    return EmbedConfig(encoder=name, device="cpu")


@pytest.fixture(scope="module", params=NAMES)
def case(request, tiny_models) -> tuple[Encoder, EmbedConfig]:
    config = _config(request.param, tiny_models)
    # get_encoder memoises per process: embed_items below and test_bundled reuse the loaded models
    return get_encoder(config), config


def _check_rows(x: np.ndarray, n: int, dim: int) -> None:
    assert x.shape == (n, dim)
    assert x.dtype == np.float32
    assert np.isfinite(x).all()
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)


def test_texts_shape_dtype_norm_and_determinism(case):
    encoder, _ = case
    first = encoder.encode_texts(TEXTS, batch_size=3)
    _check_rows(first, len(TEXTS), encoder.text_dim)
    again = encoder.encode_texts(TEXTS, batch_size=2)  # other batching, same vectors
    np.testing.assert_allclose(first, again, atol=1e-5)
    assert not np.allclose(first[0], first[1])


def test_images_shape_dtype_norm_and_determinism(case, pictures):
    encoder, _ = case
    images = list(pictures.values())
    first = encoder.encode_images(images, batch_size=3)
    _check_rows(first, len(images), encoder.image_dim)
    np.testing.assert_allclose(first, encoder.encode_images(images, batch_size=2), atol=1e-5)
    # a grey-scale or RGBA picture is converted, not rejected
    odd = [images[0].convert("L"), images[1].convert("RGBA")]
    _check_rows(encoder.encode_images(odd), 2, encoder.image_dim)


def test_empty_input(case):
    encoder, _ = case
    assert encoder.encode_texts([]).shape == (0, encoder.text_dim)
    assert encoder.encode_images([]).shape == (0, encoder.image_dim)
    assert encoder.encode_texts([]).dtype == np.float32


def test_identity_and_progress(case):
    encoder, _ = case
    assert encoder.name in encoder.identity()
    events = []
    encoder.encode_texts(TEXTS, batch_size=2, progress=events.append)
    assert events[-1].done == len(TEXTS) and events[-1].total == len(TEXTS)
    assert events[-1].stage == "embed-texts"


def test_missing_picture_in_embed_items(case, pictures, tmp_path, monkeypatch):
    encoder, config = case
    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path / "cache"))
    pictures["red_tshirt"].save(tmp_path / "a.jpg")
    pictures["blue_bag"].save(tmp_path / "b.jpg")
    refs = [str(tmp_path / "a.jpg"), None, str(tmp_path / "gone.jpg"), str(tmp_path / "b.jpg")]
    items = pd.DataFrame(
        {
            "item_id": ["A", "B", "C", "D"],
            "title": ["red tee", "blue bag", None, "green bag"],
            "main_category": ["Fashion"] * 4,
            "features": [[], [], ["cotton"], []],
            "image_url": refs,
        }
    )
    reviews = pd.DataFrame({"user_id": ["u"], "item_id": ["A"], "rating": [5.0], "timestamp": [0]})
    emb = embed_items(Dataset("t", reviews, items, LoadReport()), config, ImageConfig())
    assert emb.image_ok.tolist() == [True, False, False, True]
    assert emb.missing_reasons == {"no image": 1, "file not found": 1}
    assert not emb.image[~emb.image_ok].any()  # zero rows, never a black picture's embedding
    _check_rows(emb.image[emb.image_ok], 2, encoder.image_dim)
    _check_rows(emb.text, 4, encoder.text_dim)
    assert emb.untitled == 1
