"""Downloading a category's raw Amazon Reviews 2023 files from the Hugging Face hub.

Only ``huggingface_hub.hf_hub_download`` of the raw JSONL files: since ``datasets`` 4 the
``load_dataset(..., trust_remote_code=True)`` route raises "Dataset scripts are no longer supported".
With no network we say so at once (no 20-second hang) and name the files to fetch by hand.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

from mmrec_core.progress import ProgressCallback, Reporter

log = logging.getLogger("mmrec.data.hub")

REPO_ID = "McAuley-Lab/Amazon-Reviews-2023"
PROBE_TIMEOUT_S = 2.0


class DataUnavailable(RuntimeError):
    """The data cannot be fetched from here; the message says what to do instead."""


def raw_file_names(category: str) -> tuple[str, str]:
    """Paths of a category's raw reviews and meta files inside the dataset repo."""
    return f"raw/review_categories/{category}.jsonl", f"raw/meta_categories/meta_{category}.jsonl"


def _offline_env() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub opens within ``timeout_s`` (DNS included).

    The probe runs in a daemon thread because ``getaddrinfo`` has no timeout of its own.
    """
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "huggingface.co", parts.port or (80 if parts.scheme == "http" else 443)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True, name="mmrec-hub-probe")
    thread.start()
    thread.join(timeout_s + 0.5)
    return bool(result and result[0])


def _unavailable(category: str, dest: Path, why: str = "") -> DataUnavailable:
    reviews, meta = raw_file_names(category)
    return DataUnavailable(
        f"The Hugging Face hub is unreachable from here{why}: download {reviews} and {meta} from the dataset "
        f"{REPO_ID} on a machine with network and put them in {dest}, then choose 'Local Amazon files'."
    )


def _already_there(dest: Path, relpath: str) -> Path | None:
    for candidate in (dest / relpath, dest / (relpath + ".gz"), dest / Path(relpath).name):
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def download_category(
    category: str, dest: str | os.PathLike[str], progress: ProgressCallback | None = None
) -> tuple[Path, Path]:
    """Fetch (or find already fetched) a category's raw reviews and meta files.

    Parameters
    ----------
    category:
        An Amazon Reviews 2023 category such as ``"Amazon_Fashion"``.
    dest:
        Folder the files go to (the repo layout ``raw/...`` is kept below it).
    progress:
        Receives one event per file (unit ``"files"``).

    Returns
    -------
    (reviews_path, meta_path)

    Raises
    ------
    DataUnavailable
        At once, when the hub cannot be reached (``HF_HUB_OFFLINE`` set, no connection within 2 s, or the
        download failing), with one sentence naming the files and where to put them.
    """
    dest = Path(dest)
    names = raw_file_names(category)
    found = [_already_there(dest, name) for name in names]
    if found[0] is not None and found[1] is not None:
        log.info("using %s files already in %s", category, dest)
        return found[0], found[1]
    if _offline_env():
        raise _unavailable(category, dest, " (HF_HUB_OFFLINE is set)")
    if not hub_reachable():
        raise _unavailable(category, dest)
    from huggingface_hub import hf_hub_download

    reporter = Reporter(progress, f"download {category}", total=2, unit="files")
    reporter.update(0)
    paths: list[Path] = []
    for done, (name, have) in enumerate(zip(names, found, strict=True), 1):
        if have is None:
            try:
                have = Path(hf_hub_download(repo_id=REPO_ID, filename=name, repo_type="dataset", local_dir=dest))
            except Exception as exc:  # network errors, auth: all mean "fetch it by hand"
                log.warning("hf_hub_download of %s failed: %s", name, exc)
                if type(exc).__name__ in ("EntryNotFoundError", "RemoteEntryNotFoundError"):
                    raise DataUnavailable(
                        f"{name} does not exist in the dataset {REPO_ID}: check the category name "
                        f"{category!r} (e.g. 'Amazon_Fashion')."
                    ) from exc
                raise _unavailable(category, dest, f" ({type(exc).__name__})") from exc
        paths.append(have)
        reporter.update(done)
    return paths[0], paths[1]
