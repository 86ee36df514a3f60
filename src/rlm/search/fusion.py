"""Fusing ranked lists (legs) into one ranking, deterministically.

A *leg* is one ranked list of (chunk id, score), best first: the BM25 or the
vector list of one query. ``rlm search`` fuses every leg of every query.

Methods (``fuse(..., method=...)``):

* ``rrf`` — Reciprocal Rank Fusion, ``sum of w / (k + rank)`` (Cormack et
  al., 2009; rlm-rs §4.7). Ranks only: a chunk first in one leg and absent
  from the other scores 1/61, below chunks both legs put around 5th.
* ``rrf_bonus`` — RRF plus a bonus for the top of each leg:
  ``+1/(k+1)`` for rank 1 and ``+0.5/(k+1)`` for ranks 2-3 (weighted like the
  leg). A leg's first hits survive fusion; below the top 3 it is plain RRF.
* ``rrf_certainty`` (default) — ``rrf_bonus`` plus two signs of how sure each leg
  is, both in the leg's own scores (scale free: BM25 units and cosines alike):

  - its rank-1 bonus times ``1 - GAP + 2 * GAP * c``, with ``c = (s1 - s2) /
    (s1 - s10)`` clipped to 0..1 (1 for a leg of one or two hits): a leg whose
    first hit stands out keeps it first, a leg whose top 10 is a plateau gives
    way;
  - ``SCORE_WEIGHT * n / (k + 1)`` for every hit, ``n = (s - s20) / (s1 - s20)``
    clipped to 0..1 (its score against the leg's top 20): two hits a rank apart
    but with nearly the same score stay close, a hit far below the leg's best
    gains little from its rank alone.

  A leg marked ``checked`` (the engine marks the lexical leg of a short question)
  must also be backed by the other legs: its bonuses and score term are scaled
  by ``1 - SUPPORT + SUPPORT * m``, ``m`` the chunk's normalised score ``n`` in
  the other legs (its best; 0 where none has it). A BM25 hit that shares a few
  rare words with a short question, with nothing of its meaning, then gives way
  to a chunk the semantic leg ranks just below its first.

  Chosen on bench/needles.py, ArguAna and NPL (bench/fusion_lab.py, see
  docs/search.md): the only fusion measured that raised hybrid on both BEIR
  sets and the typed needles at once.
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

FUSIONS = ("rrf_certainty", "rrf_bonus", "rrf", "score")
DEFAULT_FUSION = "rrf_certainty"
TOP_BONUS = (1.0, 0.5, 0.5)
"""Bonus of ranks 1, 2 and 3 of each leg, in units of ``1 / (k + 1)``."""
GAP = 0.5
"""How much a leg's certainty moves its rank-1 bonus (``rrf_certainty``): 0 = not at all,
0.5 = between half and 1.5 times the bonus."""
CERTAINTY_DEPTH = 10
"""The leg's rank whose score is the plateau its first hit is measured against."""
SCORE_WEIGHT = 2.0
"""Weight of a hit's normalised score (``rrf_certainty``), in units of ``1 / (k + 1)``."""
SCORE_DEPTH = 20
"""Scores are normalised against the leg's best and its score at this rank."""
SUPPORT = 0.5
"""How much a checked leg's bonuses and score term depend on the other legs holding the
same chunk (``rrf_certainty``): 0 = not at all, 1 = nothing without them."""


def _normalised(value: float, top: float, ref: float) -> float:
    """``value`` between the leg's ``ref`` (0) and its best ``top`` (1), clipped."""
    if top > ref:
        return min(1.0, max(0.0, (value - ref) / (top - ref)))
    return 1.0 if value >= ref else 0.0


def certainty(hits: Sequence[tuple[int, float]]) -> float:
    """How far a leg's first score stands out: ``(s1 - s2) / (s1 - s10)``, in 0..1.

    Scale free (BM25 units and cosines alike). A leg of one or two hits is certain
    (nothing else competes); a flat top (``s1 == s10``) is not.
    """
    if len(hits) <= 2:
        return 1.0
    first, second = hits[0][1], hits[1][1]
    last = hits[min(CERTAINTY_DEPTH, len(hits)) - 1][1]
    if not first > last:
        return 0.0
    return min(1.0, max(0.0, (first - second) / (first - last)))


@dataclass(frozen=True)
class Fused:
    chunk_id: int
    score: float
    best_rank: int


@dataclass(frozen=True)
class Leg:
    """One ranked list to fuse: (chunk id, score) best first, and its weight.

    ``checked``: its bonuses and score term need the other legs' support
    (``rrf_certainty`` only, see the module docstring).
    """

    hits: Sequence[tuple[int, float]]
    weight: float = 1.0
    checked: bool = False


def _normalised_leg(hits: Sequence[tuple[int, float]]) -> dict[int, float]:
    """Each hit's score between the leg's score at :data:`SCORE_DEPTH` (0) and its best (1)."""
    if not hits:
        return {}
    top, ref = hits[0][1], hits[min(SCORE_DEPTH, len(hits)) - 1][1]
    return {chunk_id: _normalised(value, top, ref) for chunk_id, value in hits}


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

    ``bonus``: top-rank bonuses for ``rrf_bonus`` and ``rrf_certainty`` (default
    :data:`TOP_BONUS`).
    """
    if bonus is None:
        bonus = TOP_BONUS
    if k < 0:
        raise ValueError("rrf k must be >= 0")
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion method: {method}")
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    bonused = method in ("rrf_bonus", "rrf_certainty")
    certain = method == "rrf_certainty"
    normalised = [_normalised_leg(leg.hits) if certain else {} for leg in legs]
    for number, leg in enumerate(legs):
        hits = leg.hits
        first = 1.0
        others = [n for i, n in enumerate(normalised) if i != number] if leg.checked else []
        if certain and hits:
            first = 1.0 - GAP + 2.0 * GAP * certainty(hits)
        if method == "score" and hits:
            values = [s for _, s in hits]
            lo, hi = min(values), max(values)
            span = hi - lo
        for rank, (chunk_id, value) in enumerate(hits, start=1):
            if method == "score":
                gain = (value - lo) / span if span > 0 else 1.0
            else:
                extra = 0.0
                if bonused and rank <= len(bonus):
                    extra += bonus[rank - 1] * (first if rank == 1 else 1.0) / (k + 1)
                if certain:
                    extra += SCORE_WEIGHT * normalised[number][chunk_id] / (k + 1)
                    if leg.checked:
                        backing = max((n.get(chunk_id, 0.0) for n in others), default=0.0)
                        extra *= 1.0 - SUPPORT + SUPPORT * backing
                gain = 1.0 / (k + rank) + extra
            scores[chunk_id] = scores.get(chunk_id, 0.0) + leg.weight * gain
            if rank < best.get(chunk_id, rank + 1):
                best[chunk_id] = rank
    fused = [Fused(cid, score, best[cid]) for cid, score in scores.items()]
    fused.sort(key=lambda f: (-f.score, f.best_rank, f.chunk_id))
    return fused
