"""Fusing ranked lists (legs) into one ranking, deterministically.

A *leg* is one ranked list of (chunk id, score), best first: the BM25 or the
vector list of one query. ``rlm search`` fuses every leg of every query.

Methods (``fuse(..., method=...)``):

* ``rrf`` — Reciprocal Rank Fusion, ``sum of w / (k + rank)`` (Cormack et
  al., 2009; rlm-rs §4.7). Ranks only: a chunk first in one leg and absent
  from the other scores 1/61, below chunks both legs put around 5th.
* ``rrf_bonus`` (default) — RRF plus a bonus for the top of each leg:
  ``+1/(k+1)`` for rank 1 and ``+0.5/(k+1)`` for ranks 2-3 (weighted like the
  leg). A leg's certainty about its first hits survives fusion; below the top
  3 it is plain RRF. Chosen on bench/needles.py, ArguAna and NPL (see
  docs/search.md).
* ``score`` — each leg's scores min-max normalised over its list, weighted sum.

``k`` (``--rrf-k``) keeps its rlm-rs meaning for every RRF method: larger k
flattens the rank curve. Ties are broken by the best rank an id reached in any
leg, then by chunk id (rlm-rs left them to hash-map order), so results never
change between runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rlm.defaults import DEFAULT_RRF_K as DEFAULT_RRF_K

FUSIONS = ("rrf_bonus", "rrf", "score")
DEFAULT_FUSION = "rrf_bonus"
TOP_BONUS = (1.0, 0.5, 0.5)
"""Bonus of ranks 1, 2 and 3 of each leg, in units of ``1 / (k + 1)``."""


@dataclass(frozen=True)
class Fused:
    chunk_id: int
    score: float
    best_rank: int


@dataclass(frozen=True)
class Leg:
    """One ranked list to fuse: (chunk id, score) best first, and its weight."""

    hits: Sequence[tuple[int, float]]
    weight: float = 1.0


def rrf(rankings: Sequence[Sequence[int]], k: float = DEFAULT_RRF_K) -> list[Fused]:
    """Fuse ranked id lists (best first) into one list, best first (plain RRF)."""
    return fuse([Leg([(cid, 0.0) for cid in r]) for r in rankings], "rrf", k)


def fuse(
    legs: Sequence[Leg],
    method: str = DEFAULT_FUSION,
    k: float = DEFAULT_RRF_K,
    bonus: Sequence[float] | None = None,
) -> list[Fused]:
    """Fuse ``legs`` into one list, best first (see the module docstring).

    ``bonus``: top-rank bonuses for ``rrf_bonus`` (default :data:`TOP_BONUS`).
    """
    if bonus is None:
        bonus = TOP_BONUS
    if k < 0:
        raise ValueError("rrf k must be >= 0")
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion method: {method}")
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    for leg in legs:
        hits = leg.hits
        if method == "score" and hits:
            values = [s for _, s in hits]
            lo, hi = min(values), max(values)
            span = hi - lo
        for rank, (chunk_id, value) in enumerate(hits, start=1):
            if method == "score":
                gain = (value - lo) / span if span > 0 else 1.0
            else:
                gain = 1.0 / (k + rank)
                if method == "rrf_bonus" and rank <= len(bonus):
                    gain += bonus[rank - 1] / (k + 1)
            scores[chunk_id] = scores.get(chunk_id, 0.0) + leg.weight * gain
            if rank < best.get(chunk_id, rank + 1):
                best[chunk_id] = rank
    fused = [Fused(cid, score, best[cid]) for cid, score in scores.items()]
    fused.sort(key=lambda f: (-f.score, f.best_rank, f.chunk_id))
    return fused
