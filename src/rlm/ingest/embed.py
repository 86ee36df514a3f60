"""Embedding after a write, once for every write path (load, update, folder sync).

A write commits first; embedding runs afterwards in its own short batches
(:func:`rlm.embedding.sync.embed_buffer`). If it fails the text stays stored
and searchable by BM25, and the :class:`EmbedSummary` says how many chunks
still lack a vector and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rlm import notices
from rlm.embedding.base import Embedder
from rlm.errors import RlmError
from rlm.ingest.options import Progress
from rlm.ingest.rows import is_blank
from rlm.store import Store

EmbedderFactory = Callable[[], Embedder]


@dataclass(frozen=True)
class EmbedSummary:
    """What one embedding pass over a buffer did."""

    embedded: int = 0
    """Chunks that got a vector in this pass."""
    missing: int = 0
    """Chunks of the buffer still without a vector afterwards."""
    model: str | None = None
    """The model that embedded (None: nothing was embedded, or it failed)."""
    error: RlmError | None = None
    fallback_reason: str | None = None
    """Set when the hash fallback stood in for the model."""

    def warnings(self, target: str) -> list[str]:
        """The user-facing warnings; ``target`` names the buffer in the fix."""
        out: list[str] = []
        if self.fallback_reason:
            out.append(notices.hash_fallback(self.fallback_reason))
        if self.error is not None:
            out.append(notices.not_embedded(self.missing, self.error.message, target))
        return out


class EmbedFields:
    """The rlm-rs embedding fields of a write's result, read from its one
    :class:`EmbedSummary` (loads and updates report them alike)."""

    embed: EmbedSummary

    @property
    def embedded_count(self) -> int:
        return self.embed.embedded

    @property
    def model(self) -> str | None:
        return self.embed.model

    @property
    def embed_error(self) -> RlmError | None:
        return self.embed.error

    @property
    def fallback_reason(self) -> str | None:
        return self.embed.fallback_reason


def default_embedder() -> Embedder:
    """The process-wide default model, imported only when something embeds."""
    from rlm.embedding import get_embedder

    return get_embedder()


def missing_vectors(store: Store, buffer_id: int) -> int:
    """Chunks with text but no vector (blank chunks of old stores never get one)."""
    todo = store.chunks_to_embed(buffer_id, "", force=False)
    return sum(1 for _, content, _ in todo if not is_blank(content))


def embed_after_write(
    store: Store,
    buffer_id: int,
    embedder_factory: EmbedderFactory,
    *,
    progress: Progress | None = None,
) -> EmbedSummary:
    """Embed the buffer's chunks that have no vector; never load a model for nothing.

    ``embedder_factory`` is called only if there is work (a folder sync passes
    one that caches, so its buffers share one embedder).
    """
    from rlm.embedding.sync import embed_buffer

    missing = missing_vectors(store, buffer_id)
    if missing == 0:
        return EmbedSummary()
    before = store.embedding_status_for(buffer_id)
    try:
        embedder = embedder_factory()
        outcome = embed_buffer(store, buffer_id, embedder, progress=progress, replan=False)
    except RlmError as exc:
        done = store.embedding_status_for(buffer_id) - before
        return EmbedSummary(done, missing_vectors(store, buffer_id), None, exc)
    return EmbedSummary(
        embedded=store.embedding_status_for(buffer_id) - before,
        missing=missing_vectors(store, buffer_id),
        model=outcome.model,
        fallback_reason=embedder.fallback_reason,
    )
