"""chunk get / list / status / embed: chunks by reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm import notices
from rlm.embedding.sync import EmbedOutcome
from rlm.errors import InvalidArgumentError
from rlm.ingest.options import Progress
from rlm.ops.base import EmbedderFactory, default_embedder
from rlm.store import Buffer, Chunk, Store
from rlm.store.models import EmbeddingStatus
from rlm.views import DEFAULT_CONTEXT_MAX, ChunkContext, chunk_with_context

__all__ = [
    "BufferEmbedding",
    "ChunkListing",
    "ChunkText",
    "EmbedRun",
    "EmbeddingReport",
    "chunk_embed",
    "chunk_get",
    "chunk_list",
    "chunk_status",
]


@dataclass(frozen=True)
class ChunkText:
    """``chunk get``: one chunk, and with ``context`` its neighbours merged once."""

    view: ChunkContext
    context: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        c, view = self.view.chunk, self.view
        data: dict[str, Any] = {
            "buffer_id": c.buffer_id,
            "buffer_name": view.buffer.name,
            "byte_range": {"end": c.byte_end, "start": c.byte_start},
            "chunk_id": c.id,
            "content": c.content,
            "content_hash": c.content_hash,
            "index": c.index,
            "line_range": {"end": c.line_end, "start": c.line_start},
            "size": c.size,
            "source": view.buffer.source,
            "symbol": c.symbol,
            "token_count": c.token_count,
        }
        if self.context:
            data["context"] = {
                "byte_range": {"end": view.end, "start": view.start},
                "chunk_ids": view.chunk_ids,
                "content": view.content,
                "line_range": {"end": view.line_end, "start": view.line_start},
            }
            if view.truncated:
                data["context"]["truncated"] = True
        return data


def chunk_get(
    store: Store, chunk_id: int, *, context: int = 0, max_bytes: int = DEFAULT_CONTEXT_MAX
) -> ChunkText:
    """A chunk's text and metadata; a superseded id raises with its replacements.

    With ``context``, neighbours beyond ``max_bytes`` of merged text are left
    out (and a warning says so): ``context=1000000`` must not return 200 MB.
    """
    view = chunk_with_context(store, chunk_id, context, max_bytes=max_bytes)
    warnings = []
    if view.truncated:
        warnings.append(
            f"chunk {chunk_id}: context cut to {len(view.chunk_ids)} chunks"
            f" (--max-bytes {max_bytes})"
        )
    return ChunkText(view, context, warnings)


@dataclass(frozen=True)
class ChunkListing:
    buffer: Buffer
    chunks: list[Chunk]
    preview_len: int | None
    """Characters of each chunk attached as ``preview`` (None: no preview)."""
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for c in self.chunks:
            row: dict[str, Any] = {
                "byte_range": {"end": c.byte_end, "start": c.byte_start},
                "content_hash": c.content_hash,
                "id": c.id,
                "index": c.index,
                "line_range": {"end": c.line_end, "start": c.line_start},
                "size": c.size,
                "symbol": c.symbol,
                "token_count": c.token_count,
            }
            if self.preview_len is not None:
                row["preview"] = c.content[: self.preview_len]
            out.append(row)
        return out

    def to_json(self) -> dict[str, Any]:
        rows = self.rows()
        return {
            "buffer_id": self.buffer.id,
            "buffer_name": self.buffer.name,
            "chunk_count": len(rows),
            "chunks": rows,
        }


def chunk_list(store: Store, buffer: str, *, preview_len: int | None = None) -> ChunkListing:
    """A buffer's chunks: ids, index, byte and line ranges, symbols."""
    b = store.resolve_buffer(buffer)
    return ChunkListing(b, store.list_chunks(b.id), preview_len)


@dataclass(frozen=True)
class EmbeddingReport:
    rows: list[EmbeddingStatus]
    warnings: list[str] = field(default_factory=list)

    def buffers(self) -> list[dict[str, Any]]:
        return [
            {
                "buffer_id": r.buffer_id,
                "chunk_count": r.chunk_count,
                "embedded_count": r.embedded_count,
                "fully_embedded": r.embedded_count == r.chunk_count,
                "models": list(r.models),
                "name": r.name,
            }
            for r in self.rows
        ]

    @property
    def total_chunks(self) -> int:
        return sum(r.chunk_count for r in self.rows)

    @property
    def total_embedded(self) -> int:
        return sum(r.embedded_count for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "buffers": self.buffers(),
            "total_chunks": self.total_chunks,
            "total_embedded": self.total_embedded,
        }


def chunk_status(store: Store) -> EmbeddingReport:
    """How many chunks of each buffer have a vector, and from which models."""
    return EmbeddingReport(store.embedding_status())


@dataclass(frozen=True)
class BufferEmbedding:
    """``chunk embed`` for one buffer: what changed, and a stale-model warning."""

    buffer: Buffer
    outcome: EmbedOutcome
    model_warning: str | None

    def to_json(self) -> dict[str, Any]:
        o = self.outcome
        done = o.embedded + o.replaced + o.skipped
        return {
            "buffer_id": self.buffer.id,
            "buffer_name": self.buffer.name,
            "completion_percentage": (
                100.0 if o.total_chunks == 0 else round(done / o.total_chunks * 100, 2)
            ),
            "embedded_count": o.embedded,
            "empty_count": o.empty,
            "had_changes": o.embedded > 0 or o.replaced > 0,
            "model": o.model,
            "model_warning": self.model_warning,
            "replaced_count": o.replaced,
            "skipped_count": o.skipped,
            "total_chunks": o.total_chunks,
            "windows": o.windows,
        }


@dataclass(frozen=True)
class EmbedRun:
    buffers: list[BufferEmbedding]
    all_buffers: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> Any:
        """One object for one buffer; a list with ``--all``."""
        items = [b.to_json() for b in self.buffers]
        return items if self.all_buffers else items[0]


def chunk_embed(
    store: Store,
    buffer: str | None = None,
    *,
    all_buffers: bool = False,
    force: bool = False,
    embedder_factory: EmbedderFactory | None = None,
    progress: Progress | None = None,
) -> EmbedRun:
    """Embed the chunks of a buffer (or all) that have no vector; all of them with ``force``."""
    from rlm.embedding.sync import embed_buffer

    if buffer is None and not all_buffers:
        raise InvalidArgumentError("give a BUFFER or --all", suggestion="rlm chunk embed --all")
    targets = store.list_buffers() if all_buffers else [store.resolve_buffer(buffer or "")]
    embedder = (embedder_factory or default_embedder)()
    warnings = [notices.hash_fallback(embedder.fallback_reason)] if embedder.fallback_reason else []
    done: list[BufferEmbedding] = []
    for b in targets:
        stale = store.stale_vector_count(b.id, embedder.fingerprint)
        outcome = embed_buffer(store, b.id, embedder, force=force, progress=progress)
        warning = (
            notices.stale_vectors(stale, b.label, embedder.name) if stale and not force else None
        )
        done.append(BufferEmbedding(b, outcome, warning))
    return EmbedRun(done, all_buffers, warnings)
