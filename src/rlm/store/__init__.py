"""The SQLite store: schema, migrations and every SQL statement of rlm."""

from rlm.store.buffers import NewBuffer
from rlm.store.models import (
    Buffer,
    Chunk,
    ChunkMove,
    ChunkRef,
    EmbeddingStatus,
    NewChunk,
    Stats,
)
from rlm.store.store import DEFAULT_DB_PATH, Store, find_db_path
from rlm.store.vectors import VectorMatrix, VectorRow

__all__ = [
    "DEFAULT_DB_PATH",
    "Buffer",
    "Chunk",
    "ChunkMove",
    "ChunkRef",
    "EmbeddingStatus",
    "NewBuffer",
    "NewChunk",
    "Stats",
    "Store",
    "VectorMatrix",
    "VectorRow",
    "find_db_path",
]
