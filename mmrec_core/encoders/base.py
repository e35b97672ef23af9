"""The one encoder interface: text and pictures in, L2-normalised float32 rows out.

Every encoder (CLIP, DistilBERT + ResNet50, the bundled offline models, the classic baseline) exposes
``encode_texts`` and ``encode_images`` like open_clip's ``encode_text``/``encode_image``. Heavy imports
happen inside ``load()``, never at module import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from mmrec_core.progress import ProgressCallback


@dataclass(frozen=True)
class Availability:
    """Whether an encoder can run here, and if not, what the user should do."""

    ok: bool
    reason: str = ""


class Encoder(ABC):
    """Base class of every encoder.

    Attributes
    ----------
    name:
        Registry name (``clip``, ``bert-resnet``, ``bundled``, ``classic``).
    text_dim, image_dim:
        Output sizes; equal and ``shared_space`` True when text and pictures share one space (CLIP),
        the only case where ``mean`` fusion is meaningful.
    """

    name: str = ""
    shared_space: bool = False

    @property
    @abstractmethod
    def text_dim(self) -> int: ...

    @property
    @abstractmethod
    def image_dim(self) -> int: ...

    @abstractmethod
    def identity(self) -> str:
        """A string that changes whenever outputs could change: checkpoint, weights hash, preprocessing."""

    @abstractmethod
    def encode_texts(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """Return ``(len(texts), text_dim)`` float32, each row of unit L2 norm."""

    @abstractmethod
    def encode_images(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """Return ``(len(images), image_dim)`` float32 of decoded RGB pictures, each row of unit norm."""


def l2_normalise(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise unit norm as float32 (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32, copy=False)


def pick_device(device: str = "auto") -> str:
    """``cuda`` when asked for ``auto`` and a GPU is present, else ``cpu`` (or what was asked for)."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
