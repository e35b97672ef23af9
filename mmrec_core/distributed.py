"""Past one machine: the item embedding job on Ray Data, and batch top-K for every user.

:func:`embed_catalogue` reads a meta file (JSONL, gzip or not, or Parquet) in blocks, normalises each record
exactly as the loader does (:func:`mmrec_core.data.meta.normalise_meta`), and sends blocks to a pool of
encoder actors (one per GPU where the cluster has GPUs, one per CPU otherwise). Each actor fetches its
pictures with the guarded fetcher (:func:`mmrec_core.data.images.load_images`) and encodes text and
pictures with the same encoder the single-process path uses. The driver streams the results into Parquet
part files and into the content-keyed embedding cache under the very keys :mod:`mmrec_core.embeddings`
computes, so the dashboard and ``python -m mmrec_core study`` then find every vector as a cache hit.

A broken picture stays missing (``image_ok`` False, a zero row, its reason kept), never replaced.
``ray`` is imported inside the functions: ``import mmrec_core`` stays light.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmrec_core.cache import VectorStore, content_key, embeddings_root
from mmrec_core.config import EmbedConfig, ImageConfig, cache_dir
from mmrec_core.progress import ProgressCallback, Reporter

__all__ = [
    "RayEmbedResult",
    "embed_catalogue",
    "encoder_pool",
    "import_vectors",
    "init_ray",
    "rank_all_users",
    "read_vectors",
]

log = logging.getLogger("mmrec.distributed")

READ_CPUS = 0.25  # logical CPUs of one read/parse task: light next to encoding
READ_RESERVE = 1.0  # logical CPUs the actor pools leave free: Ray Data's file listing asks for a whole one
BLOCK_ROWS = 256  # rows per block sent to an encoder actor (and per Parquet row group)
PARQUET_ROWS = 4096  # rows per Parquet part file written by the driver
MANIFEST = "manifest.json"


def init_ray(address: str | None = None, num_cpus: int | None = None) -> dict[str, float]:
    """Connect to a cluster (``address``: ``auto``, ``ray://head:10001``, ``host:6379``) or start Ray locally.

    Local mode uses ``num_cpus`` (default: every CPU of this machine) and no dashboard. Workers import
    ``mmrec_core`` from this checkout (shipped as a ``py_modules`` runtime environment when connecting
    to a cluster); they need the same requirements installed. Returns ``ray.cluster_resources()``.
    """
    import ray

    if not ray.is_initialized():
        if address:
            package = str(Path(__file__).resolve().parent)
            ray.init(address=address, runtime_env={"py_modules": [package]}, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    resources = dict(ray.cluster_resources())
    log.info("ray: %s CPUs, %s GPUs in the cluster", resources.get("CPU", 0), resources.get("GPU", 0))
    return resources


def encoder_pool(resources: dict[str, float], actors: int | None = None) -> dict[str, Any]:
    """``map_batches`` arguments of the encoder actor pool: one actor per GPU, else one per CPU.

    ``actors`` caps the pool size (None: as many as the cluster holds). The actors leave :data:`READ_RESERVE`
    logical CPUs free, so a CPU actor asks for less than one: actors holding every CPU would leave the read
    tasks that feed them unscheduled, and the job would wait forever. Logical CPUs only steer scheduling;
    each actor still runs in its own process.
    """
    cpus = float(resources.get("CPU", 1))
    gpus = int(resources.get("GPU", 0))
    if gpus:
        size = min(gpus, actors or gpus)
        return {
            "concurrency": size,
            "num_gpus": 1,
            "num_cpus": min(1.0, max(cpus - READ_RESERVE, 0.0) / size),
        }
    size = max(1, min(int(cpus), actors or int(cpus)))
    return {"concurrency": size, "num_cpus": max(cpus - READ_RESERVE, 0.0) / size}


# --- the job's stages (run on the workers) ------------------------------------------------------------


def _rows(records: list[Any], base_dir: str | None) -> pd.DataFrame:
    """Normalised meta records -> one row each: id, the text and picture reference, their cache keys."""
    from mmrec_core.data.meta import normalise_meta
    from mmrec_core.data.records import Malformed, check_encodable, malformed_reason, parse_record
    from mmrec_core.embeddings import image_key, item_texts

    base = Path(base_dir) if base_dir else None
    rows, errors = [], []
    for raw in records:
        try:
            row = normalise_meta(parse_record(raw), base)
            check_encodable(row)
            if row["item_id"] is None:
                raise Malformed("no parent_asin")
            rows.append(row)
            errors.append("")
        except Exception as exc:  # noqa: BLE001 - one record never stops a job: counted by the driver
            rows.append({"item_id": None})
            errors.append(malformed_reason(exc))
    items = pd.DataFrame(rows, columns=["item_id", "title", "main_category", "features", "image_url"])
    texts, _ = item_texts(items)
    refs = [r if isinstance(r, str) else None for r in items["image_url"]]
    return pd.DataFrame(
        {
            "item_id": items["item_id"].fillna("").astype(str),
            "text": texts,
            "text_key": [content_key(t) for t in texts],
            "image_ref": [r or "" for r in refs],
            "image_key": [image_key(r) or "" for r in refs],
            "error": errors,
        }
    )


def _parse_lines(batch: dict[str, np.ndarray], base_dir: str | None) -> pd.DataFrame:
    return _rows(list(batch["text"]), base_dir)


def _parse_table(batch: Any, base_dir: str | None) -> pd.DataFrame:
    return _rows(batch.to_pylist(), base_dir)


class _EncodeActor:
    """One encoder per actor (weights loaded once); fetches a block's pictures, then encodes both modalities."""

    def __init__(self, embed: EmbedConfig, images: ImageConfig, image_cache: str):
        from mmrec_core.encoders.registry import create_encoder

        self.encoder = create_encoder(embed.encoder, embed.checkpoint, embed.image_checkpoint, embed.device)
        self.batch_size = embed.batch_size
        self.images = images
        self.image_cache = Path(image_cache)

    def __call__(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        from mmrec_core.data.images import load_images

        enc = self.encoder
        good = (batch["error"] == "").to_numpy()
        n = len(batch)
        text = np.zeros((n, enc.text_dim), dtype=np.float32)
        image = np.zeros((n, enc.image_dim), dtype=np.float32)
        image_ok = np.zeros(n, dtype=bool)
        reasons = np.array(["" for _ in range(n)], dtype=object)
        if good.any():
            text[good] = enc.encode_texts(batch["text"][good].tolist(), batch_size=self.batch_size)
        refs = [r if r else None for r in batch["image_ref"]]
        wanted = [i for i in range(n) if good[i]]
        results = load_images([refs[i] for i in wanted], self.images, cache=self.image_cache)
        pictures = []
        for i, result in zip(wanted, results, strict=True):
            if result.ok:
                image_ok[i] = True
                pictures.append(result.image)
            else:  # a broken picture is reported missing, never replaced
                reasons[i] = result.reason or "unknown"
        if pictures:
            image[image_ok] = enc.encode_images(pictures, batch_size=self.batch_size)
        for i in np.flatnonzero(~good):
            reasons[i] = "malformed record"
        return {
            "item_id": batch["item_id"].to_numpy(dtype=object),
            "text_key": batch["text_key"].to_numpy(dtype=object),
            "image_key": batch["image_key"].to_numpy(dtype=object),
            "error": batch["error"].to_numpy(dtype=object),
            "text": text,
            "image": image,
            "image_ok": image_ok,
            "missing_reason": reasons,
        }


def _read(meta_path: str) -> Any:
    """The meta file as a Ray Dataset of normalised rows (JSONL, gzip by content or name, or Parquet)."""
    import ray.data

    path = Path(meta_path)
    local = path.is_file()
    base_dir = str(path.resolve().parent) if local else None
    magic = b""
    if local:
        with path.open("rb") as fh:
            magic = fh.read(4)
    if magic == b"PAR1" or meta_path.endswith(".parquet"):
        ds = ray.data.read_parquet(meta_path, num_cpus=READ_CPUS)
        return ds.map_batches(_parse_table, batch_format="pyarrow", fn_args=(base_dir,), num_cpus=READ_CPUS)
    gzipped = magic[:2] == b"\x1f\x8b" or meta_path.endswith(".gz")
    stream_args = {"compression": "gzip"} if gzipped else {"compression": None}
    ds = ray.data.read_text(meta_path, arrow_open_stream_args=stream_args, num_cpus=READ_CPUS)
    return ds.map_batches(_parse_lines, batch_format="numpy", fn_args=(base_dir,), num_cpus=READ_CPUS)


# --- the driver --------------------------------------------------------------------------------------


@dataclass
class RayEmbedResult:
    """What :func:`embed_catalogue` did: where the Parquet went, what the cache gained, what was missing."""

    out_dir: Path
    items: int
    encoder: str
    identity: str
    actors: int
    device: str
    seconds: float
    malformed: int = 0
    missing_reasons: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)  # new vectors written to the cache per modality

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("nan")


def _vector_column(matrix: np.ndarray) -> Any:
    import pyarrow as pa

    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def _write_part(path: Path, part: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "item_id": pa.array(part["item_id"].tolist(), pa.string()),
            "text_key": pa.array(part["text_key"].tolist(), pa.string()),
            "text": _vector_column(part["text"]),
            "image_key": pa.array([k or None for k in part["image_key"].tolist()], pa.string()),
            "image": _vector_column(part["image"]),
            "image_ok": pa.array(part["image_ok"], pa.bool_()),
            "missing_reason": pa.array([r or None for r in part["missing_reason"].tolist()], pa.string()),
        }
    ).replace_schema_metadata({"mmrec": json.dumps(meta)})
    tmp = path.with_name(f".tmp-{path.name}")
    pq.write_table(table, tmp, row_group_size=BLOCK_ROWS)
    os.replace(tmp, path)


class _CacheWriter:
    """Puts a part's vectors into the content-keyed stores, skipping keys the store already holds."""

    def __init__(self, encoder: str, identity: str, text_dim: int, image_dim: int):
        self.text = VectorStore.open(encoder, identity, "text", text_dim)
        self.image = VectorStore.open(encoder, identity, "image", image_dim)
        self.added: Counter[str] = Counter()

    def put(self, keys: np.ndarray, vectors: np.ndarray, ok: np.ndarray, modality: str) -> None:
        store = self.text if modality == "text" else self.image
        keys = np.asarray(keys, dtype=object)
        _, found = store.get([str(k) for k in keys[ok]])
        fresh = np.flatnonzero(ok)[~found]
        seen: dict[str, int] = {}
        for i in fresh:  # one row per distinct input, as the single-process path stores them
            seen.setdefault(str(keys[i]), int(i))
        if seen:
            store.put(list(seen), vectors[list(seen.values())])
            self.added[modality] += len(seen)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _batches(ds: Any) -> Iterator[dict[str, np.ndarray]]:
    yield from ds.iter_batches(batch_size=None, batch_format="numpy")


def default_out_dir(meta_path: str | Path, encoder: str) -> Path:
    """``<cache>/embeddings/parquet/<encoder>-<hash of the meta path>``: one folder per (catalogue, encoder)."""
    return embeddings_root() / "parquet" / f"{encoder}-{content_key(str(Path(meta_path).resolve()))[:12]}"


def embed_catalogue(
    meta_path: str | Path,
    embed: EmbedConfig = EmbedConfig(),
    images: ImageConfig = ImageConfig(),
    *,
    out_dir: str | Path | None = None,
    actors: int | None = None,
    progress: ProgressCallback | None = None,
) -> RayEmbedResult:
    """Embed every record of a meta file on Ray (call :func:`init_ray` first, or Ray starts locally).

    Parameters
    ----------
    meta_path:
        Amazon meta JSONL (``.jsonl`` / ``.jsonl.gz``) or Parquet; relative picture paths resolve against
        its folder, as in the single-process loader.
    embed, images:
        The encoder and the picture guards, exactly as for :func:`mmrec_core.embeddings.embed_items`.
    out_dir:
        Where the Parquet part files and ``manifest.json`` go (default :func:`default_out_dir`); earlier
        parts there are replaced.
    actors:
        Cap on the encoder pool (default: one actor per GPU, else per CPU of the cluster).
    progress:
        Receives ``ray embed`` events (items written so far).

    Rows keep the meta file's order; malformed records are counted and left out.

    Raises
    ------
    ValueError
        For an encoder aligned on a catalogue: its towers are fitted on a loaded catalogue, so embed with
        its base encoder here and align where the catalogue is loaded.
    """
    from mmrec_core.encoders.registry import ENCODERS, create_encoder

    spec = ENCODERS.get(embed.encoder)
    if spec is not None and spec.aligned_from:
        raise ValueError(f"{embed.encoder} is fitted on a loaded catalogue: embed with {spec.aligned_from!r} on Ray "
                         "(the aligned encoder then reuses those cached vectors where the catalogue is loaded)")
    import ray
    import ray.data

    start = time.perf_counter()
    resources = init_ray()
    pool = encoder_pool(resources, actors)
    local = create_encoder(
        embed.encoder, embed.checkpoint, embed.image_checkpoint, embed.device
    )  # no weights loaded
    identity = local.identity()
    out = Path(out_dir) if out_dir is not None else default_out_dir(meta_path, embed.encoder)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    meta = {
        "encoder": embed.encoder,
        "identity": identity,
        "text_dim": local.text_dim,
        "image_dim": local.image_dim,
        "meta_path": str(meta_path),
    }
    image_cache = cache_dir() / "images"
    context = ray.data.DataContext.get_current()
    keep_order = context.execution_options.preserve_order
    context.execution_options.preserve_order = True  # rows in the meta file's order
    try:
        ds = _read(str(meta_path))
        resources_per_actor = {k: v for k, v in pool.items() if k != "concurrency"}
        ds = ds.map_batches(
            _EncodeActor,
            batch_size=BLOCK_ROWS,
            batch_format="pandas",
            fn_constructor_args=(embed, images, str(image_cache)),
            compute=ray.data.ActorPoolStrategy(size=pool["concurrency"]),
            **resources_per_actor,
        )
        log.info(
            "ray embed: %s with %d %s actor(s) -> %s",
            meta_path,
            pool["concurrency"],
            "GPU" if pool.get("num_gpus") else "CPU",
            out,
        )
        writer = _CacheWriter(embed.encoder, identity, local.text_dim, local.image_dim)
        reporter = Reporter(progress, "ray embed", None)
        reasons: Counter[str] = Counter()
        pending: list[dict[str, np.ndarray]] = []
        items = malformed = parts = 0

        def flush() -> None:
            nonlocal parts
            part = _concat(pending)
            pending.clear()
            writer.put(part["text_key"], part["text"], np.ones(len(part["text"]), dtype=bool), "text")
            writer.put(part["image_key"], part["image"], part["image_ok"], "image")
            _write_part(out / f"part-{parts:05d}.parquet", part, meta)
            parts += 1

        for batch in _batches(ds):
            good = batch["error"] == ""
            malformed += int((~good).sum())
            batch = {k: v[good] for k, v in batch.items()}
            reasons.update(
                r for r, ok in zip(batch["missing_reason"], batch["image_ok"], strict=True) if not ok
            )
            pending.append(batch)
            items += len(batch["item_id"])
            if sum(len(p["item_id"]) for p in pending) >= PARQUET_ROWS:
                flush()
            reporter.update(items)
        if pending and sum(len(p["item_id"]) for p in pending):
            flush()
    finally:
        context.execution_options.preserve_order = keep_order
    result = RayEmbedResult(
        out_dir=out,
        items=items,
        encoder=embed.encoder,
        identity=identity,
        actors=pool["concurrency"],
        device="GPU" if pool.get("num_gpus") else "CPU",
        seconds=time.perf_counter() - start,
        malformed=malformed,
        missing_reasons=dict(reasons.most_common()),
        cached=dict(writer.added),
    )
    manifest = {
        **meta,
        "items": items,
        "parts": parts,
        "malformed": malformed,
        "actors": result.actors,
        "device": result.device,
        "seconds": round(result.seconds, 3),
        "missing_reasons": result.missing_reasons,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    log.info(
        "ray embed: %d items in %.1f s (%.1f items/s), %d malformed, missing pictures %s; cache gained %s",
        items,
        result.seconds,
        result.items_per_s,
        malformed,
        result.missing_reasons or "none",
        result.cached,
    )
    return result


def read_vectors(out_dir: str | Path) -> pd.DataFrame:
    """The Parquet written by :func:`embed_catalogue`, one row per record: ``item_id``, ``text_key``,
    ``text`` (float32 array), ``image_key``, ``image``, ``image_ok``, ``missing_reason``; ``attrs["mmrec"]``
    holds the manifest."""
    import pyarrow.parquet as pq

    out = Path(out_dir)
    parts = sorted(out.glob("part-*.parquet"))
    frames = [pq.read_table(p).to_pandas() for p in parts]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame.attrs["mmrec"] = json.loads((out / MANIFEST).read_text()) if (out / MANIFEST).is_file() else {}
    return frame


def import_vectors(out_dir: str | Path) -> dict[str, int]:
    """Put the vectors of a Ray embed's Parquet (e.g. written on a cluster and copied here) into this
    machine's embedding cache; returns the new vectors per modality."""
    import pyarrow.parquet as pq

    out = Path(out_dir)
    manifest = json.loads((out / MANIFEST).read_text())
    writer = _CacheWriter(
        manifest["encoder"], manifest["identity"], manifest["text_dim"], manifest["image_dim"]
    )
    for path in sorted(out.glob("part-*.parquet")):
        table = pq.read_table(path)
        keys = {k: np.asarray(table.column(k).to_pylist(), dtype=object) for k in ("text_key", "image_key")}
        text = table.column("text").combine_chunks().flatten().to_numpy().reshape(len(table), -1)
        image = table.column("image").combine_chunks().flatten().to_numpy().reshape(len(table), -1)
        ok = table.column("image_ok").to_numpy(zero_copy_only=False)
        writer.put(keys["text_key"], text, np.ones(len(table), dtype=bool), "text")
        writer.put(keys["image_key"], image, ok, "image")
    return dict(writer.added)


# --- batch top-K for every user ----------------------------------------------------------------------


class _SearchActor:
    """Holds one copy of the item index (read once from the object store) and the shared user matrix."""

    def __init__(self, shared: list[Any], k: int):
        import ray

        from mmrec_core.retrieval import ItemIndex

        index_ref, users_ref, exclude_ref = shared
        self.index = ItemIndex.from_bytes(ray.get(index_ref))
        self.users = ray.get(users_ref)  # zero-copy from the object store on this node
        self.exclude = ray.get(exclude_ref) if exclude_ref is not None else None
        self.k = k

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = batch["data"].astype(np.int64)
        exclude = self.exclude[rows] if self.exclude is not None else None
        top, scores = self.index.search(self.users[rows], self.k, exclude=exclude)
        return {"user": rows, "items": top, "scores": scores}


def rank_all_users(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    k: int,
    exclude: Any = None,
    config: Any = None,
    *,
    block: int = 1024,
    actors: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items of every user on Ray: the result of ``ItemIndex(items, config).search(users, k, exclude)``.

    The index is built once here, serialised (:meth:`~mmrec_core.retrieval.ItemIndex.to_bytes`) and
    ``ray.put`` once, with the user matrix and the exclusions; a pool of search actors (one per CPU)
    reads them from the object store and ranks user blocks of ``block`` rows (a Ray Dataset of user ids).

    Parameters
    ----------
    user_vectors, item_vectors:
        ``(n_users, d)`` and ``(n_items, d)`` float32.
    exclude:
        ``(n_users, n_items)`` CSR of items never returned per user (seen items), or None.
    config:
        :class:`mmrec_core.config.RetrievalConfig` (engine ``exact``, ``faiss-flat`` or ``faiss-hnsw``).

    Returns
    -------
    (indices, scores):
        ``(n_users, k)`` int64 (``-1`` padding) and float32, best first, as ``ItemIndex.search`` returns them.
    """
    import ray
    import ray.data
    import scipy.sparse as sp

    from mmrec_core.config import RetrievalConfig
    from mmrec_core.retrieval import ItemIndex

    config = config or RetrievalConfig()
    users = np.ascontiguousarray(user_vectors, dtype=np.float32)
    n_users = len(users)
    if exclude is not None:
        exclude = sp.csr_matrix(exclude)
        if exclude.shape != (n_users, len(item_vectors)):
            raise ValueError(f"exclude must have shape {(n_users, len(item_vectors))}, got {exclude.shape}")
    start = time.perf_counter()
    resources = init_ray()
    pool = encoder_pool({"CPU": resources.get("CPU", 1)}, actors)  # CPU search actors, reading left room
    index = ItemIndex(item_vectors, config)
    shared = [ray.put(index.to_bytes()), ray.put(users), ray.put(exclude) if exclude is not None else None]
    top = np.full((n_users, max(int(k), 0)), -1, np.int64)
    scores = np.full(top.shape, -np.inf, np.float32)
    context = ray.data.DataContext.get_current()
    keep_order = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        # ids put by the driver (no read task: the actors hold all but READ_RESERVE of the CPUs)
        ids = np.array_split(np.arange(n_users, dtype=np.int64), max(1, -(-n_users // block)))
        ds = ray.data.from_numpy(ids)
        ds = ds.map_batches(
            _SearchActor,
            batch_size=block,
            batch_format="numpy",
            fn_constructor_args=(shared, int(k)),
            compute=ray.data.ActorPoolStrategy(size=pool["concurrency"]),
            num_cpus=pool["num_cpus"],
        )
        reporter = Reporter(progress, "ray top-k", n_users, "users")
        done = 0
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            top[batch["user"]], scores[batch["user"]] = batch["items"], batch["scores"]
            done += len(batch["user"])
            reporter.update(done)
    finally:
        context.execution_options.preserve_order = keep_order
    log.info(
        "ray top-%d: %d users x %d items (%s) on %d actor(s) in %.1f s",
        k, n_users, len(item_vectors), config.engine, pool["concurrency"], time.perf_counter() - start,
    )  # fmt: skip
    return top, scores
