"""Loading text into the store: read -> chunk -> store (one transaction) -> embed.

The buffer, its text segments, its chunks and their FTS rows are written in a
single transaction: a failure or a SIGKILL at any point leaves the store as it
was. Embedding runs afterwards in short per-batch transactions (see
``rlm.embedding.sync``); if it fails, the buffer stays, searchable by BM25,
and the result says how many chunks still need ``rlm chunk embed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rlm.chunking import chunk_spans
from rlm.chunking.base import ByteText, ChunkConfig
from rlm.errors import BufferExistsError
from rlm.ingest.background import BackgroundJob
from rlm.ingest.embed import EmbedderFactory, EmbedFields, EmbedSummary, embed_after_write
from rlm.ingest.options import LoadOptions, Progress
from rlm.ingest.rows import (
    SpanText,
    buffer_row,
    chunk_hash,
    chunk_rows,
    segments,
)
from rlm.io import SourceText
from rlm.store import NewChunk, Store

__all__ = [
    "EmbedderFactory",
    "LoadOptions",
    "LoadResult",
    "Progress",
    "build_chunks",
    "chunk_hash",
    "load_file",
    "load_text",
    "store_text",
]


@dataclass(frozen=True)
class LoadResult(EmbedFields):
    """One text stored as one buffer (``rlm load FILE``, stdin, ``add-buffer``)."""

    buffer_id: int
    name: str | None
    source: str | None
    size: int
    chunk_count: int
    embed: EmbedSummary = field(default_factory=EmbedSummary)
    replaced_buffer: bool = False
    background: BackgroundJob | None = None
    """Set when the embedding went to the background worker (``embedded_count`` is 0)."""

    @property
    def unembedded(self) -> int:
        return self.chunk_count - self.embedded_count

    @property
    def warnings(self) -> list[str]:
        return self.embed.warnings(self.name or str(self.buffer_id))

    def to_json(self) -> dict[str, Any]:
        """The rlm-rs load object (also what ``add-buffer`` prints)."""
        return {
            "background_embedding": self.background.to_json() if self.background else None,
            "buffer_id": self.buffer_id,
            "chunk_count": self.chunk_count,
            "embedded_count": self.embedded_count,
            "model": self.model,
            "name": self.name,
            "replaced": self.replaced_buffer,
            "size": self.size,
            "source": self.source,
        }


def build_chunks(data: ByteText, config: ChunkConfig, strategy: str) -> Iterator[NewChunk]:
    """Chunk spans turned into rows (blank ones dropped: see :mod:`rlm.ingest.rows`)."""
    spans = (
        SpanText(s.start, s.end, s.strategy, s.has_overlap, s.symbol)
        for s in chunk_spans(data, config, strategy)
    )
    return chunk_rows(data, spans)


def store_text(
    store: Store,
    text: SourceText,
    name: str | None,
    opts: LoadOptions,
    *,
    collection: str | None = None,
    progress: Progress | None = None,
) -> tuple[int, int, bool]:
    """Write buffer + segments + chunks in one transaction. Returns (id, chunks, replaced)."""
    config = ChunkConfig(opts.chunk_size, opts.overlap, opts.language or text.content_type)
    config.validate()
    replaced = False
    with store.transaction():
        if name is not None:
            existing = store.find_buffer_in(name, collection)
            if existing is not None:
                if not opts.replace:
                    raise BufferExistsError(name)
                store.delete_buffer(existing.id)
                store.context_remove_buffer(existing.id)
                replaced = True
        buffer_id = store.insert_buffer(buffer_row(text, name, opts, collection))
        store.write_buffer_segments(buffer_id, segments(text, progress))
        rows = build_chunks(text.data, config, opts.chunker)
        if progress:
            rows = _report_chunks(rows, text.size, progress)
        ids = store.insert_chunks(buffer_id, rows)
        store.set_chunk_count(buffer_id, len(ids))
        store.context_add_buffer(buffer_id)
    return buffer_id, len(ids), replaced


def _report_chunks(rows: Iterator[NewChunk], total: int, progress: Progress) -> Iterator[NewChunk]:
    for row in rows:
        yield row
        progress(total // 2 + row.byte_end // 2, total)


def load_text(
    store: Store,
    text: SourceText,
    *,
    name: str | None,
    options: LoadOptions | None = None,
    embedder_factory: EmbedderFactory | None = None,
    collection: str | None = None,
    progress: Progress | None = None,
    embed_progress: Progress | None = None,
) -> LoadResult:
    """Load validated text as a new buffer (the library side of ``rlm load``)."""
    opts = options or LoadOptions()
    buffer_id, count, replaced = store_text(
        store, text, name, opts, collection=collection, progress=progress
    )
    embed = EmbedSummary()
    if opts.embed and count and embedder_factory is not None:
        embed = embed_after_write(store, buffer_id, embedder_factory, progress=embed_progress)
    return LoadResult(
        buffer_id=buffer_id,
        name=name,
        source=text.source,
        size=text.size,
        chunk_count=count,
        embed=embed,
        replaced_buffer=replaced,
    )


def load_file(
    store: Store,
    path: str,
    *,
    name: str | None = None,
    options: LoadOptions | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> LoadResult:
    """Load one file as a buffer named after it, embedding with the default model."""
    from pathlib import Path

    from rlm.io import open_file

    if embedder_factory is None:
        from rlm.embedding import get_embedder

        embedder_factory = get_embedder
    with open_file(path) as text:
        return load_text(
            store,
            text,
            name=name or Path(path).name,
            options=options,
            embedder_factory=embedder_factory,
        )
