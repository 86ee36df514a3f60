"""IR metrics with trec_eval's definitions (``ndcg_cut``, ``recall``, ``recip_rank``).

* nDCG@k: gain = the qrels relevance (graded, values <= 0 count 0), discount
  ``log2(rank + 1)``; the ideal ranking sorts all judged relevances. 0 when the
  query has no relevant document.
* Recall@k: relevant documents (relevance > 0) in the top k / all relevant.
* MRR@k: 1 / rank of the first relevant document within the top k, else 0.

The ranking is taken as given (best first); duplicates count once (first place).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
"""query id -> document id -> relevance."""


def _dedup(ranking: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for doc in ranking:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
    return out


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains) if g > 0)


def ndcg_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    ideal = sorted((max(r, 0) for r in judged.values()), reverse=True)[:k]
    best = dcg(ideal)
    if best == 0:
        return 0.0
    got = [max(judged.get(doc, 0), 0) for doc in _dedup(ranking)[:k]]
    return dcg(got) / best


def recall_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {doc for doc, r in judged.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_dedup(ranking)[:k])) / len(relevant)


def mrr_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(_dedup(ranking)[:k], start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Mean of each metric over every query in ``qrels`` (a query with no run scores 0)."""
    totals = dict.fromkeys(METRICS, 0.0)
    for qid, judged in qrels.items():
        ranking = runs.get(qid, [])
        totals["ndcg@10"] += ndcg_at(ranking, judged, 10)
        totals["recall@10"] += recall_at(ranking, judged, 10)
        totals["recall@100"] += recall_at(ranking, judged, 100)
        totals["mrr@10"] += mrr_at(ranking, judged, 10)
    n = max(len(qrels), 1)
    return {name: value / n for name, value in totals.items()}
