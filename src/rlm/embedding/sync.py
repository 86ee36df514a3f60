"""Bringing a buffer's vectors up to date: embed what is missing, in batches.

Each batch is written in its own short transaction, so a killed or failed
run keeps what it finished (``rlm chunk embed`` resumes), other processes are
never locked out for the length of a whole embedding job, and a vector is
never half-written. Empty chunks are skipped, not errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rlm.embedding.base import Embedder
from rlm.store import Store, VectorRow

BATCH = 64
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EmbedOutcome:
    total_chunks: int
    embedded: int
    """Chunks that got their first vector."""
    replaced: int
    """Chunks whose old vector was replaced (``--force`` or another model)."""
    skipped: int
    empty: int
    """Whitespace-only chunks: nothing to embed."""
    model: str
    windows: int
    """Token windows embedded in all (> embedded+replaced when texts were long)."""


def embed_buffer(
    store: Store,
    buffer_id: int,
    embedder: Embedder,
    *,
    force: bool = False,
    progress: Progress | None = None,
    batch_size: int = BATCH,
) -> EmbedOutcome:
    """Embed the chunks of one buffer that lack a vector (all of them with ``force``)."""
    total = len(store.list_chunk_refs(buffer_id))
    todo = store.chunks_to_embed(buffer_id, embedder.fingerprint, force=force)
    work = [(cid, text, had) for cid, text, had in todo if text.strip()]
    empty = len(todo) - len(work)
    embedded = replaced = windows = 0
    if progress:
        progress(0, len(work))
    for start in range(0, len(work), batch_size):
        batch = work[start : start + batch_size]
        texts = [text for _, text, _ in batch]
        result = embedder.embed_documents(texts)
        counts = embedder.count_tokens(texts)
        rows = [
            VectorRow(
                chunk_id=cid,
                blob=result.vectors[i].astype("<f4").tobytes(),
                dimensions=embedder.dimensions,
                model_name=embedder.name,
                fingerprint=embedder.fingerprint,
                windows=result.windows[i],
            )
            for i, (cid, _, _) in enumerate(batch)
        ]
        with store.transaction():
            store.store_vectors(rows)
            if counts is not None:
                store.set_token_counts(zip((cid for cid, _, _ in batch), counts, strict=True))
        windows += sum(result.windows)
        replaced += sum(1 for _, _, had in batch if had)
        embedded += sum(1 for _, _, had in batch if not had)
        if progress:
            progress(min(start + batch_size, len(work)), len(work))
    return EmbedOutcome(
        total_chunks=total,
        embedded=embedded,
        replaced=replaced,
        skipped=total - embedded - replaced,
        empty=empty,
        model=embedder.name,
        windows=windows,
    )
