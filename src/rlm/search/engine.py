"""``search()``: lexical, semantic or hybrid retrieval over a store.

Modes (rlm-rs §4.8):

* ``bm25`` — lexical leg only; ``score`` = BM25 (porter + aux index); no model.
* ``semantic`` — the vector leg; ``score`` = the chunk's semantic score (its
  best passage blended with the chunk vector, see :mod:`rlm.search.vector`);
  only results with ``score >= threshold``.
* ``hybrid`` (default) — both legs, each ``max(2 * top_k, 200)`` deep (the
  semantic one thresholded), fused (:mod:`rlm.search.fusion`, ``rrf_certainty``
  by default: RRF with top-rank bonuses and normalised scores weighed by each
  leg's certainty); ``score`` = the fused score.

Several queries (``queries=[...]``, typed by ``lex:``/``vec:``/``hyde:``, see
:mod:`rlm.search.queries`) still make one leg per kind: the semantic leg scores
each chunk by its best score over every embedded entry (each entry with its own
passage weight), the lexical leg is BM25 of the words of every entry feeding
it. Measured on bench/needles.py against one leg per entry fused by RRF (typed
hybrid top 1/3/10 9/12/13 vs 7/12/12, typed bm25 4/9/11 vs 2/6/8): one leg per
entry let four lists outvote each other, and the BM25 of one keyword entry
alone is weak. With one leg the score is that leg's own.

Every result carries its chunk's best passage (line and byte span; text with
a preview): the passage closest to the query vectors, or, without vectors,
the one sharing most query words.

Every filter (buffers, collection) is applied inside each leg *before*
ranking, so a buffer whose matches would be crowded out still gets ``top_k``
results (rlm-rs filtered after the cut).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from rlm import notices
from rlm.defaults import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from rlm.defaults import DEFAULT_TOP_K as DEFAULT_TOP_K
from rlm.defaults import MODES as MODES
from rlm.embedding.base import Embedder, start_loading
from rlm.embedding.passages import PASSAGE_RULES
from rlm.errors import InvalidArgumentError
from rlm.search.fusion import DEFAULT_FUSION, DEFAULT_RRF_K, FUSIONS, Leg, fuse
from rlm.search.lexical import lexical_ranking
from rlm.search.preview import preview_text
from rlm.search.queries import LEXICAL, SEMANTIC, QuerySpec, is_question, parse_queries
from rlm.store import Chunk, PassageSpan, Store

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
class PassageHit:
    """The part of a result chunk that matched best: a few lines to read instead of 3 KB."""

    byte_start: int
    byte_end: int
    line_start: int | None
    line_end: int | None
    score: float | None
    """Cosine of the passage to the closest query vector; None when chosen by words."""
    text: str | None = None
    """The passage's text (with a preview)."""

    def to_json(self, *, with_text: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "byte_range": {"end": self.byte_end, "start": self.byte_start},
            "line_range": {"end": self.line_end, "start": self.line_start},
            "score": self.score,
        }
        if with_text:
            data["content"] = self.text
        return dict(sorted(data.items()))


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
    passage: PassageHit | None = None

    def to_json(self, *, with_preview: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "bm25_score": self.bm25_score,
            "buffer_id": self.buffer_id,
            "buffer_name": self.buffer_name,
            "byte_range": {"end": self.byte_end, "start": self.byte_start},
            "chunk_id": self.chunk_id,
            "index": self.index,
            "line_range": {"end": self.line_end, "start": self.line_start},
            "passage": self.passage.to_json(with_text=with_preview) if self.passage else None,
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
    queries: list[str] = field(default_factory=list)
    """Every query of the search as given (prefixes kept); ``query`` is the first."""

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


def resolve_embedder(embedder: EmbedderLike) -> Embedder:
    """The embedder itself: ``embedder``, what its factory makes, or the process default."""
    if embedder is None:
        from rlm.embedding import get_embedder

        return get_embedder()
    if hasattr(embedder, "embed_query"):
        return cast(Embedder, embedder)
    return embedder()


OVERLAP_LEGS = True
"""When the vector leg takes the first pass (a large store, see
:data:`rlm.search.vector.APPROX_MIN_ROWS`), the lexical leg runs in a worker thread
meanwhile: SQLite releases the GIL while it steps, NumPy while it scans. Off: one
leg after the other (the benchmarks' baseline)."""

_worker: Any = None


def _lexical_worker() -> Any:
    """One long-lived thread for the lexical leg (a thread per search cost more)."""
    global _worker
    if _worker is None:
        from concurrent.futures import ThreadPoolExecutor

        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlm-lexical")
    return _worker


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
            self._embedder = resolve_embedder(self._embedder_source)
        return self._embedder

    def embed_query(self, query: str) -> npt.NDArray[np.float32]:
        return self.embedder.embed_query(query)

    def _index(self) -> Any:
        from rlm.search.vector import vector_index

        emb = self.embedder
        return vector_index(self.store, emb.fingerprint, emb.dimensions)

    def semantic_leg(
        self,
        query_vector: npt.NDArray[np.float32],
        limit: int,
        threshold: float | None,
        buffer_ids: list[int] | None,
        weight: float | None = None,
    ) -> list[tuple[int, float]]:
        if buffer_ids is not None and not buffer_ids:
            return []
        hits: list[tuple[int, float]] = self._index().search(
            query_vector, limit, threshold, buffer_ids, weight=weight
        )
        return hits

    def lexical_leg(
        self, query: str, limit: int, buffer_ids: list[int] | None
    ) -> list[tuple[int, float]]:
        return lexical_ranking(self.store, query, limit, buffer_ids)

    def rank(
        self,
        query: str | Sequence[str],
        modes: Sequence[str],
        *,
        top_k: int = DEFAULT_TOP_K,
        threshold: float = DEFAULT_THRESHOLD,
        rrf_k: float = DEFAULT_RRF_K,
        buffer_ids: list[int] | None = None,
        query_vector: npt.NDArray[np.float32] | None = None,
        fusion: str = DEFAULT_FUSION,
    ) -> dict[str, list[Ranked]]:
        """Rankings for several modes of one search, each leg computed once.

        ``query``: one query, or several (typed by prefix, see
        :mod:`rlm.search.queries`). ``query_vector``: the precomputed vector of
        a single query (evaluations embed queries in bulk).
        """
        specs = parse_queries([query] if isinstance(query, str) else list(query))
        legs, _ = self._legs(specs, modes, top_k, threshold, buffer_ids, query_vector)
        return self._rankings(legs, modes, top_k, rrf_k, fusion, _lexical_checked(specs))

    def _legs(
        self,
        specs: Sequence[QuerySpec],
        modes: Sequence[str],
        top_k: int,
        threshold: float,
        buffer_ids: list[int] | None,
        query_vector: npt.NDArray[np.float32] | None = None,
    ) -> tuple[list[tuple[str, list[tuple[int, float]]]], list[npt.NDArray[np.float32]]]:
        """(leg kind, hits) for every leg the modes need, and the query vectors used."""
        top_k = min(top_k, MAX_TOP_K)
        if top_k <= 0:
            return [], []
        depth = candidate_depth(top_k)
        need_sem = any(m in ("semantic", "hybrid") for m in modes)
        need_lex = any(m in ("bm25", "hybrid") for m in modes)
        legs: list[tuple[str, list[tuple[int, float]]]] = []
        vectors: list[npt.NDArray[np.float32]] = []
        from rlm.search.vector import is_long_query, long_query_chunk_vector, passage_weight

        # One leg per kind, whatever the number of entries: per chunk the best
        # semantic score over every embedded entry, and BM25 of the words of every
        # entry feeding it (measured against one leg per entry: docs/search.md).
        semantic = [sp for sp in specs if SEMANTIC in sp.legs] if need_sem else []
        lexical = [sp for sp in specs if LEXICAL in sp.legs] if need_lex else []
        # The lexical leg and the vector matrices first, the query vectors last: a
        # model still loading in the background (see start_loading) is needed only
        # then, so its load overlaps this work. On a large store the lexical leg runs
        # in a worker thread during the vector leg (OVERLAP_LEGS), started once the
        # matrices are mapped: nothing else uses the connection until it is done.
        lexical_hits: list[tuple[int, float]] = []
        lexical_text = "\n".join(sp.text for sp in lexical)
        searched = buffer_ids is None or bool(buffer_ids)
        index = self._index() if semantic and searched else None
        pending = None
        if lexical and OVERLAP_LEGS and index is not None and index.approximate:
            pending = _lexical_worker().submit(self.lexical_leg, lexical_text, depth, buffer_ids)
        elif lexical:
            lexical_hits = self.lexical_leg(lexical_text, depth, buffer_ids)
        try:
            if semantic:
                pairs: list[tuple[npt.NDArray[np.float32], float | None]] = []
                chunk_vectors: list[npt.NDArray[np.float32] | None] = []
                for spec in semantic:
                    vec = query_vector if query_vector is not None and len(specs) == 1 else None
                    if vec is None:
                        vec = self.embed_query(spec.text)
                    vectors.append(vec)
                    pairs.append((vec, passage_weight(spec.text)))
                    chunk_vec = None
                    if is_long_query(spec.text):
                        # A chunk vector is pooled from passages (blended with the chunk
                        # embedded whole when it fits one window): the query's chunk term
                        # mixes both kinds too (long_query_chunk_vector).
                        pooled = self.embedder.embed_passages([spec.text], query=True).vectors[0]
                        chunk_vec = long_query_chunk_vector(vec, pooled)
                    chunk_vectors.append(chunk_vec)
                hits = (
                    []
                    if index is None
                    else index.search_max(pairs, depth, threshold, buffer_ids, chunk_vectors)
                )
                legs.append((SEMANTIC, hits))
        except BaseException:
            if pending is not None:
                pending.exception()  # the worker is off the connection before anyone else
            raise
        if pending is not None:
            lexical_hits = pending.result()
        if lexical:
            legs.append((LEXICAL, lexical_hits))
        return legs, vectors

    def _rankings(
        self,
        legs: Sequence[tuple[str, list[tuple[int, float]]]],
        modes: Sequence[str],
        top_k: int,
        rrf_k: float,
        fusion: str,
        lexical_checked: bool,
    ) -> dict[str, list[Ranked]]:
        """Each mode's ranking from the legs. ``lexical_checked``: the lexical leg must be
        backed by the semantic one (``Leg.checked``, see :func:`_lexical_checked`)."""
        top_k = min(top_k, MAX_TOP_K)
        out: dict[str, list[Ranked]] = {}
        best_sem: dict[int, float] = {}
        best_lex: dict[int, float] = {}
        for kind, hits in legs:
            target = best_sem if kind == SEMANTIC else best_lex
            for cid, score in hits:
                if score > target.get(cid, float("-inf")):
                    target[cid] = score
        for mode in modes:
            if top_k <= 0:
                out[mode] = []
                continue
            kinds = {"semantic": (SEMANTIC,), "bm25": (LEXICAL,)}.get(mode, (SEMANTIC, LEXICAL))
            chosen = [(kind, hits) for kind, hits in legs if kind in kinds]
            if len(chosen) == 1:
                ranked = [(cid, score) for cid, score in chosen[0][1][:top_k]]
            else:
                checked = [lexical_checked and kind == LEXICAL for kind, _ in chosen]
                fused = fuse(
                    [Leg(h, checked=c) for (_, h), c in zip(chosen, checked, strict=True)],
                    fusion,
                    rrf_k,
                )[:top_k]
                ranked = [(f.chunk_id, f.score) for f in fused]
            out[mode] = [
                Ranked(
                    cid,
                    score,
                    best_sem.get(cid) if mode != "bm25" else None,
                    best_lex.get(cid) if mode != "semantic" else None,
                )
                for cid, score in ranked
            ]
        return out

    def search(
        self,
        query: str | Sequence[str],
        *,
        mode: str = "hybrid",
        top_k: int = DEFAULT_TOP_K,
        threshold: float = DEFAULT_THRESHOLD,
        rrf_k: float = DEFAULT_RRF_K,
        buffer_ids: Sequence[int] | None = None,
        preview_len: int | None = None,
        fusion: str = DEFAULT_FUSION,
    ) -> SearchResponse:
        entries = [query] if isinstance(query, str) else list(query)
        specs = parse_queries(entries)
        mode = normalise_mode(mode)
        if top_k < 0:
            raise InvalidArgumentError("top_k must be >= 0")
        if rrf_k < 0:
            raise InvalidArgumentError("rrf_k must be >= 0")
        if fusion not in FUSIONS:
            raise InvalidArgumentError(
                f"unknown fusion: {fusion!r}", suggestion=f"Use one of: {', '.join(FUSIONS)}"
            )
        ids = None if buffer_ids is None else sorted(set(int(b) for b in buffer_ids))
        warnings: list[str] = []
        semantic_available: bool | None = None
        model: str | None = None
        wanted = {"semantic": (SEMANTIC,), "bm25": (LEXICAL,)}.get(mode, (SEMANTIC, LEXICAL))
        ignored = [
            e for e, sp in zip(entries, specs, strict=True) if not set(sp.legs) & set(wanted)
        ]
        if ignored:
            warnings.append(
                f"{len(ignored)} of {len(entries)} queries feed no {mode} leg and were ignored:"
                f" {', '.join(repr(e) for e in ignored)}"
            )
        if mode != "bm25":
            emb = self.embedder
            start_loading(emb)
            model = emb.name
            semantic_available = bool(emb.is_semantic)
            warnings.extend(self._semantic_warnings(emb, ids))
        legs, vectors = self._legs(specs, [mode], top_k, threshold, ids)
        ranked = self._rankings(legs, [mode], top_k, rrf_k, fusion, _lexical_checked(specs))[mode]
        words = [sp.text for sp in specs if LEXICAL in sp.legs or not vectors]
        results = self.enrich(ranked, preview_len, vectors, words)
        return SearchResponse(
            query=entries[0],
            mode=mode,
            results=results,
            semantic_available=semantic_available,
            model=model,
            warnings=warnings,
            queries=entries,
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
        key = (self.store.identity, emb.fingerprint, scope)
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
        old = self.store.replan_backlog(PASSAGE_RULES, buffer_ids, fingerprint=emb.fingerprint)
        if old.chunks:
            out.append(notices.old_passages(old.chunks))
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
        without = self.store.chunks_without_passages(emb.fingerprint) if have else 0
        if without:
            out.append(
                f"{without} chunks have no passage vectors (made by an older rlm): they are"
                " ranked by the whole chunk only; run 'rlm chunk embed --all' to add them"
            )
        old = self.store.replan_count(PASSAGE_RULES, emb.fingerprint) if have else 0
        if old:
            out.append(notices.old_passages(old))
        return out

    def _best_passages(
        self,
        chunks: dict[int, Chunk],
        vectors: Sequence[npt.NDArray[np.float32]],
        words: Sequence[str],
    ) -> dict[int, tuple[PassageSpan, float | None]]:
        """Per chunk: its passage closest to the query vectors, else sharing most words."""
        if not chunks:
            return {}
        spans = self.store.passage_spans(list(chunks))
        out: dict[int, tuple[PassageSpan, float | None]] = {}
        if vectors:
            by_vector = self._index().best_passages(list(chunks), list(vectors))
            for cid, (ordinal, score) in by_vector.items():
                for span in spans.get(cid, []):
                    if span.ordinal == ordinal:
                        out[cid] = (span, score)
        terms = _words(" ".join(words))
        for cid, chunk in chunks.items():
            if cid in out or not spans.get(cid):
                continue
            best = max(
                spans[cid],
                key=lambda sp: (len(terms & _words(_span_text(chunk, sp))), -sp.ordinal),
            )
            out[cid] = (best, None)
        return out

    def enrich(
        self,
        ranked: Sequence[Ranked],
        preview_len: int | None,
        vectors: Sequence[npt.NDArray[np.float32]] = (),
        words: Sequence[str] = (),
    ) -> list[SearchResult]:
        """Attach chunk and buffer metadata and the best passage; ids whose chunk
        vanished are dropped."""
        chunks = self.store.get_chunks([r.chunk_id for r in ranked])
        passages = self._best_passages(chunks, vectors, words)
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
            hit = None
            if c.id in passages:
                span, score = passages[c.id]
                hit = PassageHit(
                    byte_start=span.byte_start,
                    byte_end=span.byte_end,
                    line_start=span.line_start,
                    line_end=span.line_end,
                    score=score,
                    text=preview_text(_span_text(c, span), preview_len)
                    if preview_len is not None
                    else None,
                )
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
                    passage=hit,
                )
            )
        return results


def _lexical_checked(specs: Sequence[QuerySpec]) -> bool:
    """Whether the search's BM25 hits must be backed by its semantic leg (docs/search.md
    "Fusion"): an entry is a question (:func:`rlm.search.queries.is_question`) and none
    is a long query (:func:`rlm.search.vector.is_long_query`).

    A question's BM25 hits that share a rare word or two with it and nothing of its
    meaning then give way to the answer the semantic leg ranks just below its first.
    Keywords and claims are phrased like the text they seek, so there BM25's unbacked
    hits are often right (ArguAna's queries cut to 24 words: hybrid lost 0.012 nDCG@10
    when checked), and a pasted paragraph's BM25 matches many of its words."""
    from rlm.search.vector import is_long_query

    return any(is_question(sp.text) for sp in specs) and not any(
        is_long_query(sp.text) for sp in specs
    )


def _span_text(chunk: Chunk, span: PassageSpan) -> str:
    """A passage's exact text, cut from its chunk by bytes."""
    data = chunk.content.encode("utf-8")
    start = span.byte_start - chunk.byte_start
    end = span.byte_end - chunk.byte_start
    return data[max(start, 0) : max(end, 0)].decode("utf-8", errors="replace")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


def search(
    store: Store,
    query: str | None = None,
    *,
    queries: Sequence[str] | None = None,
    mode: str = "hybrid",
    top_k: int = DEFAULT_TOP_K,
    threshold: float = DEFAULT_THRESHOLD,
    rrf_k: float = DEFAULT_RRF_K,
    buffer_ids: Sequence[int] | None = None,
    embedder: EmbedderLike = None,
    preview_len: int | None = None,
    fusion: str = DEFAULT_FUSION,
) -> SearchResponse:
    """Search ``store`` (see the module docstring for the modes).

    ``query`` and/or ``queries``: one query, several, or both (``query`` first);
    entries may be typed ``lex:``, ``vec:`` or ``hyde:`` (:mod:`rlm.search.queries`).
    ``embedder``: an :class:`Embedder`, a zero-argument factory (called only
    if the mode needs it), or None for :func:`rlm.embedding.get_embedder`.
    ``preview_len``: characters of chunk (and passage) text to attach (None = none).
    ``fusion``: how legs are fused (:data:`rlm.search.fusion.FUSIONS`).
    Raises :class:`InvalidArgumentError` for an empty query or unknown mode.
    """
    entries = ([query] if query is not None else []) + list(queries or [])
    engine = SearchEngine(store, embedder)
    return engine.search(
        entries,
        mode=mode,
        top_k=top_k,
        threshold=threshold,
        rrf_k=rrf_k,
        buffer_ids=buffer_ids,
        preview_len=preview_len,
        fusion=fusion,
    )
