"""Trained runs kept on disk: a finished ranking or classifier run is stored once and reused after a restart.

A run is keyed by what decides it: its kind (``ranking``, ``classifier``), the whole ``StudyConfig``, the
data fingerprint and the embedding identity (:func:`run_key`). The dashboard and ``python -m mmrec_core
study`` both read and write ``<cache>/trained/<kind>-<key>.run``, so a run either of them finished is not
trained again by the other, nor after a server restart.

File: one JSON header line (format, mmrec version, kind, key, payload size and SHA-256), then the pickled run
(fitted rankers included, so the Recommendations page works at once). A file that cannot be read, whose
checksum does not match, or that an older format or mmrec version wrote is ignored with a warning and
removed; the run is trained again and stored afresh. Writes are atomic (a unique temporary file, then
``os.replace``), so a killed writer leaves no half file under the real name.

Pickle runs code from the file it reads: the store lives in the user's own cache (``MMREC_CACHE_DIR``),
written only by mmrec, trusted as the code itself is. Never point the cache at a folder others can write;
runs shared between people travel as ``results.json`` (:mod:`mmrec_core.run_files`), which holds no code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import uuid
from pathlib import Path
from typing import Any

from mmrec_core import __version__
from mmrec_core.cache import content_key
from mmrec_core.config import cache_dir, to_dict

log = logging.getLogger("mmrec.trained")

FORMAT = 1
KINDS = ("ranking", "classifier")
SUFFIX = ".run"


def trained_root() -> Path:
    """``<cache>/trained``: every stored run."""
    return cache_dir() / "trained"


def run_key(kind: str, config: Any, fingerprint: str, identity: str | None) -> str:
    """The key of a run: its kind, the whole config (as JSON), the data fingerprint, the embedding identity."""
    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}; choose one of {list(KINDS)}")
    spec = json.dumps(to_dict(config), sort_keys=True, default=str)
    return content_key(kind, spec, fingerprint, identity or "")


def _path(kind: str, key: str) -> Path:
    return trained_root() / f"{kind}-{key}{SUFFIX}"


def load_run(kind: str, key: str) -> Any | None:
    """The stored run of ``key``, or None (nothing stored, or a damaged or stale file: warned about, removed)."""
    path = _path(kind, key)
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            payload = f.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return _discard(path, f"unreadable ({exc})")
    if not isinstance(header, dict):
        return _discard(path, "no header")
    expected = {"format": FORMAT, "mmrec": __version__, "kind": kind, "key": key}
    stale = {k: header.get(k) for k, v in expected.items() if header.get(k) != v}
    if stale:
        return _discard(path, f"stale (written with {stale}, this is {({k: expected[k] for k in stale})})")
    if header.get("bytes") != len(payload) or header.get("sha256") != hashlib.sha256(payload).hexdigest():
        return _discard(path, "damaged (its size or checksum does not match the header)")
    try:
        return pickle.loads(payload)  # noqa: S301 - the user's own cache, written by mmrec (module docstring)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means: train again
        return _discard(path, f"unreadable ({type(exc).__name__}: {exc})")


def save_run(kind: str, key: str, run: Any) -> Path | None:
    """Store ``run`` under ``key`` (atomically); returns the file, or None when it could not be written (a
    full disk, a run that does not pickle): warned about, the run itself is unaffected."""
    path = _path(kind, key)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        payload = pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL)
        header = {"format": FORMAT, "mmrec": __version__, "kind": kind, "key": key, "bytes": len(payload),
                  "sha256": hashlib.sha256(payload).hexdigest()}
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(json.dumps(header).encode() + b"\n")
            f.write(payload)
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001 - storing is a convenience; the run in memory stands
        log.warning("could not store the trained %s run (%s); it will be trained again after a restart", kind, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None
    log.info("stored the trained %s run: %s (%.1f MB)", kind, path, len(payload) / 1e6)
    return path


def _discard(path: Path, why: str) -> None:
    log.warning("ignoring the stored run %s: %s; training again", path, why)
    with contextlib.suppress(OSError):
        path.unlink()
    return None
