"""search: hybrid, semantic or BM25 over chunks, filtered by buffers and collection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlm import notices
from rlm.defaults import (
    DEFAULT_MODE,
    DEFAULT_RRF_K,
    DEFAULT_THRESHOLD,
    DEFAULT_TOP_K,
    MAX_QUERY_CHARS,
    SEARCH_PREVIEW_LEN,
)
from rlm.ops.base import EmbedderFactory
from rlm.store import Store

if TYPE_CHECKING:
    from rlm.ingest.load import Starter
    from rlm.ingest.refresh import RefreshReport
    from rlm.search.engine import SearchResponse

__all__ = ["Coverage", "SearchOutcome", "coverage", "search"]

MISSING_VECTORS_MARK = "found by BM25 only"
"""The words of the search engine's "chunks have no vector" warning: while the
background worker runs, the coverage notice replaces that line (said once)."""


@dataclass(frozen=True)
class Coverage:
    """How much of the searched text the semantic leg could see."""

    covered: int
    total: int
    background: bool
    """The background worker is embedding the rest."""
    eta_seconds: float | None

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else 100.0 * self.covered / self.total

    def to_json(self) -> dict[str, Any]:
        return {
            "background": self.background,
            "covered_chunks": self.covered,
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "percent": round(self.percent, 1),
            "total_chunks": self.total,
        }


_coverage_cache: dict[tuple[str, int, tuple[int, ...] | None], tuple[Any, Coverage]] = {}


def coverage(
    store: Store,
    buffer_ids: Sequence[int] | None = None,
    chunk_counts: Mapping[int, int] | None = None,
) -> Coverage:
    """Chunks with a vector among those searched, and whether the worker is on it.

    Recomputed only when the store changed (a long-lived MCP server searches often).
    ``chunk_counts`` (buffer id -> chunks) are the searched buffers' counts when the
    caller has already read those rows: a 10k-buffer collection is then not read twice.
    """
    from rlm.ingest.background import progress

    scope = None if buffer_ids is None else tuple(buffer_ids)
    key = (store.identity, id(store), scope)
    token = store.change_token()
    cached = _coverage_cache.get(key)
    if cached is not None and cached[0] == token:
        return cached[1]
    state = progress(store)
    if scope is None:
        total, missing = state.total_chunks, state.missing
    else:
        if chunk_counts is None:
            chosen = set(scope)
            chunk_counts = {
                b.id: b.chunk_count or 0 for b in store.list_buffers() if b.id in chosen
            }
        total = sum(chunk_counts.get(i, 0) for i in scope)
        missing = store.embedding_backlog(list(scope)).chunks
    result = Coverage(
        covered=max(total - missing, 0),
        total=total,
        background=state.worker_running and state.missing > 0,
        eta_seconds=state.eta_seconds if state.worker_running else None,
    )
    if len(_coverage_cache) > 256:
        _coverage_cache.clear()
    _coverage_cache[key] = (token, result)
    return result


@dataclass(frozen=True)
class SearchOutcome:
    query: str
    response: SearchResponse
    preview: bool
    warnings: list[str] = field(default_factory=list)
    coverage: Coverage | None = None
    """None in ``bm25`` mode (no semantic leg)."""
    refreshed: RefreshReport | None = None
    """What ``refresh=True`` re-synced before searching."""
    queries: list[str] = field(default_factory=list)
    """Every query of the search (``query`` is the first)."""

    def items(self) -> list[dict[str, Any]]:
        return [r.to_json(with_preview=self.preview) for r in self.response.results]

    def to_json(self) -> dict[str, Any]:
        r = self.response
        return {
            "count": r.count,
            "mode": r.mode,
            "model": r.model,
            "queries": self.queries or [self.query],
            "query": self.query,
            "results": self.items(),
            "semantic_available": r.semantic_available,
            "semantic_coverage": self.coverage.to_json() if self.coverage else None,
            "refresh": self.refreshed.to_json() if self.refreshed else None,
        }


def search(
    store: Store,
    query: str | None = None,
    *,
    queries: Sequence[str] = (),
    mode: str = DEFAULT_MODE,
    top_k: int = DEFAULT_TOP_K,
    threshold: float = DEFAULT_THRESHOLD,
    rrf_k: float = DEFAULT_RRF_K,
    buffers: Sequence[str] = (),
    collection: str | None = None,
    preview: bool = False,
    preview_len: int = SEARCH_PREVIEW_LEN,
    embedder_factory: EmbedderFactory | None = None,
    max_query_chars: int = MAX_QUERY_CHARS,
    refresh: bool = False,
    starter: Starter | None = None,
) -> SearchOutcome:
    """Ranked chunk ids with scores; ``buffers`` and ``collection`` filter before top-k.

    A query longer than ``max_query_chars`` (or 1 word per 16 of them) is cut,
    with a warning: see :mod:`rlm.search.limits`. ``refresh`` first re-syncs
    the searched buffers that were loaded from a folder and whose file changed
    (one ``stat`` each; see :mod:`rlm.ingest.refresh`); ``starter`` hands a big
    re-embedding to a background embedder (default: the worker process).

    ``query`` and ``queries``: one or several queries (``lex:``/``vec:``/``hyde:``
    typed, see :mod:`rlm.search.queries`) fused into one ranking; each is capped.
    """
    from rlm.embedding.base import start_loading
    from rlm.search import engine
    from rlm.search.limits import cap_query
    from rlm.search.queries import parse_queries

    entries = ([query] if query is not None else []) + list(queries)
    parse_queries(entries)
    capped = [cap_query(entry, max_query_chars) for entry in entries]
    entries = [entry for entry, _ in capped]
    mode = engine.normalise_mode(mode)
    buffer_ids: list[int] | None = None
    counts: dict[int, int] | None = None  # chunks per collection buffer, read after refresh
    if buffers:
        buffer_ids = sorted({store.resolve_buffer(b).id for b in buffers})
    warnings: list[str] = [cut for _, cut in capped if cut]
    refreshed: RefreshReport | None = None
    if refresh:
        from rlm.ingest.refresh import refresh as run_refresh
        from rlm.ops.base import default_embedder

        refreshed = run_refresh(
            store,
            collection=collection,
            buffer_ids=buffer_ids,
            embedder_factory=embedder_factory or default_embedder,
            starter=starter,
        )
        warnings += refreshed.warnings
        if refreshed.missing:
            warnings.append(notices.files_gone(refreshed.missing))
    if collection is not None:
        listed = {b.id: b.chunk_count or 0 for b in store.list_buffers(collection=collection)}
        in_collection = set(listed)
        counts = listed
        if not in_collection:
            warnings.append(notices.empty_collection(collection))
        buffer_ids = sorted(
            in_collection if buffer_ids is None else in_collection.intersection(buffer_ids)
        )
    embedder: Any = embedder_factory
    seen: Coverage | None = None
    if mode != "bm25":
        # The model loads in the background from here on; everything until the
        # query is embedded (coverage, warnings, BM25, the vector matrices) overlaps it.
        embedder = engine.resolve_embedder(embedder_factory)
        start_loading(embedder)
        seen = coverage(store, buffer_ids, counts)
    response = engine.search(
        store,
        queries=entries,
        mode=mode,
        top_k=top_k,
        threshold=threshold,
        rrf_k=rrf_k,
        buffer_ids=buffer_ids,
        embedder=embedder,
        preview_len=preview_len if preview else None,
    )
    warnings += response.warnings
    if seen is not None and seen.background and seen.covered < seen.total:
        warnings = [w for w in warnings if MISSING_VECTORS_MARK not in w]
        warnings.append(notices.partial_coverage(seen.percent, True, seen.eta_seconds))
    return SearchOutcome(entries[0], response, preview, warnings, seen, refreshed, entries)
