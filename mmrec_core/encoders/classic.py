"""The no-weights baseline: hashed word and character n-grams for text, colour and edge histograms for pictures.

Deterministic and instant. It answers whether the neural encoders earn their cost: a ranker that does as
well on these vectors learned little from the pretrained models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from mmrec_core.encoders.base import Availability, Encoder, l2_normalise
from mmrec_core.encoders.batching import default_workers
from mmrec_core.progress import ProgressCallback, Reporter

WORD_FEATURES = 256
CHAR_FEATURES = 256
HSV_BINS = (8, 4, 4)  # hue is what separates "red" from "blue"; saturation and value coarser
ORIENTATION_BINS = 16
CENTRE = 0.8  # share of each side kept: product photos put the product in the middle
GRAY_SIZE = 64


def colour_histogram(image: Image.Image) -> np.ndarray:
    """HSV histogram (8 x 4 x 4 = 128 bins, sums to 1) of the picture's central region, white backdrop left out."""
    w, h = image.size
    dx, dy = int(w * (1 - CENTRE) / 2), int(h * (1 - CENTRE) / 2)
    centre = image.convert("RGB").crop((dx, dy, w - dx, h - dy)).resize((64, 64), Image.Resampling.BILINEAR)
    hsv = np.asarray(centre.convert("HSV"), dtype=np.int32).reshape(-1, 3)
    # product photos sit on white: leave the backdrop out unless it is nearly all there is
    backdrop = (hsv[:, 1] < 25) & (hsv[:, 2] > 230)
    if (~backdrop).sum() >= 0.05 * len(hsv):
        hsv = hsv[~backdrop]
    hsv[:, 0] = (hsv[:, 0] + 128 // HSV_BINS[0]) % 256  # centre red on bin 0: it straddles the hue wrap
    idx = [(hsv[:, c] * bins) >> 8 for c, bins in enumerate(HSV_BINS)]
    flat = (idx[0] * HSV_BINS[1] + idx[1]) * HSV_BINS[2] + idx[2]
    hist = np.bincount(flat, minlength=int(np.prod(HSV_BINS))).astype(np.float32)
    return hist / max(hist.sum(), 1.0)


def edge_histogram(image: Image.Image) -> np.ndarray:
    """Gradient-orientation histogram (16 bins, magnitude-weighted, sums to 1) of a 64 x 64 grey version."""
    gray = np.asarray(image.convert("L").resize((GRAY_SIZE, GRAY_SIZE), Image.Resampling.BILINEAR), np.float32)
    gx = gray[1:-1, 2:] - gray[1:-1, :-2]
    gy = gray[2:, 1:-1] - gray[:-2, 1:-1]
    magnitude = np.hypot(gx, gy).ravel()
    angle = np.mod(np.arctan2(gy, gx), np.pi).ravel()  # orientation, not direction: stripes either way alike
    bins = np.minimum((angle / np.pi * ORIENTATION_BINS).astype(np.int64), ORIENTATION_BINS - 1)
    hist = np.bincount(bins, weights=magnitude, minlength=ORIENTATION_BINS).astype(np.float32)
    return hist / max(hist.sum(), 1e-6)


def image_features(image: Image.Image) -> np.ndarray:
    """Square-rooted (Hellinger) colour and edge histograms, concatenated: cosine then compares shares."""
    return np.sqrt(np.concatenate([colour_histogram(image), edge_histogram(image)]))


class ClassicEncoder(Encoder):
    """Hashing-vectorizer text (512-d) and colour + edge histograms (144-d) pictures, L2-normalised.

    Empty text gives a zero row (nothing to hash).
    """

    name = "classic"
    shared_space = False

    def __init__(self, checkpoint: str | None = None, image_checkpoint: str | None = None, device: str = "auto"):
        self._vectorizers: Any = None

    @property
    def text_dim(self) -> int:
        return WORD_FEATURES + CHAR_FEATURES

    @property
    def image_dim(self) -> int:
        return int(np.prod(HSV_BINS)) + ORIENTATION_BINS

    def identity(self) -> str:
        return json.dumps(
            {
                "encoder": self.name,
                "version": 2,
                "text": f"hash-word12-{WORD_FEATURES}+char_wb34-{CHAR_FEATURES}",
                "image": f"hsv{'x'.join(map(str, HSV_BINS))}-centre{CENTRE}+grad{ORIENTATION_BINS}-{GRAY_SIZE}px",
            },
            sort_keys=True,
        )

    def _vectorise(self, texts: list[str]) -> np.ndarray:
        if self._vectorizers is None:
            from sklearn.feature_extraction.text import HashingVectorizer

            common = {"alternate_sign": False, "norm": None, "lowercase": True}
            self._vectorizers = (
                HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=WORD_FEATURES, **common),
                HashingVectorizer(analyzer="char_wb", ngram_range=(3, 4), n_features=CHAR_FEATURES, **common),
            )
        # each half normalised first so long titles' many char grams do not drown the word grams
        parts = [l2_normalise(v.transform(texts).toarray()) for v in self._vectorizers]
        return np.hstack(parts)

    def encode_texts(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        reporter = Reporter(progress, "embed-texts", len(texts))
        out = np.zeros((len(texts), self.text_dim), dtype=np.float32)
        step = max(batch_size, 1024)  # hashing is cheap: big batches
        for start in range(0, len(texts), step):
            batch = [str(t or "") for t in texts[start : start + step]]
            out[start : start + len(batch)] = self._vectorise(batch)
            reporter.update(start + len(batch))
        return l2_normalise(out)

    def encode_images(
        self, images: Sequence[Image.Image], *, batch_size: int = 32, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        reporter = Reporter(progress, "embed-images", len(images))
        out = np.zeros((len(images), self.image_dim), dtype=np.float32)
        with ThreadPoolExecutor(max_workers=default_workers(), thread_name_prefix="mmrec-classic") as pool:
            for i, row in enumerate(pool.map(image_features, images)):
                out[i] = row
                if (i + 1) % batch_size == 0 or i + 1 == len(images):
                    reporter.update(i + 1)
        return l2_normalise(out)


def availability(checkpoint: str | None = None, image_checkpoint: str | None = None) -> Availability:
    """Always available: no weights."""
    return Availability(True)
