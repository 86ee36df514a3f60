"""Search: lexical (FTS5 BM25), semantic (exact cosine, optional HNSW) and hybrid (RRF).

Start with :func:`search`; :class:`SearchEngine` keeps an embedder across
queries; :mod:`rlm.search.evaluation` runs BEIR-style retrieval evaluations.
"""

from __future__ import annotations

from rlm.search.engine import (
    DEFAULT_THRESHOLD,
    DEFAULT_TOP_K,
    MODES,
    SearchEngine,
    SearchResponse,
    SearchResult,
    search,
)
from rlm.search.fusion import DEFAULT_RRF_K, rrf

__all__ = [
    "DEFAULT_RRF_K",
    "DEFAULT_THRESHOLD",
    "DEFAULT_TOP_K",
    "MODES",
    "SearchEngine",
    "SearchResponse",
    "SearchResult",
    "rrf",
    "search",
]
