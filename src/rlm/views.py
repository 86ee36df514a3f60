"""Looking inside buffers: peek, grep, fixed index arithmetic, chunk files.

All offsets are UTF-8 byte offsets, snapped so nothing ever splits a
character (rlm-rs returned empty text or crashed on a split character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rlm.chunking import chunk_spans
from rlm.chunking.base import ChunkConfig, ceil_boundary, floor_boundary
from rlm.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKER, MAX_VIEW_BYTES, PEEK_BYTES
from rlm.errors import DatabaseError, InvalidArgumentError
from rlm.store import Buffer, Chunk, Store

DEFAULT_PEEK = PEEK_BYTES
DEFAULT_MAX_VIEW_BYTES = MAX_VIEW_BYTES
"""What one ``peek`` or ``chunk get --context`` returns at most (``--max-bytes`` raises
it): a 200 MB buffer must not come back whole because an agent asked for it."""
MAX_CONTEXT_CHUNKS = 200
"""Neighbours read on each side at most, whatever ``--context`` says."""


@dataclass(frozen=True)
class PeekView:
    start: int
    end: int
    content: str
    truncated: bool = False
    """True when ``max_bytes`` cut the requested range short."""


def peek_buffer(
    store: Store,
    buffer: Buffer,
    start: int,
    end: int | None,
    max_bytes: int = DEFAULT_MAX_VIEW_BYTES,
) -> PeekView:
    """Bytes [start, end) of a buffer, widened/narrowed to whole characters, capped."""
    if end is not None and end < start:
        raise InvalidArgumentError(
            f"--end {end} is before --start {start}", suggestion="Use --start <= --end"
        )
    size = buffer.size
    start = min(start, size)
    stop = min(end if end is not None else start + DEFAULT_PEEK, size)
    truncated = stop - start > max_bytes
    if truncated:
        stop = start + max_bytes
    # Read a few bytes either side so the snapping can see character edges.
    lo, hi = max(0, start - 3), min(size, stop + 3)
    window = store.read_buffer_bytes(buffer.id, lo, hi)
    s = floor_boundary(window, start - lo) + lo
    e = floor_boundary(window, stop - lo) + lo if stop < size else size
    if e < s:
        e = s
    return PeekView(s, e, window[s - lo : e - lo].decode("utf-8"), truncated)


@dataclass(frozen=True)
class GrepMatch:
    offset: int
    matched: str
    snippet: str
    line: int


def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise InvalidArgumentError(
            f"Invalid regex: {exc}", suggestion="Check the pattern (Python 're' syntax)"
        ) from None


def grep_buffer(
    store: Store,
    buffer: Buffer,
    pattern: str,
    *,
    max_matches: int = 20,
    window: int = 120,
    ignore_case: bool = False,
) -> list[GrepMatch]:
    """First ``max_matches`` regex matches with a byte window of context each."""
    regex = _compile(pattern, ignore_case)
    if max_matches == 0:
        return []
    data = store.read_buffer_bytes(buffer.id)
    text = data.decode("utf-8", errors="replace")
    matches: list[GrepMatch] = []
    char_pos = byte_pos = 0
    line = 1
    for m in regex.finditer(text):
        chunk = text[char_pos : m.start()]
        byte_pos += len(chunk.encode("utf-8"))
        line += chunk.count("\n")
        char_pos = m.start()
        matched = m.group(0)
        end_byte = byte_pos + len(matched.encode("utf-8"))
        lo = floor_boundary(data, max(0, byte_pos - window))
        hi = ceil_boundary(data, min(len(data), end_byte + window))
        snippet = data[lo:hi].decode("utf-8", errors="replace")
        matches.append(GrepMatch(byte_pos, matched, snippet, line))
        if len(matches) >= max_matches:
            break
    return matches


def grep_buffers(
    store: Store,
    buffers: list[Buffer],
    pattern: str,
    *,
    max_matches: int = 20,
    window: int = 120,
    ignore_case: bool = False,
) -> list[tuple[Buffer, GrepMatch]]:
    """Matches in several buffers (a collection), at most ``max_matches`` per buffer.

    The limit is per buffer, as ripgrep's ``-m`` is per file, so one noisy
    file cannot hide the others. The pattern is checked once, before any
    buffer is read.
    """
    _compile(pattern, ignore_case)
    found: list[tuple[Buffer, GrepMatch]] = []
    for buffer in buffers:
        for match in grep_buffer(
            store,
            buffer,
            pattern,
            max_matches=max_matches,
            window=window,
            ignore_case=ignore_case,
        ):
            found.append((buffer, match))
    return found


def chunk_indices(
    store: Store, buffer: Buffer, chunk_size: int, overlap: int
) -> list[tuple[int, int]]:
    """rlm-rs's fixed-step arithmetic, but every edge snapped to a character start."""
    size = buffer.size
    if size == 0:
        return []
    data = store.read_buffer_bytes(buffer.id)
    pairs: list[tuple[int, int]] = []
    start = 0
    step = chunk_size - overlap
    while True:
        end = floor_boundary(data, min(start + chunk_size, size))
        if end <= start:
            end = ceil_boundary(data, start + 1)
        pairs.append((start, end))
        if end >= size:
            return pairs
        nxt = floor_boundary(data, start + step)
        start = nxt if nxt > start else ceil_boundary(data, start + 1)


def chunks_for_files(
    store: Store, buffer: Buffer, chunk_size: int | None, overlap: int | None
) -> list[tuple[int, str]]:
    """The stored chunks, or a re-chunking with the buffer's own strategy."""
    if chunk_size is None and overlap is None:
        return [(c.index, c.content) for c in store.list_chunks(buffer.id)]
    size = chunk_size or buffer.chunk_size or DEFAULT_CHUNK_SIZE
    ov = overlap if overlap is not None else min(buffer.chunk_overlap or 0, size - 1)
    config = ChunkConfig(size, ov, buffer.content_type)
    config.validate()
    data = store.read_buffer_bytes(buffer.id)
    strategy = buffer.chunk_strategy or DEFAULT_CHUNKER
    return [
        (s.index, data[s.start : s.end].decode("utf-8"))
        for s in chunk_spans(data, config, strategy)
    ]


@dataclass(frozen=True)
class ChunkContext:
    """A chunk plus neighbours, merged into one span of the buffer (overlap once)."""

    chunk: Chunk
    buffer: Buffer
    chunk_ids: list[int]
    start: int
    end: int
    line_start: int | None
    line_end: int | None
    content: str
    truncated: bool = False
    """True when fewer neighbours than asked came back (the byte or chunk cap)."""


def _check_span(chunk: Chunk, buffer: Buffer) -> None:
    """A crafted or damaged store can hold any offsets: refuse them instead of guessing."""
    if not 0 <= chunk.byte_start <= chunk.byte_end <= buffer.size:
        raise DatabaseError(
            f"chunk {chunk.id} claims bytes {chunk.byte_start}..{chunk.byte_end} of buffer"
            f" {buffer.label} (size {buffer.size}): the store is damaged",
            suggestion="Reload the buffer (rlm load --replace) or rebuild the store",
        )


def _within_budget(around: list[Chunk], centre: int, max_bytes: int) -> list[Chunk]:
    """Drop the farthest neighbours until the merged span fits ``max_bytes`` (never the centre)."""
    while len(around) > 1 and around[-1].byte_end - around[0].byte_start > max_bytes:
        if centre - around[0].index >= around[-1].index - centre and around[0].index != centre:
            around = around[1:]
        elif around[-1].index != centre:
            around = around[:-1]
        else:
            around = around[1:]
    return around


def chunk_with_context(
    store: Store, chunk_id: int, context: int = 0, max_bytes: int = DEFAULT_MAX_VIEW_BYTES
) -> ChunkContext:
    """``chunk get ID --context N``: the chunk and N neighbours each side.

    The merged text is read from the buffer itself between the first start and
    the last end, so overlapping chunks contribute their shared text once. At
    most :data:`MAX_CONTEXT_CHUNKS` neighbours a side are read, and the
    farthest are dropped until the text fits ``max_bytes`` (the chunk itself
    always comes back whole).
    """
    chunk = store.get_chunk(chunk_id)
    buffer = store.get_buffer(chunk.buffer_id)
    _check_span(chunk, buffer)
    if context <= 0:
        return ChunkContext(
            chunk,
            buffer,
            [chunk.id],
            chunk.byte_start,
            chunk.byte_end,
            chunk.line_start,
            chunk.line_end,
            chunk.content,
        )
    wanted = min(context, MAX_CONTEXT_CHUNKS)
    found = store.neighbour_chunks(chunk, wanted, wanted)
    for neighbour in found:
        _check_span(neighbour, buffer)
    around = _within_budget(found, chunk.index, max_bytes)
    truncated = wanted < context or len(around) < len(found)
    start = min(c.byte_start for c in around)
    end = max(c.byte_end for c in around)
    content = store.read_buffer_bytes(buffer.id, start, end).decode("utf-8", errors="replace")
    line_starts = [c.line_start for c in around if c.line_start is not None]
    line_ends = [c.line_end for c in around if c.line_end is not None]
    return ChunkContext(
        chunk,
        buffer,
        [c.id for c in around],
        start,
        end,
        min(line_starts) if line_starts else None,
        max(line_ends) if line_ends else None,
        content,
        truncated,
    )
