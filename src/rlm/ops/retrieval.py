"""search: hybrid, semantic or BM25 over chunks, filtered by buffers and collection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlm import notices
from rlm.defaults import (
    DEFAULT_MODE,
    DEFAULT_RRF_K,
    DEFAULT_THRESHOLD,
    DEFAULT_TOP_K,
    SEARCH_PREVIEW_LEN,
)
from rlm.ops.base import EmbedderFactory
from rlm.store import Store

if TYPE_CHECKING:
    from rlm.search.engine import SearchResponse

__all__ = ["SearchOutcome", "search"]


@dataclass(frozen=True)
class SearchOutcome:
    query: str
    response: SearchResponse
    preview: bool
    warnings: list[str] = field(default_factory=list)
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
) -> SearchOutcome:
    """Ranked chunk ids with scores; ``buffers`` and ``collection`` filter before top-k.

    ``query`` and ``queries``: one or several queries (``lex:``/``vec:``/``hyde:``
    typed, see :mod:`rlm.search.queries`) fused into one ranking.
    """
    from rlm.search import engine
    from rlm.search.queries import parse_queries

    entries = ([query] if query is not None else []) + list(queries)
    parse_queries(entries)
    mode = engine.normalise_mode(mode)
    buffer_ids: list[int] | None = None
    if buffers:
        buffer_ids = sorted({store.resolve_buffer(b).id for b in buffers})
    warnings: list[str] = []
    if collection is not None:
        in_collection = {b.id for b in store.list_buffers(collection=collection)}
        if not in_collection:
            warnings.append(notices.empty_collection(collection))
        buffer_ids = sorted(
            in_collection if buffer_ids is None else in_collection.intersection(buffer_ids)
        )
    response = engine.search(
        store,
        queries=entries,
        mode=mode,
        top_k=top_k,
        threshold=threshold,
        rrf_k=rrf_k,
        buffer_ids=buffer_ids,
        embedder=embedder_factory,
        preview_len=preview_len if preview else None,
    )
    return SearchOutcome(entries[0], response, preview, warnings + response.warnings, entries)
