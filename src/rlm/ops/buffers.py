"""load, add-buffer, list, show, delete: buffers as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm.errors import ConfirmationRequiredError
from rlm.ingest.collection import SyncReport
from rlm.ingest.load import load
from rlm.ingest.loader import LoadOptions, LoadResult, Progress, load_text
from rlm.io import SourceText, from_bytes
from rlm.ops.base import EmbedderFactory, default_embedder
from rlm.store import Buffer, Chunk, Store

__all__ = [
    "BufferDetail",
    "BufferList",
    "Deleted",
    "LoadResult",
    "SyncReport",
    "add_buffer",
    "buffer_json",
    "chunk_json",
    "delete",
    "list_buffers",
    "load",
    "show",
]


def buffer_json(buffer: Buffer) -> dict[str, Any]:
    """The rlm-rs buffer object, without the whole content (rlm-rs dumped it)."""
    return {
        "id": buffer.id,
        "name": buffer.name,
        "source": buffer.source,
        "collection": buffer.collection,
        "metadata": {
            "content_type": buffer.content_type,
            "created_at": buffer.created_at,
            "updated_at": buffer.updated_at,
            "size": buffer.size,
            "line_count": buffer.line_count,
            "chunk_count": buffer.chunk_count,
            "content_hash": buffer.content_hash,
            "encoding": buffer.encoding,
            "chunk_strategy": buffer.chunk_strategy,
        },
    }


def chunk_json(chunk: Chunk, *, with_content: bool = True) -> dict[str, Any]:
    """The rlm-rs chunk object (``show --chunks``)."""
    data: dict[str, Any] = {
        "id": chunk.id,
        "buffer_id": chunk.buffer_id,
        "byte_range": {"start": chunk.byte_start, "end": chunk.byte_end},
        "index": chunk.index,
        "metadata": {
            "strategy": chunk.strategy,
            "token_count": chunk.token_count,
            "line_range": (
                {"start": chunk.line_start, "end": chunk.line_end}
                if chunk.line_start is not None
                else None
            ),
            "created_at": chunk.created_at,
            "content_hash": chunk.content_hash,
            "has_overlap": chunk.has_overlap,
            "symbol": chunk.symbol,
        },
    }
    if with_content:
        data["content"] = chunk.content
    return data


def add_buffer(
    store: Store,
    name: str,
    content: str | SourceText,
    *,
    options: LoadOptions | None = None,
    embedder_factory: EmbedderFactory | None = None,
    progress: Progress | None = None,
    embed_progress: Progress | None = None,
) -> LoadResult:
    """Store ``content`` as buffer ``name``: chunked, indexed and embedded like a load."""
    text = from_bytes(content.encode("utf-8")) if isinstance(content, str) else content
    with text:
        return load_text(
            store,
            text,
            name=name,
            options=options,
            embedder_factory=embedder_factory or default_embedder,
            progress=progress,
            embed_progress=embed_progress,
        )


@dataclass(frozen=True)
class BufferList:
    buffers: list[Buffer]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [buffer_json(b) for b in self.buffers]


def list_buffers(store: Store, collection: str | None = None) -> BufferList:
    """Every buffer (or a collection's), in id order; an unknown collection is an error."""
    if collection is not None:
        store.require_collection(collection)
    return BufferList(store.list_buffers(collection))


@dataclass(frozen=True)
class BufferDetail:
    buffer: Buffer
    chunks: list[Chunk] | None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "buffer": buffer_json(self.buffer),
            "chunks": [chunk_json(c) for c in self.chunks] if self.chunks is not None else None,
        }


def show(store: Store, buffer: str, *, chunks: bool = False) -> BufferDetail:
    """One buffer's metadata, and its chunks (with their text) when asked."""
    b = store.resolve_buffer(buffer)
    return BufferDetail(b, store.list_chunks(b.id) if chunks else None)


@dataclass(frozen=True)
class Deleted:
    buffer: Buffer
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"buffer_id": self.buffer.id, "deleted": True, "name": self.buffer.name}


def delete(store: Store, buffer: str, *, confirm: bool) -> Deleted:
    """Delete one named buffer with its chunks and vectors; ``confirm`` must be true."""
    b = store.resolve_buffer(buffer)
    if not confirm:
        raise ConfirmationRequiredError("deletion")
    with store.transaction():
        store.delete_buffer(b.id)
        store.context_remove_buffer(b.id)
    return Deleted(b)
