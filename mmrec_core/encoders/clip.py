"""CLIP (Study A): title text and product picture in one space, so ``mean`` fusion is meaningful.

Any CLIP checkpoint works: a hub id found in the local Hugging Face cache, or a folder written by
``save_pretrained``. The model loads lazily on the first ``encode_*`` call, so a warm embedding cache never
imports torch.
"""

from __future__ import annotations

import hashlib
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
    features_of,
    precision,
    resolve_device,
    to_numpy,
    torch_dtype,
)
from mmrec_core.progress import ProgressCallback

DEFAULT_CHECKPOINT = "openai/clip-vit-base-patch32"


def _settings_hash(folder: Path) -> str:
    """Hash of the preprocessing files (image size, mean/std, tokenizer) so a changed setting re-keys."""
    digest = hashlib.sha256()
    for name in ("preprocessor_config.json", "processor_config.json", "tokenizer_config.json", "vocab.json"):
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + hub.file_fingerprint(path).encode())
    return digest.hexdigest()[:12]


class ClipEncoder(Encoder):
    """Hugging Face ``CLIPModel`` text and image towers, L2-normalised.

    Parameters
    ----------
    checkpoint:
        Hub id or local folder (default ``openai/clip-vit-base-patch32``).
    device:
        ``auto`` (cuda when present, in half precision), ``cpu`` or ``cuda``.
    """

    name = "clip"
    shared_space = True

    def __init__(self, checkpoint: str | None = None, device: str = "auto"):
        self.checkpoint = checkpoint or DEFAULT_CHECKPOINT
        self.folder = hub.resolve(self.checkpoint)  # raises EncoderUnavailable at once
        self.device = resolve_device(device)
        config = hub.read_config(self.folder)
        self._dim = int(config.get("projection_dim", 512))
        self._max_length = int(config.get("text_config", {}).get("max_position_embeddings", 77))
        self._identity = json.dumps(
            {
                "encoder": self.name,
                "checkpoint": self.checkpoint,
                "weights": hub.weights_fingerprint(self.folder),
                "preprocessing": _settings_hash(self.folder),
                "max_length": self._max_length,
                "precision": precision(self.device),
            },
            sort_keys=True,
        )
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()

    @property
    def text_dim(self) -> int:
        return self._dim

    @property
    def image_dim(self) -> int:
        return self._dim

    def identity(self) -> str:
        return self._identity

    def load(self) -> None:
        """Load model and processor from the resolved local folder (never the network)."""
        with self._lock:
            if self._model is not None:
                return
            from transformers import CLIPModel, CLIPProcessor

            processor = CLIPProcessor.from_pretrained(self.folder, backend="pil")
            model = CLIPModel.from_pretrained(self.folder, dtype=torch_dtype(self.device))
            self._processor, self._model = processor, model.to(self.device).eval()

    def _pixels(self, images: Sequence[Image.Image]) -> np.ndarray:
        rgb = [im.convert("RGB") for im in images]
        return np.asarray(self._processor.image_processor(images=rgb, return_tensors="np")["pixel_values"])

    def encode_texts(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.text_dim), dtype=np.float32)
        self.load()
        import torch

        def run(batch: list[str]) -> np.ndarray:
            tokens = self._processor.tokenizer(
                batch, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode():
                return to_numpy(features_of(self._model.get_text_features(**tokens)))

        return encode_in_batches(texts, self.text_dim, batch_size, run, progress=progress, stage="embed-texts")

    def encode_images(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.image_dim), dtype=np.float32)
        self.load()
        import torch

        dtype = torch_dtype(self.device)

        def run(pixels: np.ndarray) -> np.ndarray:
            tensor = torch.from_numpy(pixels).to(self.device, dtype=dtype)
            with torch.inference_mode():
                return to_numpy(features_of(self._model.get_image_features(pixel_values=tensor)))

        return encode_in_batches(
            images, self.image_dim, batch_size, run, progress=progress, stage="embed-images", prepare=self._pixels
        )


def availability(checkpoint: str | None = None, image_checkpoint: str | None = None) -> Availability:
    """Whether the CLIP checkpoint loads here (one model: ``image_checkpoint`` is ignored)."""
    return hub.availability(checkpoint or DEFAULT_CHECKPOINT)
