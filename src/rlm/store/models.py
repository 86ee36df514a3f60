"""Plain records the store returns. No SQL and no behaviour here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Buffer:
    """A loaded text. Its content lives in segments; read it with ``Store.read_buffer``."""

    id: int
    name: str | None
    source: str | None
    content_type: str | None
    content_hash: str | None
    size: int
    line_count: int | None
    chunk_count: int | None
    created_at: int
    updated_at: int
    collection: str | None = None
    encoding: str | None = None
    source_mtime: float | None = None
    chunk_strategy: str | None = None
    chunk_size: int | None = None
    chunk_overlap: int | None = None

    @property
    def label(self) -> str:
        """How messages name the buffer: its name, else its id."""
        return self.name if self.name is not None else str(self.id)


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be inserted (ids are assigned by the store)."""

    index: int
    byte_start: int
    byte_end: int
    content: str
    strategy: str | None
    token_count: int | None
    line_start: int | None
    line_end: int | None
    has_overlap: bool
    content_hash: str
    symbol: str | None = None


class ChunkMove(NamedTuple):
    """A kept chunk's new place after an update (its id and text stay)."""

    chunk_id: int
    chunk_index: int
    byte_start: int
    byte_end: int
    line_start: int | None
    line_end: int | None
    has_overlap: bool
    content_hash: str


@dataclass(frozen=True)
class Chunk:
    """A stored chunk: the unit agents pass by reference (``chunk get ID``)."""

    id: int
    buffer_id: int
    content: str
    byte_start: int
    byte_end: int
    index: int
    strategy: str | None
    token_count: int | None
    line_start: int | None
    line_end: int | None
    has_overlap: bool
    content_hash: str | None
    symbol: str | None
    created_at: int

    @property
    def size(self) -> int:
        return self.byte_end - self.byte_start


@dataclass(frozen=True)
class ChunkRef:
    """A chunk without its text: enough for listings, dispatch and ranking."""

    id: int
    buffer_id: int
    index: int
    byte_start: int
    byte_end: int
    token_count: int | None
    line_start: int | None
    line_end: int | None
    content_hash: str | None
    symbol: str | None

    @property
    def size(self) -> int:
        return self.byte_end - self.byte_start


@dataclass(frozen=True)
class Stats:
    buffer_count: int
    chunk_count: int
    total_content_size: int
    has_context: bool
    schema_version: int
    db_size: int | None


@dataclass(frozen=True)
class EmbeddingStatus:
    buffer_id: int
    name: str | None
    chunk_count: int
    embedded_count: int
    models: tuple[str, ...]
