"""Recommend from words, measured against the demo's hidden tastes.

Protocol: the demo catalogue (``--size``, default small) is split as Study A splits it (the defaults of
``SplitConfig``); each evaluated user's sentence is their hidden taste as :meth:`DemoTruth.describe_taste`
words it ("loves red, stripes; likes sneakers; dislikes handbags"), parsed by
:func:`mmrec_core.preferences.parse_preference` and embedded with the aligned encoder's text tower. The
sentence alone ranks the catalogue (train items excluded, as for every model), and NDCG@10 / recall@10 are
measured against the user's held-out positive items with the same code as the Rankers page
(:func:`mmrec_core.evaluate.evaluate_ranking`), beside popularity (train counts) and the oracle (the hidden
affinity itself). Variants: scoring against the fused ``mean`` vector, the pictures only, the titles only,
and the sentence without its dislikes (what the negation handling is worth).

Usage: ``python benchmarks/bench_words.py [--size small] [--encoders bundled-aligned,classic-aligned]``;
prints one JSON object and writes ``benchmarks/results/words.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(size: str, encoder: str) -> dict:
    import numpy as np

    from mmrec_core import preferences as P
    from mmrec_core.config import DataConfig, EmbedConfig, EvalConfig, StudyConfig
    from mmrec_core.data.interactions import ranking_data
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items
    from mmrec_core.evaluate import evaluate_ranking
    from mmrec_core.models.fixed import FixedScoreRanker
    from mmrec_core.models.popularity import PopularityRanker
    from mmrec_core.study import prepare_interactions

    ds = load_dataset(DataConfig(demo_size=size))
    embed = EmbedConfig(encoder=encoder)
    emb = embed_items(ds, embed)
    data = prepare_interactions(ds, StudyConfig(data=DataConfig(demo_size=size), embed=embed))
    inter, split = data.inter, data.split
    truth = ds.truth
    sentences = [truth.describe_taste(uid) for uid in inter.user_ids]
    parsed = [P.parse_preference(s) for s in sentences]
    start = time.perf_counter()
    encode = P.text_encoder(emb, embed)
    queries = P.query_vectors(parsed, encode)
    encode_s = time.perf_counter() - start
    item_ids = ds.items["item_id"].astype(str).to_numpy()
    order = {item: i for i, item in enumerate(item_ids)}
    rows = np.array([order[i] for i in inter.item_ids])  # interactions' item order -> embedding rows

    def metrics(model) -> dict:
        out = evaluate_ranking(model, inter, split, EvalConfig(ks=(10,)), auc=False)
        return {"ndcg@10": round(out["ndcg@10"], 4), "recall@10": round(out["recall@10"], 4),
                "n_users": int(out["n_users"])}

    results = {}
    for against in ("mean", "image", "text"):
        items = P.item_vectors(emb, against)[rows]
        results[f"words, against {against}"] = metrics(P.words_ranker(queries, items))
    liked_only = P.query_vectors([dataclasses.replace(p, disliked=()) for p in parsed], encode)
    results["words without the dislikes"] = metrics(P.words_ranker(liked_only, P.item_vectors(emb, "mean")[rows]))
    negation_kept = P.query_vectors([dataclasses.replace(p, liked=(*p.liked, *p.disliked), disliked=())
                                     for p in parsed], encode)
    results["words, dislikes read as likes"] = metrics(P.words_ranker(negation_kept, P.item_vectors(emb, "mean")[rows]))
    pop = PopularityRanker().fit(ranking_data(inter, split))
    results["popularity"] = metrics(pop)
    results["oracle (hidden taste)"] = metrics(FixedScoreRanker.from_factors(
        *truth.affinity_factors(inter.user_ids, inter.item_ids)))
    return {"size": size, "encoder": encoder, "items": len(ds.items), "users": int(inter.n_users),
            "example": {"sentence": sentences[0], "parsed": parsed[0].describe()},
            "encode_s": round(encode_s, 2), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--encoders", default="bundled-aligned,classic-aligned")
    args = parser.parse_args()
    rows = [bench(args.size, enc) for enc in args.encoders.split(",")]
    from mmrec_core.bench import write_report

    write_report(rows, ROOT / "benchmarks" / "results" / "words.json")


if __name__ == "__main__":
    main()
