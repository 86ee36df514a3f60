"""Reciprocal Rank Fusion with a deterministic order.

``rrf(id) = sum over lists of 1 / (k + rank)``, rank 1-based (Cormack et al.,
2009; rlm-rs §4.7). Ties — common, since equal ranks give equal sums — are
broken by the best rank the id reached in any list, then by chunk id (rlm-rs
left them to hash-map order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rlm.defaults import DEFAULT_RRF_K as DEFAULT_RRF_K


@dataclass(frozen=True)
class Fused:
    chunk_id: int
    score: float
    best_rank: int


def rrf(rankings: Sequence[Sequence[int]], k: float = DEFAULT_RRF_K) -> list[Fused]:
    """Fuse ranked id lists (best first) into one list, best first."""
    if k < 0:
        raise ValueError("rrf k must be >= 0")
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
            if rank < best.get(chunk_id, rank + 1):
                best[chunk_id] = rank
    fused = [Fused(cid, score, best[cid]) for cid, score in scores.items()]
    fused.sort(key=lambda f: (-f.score, f.best_rank, f.chunk_id))
    return fused
