"""Dispatch: cut a buffer's chunks into batches for sub-agents, and record the run.

Batch sizing, in order of precedence:

1. ``workers``: at most ``ceil(n / workers)`` chunks per batch (so at most
   ``workers`` batches); it overrides ``batch_size``, as in rlm-rs.
2. ``batch_size``: at most that many chunks per batch; when neither it nor
   ``workers`` is given: 10 (rlm-rs's default), or no cap with ``max_tokens``.
3. ``max_tokens``: batches are packed greedily in document (or rank) order
   until adding the next chunk would pass the budget; the chunk-count cap of
   1./2. still applies when one was given. A single chunk over the budget gets
   a batch of its own, flagged ``oversized``.

Every non-empty dispatch is recorded as a run (``run-<8 hex>``) so that
``aggregate --run`` can tell which dispatched chunks got no finding.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlm.chunking.base import estimate_tokens
from rlm.defaults import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from rlm.defaults import DEFAULT_MODE as DEFAULT_MODE
from rlm.defaults import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from rlm.embedding.base import Embedder
from rlm.errors import InvalidArgumentError
from rlm.store import Buffer, ChunkRef, Store
from rlm.suggest import rlm_command

INSTRUCTION_IDS_SHOWN = 50


@dataclass(frozen=True)
class Batch:
    index: int
    chunk_ids: list[int]
    token_count: int
    oversized: bool = False
    """A single chunk larger than ``max_tokens`` (it could not be split)."""


@dataclass(frozen=True)
class DispatchPlan:
    buffer_id: int
    buffer_name: str | None
    total_chunks: int
    batch_size: int | None
    """The chunk-count cap per batch (None: only the token budget applies)."""
    batches: list[Batch]
    query_filter: str | None = None
    max_tokens: int | None = None
    workers: int | None = None
    run_id: str | None = None
    chunk_filter: list[int] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def batch_count(self) -> int:
        return len(self.batches)

    @property
    def effective_batch_size(self) -> int:
        """rlm-rs's ``batch_size`` field: the cap, else the largest batch."""
        if self.batch_size is not None:
            return self.batch_size
        return max((len(b.chunk_ids) for b in self.batches), default=0)


def _positive(name: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise InvalidArgumentError(
            f"{name} must be a positive integer, got {value}",
            suggestion=f"Pass {name} 1 or more",
        )


def chunk_tokens(ref: ChunkRef) -> int:
    return ref.token_count if ref.token_count is not None else estimate_tokens(ref.size)


def plan_batches(
    refs: Sequence[ChunkRef],
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    max_tokens: int | None = None,
) -> tuple[list[Batch], int | None]:
    """Cut ``refs`` (in the order given) into batches; returns (batches, chunk cap)."""
    _positive("--batch-size", batch_size)
    _positive("--workers", workers)
    _positive("--max-tokens", max_tokens)
    n = len(refs)
    cap: int | None
    if workers is not None:
        cap = max(1, math.ceil(n / workers)) if n else 1
    elif batch_size is not None:
        cap = batch_size
    else:
        cap = None if max_tokens is not None else DEFAULT_BATCH_SIZE
    batches: list[Batch] = []
    current: list[int] = []
    tokens = 0

    def close(oversized: bool = False) -> None:
        nonlocal current, tokens
        if current:
            batches.append(Batch(len(batches), current, tokens, oversized))
        current, tokens = [], 0

    for ref in refs:
        t = chunk_tokens(ref)
        if max_tokens is not None and t > max_tokens:
            close()
            current, tokens = [ref.id], t
            close(oversized=True)
            continue
        full = cap is not None and len(current) >= cap
        over = max_tokens is not None and tokens + t > max_tokens
        if current and (full or over):
            close()
        current.append(ref.id)
        tokens += t
    close()
    return batches, cap


def new_run_id() -> str:
    return f"run-{secrets.token_hex(4)}"


def _query_refs(
    store: Store,
    buffer: Buffer,
    refs: list[ChunkRef],
    query: str,
    mode: str,
    threshold: float,
    top_k: int | None,
    embedder: Embedder | Callable[[], Embedder] | None,
) -> list[ChunkRef]:
    """This buffer's chunks matching ``query``, in rank order (filtered before the cut)."""
    from rlm.search import search

    _positive("--top-k", top_k)
    response = search(
        store,
        query,
        mode=mode,
        top_k=top_k if top_k is not None else max(len(refs), 1),
        threshold=threshold,
        buffer_ids=[buffer.id],
        embedder=embedder,
    )
    by_id = {r.id: r for r in refs}
    return [by_id[r.chunk_id] for r in response.results if r.chunk_id in by_id]


def _selected_refs(
    store: Store, buffer: Buffer, refs: list[ChunkRef], chunk_ids: Sequence[int]
) -> tuple[list[ChunkRef], list[str]]:
    """The requested chunks in the order given; superseded ids become their replacements."""
    from rlm.errors import ChunkNotFoundError, ChunkSupersededError

    by_id = {r.id: r for r in refs}
    out: list[ChunkRef] = []
    warnings: list[str] = []
    seen: set[int] = set()
    for cid in chunk_ids:
        ids = [cid]
        if cid not in by_id:
            try:
                chunk = store.get_chunk(cid)
            except ChunkSupersededError as exc:
                ids = exc.replacements
                warnings.append(
                    f"chunk {cid} was superseded; dispatching {', '.join(map(str, ids))}"
                )
            except ChunkNotFoundError:
                raise InvalidArgumentError(
                    f"chunk {cid} does not exist",
                    suggestion=f"Run '{rlm_command('chunk', 'list', buffer.label)}'"
                    " to see valid chunk IDs",
                ) from None
            else:
                raise InvalidArgumentError(
                    f"chunk {cid} belongs to buffer {chunk.buffer_id}, not {buffer.label}",
                    suggestion="Dispatch it with its own buffer",
                )
        for i in ids:
            if i in by_id and i not in seen:
                seen.add(i)
                out.append(by_id[i])
    return out, warnings


def dispatch(
    store: Store,
    buffer: str | int | Buffer,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    max_tokens: int | None = None,
    query: str | None = None,
    mode: str = DEFAULT_MODE,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int | None = None,
    chunk_ids: Sequence[int] | None = None,
    embedder: Embedder | Callable[[], Embedder] | None = None,
    record: bool = True,
) -> DispatchPlan:
    """Plan the batches of one buffer and record them as a run (unless ``record`` is off)."""
    _positive("--batch-size", batch_size)
    _positive("--workers", workers)
    _positive("--max-tokens", max_tokens)
    b = buffer if isinstance(buffer, Buffer) else store.resolve_buffer(buffer)
    refs = store.list_chunk_refs(b.id)
    warnings: list[str] = []
    if chunk_ids is not None:
        refs, warnings = _selected_refs(store, b, refs, chunk_ids)
    if query is not None:
        refs = _query_refs(store, b, refs, query, mode, threshold, top_k, embedder)
    batches, cap = plan_batches(refs, batch_size=batch_size, workers=workers, max_tokens=max_tokens)
    run_id = None
    if batches and record:
        run_id = new_run_id()
        params: dict[str, Any] = {
            "buffer_name": b.name,
            "batch_size": batch_size,
            "workers": workers,
            "max_tokens": max_tokens,
            "query": query,
            "mode": mode if query is not None else None,
            "threshold": threshold if query is not None else None,
            "top_k": top_k,
            "chunk_ids": list(chunk_ids) if chunk_ids is not None else None,
        }
        store.create_run(run_id, b.id, params, [batch.chunk_ids for batch in batches])
    oversized = [batch for batch in batches if batch.oversized]
    if oversized:
        # One line, however many: 438 identical warnings hide everything else.
        from rlm.agents.ids import format_ids

        largest = max(oversized, key=lambda batch: batch.token_count)
        warnings.append(
            f"{len(oversized)} chunks are over --max-tokens {max_tokens} (largest: chunk"
            f" {largest.chunk_ids[0]}, {largest.token_count} tokens); each was given a batch of"
            f" its own (chunks {format_ids(batch.chunk_ids[0] for batch in oversized)})"
        )
    return DispatchPlan(
        buffer_id=b.id,
        buffer_name=b.name,
        total_chunks=len(refs),
        batch_size=cap,
        batches=batches,
        query_filter=query,
        max_tokens=max_tokens,
        workers=workers,
        run_id=run_id,
        chunk_filter=list(chunk_ids) if chunk_ids is not None else None,
        warnings=warnings,
    )


def batch_instruction(batch: Batch, *, query: str | None = None, command: str = "rlm") -> str:
    """A line an orchestrator can hand to a sub-agent as it is."""
    ids = batch.chunk_ids
    shown = ", ".join(str(i) for i in ids[:INSTRUCTION_IDS_SHOWN])
    if len(ids) > INSTRUCTION_IDS_SHOWN:
        shown += f", ... ({len(ids)} in all)"
    elif len(ids) > 1:  # one call reads the whole batch, each chunk under a header line
        shown += f" (all at once: `{command} chunk get {' '.join(map(str, ids))}`)"
    task = f" Question: {query}." if query else ""
    return (
        f"Read chunks with `{command} chunk get ID` for IDs {shown}.{task}"
        " Reply with a JSON array, one object per chunk:"
        ' {"chunk_id": ID, "relevance": "high|medium|low|none", "findings":'
        ' [{"text": "...", "evidence": "exact quote from the chunk"}], "summary": "..."};'
        " cite chunk_id and quote evidence verbatim."
    )


def plan_json(plan: DispatchPlan, *, command: str = "rlm") -> dict[str, Any]:
    """rlm-rs's dispatch JSON plus run_id, per-batch token_count and instruction."""
    return {
        "batch_count": plan.batch_count,
        "batch_size": plan.effective_batch_size,
        "batches": [
            {
                "batch_index": b.index,
                "chunk_count": len(b.chunk_ids),
                "chunk_ids": b.chunk_ids,
                "instruction": batch_instruction(b, query=plan.query_filter, command=command),
                "oversized": b.oversized,
                "token_count": b.token_count,
            }
            for b in plan.batches
        ],
        "buffer_id": plan.buffer_id,
        "buffer_name": plan.buffer_name,
        "chunk_filter": plan.chunk_filter,
        "max_tokens": plan.max_tokens,
        "query_filter": plan.query_filter,
        "run_id": plan.run_id,
        "total_chunks": plan.total_chunks,
        "workers": plan.workers,
    }


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Batch",
    "DispatchPlan",
    "batch_instruction",
    "dispatch",
    "plan_batches",
    "plan_json",
]
