"""A durable, content-addressed store of vectors on disk: safe to share, safe to kill, never silently wrong.

Layout: ``cache_dir()/embeddings/<encoder>/<store id>/`` per (encoder identity, modality), holding
``store.json`` (what the vectors are) and shard files ``shard-<sha256>.npz`` (arrays ``keys``: hex input
hashes, ``vectors``: float32 rows). A shard's name is the sha256 of its bytes, so

- writes are atomic (unique temp file, fsync, ``os.replace``) and need no manifest or lock: two processes
  computing the same items write shards that are identical or hold identical rows (same input, same
  model), and readers take the union;
- every read checks the bytes against the name; a shard that does not match (or does not parse) is
  dropped with a warning and its items are recomputed, never used;
- a run killed half way keeps the shards it wrote, so the next run computes only the rest;
- a damaged shard (or a folder in its place, or a garbage ``store.json``) is rewritten when its items are
  recomputed, so the cache heals instead of recomputing on every run.

Many small shards are merged (under an ``fcntl`` lock, so only one process compacts) once there are more
than :data:`COMPACT_AFTER`. No pickle anywhere: ``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmrec_core.config import cache_dir

log = logging.getLogger("mmrec.cache")

COMPACT_AFTER = 32  # shards in one store before they are merged into one
_memo: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}  # verified shards of this process
_index_memo: dict[str, tuple[list, dict[str, int], np.ndarray]] = {}  # folder -> (shard signature, index, rows)
_memo_lock = threading.Lock()


def embeddings_root() -> Path:
    """``cache_dir()/embeddings`` (follows ``MMREC_CACHE_DIR``)."""
    return cache_dir() / "embeddings"


def content_key(*parts: str | bytes) -> str:
    """A 32-hex blake2b hash of the parts (length-prefixed, so ("ab", "c") != ("a", "bc"))."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _remove(path: Path) -> None:
    """Delete a file, a link or a folder (something else in a cache file's place); gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _holds(path: Path, data: bytes) -> bool:
    """True when ``path`` is a plain file whose bytes are exactly ``data``."""
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _write_unless_held(path: Path, data: bytes, damaged: str) -> None:
    """Make ``path`` hold exactly ``data``: nothing to do when it does; whatever else stands there (other
    bytes, a folder, a link) is logged with the ``damaged`` format and replaced."""
    if _holds(path, data):
        return
    if path.exists() or path.is_symlink():
        log.warning(damaged, path)
        _remove(path)
    _atomic_write(path, data)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class VectorStore:
    """Per-item vectors of one (encoder identity, modality), keyed by a hash of each item's input.

    Parameters
    ----------
    folder:
        The store's folder (created on first write).
    meta:
        What the vectors are (encoder, identity, modality, dim); written to ``store.json`` for humans and
        :func:`cache_info`.
    """

    def __init__(self, folder: Path, meta: dict[str, Any]):
        self.folder = Path(folder)
        self.meta = meta
        self.dim = int(meta["dim"])

    @classmethod
    def open(cls, encoder: str, identity: str, modality: str, dim: int, root: Path | None = None) -> VectorStore:
        """The store of ``encoder`` / ``identity`` / ``modality`` under ``root`` (default embeddings root)."""
        store_id = content_key(identity, modality, str(dim))[:20]
        folder = (root or embeddings_root()) / encoder / f"{modality}-{store_id}"
        meta = {"encoder": encoder, "identity": identity, "modality": modality, "dim": dim}
        return cls(folder, meta)

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz")) if self.folder.is_dir() else []

    def _read(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """Keys and vectors of a verified shard; None (with a warning) when corrupted, None when gone."""
        try:
            st = path.stat()
            memo_key = (str(path), st.st_size, st.st_mtime_ns)
            with _memo_lock:
                if memo_key in _memo:
                    return _memo[memo_key]
            data = path.read_bytes()
        except FileNotFoundError:  # merged away by another process's compaction: its rows are elsewhere
            return None
        except OSError as exc:  # a folder in the shard's place, no permission, an I/O error
            log.warning("embedding cache: %s cannot be read (%s); ignoring it, its items will be recomputed",
                        path, exc.strerror or exc)
            return None
        expected = path.stem.removeprefix("shard-")
        if hashlib.sha256(data).hexdigest()[: len(expected)] != expected:
            log.warning("embedding cache: %s fails its checksum; ignoring it, its items will be recomputed", path)
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                keys, vectors = npz["keys"].astype(str), npz["vectors"].astype(np.float32, copy=False)
            if vectors.ndim != 2 or vectors.shape != (len(keys), self.dim):
                raise ValueError(f"shape {vectors.shape} does not match {len(keys)} keys x {self.dim}")
        except Exception as exc:  # a valid checksum over a bad file: written by something else, never used
            log.warning("embedding cache: %s is unreadable (%s); ignoring it", path, exc)
            return None
        with _memo_lock:
            _memo[memo_key] = (keys, vectors)
        return keys, vectors

    def load(self) -> tuple[dict[str, int], np.ndarray]:
        """All verified rows: ``key -> row`` and the stacked float32 matrix (memoised on the shard files)."""
        shards = self.shards()
        signature = []
        for path in shards:
            with contextlib.suppress(FileNotFoundError):
                st = path.stat()
                signature.append((path.name, st.st_size, st.st_mtime_ns))
        with _memo_lock:
            cached = _index_memo.get(str(self.folder))
            if cached is not None and cached[0] == signature:
                return cached[1], cached[2]
            live = {(str(self.folder / n), size, mtime) for n, size, mtime in signature}
            for key in [k for k in _memo if k[0].startswith(str(self.folder) + os.sep) and k not in live]:
                del _memo[key]  # shards merged away or rewritten: forget them
        parts = [p for p in (self._read(path) for path in shards) if p is not None]
        if not parts:
            index: dict[str, int] = {}
            matrix = np.zeros((0, self.dim), dtype=np.float32)
        else:
            keys = np.concatenate([k for k, _ in parts])
            matrix = np.concatenate([v for _, v in parts]) if len(parts) > 1 else parts[0][1]
            # duplicates across shards hold the same vector (same input, same model): the last one wins
            index = dict(zip(keys.tolist(), range(len(keys)), strict=True))
        with _memo_lock:
            _index_memo[str(self.folder)] = (signature, index, matrix)
        return index, matrix

    def get(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors [len(keys), dim] with zero rows where absent, found mask)``."""
        index, matrix = self.load()
        rows = np.fromiter((index.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        found = rows >= 0
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        if found.any():
            out[found] = matrix[rows[found]]
        return out, found

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> Path | None:
        """Write one shard atomically; returns its path (None for no rows)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if not len(keys):
            return None
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"expected {len(keys)} x {self.dim} vectors, got {vectors.shape}")
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_unless_held(self.folder / "store.json", json.dumps(self.meta, indent=2).encode(),
                           "embedding cache: %s is not this store's description; rewriting it")
        buffer = io.BytesIO()
        np.savez(buffer, keys=np.asarray(keys, dtype="U32"), vectors=vectors)
        data = buffer.getvalue()
        path = self.folder / f"shard-{hashlib.sha256(data).hexdigest()[:32]}.npz"
        # the name is the content's hash, so a damaged file of that name must be replaced, not trusted:
        # otherwise every later run finds it bad again and recomputes the same items
        _write_unless_held(path, data, "embedding cache: rewriting damaged %s")
        if len(self.shards()) > COMPACT_AFTER:
            self.compact()
        return path

    def compact(self) -> None:
        """Merge every verified shard into one (one process at a time; readers are never left short)."""
        with open(self.folder / ".lock", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another process is compacting this store right now
            try:
                old = self.shards()
                parts = [p for p in (self._read(path) for path in old) if p is not None]
                if len(parts) <= 1 and len(parts) == len(old):
                    return
                merged = None
                if parts:  # unreadable shards are dropped with the rest: their items get recomputed anyway
                    keys = np.concatenate([k for k, _ in parts])
                    vectors = np.concatenate([v for _, v in parts])
                    keys, first = np.unique(keys, return_index=True)
                    buffer = io.BytesIO()
                    np.savez(buffer, keys=keys.astype("U32"), vectors=vectors[first])
                    data = buffer.getvalue()
                    merged = self.folder / f"shard-{hashlib.sha256(data).hexdigest()[:32]}.npz"
                    if merged.is_dir():  # a folder in its place would make os.replace fail
                        _remove(merged)
                    _atomic_write(merged, data)  # the merged shard exists before any old one goes
                for path in old:
                    if path != merged:
                        _remove(path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _walk(root: Path) -> Iterable[Path]:
    return (p for p in root.rglob("*") if p.is_file()) if root.is_dir() else ()


def cache_info(root: Path | None = None) -> dict[str, Any]:
    """``{"path", "files", "bytes", "stores": [{encoder, modality, vectors, bytes, identity}]}``."""
    root = root or embeddings_root()
    files = list(_walk(root))
    stores = []
    for meta_path in sorted(root.glob("*/*/store.json")) if root.is_dir() else []:
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:  # garbage or a folder: say so; the next write rewrites it
            log.warning("embedding cache: %s is unreadable (%s); listing the store without its description",
                        meta_path, exc)
            meta = {"encoder": meta_path.parent.parent.name, "modality": meta_path.parent.name.split("-")[0]}
        shards = [s for s in meta_path.parent.glob("shard-*.npz") if s.is_file()]
        vectors = 0
        for shard in shards:
            with contextlib.suppress(Exception), np.load(shard, allow_pickle=False) as npz:
                vectors += len(npz["keys"])
        stores.append(
            {
                "encoder": meta.get("encoder"),
                "modality": meta.get("modality"),
                "identity": meta.get("identity"),
                "vectors": vectors,
                "bytes": sum(s.stat().st_size for s in shards),
            }
        )
    return {"path": str(root), "files": len(files), "bytes": sum(f.stat().st_size for f in files), "stores": stores}


CACHE_PARTS = ("embeddings", "alignments", "images", "demo", "uploads", "runs", "trained")  # the folders under cache_dir()


class CacheError(ValueError):
    """A cache folder that will not be touched (a link leading out of the cache root, an unknown name)."""


def part_path(name: str) -> Path:
    """``cache_dir()/name`` for a name of :data:`CACHE_PARTS`, checked to lie inside the cache root.

    Raises
    ------
    CacheError
        Unknown name, a symbolic link in the part's place, or a path resolving outside the root.
    """
    if name not in CACHE_PARTS:
        raise CacheError(f"unknown cache part {name!r}; choose one of {list(CACHE_PARTS)}")
    root = cache_dir()
    path = root / name
    if path.is_symlink():  # clearing through it would delete whatever it points at
        raise CacheError(f"{path} is a symbolic link (to {os.readlink(path)}); refusing to touch it")
    if path.resolve().parent != root.resolve():
        raise CacheError(f"{path} resolves outside the cache root {root}; refusing to touch it")
    return path


def _usage(path: Path) -> tuple[int, int]:
    """(files, bytes) under ``path``, never following links (a link counts as itself)."""
    files = size = 0
    for folder, dirs, names in os.walk(path):  # followlinks=False: a link to a folder is not entered
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(folder, name)).st_size
                files += 1
    return files, size


def part_info(name: str) -> dict[str, Any]:
    """``{"name", "path", "exists", "files", "bytes"}`` of one cache part (see :data:`CACHE_PARTS`)."""
    path = part_path(name)
    files, size = _usage(path) if path.is_dir() else (0, 0)
    return {"name": name, "path": str(path), "exists": path.is_dir(), "files": files, "bytes": size}


def clear_part(name: str) -> int:
    """Delete one cache part (``embeddings``, ``images``, ``demo``, ``uploads`` or ``runs``); returns bytes freed.

    Only ``cache_dir()/name`` is removed: a link in its place is refused (:class:`CacheError`) and links
    inside it are removed as links, never followed, so nothing outside the cache root is deleted.
    """
    path = part_path(name)
    if name == "embeddings":
        return clear_cache(path)
    _, freed = _usage(path) if path.is_dir() else (0, 0)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    log.info("cache %s cleared: %s bytes freed under %s", name, f"{freed:,}", path)
    return freed


def clear_cache(root: Path | None = None) -> int:
    """Delete every stored vector; returns the bytes freed."""
    root = root or embeddings_root()
    if root.is_symlink():  # clear_part refuses this loudly; here (the dashboard's button) a warning is enough
        log.warning("embedding cache %s is a symbolic link (to %s); not clearing through it", root, os.readlink(root))
        return 0
    freed = _usage(root)[1] if root.is_dir() else 0
    if root.is_dir():
        shutil.rmtree(root, ignore_errors=True)
    with _memo_lock:
        _memo.clear()
        _index_memo.clear()
    log.info("embedding cache cleared: %s bytes freed under %s", f"{freed:,}", root)
    return freed
