"""Search variants on already-embedded stores: how fusion, passage weight and threshold were chosen.

Runs whole searches per variant (slow on ArguAna); ``bench/fusion_lab.py`` scores fusion
and grouping variants offline from recorded legs and is the faster way to explore.

Nothing is embedded except queries (once per dataset): the stores come from
``bench/needles.py`` (its cache) and from ``rlm eval DATASET --store PATH``.
For every variant it prints needle hits in the top 1/3/10 (plain and typed
queries) and nDCG@10 / R@100 per mode on each BEIR set given.

    python bench/search_variants.py --needles \\
        --beir ../shared/bench-data/vaswani-npl=/tmp/npl.db \\
        --beir ../shared/bench-data/arguana=/tmp/arguana.db
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import needles
from needle_facts import NEEDLES

MODES = ("bm25", "semantic", "hybrid")
LONG_WEIGHT: float | None = None


@contextmanager
def variant(weight: float, hyde: str, lexical: str, bonus: str) -> Iterator[None]:
    """Set the module-level knobs of one variant, restoring them afterwards.

    ``lexical``: ``grouped`` (rlm's leg), ``summed`` (the earlier leg, porter +
    aux added) or ``porter`` (plain FTS5 BM25, the floor).
    """
    import rlm.search.engine as engine
    import rlm.search.fusion as fusion
    import rlm.search.lexical as lex
    import rlm.search.queries as queries
    import rlm.search.vector as vector

    legs = {
        "grouped": lex.lexical_ranking,
        "summed": lex.lexical_ranking_summed,
        "porter": lex.porter_only_ranking,
    }
    saved = (vector.PASSAGE_WEIGHT, queries.HYDE_LEGS, engine.lexical_ranking, fusion.TOP_BONUS)
    long_weight = vector.LONG_QUERY_PASSAGE_WEIGHT
    if LONG_WEIGHT is not None:
        vector.LONG_QUERY_PASSAGE_WEIGHT = LONG_WEIGHT
    fusion.TOP_BONUS = tuple(float(b) for b in bonus.split(":"))
    vector.PASSAGE_WEIGHT = weight
    queries.HYDE_LEGS = tuple(hyde.split("+"))
    engine.lexical_ranking = legs[lexical]
    try:
        yield
    finally:
        vector.PASSAGE_WEIGHT, queries.HYDE_LEGS, engine.lexical_ranking, fusion.TOP_BONUS = saved
        vector.LONG_QUERY_PASSAGE_WEIGHT = long_weight


def needle_hits(store: Any, targets: list[set[int]], settings: dict[str, Any]) -> dict[str, Any]:
    from rlm.search import search

    out: dict[str, Any] = {}
    for typed in (False, True):
        for mode in MODES:
            ranks = []
            for needle, hit in zip(NEEDLES, targets, strict=True):
                entries = needle.typed_queries() if typed else [needle.question]
                response = search(
                    store, queries=entries, mode=mode, top_k=needles.DEPTH, **settings
                )
                ranks.append(needles.first_rank([r.chunk_id for r in response.results], hit))
            label = f"{'typed' if typed else 'plain'}-{mode}"
            out[label] = "/".join(
                str(sum(1 for r in ranks if r is not None and r <= c)) for c in needles.CUTS
            )
    return out


def beir_scores(
    dataset: Any, store: Any, vectors: dict[str, Any], settings: dict[str, Any]
) -> dict[str, str]:
    from rlm.search.engine import SearchEngine
    from rlm.search.evaluation import RUN_DEPTH, _buffer_name
    from rlm.search.metrics import evaluate

    buffer = store.find_buffer_by_name(_buffer_name(dataset))
    refs = store.list_chunk_refs(buffer.id)
    doc_of = dict(zip([r.id for r in refs], dataset.doc_ids, strict=True))
    text_of = dict(zip(dataset.doc_ids, dataset.doc_texts, strict=True))
    engine = SearchEngine(store)
    runs: dict[str, dict[str, list[str]]] = {m: {} for m in MODES}
    for qid, text in dataset.queries.items():
        drop = qid in text_of and " ".join(text.split()) in " ".join(text_of[qid].split())
        ranked = engine.rank(
            text, MODES, top_k=RUN_DEPTH + int(drop), query_vector=vectors[qid], **settings
        )
        for mode, hits in ranked.items():
            docs = [doc_of[h.chunk_id] for h in hits if h.chunk_id in doc_of]
            runs[mode][qid] = [d for d in docs if not (drop and d == qid)][:RUN_DEPTH]
    out = {}
    for mode, run in runs.items():
        m = evaluate(run, dataset.qrels)
        out[mode] = f"{m['ndcg@10']:.4f}/{m['recall@100']:.4f}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--needles", action="store_true", help="use the needle store")
    parser.add_argument("--size-mb", type=float, default=2.5)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("RLM_BENCH_CACHE", Path.home() / ".cache" / "rlm-bench")),
    )
    parser.add_argument("--beir", action="append", default=[], metavar="DIR=STORE")
    parser.add_argument("--passage-tokens", type=int, default=None)
    parser.add_argument("--limit-queries", type=int, default=None, help="first N judged queries")
    parser.add_argument("--fusion", default="rrf,rrf_bonus,rrf_certainty,score")
    parser.add_argument("--weight", default="0,0.5,1")
    parser.add_argument("--threshold", default="0.3")
    parser.add_argument("--rrf-k", default="60")
    parser.add_argument("--hyde", default="semantic+bm25")
    parser.add_argument("--lexical", default="grouped", help="grouped,summed,porter")
    parser.add_argument("--modes", default="bm25,semantic,hybrid")
    parser.add_argument("--long-weight", type=float, default=None, help="weight, long queries")
    parser.add_argument("--bonus", default="1:0.5:0.5", help="rank 1:2:3 bonuses, comma-separated")
    args = parser.parse_args()

    from rlm.embedding import get_embedder
    from rlm.search.evaluation import load_beir
    from rlm.store import Store

    grid = list(
        itertools.product(
            args.fusion.split(","),
            [float(w) for w in args.weight.split(",")],
            [float(t) for t in args.threshold.split(",")],
            [float(k) for k in args.rrf_k.split(",")],
            args.hyde.split(","),
            args.lexical.split(","),
            args.bonus.split(","),
        )
    )
    needle_store = targets = None
    if args.passage_tokens:
        import rlm.embedding.passages as passages

        passages.PASSAGE_TOKENS = args.passage_tokens
    if args.needles:
        text, spans = needles.build_haystack(needles.DEFAULT_DATA, args.size_mb)
        needle_store, _ = needles.cached_store(text, args.cache)
        targets = needles.needle_chunks(needle_store, text, spans)
    sets = []
    embedder = get_embedder()
    semantic = args.modes != "bm25"
    for item in args.beir:
        folder, path = item.split("=", 1)
        dataset = load_beir(folder, args.limit_queries)
        vectors = {
            qid: embedder.embed_query(q) if semantic else None for qid, q in dataset.queries.items()
        }
        sets.append((dataset, Store(path), vectors))
    global MODES, LONG_WEIGHT
    MODES = tuple(args.modes.split(","))
    LONG_WEIGHT = args.long_weight
    for fusion, weight, threshold, rrf_k, hyde, lexical, bonus in grid:
        settings = {"fusion": fusion, "threshold": threshold, "rrf_k": rrf_k}
        row: dict[str, Any] = {
            "fusion": fusion,
            "weight": weight,
            "threshold": threshold,
            "rrf_k": rrf_k,
            "hyde": hyde,
            "lexical": lexical,
            "bonus": bonus,
        }
        with variant(weight, hyde, lexical, bonus):
            if needle_store is not None and targets is not None:
                row["needles"] = needle_hits(needle_store, targets, settings)
            for dataset, store, vectors in sets:
                row[dataset.name] = beir_scores(dataset, store, vectors, settings)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
