"""Training and ranking benchmarks behind ``python -m mmrec_core bench``.

``bench_train`` times the batched MLP-BPR training (the real training step of ``mlp-bpr``) against the
original study's loop (one triple at a time with DataFrame lookups), and reports the achieved GFLOP/s
beside this machine's measured float32 matrix-multiply peak. ``bench_rank`` times ranking every item for
every user with the real ``Ranker.recommend`` path (GFLOP/s against the same peak), and each FAISS engine's
speed-up and recall@K against it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger("mmrec.bench")

BATCH_CANDIDATES = (256, 1024, 4096, 16384)


def machine() -> str:
    """A short description of the machine: CPU model, cores, torch version."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"


def write_report(runs: list[dict[str, Any]], path: str | os.PathLike) -> str:
    """``{"machine", "date", "runs"}`` as indented JSON: printed, written to ``path`` (folders made) and returned;
    the record the stand-alone benchmark scripts leave under ``benchmarks/results``."""
    import json
    from pathlib import Path

    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
           "date": time.strftime("%Y-%m-%d"), "runs": runs}
    text = json.dumps(out, indent=2)
    print(text)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text + "\n")
    return text


def peak_gflops(device: str = "cpu", n: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matmul throughput (``torch.mm`` of two ``n x n`` matrices), GFLOP/s."""
    import torch

    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    torch.mm(a, b, out=out)
    _sync(device)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b, out=out)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 * repeats / best / 1e9


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def pair_flops(dim: int, hidden: int = 128) -> float:
    """Matmul FLOPs executed per (user, pos, neg) triple by one batched training step.

    Forward: the user half (``2 d h``) once and the item half (``2 d h``) for pos and neg; backward: the
    weight gradients of the same products (the inputs are constants, so no input gradients); the second
    layer and the elementwise work are counted too, though they are tiny.
    """
    first = 3 * 2 * dim * hidden
    second = 2 * 2 * hidden
    return 2.0 * (first + second)


def _random_problem(pairs: int, dim: int, seed: int):
    rng = np.random.default_rng(seed)
    n_users = max(2, min(pairs // 5, 50_000))
    n_items = max(2, min(pairs, 50_000))
    users = rng.standard_normal((n_users, dim), dtype=np.float32)
    items = rng.standard_normal((n_items, dim), dtype=np.float32)
    pu = rng.integers(0, n_users, pairs)
    pp, pn = rng.integers(0, n_items, pairs), rng.integers(0, n_items, pairs)
    return users, items, pu, pp, pn


def _batched_rate(users, items, pu, pp, pn, dim, batch_size, epochs, device, seed=0) -> float:
    import torch

    from mmrec_core.models.mlp_bpr import pair_step
    from mmrec_core.models.nets import MLPScorer
    from mmrec_core.models.neural import as_tensor
    from mmrec_core.train import seeded, train_loop

    with seeded(seed):
        net = MLPScorer(dim).to(device)
    users_t, items_t = as_tensor(users, device, torch.float32), as_tensor(items, device, torch.float32)
    idx = [as_tensor(a, device, torch.int64) for a in (pu, pp, pn)]
    step = pair_step(net, users_t, items_t, *idx)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    _sync(device)
    start = time.perf_counter()
    train_loop(
        step, len(pu), opt, epochs=epochs, batch_size=batch_size, seed=seed, device=device, modules=[net]
    )
    _sync(device)
    return epochs * len(pu) / (time.perf_counter() - start)


def _naive_rate(users, items, pu, pp, pn, dim, n_triples: int) -> float:
    """The original study's loop: DataFrame ``.loc`` lookups, two full forwards, one step per triple."""
    import pandas as pd
    import torch

    from mmrec_core.losses import bpr_loss
    from mmrec_core.models.nets import MLPScorer

    n = max(1, min(n_triples, len(pu)))
    u_ids, i_ids = np.unique(pu[:n]), np.unique(np.concatenate([pp[:n], pn[:n]]))
    user_df = pd.DataFrame(users[u_ids], index=[f"U{k}" for k in u_ids])
    item_df = pd.DataFrame(items[i_ids], index=[f"I{k}" for k in i_ids])
    triples = [(f"U{a}", f"I{b}", f"I{c}") for a, b, c in zip(pu[:n], pp[:n], pn[:n], strict=True)]
    net = MLPScorer(dim)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    warmup = min(10, n - 1)  # first iterations pay one-off costs (allocator, pandas caches): not timed
    for i, (u_id, p_id, n_id) in enumerate(triples):
        if i == warmup:
            start = time.perf_counter()
        u = torch.tensor(user_df.loc[u_id].values, dtype=torch.float32).unsqueeze(0)
        p = torch.tensor(item_df.loc[p_id].values, dtype=torch.float32).unsqueeze(0)
        q = torch.tensor(item_df.loc[n_id].values, dtype=torch.float32).unsqueeze(0)
        loss = bpr_loss(net(u, p), net(u, q))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (n - warmup) / (time.perf_counter() - start)


def bench_train(
    pairs: int = 200_000,
    dim: int = 512,
    epochs: int = 1,
    naive_pairs: int = 300,
    device: str = "auto",
    batch_size: int | None = None,
    seed: int = 0,
    peak_n: int = 2048,
) -> dict[str, Any]:
    """Batched MLP-BPR training throughput vs the study's per-pair loop on ``pairs`` random triples.

    ``batch_size=None`` tries :data:`BATCH_CANDIDATES` on a short run and keeps the fastest;
    ``peak_n`` is the matrix size of the matmul-peak measurement.

    Returns
    -------
    dict
        pairs_per_s, naive_pairs_per_s, speedup, gflops, peak_gflops, peak_fraction, batch_size,
        batch_rates (candidate -> pairs/s), pairs, dim, epochs, threads, device, machine.
    """
    import torch

    from mmrec_core.encoders.base import pick_device

    dev = pick_device(device)
    users, items, pu, pp, pn = _random_problem(pairs, dim, seed)
    rates: dict[int, float] = {}
    if batch_size is None:
        probe = slice(0, min(pairs, 50_000))
        for b in BATCH_CANDIDATES:
            rates[b] = _batched_rate(users, items, pu[probe], pp[probe], pn[probe], dim, b, 1, dev, seed)
        batch_size = max(rates, key=rates.get)
    rate = _batched_rate(users, items, pu, pp, pn, dim, batch_size, epochs, dev, seed)
    naive = _naive_rate(users, items, pu, pp, pn, dim, naive_pairs)
    gflops = rate * pair_flops(dim) / 1e9
    peak = peak_gflops(dev, n=peak_n)
    result = {
        "pairs_per_s": rate,
        "naive_pairs_per_s": naive,
        "speedup": rate / naive,
        "gflops": gflops,
        "peak_gflops": peak,
        "peak_fraction": gflops / peak,
        "batch_size": batch_size,
        "batch_rates": {str(k): v for k, v in rates.items()},
        "pairs": pairs,
        "dim": dim,
        "epochs": epochs,
        "threads": torch.get_num_threads(),
        "device": dev,
        "machine": machine() if dev == "cpu" else torch.cuda.get_device_name(),
    }
    log.info("bench train: %s", result)
    return result


def _factor_ranker(n_users: int, n_items: int, dim: int, seen_per_user: int, seed: int):
    """A BPR-MF ranker with random ``dim``-d factors and a few seen items per user (no training)."""
    import scipy.sparse as sp
    import torch

    from mmrec_core.config import TrainConfig
    from mmrec_core.models.mf import BPRMFRanker
    from mmrec_core.models.nets import MFNet

    ranker = BPRMFRanker(TrainConfig(factors=dim, device="cpu"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ranker.net = MFNet(n_users, n_items, dim).eval()
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_users), seen_per_user)
    cols = rng.integers(0, n_items, len(rows))
    ranker._seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    ranker.n_items = n_items
    return ranker


def bench_rank(
    n_users: int = 100_000,
    n_items: int = 100_000,
    dim: int = 64,
    k: int = 20,
    chunk: int = 2048,
    seen_per_user: int = 10,
    seed: int = 0,
    engines: Sequence[str] = ("exact",),
    sample_users: int = 10_000,
    peak_n: int = 2048,
) -> dict[str, Any]:
    """Seconds to rank every item for every user (top-``k``, seen items excluded) on CPU, per engine.

    ``exact`` times the real path, ``Ranker.recommend`` of a BPR-MF ranker with random ``dim``-d factors
    (the exact engine of :mod:`mmrec_core.retrieval`), and reports GFLOP/s (``2 * dim`` FLOPs per
    (user, item) score) against the matmul peak measured in the same run. Each FAISS engine builds its index
    on the ranker's item vectors (``build_s``), searches a seeded sample of ``sample_users`` users
    (``sample_users`` >= ``n_users``: all of them) and reports its users/s, its speed-up over ``exact``'s
    users/s and its recall@``k`` against ``exact``'s lists for those users.
    """
    import torch

    from mmrec_core.retrieval import ENGINES, ItemIndex, RetrievalConfig, recall_at_k

    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise ValueError(f"unknown engine(s) {unknown}; choose among {ENGINES}")
    ranker = _factor_ranker(n_users, n_items, dim, seen_per_user, seed)
    users = np.arange(n_users)
    peak = peak_gflops("cpu", n=peak_n)
    start, cpu = time.perf_counter(), time.process_time()
    exact, _ = ranker.recommend(users, k, exclude_seen=True, chunk_size=chunk)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    gflops = 2.0 * dim * n_users * n_items / seconds / 1e9
    result: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu,  # all threads; well below seconds x threads: other processes had the cores
        "users_per_s": n_users / seconds,
        "gflops": gflops,
        "peak_gflops": peak,
        "peak_fraction": gflops / peak,
        "n_users": n_users,
        "n_items": n_items,
        "dim": dim,
        "k": k,
        "path": "Ranker.recommend (exact engine)",
        "retrieval": dataclasses.asdict(RetrievalConfig()),
        "engines": {},
        "threads": torch.get_num_threads(),
        "device": "cpu",
        "machine": machine(),
    }
    user_vecs, item_vecs = ranker.dot_vectors()
    sample = users
    if sample_users < n_users:
        sample = np.sort(np.random.default_rng(seed).choice(n_users, sample_users, replace=False))
    for engine in (e for e in engines if e != "exact"):
        start = time.perf_counter()
        index = ItemIndex(item_vecs, RetrievalConfig(engine=engine))
        build = time.perf_counter() - start
        start = time.perf_counter()
        found, _ = index.search(user_vecs[sample], k, exclude=ranker._seen[sample])
        search = time.perf_counter() - start
        rate = len(sample) / search
        result["engines"][engine] = {
            "build_s": build,
            "search_s": search,
            "users": len(sample),
            "users_per_s": rate,
            "speedup": rate / result["users_per_s"],
            f"recall@{k}": recall_at_k(found, exact[sample]),
        }
    log.info("bench rank: %s", result)
    return result
