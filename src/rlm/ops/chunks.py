"""chunk get / list / status / embed: chunks by reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rlm import notices
from rlm.embedding.sync import EmbedOutcome
from rlm.errors import InvalidArgumentError
from rlm.ingest.background import (
    BackgroundJob,
    EmbedProgress,
    WorkerCommand,
    progress,
)
from rlm.ingest.options import Progress
from rlm.ops.base import EmbedderFactory, default_embedder
from rlm.store import Buffer, Chunk, Store
from rlm.store.models import EmbeddingStatus
from rlm.views import DEFAULT_CONTEXT_MAX, ChunkContext, chunk_with_context

__all__ = [
    "BackgroundEmbed",
    "BufferEmbedding",
    "ChunkListing",
    "ChunkText",
    "EmbedRun",
    "EmbedWait",
    "EmbeddingReport",
    "chunk_embed",
    "chunk_embed_background",
    "chunk_embed_wait",
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
            "had_changes": o.embedded > 0 or o.replaced > 0 or o.replanned > 0,
            "model": o.model,
            "model_warning": self.model_warning,
            "replaced_count": o.replaced,
            "replanned_count": o.replanned,
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
    announce: Callable[[str], None] | None = None,
) -> EmbedRun:
    """Embed the chunks of a buffer (or all) that have no vector; all of them with ``force``.

    Chunks whose passages were planned under older passage rules get new passages
    (their vectors are kept); ``announce`` is told how many before any is embedded.
    """
    from rlm.embedding.passages import PASSAGE_RULES
    from rlm.embedding.sync import embed_buffer

    if buffer is None and not all_buffers:
        raise InvalidArgumentError("give a BUFFER or --all", suggestion="rlm chunk embed --all")
    targets = store.list_buffers() if all_buffers else [store.resolve_buffer(buffer or "")]
    embedder = (embedder_factory or default_embedder)()
    warnings = [notices.hash_fallback(embedder.fallback_reason)] if embedder.fallback_reason else []
    if announce is not None and not force:
        ids = None if all_buffers else [b.id for b in targets]
        old = store.replan_backlog(PASSAGE_RULES, ids, fingerprint=embedder.fingerprint).chunks
        if old:
            announce(notices.replanning(old))
    done: list[BufferEmbedding] = []
    for b in targets:
        stale = store.stale_vector_count(b.id, embedder.fingerprint)
        outcome = embed_buffer(store, b.id, embedder, force=force, progress=progress)
        warning = (
            notices.stale_vectors(stale, b.label, embedder.name) if stale and not force else None
        )
        done.append(BufferEmbedding(b, outcome, warning))
    return EmbedRun(done, all_buffers, warnings)


@dataclass(frozen=True)
class BackgroundEmbed:
    """``chunk embed`` with no buffer: the worker started (or already running), or nothing to do."""

    job: BackgroundJob | None
    """None: every chunk already has a vector and current passages."""
    warnings: list[str] = field(default_factory=list)
    replan_chunks: int = 0
    """Of the job's chunks, those whose passages (planned under older rules) the worker
    re-plans."""

    def to_json(self) -> dict[str, Any]:
        return {
            "background_embedding": self.job.to_json() if self.job else None,
            "replan_chunks": self.replan_chunks,
        }


def chunk_embed_background(
    store: Store,
    *,
    command: WorkerCommand | None = None,
    tokens_per_second: float | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> BackgroundEmbed:
    """Start (or resume after a kill) the store's background worker for what is missing,
    and ask it to re-plan the passages planned under older rules.

    Old passages are counted for the worker's model only (``embedder_factory`` makes the
    one ``command`` names; nothing is loaded): another model's change only with
    ``--force``, so they would start a worker with nothing to do. The re-plan is asked
    for with :func:`rlm.ingest.background.request_replan`, which a worker already
    running (a load's) sees too.
    """
    from rlm.embedding.passages import PASSAGE_RULES
    from rlm.ingest.background import WorkerFiles, request_replan, work_backlog
    from rlm.ingest.load import process_starter

    fingerprint = (embedder_factory or default_embedder)().fingerprint
    backlog = work_backlog(store, replan=fingerprint)
    if not backlog.chunks:
        return BackgroundEmbed(None)
    old = store.replan_count(PASSAGE_RULES, fingerprint)
    if old:
        request_replan(WorkerFiles.of(store.path))
    rate = tokens_per_second or progress(store).tokens_per_second
    job = process_starter(command)(store, backlog, backlog.tokens / rate)
    return BackgroundEmbed(job, replan_chunks=old)


@dataclass(frozen=True)
class EmbedWait:
    """``chunk embed --wait``: how the store's embedding finished."""

    final: EmbedProgress
    seconds: float
    ran_here: bool
    """True: no worker was running, so this process embedded (as the worker would)."""
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "embedding": self.final.to_json(),
            "embedded_here": self.ran_here,
            "seconds": round(self.seconds, 2),
            "waited": True,
        }


def chunk_embed_wait(
    store: Store,
    *,
    embedder_factory: EmbedderFactory | None = None,
    progress_cb: Progress | None = None,
    poll: float = 0.5,
) -> EmbedWait:
    """Block until every chunk has a vector and the model's old passages are re-planned:
    follow the running worker, or be the worker.

    If the followed worker dies (killed) with chunks left, or leaves old passages (a
    load's worker does not re-plan), this process takes over.
    """
    import time

    from rlm.ingest.background import WorkerFiles, run_worker, work_backlog, worker_running

    started = time.monotonic()
    files = WorkerFiles.of(store.path)
    ran_here = False
    warnings: list[str] = []
    embedder = (embedder_factory or default_embedder)()

    def report() -> None:
        if progress_cb is not None:
            total = store.chunk_count_total()
            progress_cb(total - store.embedding_backlog().chunks, total)

    report()
    while True:
        if worker_running(files):
            time.sleep(poll)
            report()
            continue
        if not work_backlog(store, replan=embedder.fingerprint).chunks:
            break
        outcome = run_worker(store, lambda: embedder, tick=report, replan=True)
        ran_here = ran_here or outcome.ran
        if outcome.ran and (outcome.error or outcome.chunks == 0):
            if outcome.error:
                warnings.append(f"embedding stopped: {outcome.error}")
            break
    report()
    final = progress(store, embedder.fingerprint)
    return EmbedWait(final, time.monotonic() - started, ran_here, warnings)
