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
    MAX_QUERY_CHARS,
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

    def items(self) -> list[dict[str, Any]]:
        return [r.to_json(with_preview=self.preview) for r in self.response.results]

    def to_json(self) -> dict[str, Any]:
        r = self.response
        return {
            "count": r.count,
            "mode": r.mode,
            "model": r.model,
            "query": self.query,
            "results": self.items(),
            "semantic_available": r.semantic_available,
        }


def search(
    store: Store,
    query: str,
    *,
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
) -> SearchOutcome:
    """Ranked chunk ids with scores; ``buffers`` and ``collection`` filter before top-k.

    A query longer than ``max_query_chars`` (or 1 word per 16 of them) is cut,
    with a warning: see :mod:`rlm.search.limits`.
    """
    from rlm.search import engine
    from rlm.search.limits import cap_query

    engine.validate_query(query)
    query, cut = cap_query(query, max_query_chars)
    mode = engine.normalise_mode(mode)
    buffer_ids: list[int] | None = None
    if buffers:
        buffer_ids = sorted({store.resolve_buffer(b).id for b in buffers})
    warnings: list[str] = [cut] if cut else []
    if collection is not None:
        in_collection = {b.id for b in store.list_buffers(collection=collection)}
        if not in_collection:
            warnings.append(notices.empty_collection(collection))
        buffer_ids = sorted(
            in_collection if buffer_ids is None else in_collection.intersection(buffer_ids)
        )
    response = engine.search(
        store,
        query,
        mode=mode,
        top_k=top_k,
        threshold=threshold,
        rrf_k=rrf_k,
        buffer_ids=buffer_ids,
        embedder=embedder_factory,
        preview_len=preview_len if preview else None,
    )
    return SearchOutcome(query, response, preview, warnings + response.warnings)
