"""Updating a buffer's text in place while keeping chunk ids stable.

Chunk ids are the pass-by-reference contract between an orchestrator and its
sub-agents, so an update must not renumber a document because one paragraph
changed (rlm-rs deleted every chunk and re-inserted them, spec §5.3, §8 item 6).

How the new chunks are found (:func:`plan_update`):

1. The common byte prefix and suffix of the old and new text bound the edit.
2. *Region mode* (``semantic`` and ``fixed``, same size/overlap as the stored
   chunks, stored chunks consistent with the stored text): old chunks whose
   every byte the chunker read lies inside the prefix are kept as they are.
   Chunking restarts one chunk before the first affected chunk (so the tail
   merge of a short last chunk is reproduced) and stops as soon as a new chunk
   has exactly the span of an old chunk lying in the suffix, shifted by the
   length difference: the chunker's state is then the same as when it made
   that old chunk, so every later old chunk is reused, shifted. For the
   ``semantic`` strategy the result is span-for-span what a fresh load of the
   new text gives.
3. Otherwise (*full mode*: another strategy or size, code/parallel chunkers,
   rlm-rs databases) the whole new text is chunked.
4. In both modes a new chunk whose content hash equals an unused old chunk's
   takes that chunk's id (first unused in document order).

Kept chunks keep their id, text, FTS rows and vector; only their position is
updated if it moved. Old chunks that were not kept are deleted and tombstoned:
``chunk get OLD`` then says which new chunks cover the same place of the text.
Everything, text segments and buffer metadata included, happens in one
transaction. Only chunks without a vector are embedded afterwards.
"""

from __future__ import annotations

import bisect
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rlm.chunking import chunk_spans, get_chunker
from rlm.chunking.base import ByteText, ChunkConfig
from rlm.ingest.embed import (
    EmbedderFactory,
    EmbedFields,
    EmbedSummary,
    embed_after_write,
    missing_vectors,
)
from rlm.ingest.options import LoadOptions, Progress
from rlm.ingest.rows import (
    LineCounter,
    SpanText,
    buffer_row,
    chunk_hash,
    chunk_row,
    is_blank_span,
    same_settings,
    segments,
)
from rlm.io import SourceText
from rlm.store import Buffer, Chunk, ChunkMove, NewChunk, Store

REGION_STRATEGIES = ("semantic", "fixed")
READ_MARGIN = 8
"""Bytes past a chunk's target that the semantic/fixed chunkers may read."""
_BLOCK = 1 << 16


@dataclass(frozen=True)
class UpdateResult(EmbedFields):
    buffer_id: int
    buffer_name: str | None
    size: int
    strategy: str
    old_chunk_count: int
    new_chunk_count: int
    kept: int
    """Old chunks whose id survived (same content; position possibly moved)."""
    added: int
    removed: int
    moved: int
    """Kept chunks whose index, span or line span changed."""
    mode: str
    """``unchanged``, ``region`` or ``full`` (see the module docstring)."""
    superseded: dict[int, list[int]] = field(default_factory=dict)
    """Old id -> the new ids now covering its place (also stored as tombstones)."""
    embed: EmbedSummary = field(default_factory=EmbedSummary)
    """The embedding of new and changed chunks after the update."""

    @property
    def unembedded(self) -> int:
        """Chunks of the buffer still without a vector after the update."""
        return self.embed.missing

    @property
    def label(self) -> str:
        return self.buffer_name or str(self.buffer_id)

    @property
    def warnings(self) -> list[str]:
        return self.embed.warnings(self.label)

    def to_json(self) -> dict[str, Any]:
        """What ``rlm update-buffer --format json`` prints."""
        embedded = (
            {"count": self.embedded_count, "model": self.model} if self.model is not None else None
        )
        return {
            "added": self.added,
            "buffer_id": self.buffer_id,
            "buffer_name": self.buffer_name,
            "content_size": self.size,
            "embedded": embedded,
            "kept": self.kept,
            "mode": self.mode,
            "moved": self.moved,
            "new_chunk_count": self.new_chunk_count,
            "old_chunk_count": self.old_chunk_count,
            "removed": self.removed,
            "strategy": self.strategy,
            "superseded": {str(k): v for k, v in self.superseded.items()},
            "unembedded": self.unembedded,
        }


@dataclass
class _Entry:
    """One chunk of the new chunk list: either an old chunk kept, or a new one."""

    start: int
    end: int
    strategy: str | None
    has_overlap: bool = False
    symbol: str | None = None
    old: Chunk | None = None
    digest: str | None = None


@dataclass
class UpdatePlan:
    """What an update does, computed without touching the store."""

    entries: list[_Entry]
    removed: list[Chunk]
    mode: str
    prefix: int
    suffix: int


# --- diffing ------------------------------------------------------------------


def common_prefix(a: ByteText, b: ByteText) -> int:
    """Length of the longest common prefix (block compares, then a bisection)."""
    n = min(len(a), len(b))
    i = 0
    while i < n:
        j = min(i + _BLOCK, n)
        if a[i:j] == b[i:j]:
            i = j
            continue
        lo, hi = i, j  # a[:lo] == b[:lo]; they differ somewhere before hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if a[lo:mid] == b[lo:mid]:
                lo = mid
            else:
                hi = mid
        return lo
    return n


def common_suffix(a: ByteText, b: ByteText, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit`` bytes."""
    la, lb = len(a), len(b)
    i = 0
    while i < limit:
        j = min(i + _BLOCK, limit)
        if a[la - j : la - i] == b[lb - j : lb - i]:
            i = j
            continue
        lo, hi = i, j
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
                lo = mid
            else:
                hi = mid
        return lo
    return limit


# --- planning -----------------------------------------------------------------


def _old_chunks_consistent(old_data: ByteText, old: Sequence[Chunk]) -> bool:
    """Stored chunks match the stored text, are ordered and cover it (else: full mode).

    A gap means a blank chunk was not stored (:mod:`rlm.ingest.rows`): the
    chunker's state at the gap is unknown, so the region shortcut is unsafe.
    """
    if old and (old[0].byte_start != 0 or old[-1].byte_end != len(old_data)):
        return False
    prev_start, prev_end = -1, 0
    for i, c in enumerate(old):
        if c.index != i or c.byte_start <= prev_start or c.byte_end <= prev_end:
            return False
        if c.byte_start > prev_end:
            return False
        if c.byte_end > len(old_data) or old_data[c.byte_start : c.byte_end] != c.content.encode(
            "utf-8"
        ):
            return False
        prev_start, prev_end = c.byte_start, c.byte_end
    return True


def _continue_pairs(
    data: ByteText, config: ChunkConfig, strategy: str, start: int, prev_end: int
) -> Iterator[tuple[int, int]]:
    """The chunker's (start, end) pairs from ``start`` on, as a fresh run would make them."""
    if strategy == "semantic":
        from rlm.chunking.semantic import raw_pairs, tail_merged

        yield from tail_merged(raw_pairs(data, config, start=start, prev_end=prev_end), len(data))
        return
    from rlm.chunking.fixed import fixed_pairs

    # The fixed chunker has no resume entry point: chunk the rest as a text of
    # its own (only the first chunk's lower bound can differ from a fresh run).
    for a, b in fixed_pairs(data[start:], config):
        yield a + start, b + start


def _region_entries(
    old_data: ByteText,
    new_data: ByteText,
    old: Sequence[Chunk],
    config: ChunkConfig,
    strategy: str,
    prefix: int,
    suffix: int,
) -> tuple[list[_Entry], list[Chunk]]:
    """Keep the prefix chunks, re-chunk the edit, reuse the shifted suffix chunks.

    Returns the entries and the old chunks not placed (candidates for hash matching).
    """
    lo = len(old_data)
    delta = len(new_data) - lo
    safe = 0
    while safe < len(old) and (
        old[safe].byte_end <= prefix
        and old[safe].byte_start + config.chunk_size + READ_MARGIN <= prefix
    ):
        safe += 1
    restart = max(0, safe - 1)
    entries = [
        _Entry(c.byte_start, c.byte_end, c.strategy, c.has_overlap, c.symbol, c)
        for c in old[:restart]
    ]
    start = old[restart].byte_start if restart < len(old) else 0
    prev_end = old[restart - 1].byte_end if restart > 0 else 0
    shifted = {
        (c.byte_start + delta, c.byte_end + delta): j
        for j, c in enumerate(old)
        if j >= restart and c.byte_start >= lo - suffix
    }
    resync: int | None = None
    if len(new_data):
        for a, b in _continue_pairs(new_data, config, strategy, start, prev_end):
            j = shifted.get((a, b))
            if j is not None:
                resync = j
                break
            entries.append(_Entry(a, b, strategy))
    leftovers = list(old[restart:]) if resync is None else list(old[restart:resync])
    if resync is not None:
        for c in old[resync:]:
            entries.append(
                _Entry(c.byte_start + delta, c.byte_end + delta, c.strategy, symbol=c.symbol, old=c)
            )
    return entries, leftovers


def _match_by_hash(new_data: ByteText, entries: list[_Entry], candidates: Sequence[Chunk]) -> None:
    """Give unplaced entries the id of an unused old chunk with the same content."""
    pool: dict[str, deque[Chunk]] = defaultdict(deque)
    for c in candidates:
        pool[chunk_hash(c.content.encode("utf-8"))].append(c)
    for e in entries:
        if e.old is not None:
            continue
        e.digest = chunk_hash(bytes(new_data[e.start : e.end]))
        queue = pool.get(e.digest)
        if queue:
            e.old = queue.popleft()


def plan_update(
    old_data: ByteText,
    new_data: ByteText,
    old: Sequence[Chunk],
    config: ChunkConfig,
    strategy: str,
    *,
    same_settings: bool,
) -> UpdatePlan:
    """Decide which chunks the new text has and which old ids each one keeps."""
    strategy = strategy.lower()
    consistent = _old_chunks_consistent(old_data, old)
    prefix = common_prefix(old_data, new_data)
    suffix = common_suffix(old_data, new_data, min(len(old_data), len(new_data)) - prefix)
    region = same_settings and consistent and strategy in REGION_STRATEGIES
    if region and prefix == len(old_data) == len(new_data):
        entries = [
            _Entry(c.byte_start, c.byte_end, c.strategy, c.has_overlap, c.symbol, c) for c in old
        ]
        return UpdatePlan(entries, [], "unchanged", prefix, suffix)
    if region:
        entries, candidates = _region_entries(
            old_data, new_data, old, config, strategy, prefix, suffix
        )
        mode = "region"
    else:
        entries = [
            _Entry(s.start, s.end, s.strategy, s.has_overlap, s.symbol)
            for s in chunk_spans(new_data, config, strategy)
        ]
        candidates = list(old)
        mode = "full"
    entries = [e for e in entries if not is_blank_span(new_data, e.start, e.end)]
    _match_by_hash(new_data, entries, candidates)
    prev_end = 0
    for i, e in enumerate(entries):
        if i and mode == "region":
            e.has_overlap = e.start < prev_end
        prev_end = e.end
    kept_ids = {e.old.id for e in entries if e.old is not None}
    removed = [c for c in old if c.id not in kept_ids]
    return UpdatePlan(entries, removed, mode, prefix, suffix)


# --- applying -----------------------------------------------------------------


def _line_spans(data: ByteText, entries: Sequence[_Entry]) -> list[tuple[int, int]]:
    """(line start, line end) of every entry; entries' starts strictly increase."""
    lines = LineCounter(data)
    return [lines.span(e.start, e.end) for e in entries]


def _replacements(
    plan: UpdatePlan, old_size: int, new_size: int, ids: Sequence[int], added: Sequence[bool]
) -> dict[int, list[int]]:
    """For each removed chunk, the new chunks covering where its text was."""
    p, s, delta = plan.prefix, plan.suffix, new_size - old_size
    starts = [e.start for e in plan.entries]
    ends = [e.end for e in plan.entries]

    def mapped(x: int, is_end: bool) -> int:
        if x <= p:
            return x
        if x >= old_size - s:
            return x + delta
        return new_size - s if is_end else p

    out: dict[int, list[int]] = {}
    for c in plan.removed:
        ms, me = mapped(c.byte_start, False), mapped(c.byte_end, True)
        first = bisect.bisect_right(ends, ms)
        last = bisect.bisect_left(starts, me) if me > ms else bisect.bisect_right(starts, ms)
        window = range(first, max(first, last))
        chosen = [ids[i] for i in window if added[i]] or [ids[i] for i in window]
        if not chosen and first < len(ids):
            chosen = [ids[first]]
        out[c.id] = chosen
    return out


def options_for_buffer(buffer: Buffer, **overrides: object) -> LoadOptions:
    """The buffer's stored chunking settings (or the defaults), with ``overrides``."""
    base = LoadOptions()
    values: dict[str, object] = {
        "chunker": buffer.chunk_strategy or base.chunker,
        "chunk_size": buffer.chunk_size or base.chunk_size,
        "overlap": buffer.chunk_overlap if buffer.chunk_overlap is not None else base.overlap,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return LoadOptions(**values)  # type: ignore[arg-type]


def update_text(
    store: Store,
    buffer_id: int,
    text: SourceText,
    options: LoadOptions,
    embedder_factory: EmbedderFactory | None,
    *,
    progress: Progress | None = None,
) -> UpdateResult:
    """Replace a buffer's text, keeping the ids of unchanged chunks (one transaction)."""
    strategy = options.chunker.lower()
    get_chunker(strategy)  # unknown strategy: fail before reading anything
    new_data = text.data
    with store.transaction():
        buffer = store.get_buffer(buffer_id)
        language = options.language or text.content_type or buffer.content_type
        config = ChunkConfig(options.chunk_size, options.overlap, language)
        config.validate()
        old_data = store.read_buffer_bytes(buffer_id)
        old = store.list_chunks(buffer_id)
        if progress:
            progress(0, text.size)
        plan = plan_update(
            old_data, new_data, old, config, strategy, same_settings=same_settings(buffer, options)
        )
        lines = _line_spans(new_data, plan.entries)
        store.delete_chunks([c.id for c in plan.removed])
        moves: list[ChunkMove] = []
        fresh: list[NewChunk] = []
        for index, (e, (l0, l1)) in enumerate(zip(plan.entries, lines, strict=True)):
            digest = e.digest or chunk_hash(bytes(new_data[e.start : e.end]))
            c = e.old
            if c is None:
                span = SpanText(e.start, e.end, e.strategy, e.has_overlap, e.symbol)
                fresh.append(chunk_row(new_data, span, index, (l0, l1), digest))
            elif (c.index, c.byte_start, c.byte_end, c.line_start, c.line_end) != (
                index,
                e.start,
                e.end,
                l0,
                l1,
            ) or (c.has_overlap, c.content_hash) != (e.has_overlap, digest):
                moves.append(ChunkMove(c.id, index, e.start, e.end, l0, l1, e.has_overlap, digest))
        store.relocate_chunks(moves)
        new_ids = iter(store.insert_chunks(buffer_id, fresh))
        ids = [e.old.id if e.old is not None else next(new_ids) for e in plan.entries]
        added = [e.old is None for e in plan.entries]
        superseded = _replacements(plan, len(old_data), len(new_data), ids, added)
        store.add_tombstones(buffer_id, superseded)
        if plan.mode != "unchanged" or old_data != new_data:
            store.write_buffer_segments(buffer_id, segments(text))
        row = buffer_row(text, buffer.name, options, buffer.collection, fallback=buffer)
        store.update_buffer_meta(buffer_id, row)
        store.set_chunk_count(buffer_id, len(ids))
    if progress:
        progress(text.size, text.size)
    result = UpdateResult(
        buffer_id=buffer_id,
        buffer_name=buffer.name,
        size=text.size,
        strategy=strategy,
        old_chunk_count=len(old),
        new_chunk_count=len(ids),
        kept=len(ids) - len(fresh),
        added=len(fresh),
        removed=len(plan.removed),
        moved=len(moves),
        mode=plan.mode,
        superseded=superseded,
    )
    return _embed(store, result, options, embedder_factory)


def _embed(
    store: Store,
    result: UpdateResult,
    options: LoadOptions,
    embedder_factory: EmbedderFactory | None,
) -> UpdateResult:
    """Embed the chunks that have no vector (new and changed ones); never load the
    model when there is nothing to embed."""
    if not options.embed or embedder_factory is None:
        return replace(result, embed=EmbedSummary(missing=missing_vectors(store, result.buffer_id)))
    return replace(result, embed=embed_after_write(store, result.buffer_id, embedder_factory))


__all__ = ["UpdatePlan", "UpdateResult", "options_for_buffer", "plan_update", "update_text"]
