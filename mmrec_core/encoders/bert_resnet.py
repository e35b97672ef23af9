"""DistilBERT [CLS] text vectors and ResNet50 pooled image features (Study B's encoders).

Two separate models, so text (768-d) and pictures (2048-d) live in different spaces: fuse by ``concat``.
Outputs are L2-normalised like every encoder's; the study fed the raw, unnormalised vectors to its
classifier, whose first Dense + BatchNorm layers make it insensitive to that per-row scale.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from mmrec_core.encoders import hub
from mmrec_core.encoders.base import Availability, Encoder
from mmrec_core.encoders.batching import (
    encode_in_batches,
    load_text_model,
    precision,
    resolve_device,
    to_numpy,
    torch_dtype,
)
from mmrec_core.progress import ProgressCallback

DEFAULT_TEXT_CHECKPOINT = "distilbert-base-uncased"
DEFAULT_IMAGE_CHECKPOINT = "microsoft/resnet-50"
MAX_LENGTH = 128  # the study's truncation of review texts


class BertResnetEncoder(Encoder):
    """DistilBERT ``last_hidden_state[:, 0]`` (max length 128) + ResNet ``pooler_output`` at 224 x 224.

    Parameters
    ----------
    checkpoint, image_checkpoint:
        Hub ids or local folders for the text and the image model.
    device:
        ``auto`` (cuda when present, in half precision), ``cpu`` or ``cuda``.
    """

    name = "bert-resnet"
    shared_space = False

    def __init__(self, checkpoint: str | None = None, image_checkpoint: str | None = None, device: str = "auto"):
        self.checkpoint = checkpoint or DEFAULT_TEXT_CHECKPOINT
        self.image_checkpoint = image_checkpoint or DEFAULT_IMAGE_CHECKPOINT
        self.text_folder = hub.resolve(self.checkpoint)
        self.image_folder = hub.resolve(self.image_checkpoint)
        self.device = resolve_device(device)
        text_config = hub.read_config(self.text_folder)
        image_config = hub.read_config(self.image_folder)
        self._text_dim = int(text_config.get("dim", text_config.get("hidden_size", 768)))
        self._image_dim = int((image_config.get("hidden_sizes") or [2048])[-1])
        preprocessing = self.image_folder / "preprocessor_config.json"
        self._identity = json.dumps(
            {
                "encoder": self.name,
                "checkpoint": self.checkpoint,
                "image_checkpoint": self.image_checkpoint,
                "weights": [hub.weights_fingerprint(self.text_folder), hub.weights_fingerprint(self.image_folder)],
                "preprocessing": hub.file_fingerprint(preprocessing) if preprocessing.is_file() else "",
                "max_length": MAX_LENGTH,
                "pooling": "cls+pooler",
                "precision": precision(self.device),
            },
            sort_keys=True,
        )
        self._text: Any = None
        self._image: Any = None
        self._lock = threading.Lock()

    @property
    def text_dim(self) -> int:
        return self._text_dim

    @property
    def image_dim(self) -> int:
        return self._image_dim

    def identity(self) -> str:
        return self._identity

    def _load_text(self) -> tuple[Any, Any]:
        with self._lock:
            if self._text is None:
                self._text = load_text_model(self.text_folder, self.device)
        return self._text

    def _load_image(self) -> tuple[Any, Any]:
        with self._lock:
            if self._image is None:
                from transformers import AutoImageProcessor, AutoModel

                processor = AutoImageProcessor.from_pretrained(self.image_folder, backend="pil")
                model = AutoModel.from_pretrained(self.image_folder, dtype=torch_dtype(self.device))
                self._image = (processor, model.to(self.device).eval())
        return self._image

    def encode_texts(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.text_dim), dtype=np.float32)
        tokenizer, model = self._load_text()
        import torch

        def run(batch: list[str]) -> np.ndarray:
            tokens = tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
            with torch.inference_mode():
                return to_numpy(model(**tokens).last_hidden_state[:, 0])

        return encode_in_batches(texts, self.text_dim, batch_size, run, progress=progress, stage="embed-texts")

    def encode_images(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.image_dim), dtype=np.float32)
        processor, model = self._load_image()
        import torch

        dtype = torch_dtype(self.device)

        def prepare(batch: Sequence[Image.Image]) -> np.ndarray:
            rgb = [im.convert("RGB") for im in batch]
            return np.asarray(processor(images=rgb, return_tensors="np")["pixel_values"])

        def run(pixels: np.ndarray) -> np.ndarray:
            tensor = torch.from_numpy(pixels).to(self.device, dtype=dtype)
            with torch.inference_mode():
                return to_numpy(model(pixel_values=tensor).pooler_output)

        return encode_in_batches(
            images, self.image_dim, batch_size, run, progress=progress, stage="embed-images", prepare=prepare
        )


def availability(checkpoint: str | None = None, image_checkpoint: str | None = None) -> Availability:
    """Available when both checkpoints are; otherwise the first missing one's reason."""
    for name in (checkpoint or DEFAULT_TEXT_CHECKPOINT, image_checkpoint or DEFAULT_IMAGE_CHECKPOINT):
        found = hub.availability(name)
        if not found.ok:
            return found
    return Availability(True)
