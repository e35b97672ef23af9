"""Where a checkpoint's files are: a local folder or the local Hugging Face cache, never a silent hang.

``from_pretrained("openai/clip-vit-base-patch32")`` without network hangs about 23 s before failing. So an
encoder resolves its checkpoint to a local folder *before* touching transformers: a folder with
``config.json``, or the snapshot folder of the hub cache; when neither exists and the hub is offline or
unreachable it raises :class:`EncoderUnavailable` at once with what to do. Models then load from that
folder only, so loading never goes to the network.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from mmrec_core.encoders.base import Availability

log = logging.getLogger("mmrec.encoders.hub")

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")
_HEAD_BYTES = 1 << 20  # the fingerprint hashes each weights file's first MiB plus its size


class EncoderUnavailable(RuntimeError):
    """An encoder cannot run here (weights missing and no way to fetch them); the message says what to do."""


def is_local(checkpoint: str) -> bool:
    """True when ``checkpoint`` names a folder on disk rather than a hub id."""
    path = Path(checkpoint).expanduser()
    return path.is_dir() or checkpoint.startswith(("/", "./", "../", "~"))


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` set to a true value."""
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@functools.lru_cache(maxsize=4)
def _reachable(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_reachable(timeout: float = 1.5) -> bool:
    """One quick TCP connect to the hub (cached for the process); False when offline mode is set."""
    if hub_offline():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return _reachable(url.hostname or "huggingface.co", url.port or 443, timeout)


def cached_snapshot(repo_id: str) -> Path | None:
    """The snapshot folder of ``repo_id`` in the local HF cache (None when ``config.json`` is not there)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # a malformed id raises; it is then simply not cached
        return None
    return Path(found).parent if isinstance(found, str) else None


def unavailable_message(checkpoint: str) -> str:
    return (
        f"weights for {checkpoint} are not in the local Hugging Face cache and the hub is unreachable: "
        f"run `hf download {checkpoint}` on a machine with network, or choose a local folder"
    )


def availability(checkpoint: str) -> Availability:
    """Whether ``checkpoint`` (hub id or folder) can be loaded here without hanging."""
    if is_local(checkpoint):
        folder = Path(checkpoint).expanduser()
        if (folder / "config.json").is_file():
            return Availability(True)
        return Availability(False, f"the folder {checkpoint} has no config.json: choose a saved model folder")
    if cached_snapshot(checkpoint) is not None:
        return Availability(True)
    if hub_reachable():
        return Availability(True, f"{checkpoint} will be downloaded from the Hugging Face hub on first use")
    return Availability(False, unavailable_message(checkpoint))


def resolve(checkpoint: str) -> Path:
    """A local folder holding ``checkpoint``; downloads it when it is a hub id, uncached and reachable.

    Raises
    ------
    EncoderUnavailable
        At once, with :func:`unavailable_message`, when the weights are nowhere to be had.
    """
    avail = availability(checkpoint)
    if not avail.ok:
        raise EncoderUnavailable(avail.reason)
    if is_local(checkpoint):
        return Path(checkpoint).expanduser().resolve()
    snapshot = cached_snapshot(checkpoint)
    if snapshot is not None:
        return snapshot
    from huggingface_hub import snapshot_download

    log.info("downloading %s from the Hugging Face hub", checkpoint)
    patterns = ["*.json", "*.txt", "*.model", "*.safetensors"]
    folder = Path(snapshot_download(checkpoint, allow_patterns=patterns))
    if not any(folder.glob("*.safetensors")):  # older repos ship only pytorch_model.bin
        folder = Path(snapshot_download(checkpoint, allow_patterns=[*patterns, "*.bin"]))
    return folder


def read_config(folder: Path) -> dict:
    """The folder's ``config.json`` as a dict (empty when absent)."""
    path = Path(folder) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


@functools.lru_cache(maxsize=64)
def _file_fingerprint(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    return hashlib.sha256(head + str(size).encode()).hexdigest()[:16]


def file_fingerprint(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's first MiB and its size (memoised on size + mtime): cheap even for 500 MB weights."""
    st = os.stat(path)
    return _file_fingerprint(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def weights_fingerprint(folder: Path) -> str:
    """A short hash over the weights files and ``config.json`` of a model folder.

    A hub snapshot folder is named after its commit, but a local folder is not: hashing the files covers
    both, and a re-saved or fine-tuned model in the same folder gets a new identity.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES or p.name == "config.json")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + file_fingerprint(path).encode())
    return digest.hexdigest()[:16]
