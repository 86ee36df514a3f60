"""status: what the database holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm.store import Store
from rlm.store.models import Stats

__all__ = ["StoreStatus", "status"]


@dataclass(frozen=True)
class StoreStatus:
    stats: Stats
    db_path: str
    embedded_count: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        return {
            "buffer_count": s.buffer_count,
            "chunk_count": s.chunk_count,
            "total_content_size": s.total_content_size,
            "has_context": s.has_context,
            "schema_version": s.schema_version,
            "db_size": s.db_size,
            "db_path": self.db_path,
            "embedded_count": self.embedded_count,
        }


def status(store: Store) -> StoreStatus:
    """Buffers, chunks, vectors, size and schema of the store."""
    return StoreStatus(store.stats(), str(store.path), store.vector_count())
