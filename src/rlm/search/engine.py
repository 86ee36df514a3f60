"""``search()``: lexical, semantic or hybrid (RRF) retrieval over a store.

Modes (rlm-rs §4.8):

* ``bm25`` — lexical leg only; ``score`` = BM25 (porter + aux index); no model.
* ``semantic`` — cosine of the query embedding; ``score`` = cosine; only
  results with ``cosine >= threshold``.
* ``hybrid`` (default) — both legs, each ``max(2 * top_k, 200)`` deep (the
  semantic one thresholded as in rlm-rs), fused with RRF; ``score`` = RRF.

Every filter (buffers, collection) is applied inside each leg *before*
ranking, so a buffer whose matches would be crowded out still gets ``top_k``
results (rlm-rs filtered after the cut).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from rlm.defaults import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from rlm.defaults import DEFAULT_TOP_K as DEFAULT_TOP_K
from rlm.defaults import MODES as MODES
from rlm.embedding.base import Embedder
from rlm.errors import InvalidArgumentError
from rlm.search.fusion import DEFAULT_RRF_K, rrf
from rlm.search.lexical import lexical_ranking
from rlm.search.preview import preview_text
from rlm.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MIN_CANDIDATES = 200
"""Depth of each leg before fusion (at least; ``2 * top_k`` when larger).

A fixed floor keeps the fused top 10 the same whatever ``top_k`` asked for,
so ``-k 10`` and an evaluation at ``-k 100`` rank the top alike."""

EmbedderLike = Embedder | Callable[[], Embedder] | None

_warning_cache: dict[
    tuple[str, str, tuple[int, ...] | None], tuple[tuple[int, int, int], list[str]]
] = {}
_WARNING_CACHE_SIZE = 256


@dataclass(frozen=True)
class SearchResult:
    chunk_id: int
    score: float
    semantic_score: float | None
    bm25_score: float | None
    buffer_id: int
    buffer_name: str | None
    source: str | None
    index: int
    byte_start: int
    byte_end: int
    line_start: int | None
    line_end: int | None
    symbol: str | None
    preview: str | None = None

    def to_json(self, *, with_preview: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "bm25_score": self.bm25_score,
            "buffer_id": self.buffer_id,
            "buffer_name": self.buffer_name,
            "byte_range": {"end": self.byte_end, "start": self.byte_start},
            "chunk_id": self.chunk_id,
            "index": self.index,
            "line_range": {"end": self.line_end, "start": self.line_start},
            "score": self.score,
            "semantic_score": self.semantic_score,
            "source": self.source,
            "symbol": self.symbol,
        }
        if with_preview:
            data["content_preview"] = self.preview
        return dict(sorted(data.items()))


@dataclass
class SearchResponse:
    query: str
    mode: str
    results: list[SearchResult]
    semantic_available: bool | None
    """False when the embedder is the hash fallback (search is lexical only);
    None when the mode needed no model (``bm25``)."""
    model: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.results)


@dataclass(frozen=True)
class Ranked:
    """One mode's ranking before enrichment: (chunk id, score, semantic, bm25)."""

    chunk_id: int
    score: float
    semantic_score: float | None
    bm25_score: float | None


def normalise_mode(mode: str) -> str:
    value = (mode or "").strip().lower()
    if value not in MODES:
        raise InvalidArgumentError(
            f"unknown search mode: {mode!r}",
            suggestion="Use one of: hybrid, semantic, bm25",
        )
    return value


def validate_query(query: str) -> str:
    if not query or not query.strip():
        raise InvalidArgumentError("empty search query", suggestion="Pass the words to search for")
    return query


def _resolve_embedder(embedder: EmbedderLike) -> Embedder:
    if embedder is None:
        from rlm.embedding import get_embedder

        return get_embedder()
    if hasattr(embedder, "embed_query"):
        return cast(Embedder, embedder)
    return embedder()


MAX_TOP_K = 1_000_000_000
"""Larger ``top_k`` values mean "everything"; clamped so SQL limits stay in int64."""


def candidate_depth(top_k: int) -> int:
    return max(2 * min(top_k, MAX_TOP_K), MIN_CANDIDATES)


class SearchEngine:
    """Search one store; keeps the embedder and reuses the cached vector matrix."""

    def __init__(self, store: Store, embedder: EmbedderLike = None) -> None:
        self.store = store
        self._embedder_source = embedder
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = _resolve_embedder(self._embedder_source)
        return self._embedder

    def embed_query(self, query: str) -> npt.NDArray[np.float32]:
        return self.embedder.embed_query(query)

    def semantic_leg(
        self,
        query_vector: npt.NDArray[np.float32],
        limit: int,
        threshold: float | None,
        buffer_ids: list[int] | None,
    ) -> list[tuple[int, float]]:
        from rlm.search.vector import vector_index

        if buffer_ids is not None and not buffer_ids:
            return []
        emb = self.embedder
        index = vector_index(self.store, emb.fingerprint, emb.dimensions)
        return index.search(query_vector, limit, threshold, buffer_ids)

    def lexical_leg(
        self, query: str, limit: int, buffer_ids: list[int] | None
    ) -> list[tuple[int, float]]:
        return lexical_ranking(self.store, query, limit, buffer_ids)

    def rank(
        self,
        query: str,
        modes: Sequence[str],
        *,
        top_k: int = DEFAULT_TOP_K,
        threshold: float = DEFAULT_THRESHOLD,
        rrf_k: float = DEFAULT_RRF_K,
        buffer_ids: list[int] | None = None,
        query_vector: npt.NDArray[np.float32] | None = None,
    ) -> dict[str, list[Ranked]]:
        """Rankings for several modes of one query, each leg computed once."""
        out: dict[str, list[Ranked]] = {}
        top_k = min(top_k, MAX_TOP_K)
        if top_k <= 0:
            return {mode: [] for mode in modes}
        depth = candidate_depth(top_k)
        need_sem = any(m in ("semantic", "hybrid") for m in modes)
        need_lex = any(m in ("bm25", "hybrid") for m in modes)
        sem: list[tuple[int, float]] = []
        lex: list[tuple[int, float]] = []
        if need_sem:
            vec = query_vector if query_vector is not None else self.embed_query(query)
            sem = self.semantic_leg(vec, depth, threshold, buffer_ids)
        if need_lex:
            lex = self.lexical_leg(query, depth, buffer_ids)
        if "semantic" in modes:
            out["semantic"] = [Ranked(c, s, s, None) for c, s in sem[:top_k]]
        if "bm25" in modes:
            out["bm25"] = [Ranked(c, s, None, s) for c, s in lex[:top_k]]
        if "hybrid" in modes:
            sem_scores = dict(sem)
            lex_scores = dict(lex)
            fused = rrf([[c for c, _ in sem], [c for c, _ in lex]], rrf_k)[:top_k]
            out["hybrid"] = [
                Ranked(f.chunk_id, f.score, sem_scores.get(f.chunk_id), lex_scores.get(f.chunk_id))
                for f in fused
            ]
        return out

    def search(
        self,
        query: str,
        *,
        mode: str = "hybrid",
        top_k: int = DEFAULT_TOP_K,
        threshold: float = DEFAULT_THRESHOLD,
        rrf_k: float = DEFAULT_RRF_K,
        buffer_ids: Sequence[int] | None = None,
        preview_len: int | None = None,
    ) -> SearchResponse:
        validate_query(query)
        mode = normalise_mode(mode)
        if top_k < 0:
            raise InvalidArgumentError("top_k must be >= 0")
        if rrf_k < 0:
            raise InvalidArgumentError("rrf_k must be >= 0")
        ids = None if buffer_ids is None else sorted(set(int(b) for b in buffer_ids))
        warnings: list[str] = []
        semantic_available: bool | None = None
        model: str | None = None
        if mode != "bm25":
            emb = self.embedder
            model = emb.name
            semantic_available = bool(emb.is_semantic)
            warnings.extend(self._semantic_warnings(emb, ids))
        ranked = self.rank(
            query, [mode], top_k=top_k, threshold=threshold, rrf_k=rrf_k, buffer_ids=ids
        )[mode]
        results = self.enrich(ranked, preview_len)
        return SearchResponse(
            query=query,
            mode=mode,
            results=results,
            semantic_available=semantic_available,
            model=model,
            warnings=warnings,
        )

    def _semantic_warnings(
        self, emb: Embedder, buffer_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Warnings about the model and coverage, recomputed only when the store changed
        (they take table scans; a long-lived process must not pay them per query).

        With ``buffer_ids`` the coverage warnings count only those buffers: a
        search of one fully embedded buffer says nothing about the others.
        """
        scope = None if buffer_ids is None else tuple(buffer_ids)
        key = (str(self.store.path.resolve()), emb.fingerprint, scope)
        token = self.store.change_token()
        cached = _warning_cache.get(key)
        if cached is not None and cached[0] == token:
            return list(cached[1])
        out = self._compute_warnings(emb, scope)
        if len(_warning_cache) >= _WARNING_CACHE_SIZE:
            _warning_cache.clear()
        _warning_cache[key] = (token, out)
        return list(out)

    def _scoped_warnings(self, emb: Embedder, buffer_ids: Sequence[int]) -> list[str]:
        total, have, stale = self.store.vector_coverage(emb.fingerprint, emb.dimensions, buffer_ids)
        target = "the searched buffers"
        command = "rlm chunk embed BUFFER"
        if len(buffer_ids) == 1:
            label = self.store.get_buffer(buffer_ids[0]).label
            target, command = f"'{label}'", f"rlm chunk embed {shlex.quote(label)}"
        out: list[str] = []
        if stale:
            out.append(
                f"{stale} chunk vectors of {target} were made by another model and are"
                f" ignored; run '{command} --force' to re-embed them"
            )
        if total and have + stale < total:
            out.append(
                f"{total - have - stale} of {total} chunks of {target} have no '{emb.name}'"
                f" vector and are found by BM25 only; run '{command}'"
            )
        return out

    def _compute_warnings(
        self, emb: Embedder, buffer_ids: Sequence[int] | None = None
    ) -> list[str]:
        out: list[str] = []
        if not emb.is_semantic:
            reason = f" ({emb.fallback_reason})" if emb.fallback_reason else ""
            out.append(
                f"semantic model unavailable{reason}: the hash fallback is lexical,"
                " so search is effectively lexical only"
            )
        if buffer_ids is not None:
            return out + self._scoped_warnings(emb, buffer_ids)
        stale = self.store.stale_vector_count(None, emb.fingerprint)
        if stale:
            out.append(
                f"{stale} chunk vectors were made by another model and are ignored;"
                " run 'rlm chunk embed --all --force' to re-embed them"
            )
        total = self.store.chunk_count_total()
        have = self.store.vector_signature(emb.fingerprint, emb.dimensions)[0]
        if total and have < total:
            out.append(
                f"{total - have} of {total} chunks have no '{emb.name}' vector and are found"
                " by BM25 only; run 'rlm chunk embed --all'"
            )
        return out

    def enrich(self, ranked: Sequence[Ranked], preview_len: int | None) -> list[SearchResult]:
        """Attach chunk and buffer metadata; ids whose chunk vanished are dropped."""
        chunks = self.store.get_chunks([r.chunk_id for r in ranked])
        buffers: dict[int, tuple[str | None, str | None]] = {}
        results: list[SearchResult] = []
        for r in ranked:
            c = chunks.get(r.chunk_id)
            if c is None:
                continue
            if c.buffer_id not in buffers:
                b = self.store.get_buffer(c.buffer_id)
                buffers[c.buffer_id] = (b.name, b.source)
            name, source = buffers[c.buffer_id]
            results.append(
                SearchResult(
                    chunk_id=c.id,
                    score=r.score,
                    semantic_score=r.semantic_score,
                    bm25_score=r.bm25_score,
                    buffer_id=c.buffer_id,
                    buffer_name=name,
                    source=source,
                    index=c.index,
                    byte_start=c.byte_start,
                    byte_end=c.byte_end,
                    line_start=c.line_start,
                    line_end=c.line_end,
                    symbol=c.symbol,
                    preview=preview_text(c.content, preview_len)
                    if preview_len is not None
                    else None,
                )
            )
        return results


def search(
    store: Store,
    query: str,
    *,
    mode: str = "hybrid",
    top_k: int = DEFAULT_TOP_K,
    threshold: float = DEFAULT_THRESHOLD,
    rrf_k: float = DEFAULT_RRF_K,
    buffer_ids: Sequence[int] | None = None,
    embedder: EmbedderLike = None,
    preview_len: int | None = None,
) -> SearchResponse:
    """Search ``store`` (see the module docstring for the modes).

    ``embedder``: an :class:`Embedder`, a zero-argument factory (called only
    if the mode needs it), or None for :func:`rlm.embedding.get_embedder`.
    ``preview_len``: characters of chunk text to attach (None = no preview).
    Raises :class:`InvalidArgumentError` for an empty query or unknown mode.
    """
    engine = SearchEngine(store, embedder)
    return engine.search(
        query,
        mode=mode,
        top_k=top_k,
        threshold=threshold,
        rrf_k=rrf_k,
        buffer_ids=buffer_ids,
        preview_len=preview_len,
    )
