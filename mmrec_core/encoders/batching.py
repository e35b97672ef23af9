"""Shared plumbing of the torch encoders: device and precision, prefetched image batches, PIL preprocessing.

Pictures are resized and normalised in a thread pool one batch ahead of the model (PIL releases the GIL
while resizing), so the model is not starved waiting for preprocessing.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmrec_core.encoders.base import l2_normalise
from mmrec_core.progress import ProgressCallback, Reporter

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _torch_has_cuda_build() -> bool:
    """Read torch/version.py without importing torch (1.3 s): CPU builds say ``cuda = None``."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    version = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    try:
        text = version.read_text()
    except OSError:
        return False
    return any(line.startswith("cuda") and "None" not in line for line in text.splitlines())


def resolve_device(device: str = "auto") -> str:
    """``cuda`` or ``cpu`` for ``auto``, decided without importing torch when it is not loaded yet.

    Cache keys depend on the precision (fp16 on cuda), and a warm cache read must not pay torch's import;
    when torch is already imported (the dashboard, a training run) it is asked directly.
    """
    if device != "auto":
        return device
    if "torch" in sys.modules:
        return "cuda" if sys.modules["torch"].cuda.is_available() else "cpu"
    has_gpu = bool(glob.glob("/dev/nvidia[0-9]*")) or os.environ.get("CUDA_VISIBLE_DEVICES", "") not in ("", "-1")
    return "cuda" if has_gpu and _torch_has_cuda_build() and _torch_cuda() else "cpu"


def _torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def precision(device: str) -> str:
    """Half precision on cuda (the issue asks for it), full on cpu."""
    return "fp16" if device.startswith("cuda") else "fp32"


def torch_dtype(device: str) -> Any:
    import torch

    return torch.float16 if precision(device) == "fp16" else torch.float32


def load_text_model(folder: Any, device: str) -> tuple[Any, Any]:
    """A transformers tokenizer and model from a local folder, in eval mode on ``device`` (fp16 on cuda)."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, dtype=torch_dtype(device))
    return tokenizer, model.to(device).eval()


def features_of(output: Any) -> Any:
    """A feature tensor from what ``get_*_features`` returned: a tensor (transformers 4) or a ModelOutput
    whose ``pooler_output`` is the projected embedding (transformers 5)."""
    if hasattr(output, "pooler_output") and output.pooler_output is not None:
        return output.pooler_output
    if isinstance(output, tuple | list):
        return output[0]
    return output


def to_numpy(tensor: Any) -> np.ndarray:
    """float32 numpy rows, flattened to 2-D (ResNet's pooled output is ``n x c x 1 x 1``)."""
    array = tensor.detach().float().cpu().numpy()
    return array.reshape(array.shape[0], -1).astype(np.float32, copy=False)


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def prefetched(
    images: Sequence[Image.Image],
    batch_size: int,
    prepare: Callable[[Sequence[Image.Image]], np.ndarray],
    workers: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, pixels)`` per batch; the next batch is prepared in threads while the caller runs.

    ``prepare`` maps a list of pictures to one float32 array; each batch is split across the workers and
    the parts concatenated in order.
    """
    workers = workers or default_workers()
    starts = list(range(0, len(images), batch_size))
    if not starts:
        return

    def submit(pool: ThreadPoolExecutor, start: int) -> list[Future]:
        batch = images[start : start + batch_size]
        step = max(1, -(-len(batch) // workers))
        return [pool.submit(prepare, batch[i : i + step]) for i in range(0, len(batch), step)]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmrec-prep") as pool:
        pending = submit(pool, starts[0])
        for pos, start in enumerate(starts):
            parts = [f.result() for f in pending]
            if pos + 1 < len(starts):
                pending = submit(pool, starts[pos + 1])
            yield start, np.concatenate(parts, axis=0)


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size`` (bicubic), then the central ``size x size`` square."""
    image = image.convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.BICUBIC)
    left, top = (nw - size) // 2, (nh - size) // 2
    return image.crop((left, top, left + size, top + size))


def imagenet_pixels(images: Sequence[Image.Image], size: int = 224) -> np.ndarray:
    """``n x 3 x size x size`` float32, ImageNet mean/std normalised: torchvision's eval transform in PIL."""
    out = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, image in enumerate(images):
        array = np.asarray(resize_center_crop(image, size), dtype=np.float32) / 255.0
        out[i] = ((array - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    return out


def encode_in_batches(
    items: Sequence[Any],
    dim: int,
    batch_size: int,
    run: Callable[[Any], np.ndarray],
    *,
    progress: ProgressCallback | None = None,
    stage: str = "embed-texts",
    prepare: Callable[[Sequence[Image.Image]], np.ndarray] | None = None,
) -> np.ndarray:
    """Run ``run`` over batches of ``items`` into one ``(n, dim)`` L2-normalised float32 array.

    With ``prepare`` (pictures) each batch is preprocessed in threads one batch ahead and ``run`` gets the
    prepared pixels; without it ``run`` gets the raw slice (texts). Progress goes to ``stage`` in items/s.
    """
    out = np.zeros((len(items), dim), dtype=np.float32)
    reporter = Reporter(progress, stage, len(items))
    if prepare is None:
        batches: Iterator[tuple[int, Any]] = ((s, list(items[s : s + batch_size])) for s in range(0, len(items), batch_size))
    else:
        batches = prefetched(items, batch_size, prepare)
    for start, batch in batches:
        vectors = run(batch)
        out[start : start + len(vectors)] = vectors
        reporter.update(start + len(vectors))
    return l2_normalise(out)
