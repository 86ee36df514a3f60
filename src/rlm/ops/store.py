"""status: what the database holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm.ingest.background import EmbedProgress, progress
from rlm.store import Store
from rlm.store.models import Stats

__all__ = ["StoreStatus", "Vacuumed", "status", "vacuum"]


@dataclass(frozen=True)
class StoreStatus:
    stats: Stats
    db_path: str
    embedded_count: int
    embedding: EmbedProgress | None = None
    """Chunks with and without a vector, the background worker and the ETA."""
    warnings: list[str] = field(default_factory=list)
    total_bytes: int = 0
    free_bytes: int = 0
    """Bytes in free pages: what ``vacuum`` would give back."""

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        return {
            "free_bytes": self.free_bytes,
            "buffer_count": s.buffer_count,
            "chunk_count": s.chunk_count,
            "total_content_size": s.total_content_size,
            "has_context": s.has_context,
            "schema_version": s.schema_version,
            "db_size": s.db_size,
            "db_path": self.db_path,
            "embedded_count": self.embedded_count,
            "embedding": self.embedding.to_json() if self.embedding else None,
        }


def status(store: Store) -> StoreStatus:
    """Buffers, chunks, vectors, size and schema of the store (its path absolute)."""
    total, free = store.free_space()
    return StoreStatus(
        store.stats(),
        store.display_location,
        store.vector_count(),
        progress(store, _current_fingerprint()),
        total_bytes=total,
        free_bytes=free,
    )


def _current_fingerprint() -> str | None:
    """The fingerprint of the model search and ``rlm chunk embed`` use (``RLM_MODEL``...),
    so old passages are counted for it apart from other models'. Only cheap checks run
    (nothing is loaded); None when the model setting is broken (then all in one count,
    and the commands that embed say what is wrong)."""
    from rlm.embedding import get_embedder
    from rlm.errors import RlmError

    try:
        return get_embedder().fingerprint
    except RlmError:
        return None


@dataclass(frozen=True)
class Vacuumed:
    db_path: str
    size_before: int
    size_after: int
    free_bytes_before: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "db_path": self.db_path,
            "free_bytes_before": self.free_bytes_before,
            "size_after": self.size_after,
            "size_before": self.size_before,
        }


def vacuum(store: Store) -> Vacuumed:
    """Rewrite the database without its free pages (deleted buffers' space)."""
    before, free = store.free_space()
    before = store.stats().db_size or before
    store.vacuum()
    after = store.stats().db_size or store.free_space()[0]
    return Vacuumed(store.display_location, before, after, free)
