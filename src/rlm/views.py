"""Looking inside buffers: peek, grep, fixed index arithmetic, chunk files.

All offsets are UTF-8 byte offsets, snapped so nothing ever splits a
character (rlm-rs returned empty text or crashed on a split character).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from rlm.chunking import chunk_spans
from rlm.chunking.base import ChunkConfig, ceil_boundary, floor_boundary
from rlm.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKER, PEEK_BYTES
from rlm.errors import DatabaseError, InvalidArgumentError
from rlm.store import Buffer, Chunk, ChunkRef, Store

DEFAULT_PEEK = PEEK_BYTES
DEFAULT_PEEK_MAX = 1024 * 1024
"""Default ``peek --max-bytes``: one call never returns a whole 200 MB buffer by accident."""


@dataclass(frozen=True)
class PeekView:
    start: int
    end: int
    content: str
    truncated: bool = False
    """The range asked for was longer than ``max_bytes`` and was cut."""


def peek_buffer(
    store: Store,
    buffer: Buffer,
    start: int,
    end: int | None,
    *,
    max_bytes: int = DEFAULT_PEEK_MAX,
) -> PeekView:
    """Bytes [start, end) of a buffer, widened/narrowed to whole characters, at most
    ``max_bytes`` of them."""
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
    """One hit: where it is (byte, line, chunk) and the text around it.

    ``snippet`` is rlm-rs's byte window (``--window``); ``text`` is the whole
    line holding the match start (cut to :data:`MAX_LINE_BYTES` around the
    match on very long lines), ``before``/``after`` the ``--context`` lines.
    """

    offset: int
    matched: str
    snippet: str
    line: int
    chunk_id: int | None = None
    column: int = 1
    """1-based, in characters, within the line."""
    text: str = ""
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    truncated: bool = False
    """Some text of this hit (matched, line or context) was cut to the limits."""

    @property
    def size(self) -> int:
        """Characters this hit returns (what ``--max-bytes`` budgets)."""
        extra = sum(len(t) for t in self.before) + sum(len(t) for t in self.after)
        return len(self.matched) + len(self.snippet) + len(self.text) + extra


MAX_PATTERN_LENGTH = 8192
MAX_LINE_BYTES = 2000
"""A line longer than this is shown as this many bytes around the match (one-line files)."""
DEFAULT_GREP_BYTES = 1024 * 1024
"""Default ``--max-bytes``: text returned by one grep, over all its hits."""
_LINE_SCAN = 64 * 1024
"""How far back/forward a context line is looked for before it counts as cut."""


def compile_pattern(pattern: str, ignore_case: bool) -> Any:
    """The pattern as an RE2 regex over UTF-8 bytes: linear time, whatever the input.

    RE2 is rlm-rs's own regex model (the Rust ``regex`` crate): no
    backreferences, no lookaround, so no catastrophic backtracking. A pattern
    that needs those is refused with a clear message rather than run in an
    engine that can hang the process (and an MCP server with it).
    """
    import re2

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidArgumentError(
            f"pattern is {len(pattern)} characters; the limit is {MAX_PATTERN_LENGTH}",
            suggestion="Search for a shorter pattern",
        )
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern.encode("utf-8", errors="surrogatepass"), options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        raise InvalidArgumentError(
            f"Invalid regex: {reason}",
            suggestion="grep uses RE2 syntax (as rlm-rs did): linear time, so no"
            " backreferences (\\1) or lookaround ((?=...), (?<=...))",
        ) from None


def _decode(data: bytes, start: int, end: int) -> str:
    return data[floor_boundary(data, start) : ceil_boundary(data, end)].decode(
        "utf-8", errors="replace"
    )


class _LineIndex:
    """Line numbers and line starts for offsets visited in increasing order (linear)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def at(self, offset: int) -> tuple[int, int]:
        """(1-based line, byte where that line starts) of ``offset``."""
        newlines = self.data.count(b"\n", self.pos, offset)
        if newlines:
            self.line += newlines
            self.line_start = self.data.rfind(b"\n", self.pos, offset) + 1
        self.pos = offset
        return self.line, self.line_start


def _line_bounds(data: bytes, line_start: int, start: int, end: int) -> tuple[int, int, bool]:
    """The shown part of the line holding ``start``: at most MAX_LINE_BYTES around it."""
    stop = data.find(b"\n", end, end + MAX_LINE_BYTES + 1)
    cut = False
    if stop < 0:
        stop = len(data) if len(data) - end <= MAX_LINE_BYTES else end + MAX_LINE_BYTES
        cut = stop < len(data)
    first = line_start
    if start - line_start > MAX_LINE_BYTES:
        first, cut = start - MAX_LINE_BYTES, True
    if stop > start and (stop - first) > 2 * MAX_LINE_BYTES + (end - start):
        stop, cut = end + MAX_LINE_BYTES, True
    return first, stop, cut


def _context(
    data: bytes, line_start: int, line_end: int, count: int
) -> tuple[list[str], list[str], bool]:
    """Up to ``count`` whole lines before and after the line [line_start, line_end)."""
    before: list[str] = []
    cut = False
    pos = line_start
    while len(before) < count and pos > 0:
        lo = max(0, pos - 1 - _LINE_SCAN)
        found = data.rfind(b"\n", lo, pos - 1)
        begin = found + 1 if found >= 0 else lo
        if found < 0 and lo > 0:
            cut = True
        shown = max(begin, pos - 1 - MAX_LINE_BYTES)
        cut = cut or shown > begin
        before.insert(0, _decode(data, shown, pos - 1))
        pos = begin
        if found < 0:
            break
    after: list[str] = []
    pos = line_end + 1 if line_end < len(data) and data[line_end : line_end + 1] == b"\n" else -1
    while len(after) < count and 0 <= pos < len(data):
        hi = min(len(data), pos + _LINE_SCAN)
        found = data.find(b"\n", pos, hi)
        stop = found if found >= 0 else hi
        shown = min(stop, pos + MAX_LINE_BYTES)
        cut = cut or shown < stop or (found < 0 and hi < len(data))
        after.append(_decode(data, pos, shown))
        if found < 0:
            break
        pos = found + 1
    return before, after, cut


class _Chunks:
    """The chunk holding a byte offset (first by index among overlapping ones)."""

    def __init__(self, refs: list[ChunkRef]) -> None:
        self.refs = sorted(refs, key=lambda r: (r.byte_start, r.index))
        self.starts = [r.byte_start for r in self.refs]

    def at(self, start: int, end: int) -> int | None:
        i = bisect.bisect_right(self.starts, start)
        holding = [r for r in self.refs[max(0, i - 8) : i] if r.byte_start <= start < r.byte_end]
        if not holding and i:  # an empty match at the very end of the last chunk
            last = self.refs[i - 1]
            holding = [last] if last.byte_start <= start <= last.byte_end else []
        if not holding:
            return None
        whole = [r for r in holding if end <= r.byte_end]
        return min(whole or holding, key=lambda r: r.index).id


@dataclass
class GrepBudget:
    """``--max-bytes`` over one grep, shared by every buffer it searches."""

    limit: int = DEFAULT_GREP_BYTES
    used: int = 0
    exhausted: bool = False


def grep_buffer(
    store: Store,
    buffer: Buffer,
    pattern: str,
    *,
    max_matches: int = 20,
    window: int = 120,
    ignore_case: bool = False,
    context: int = 0,
    budget: GrepBudget | None = None,
) -> list[GrepMatch]:
    """The first ``max_matches`` matches, each with its line, chunk and context.

    Linear in the buffer: RE2 matching, line numbers counted incrementally,
    every line and context window bounded. Stops early (``budget.exhausted``)
    once the returned text would pass the budget.
    """
    regex = compile_pattern(pattern, ignore_case)
    budget = budget if budget is not None else GrepBudget()
    if max_matches == 0 or budget.exhausted:
        return []
    data = store.read_buffer_bytes(buffer.id)
    chunks = _Chunks(store.list_chunk_refs(buffer.id))
    lines = _LineIndex(data)
    half = max(budget.limit // 2, 1)
    window = min(window, half)
    matches: list[GrepMatch] = []
    for m in regex.finditer(data):
        start, end = m.start(), m.end()
        line, line_start = lines.at(start)
        first, stop, cut = _line_bounds(data, line_start, start, end)
        matched = data[start:end].decode("utf-8", errors="replace")
        if len(matched) > half:
            matched, cut = matched[:half], True
        lo = floor_boundary(data, max(0, start - window))
        hi = ceil_boundary(data, min(len(data), end + window))
        before: list[str] = []
        after: list[str] = []
        if context:
            line_end = data.find(b"\n", end, end + _LINE_SCAN)
            line_end = line_end if line_end >= 0 else min(len(data), end + _LINE_SCAN)
            before, after, context_cut = _context(data, line_start, line_end, context)
            cut = cut or context_cut
        hit = GrepMatch(
            offset=start,
            matched=matched,
            snippet=data[lo:hi].decode("utf-8", errors="replace"),
            line=line,
            chunk_id=chunks.at(start, end),
            column=len(data[first:start].decode("utf-8", errors="replace")) + 1,
            text=_decode(data, first, stop).rstrip("\r"),
            before=tuple(before),
            after=tuple(after),
            truncated=cut,
        )
        if budget.used + hit.size > budget.limit and (matches or budget.used):
            budget.exhausted = True
            break
        budget.used += hit.size
        matches.append(hit)
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
    context: int = 0,
    budget: GrepBudget | None = None,
) -> list[tuple[Buffer, GrepMatch]]:
    """Matches in several buffers (a collection), at most ``max_matches`` per buffer.

    The limit is per buffer, as ripgrep's ``-m`` is per file, so one noisy
    file cannot hide the others. The pattern is checked once, before any
    buffer is read; the byte budget is shared.
    """
    compile_pattern(pattern, ignore_case)
    budget = budget if budget is not None else GrepBudget()
    found: list[tuple[Buffer, GrepMatch]] = []
    for buffer in buffers:
        for match in grep_buffer(
            store,
            buffer,
            pattern,
            max_matches=max_matches,
            window=window,
            ignore_case=ignore_case,
            context=context,
            budget=budget,
        ):
            found.append((buffer, match))
        if budget.exhausted:
            break
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
    """Neighbours were left out to stay within ``max_bytes``."""


def _check_span(chunk_id: int, start: int, end: int, buffer: Buffer) -> None:
    """A crafted or damaged store can hold any offsets: refuse them instead of guessing."""
    if not 0 <= start <= end <= buffer.size:
        raise DatabaseError(
            f"chunk {chunk_id} claims bytes {start}..{end} of buffer {buffer.label}"
            f" (size {buffer.size}): the store is damaged",
            suggestion="Reload the buffer (rlm load --replace) or rebuild the store",
        )


DEFAULT_CONTEXT_MAX = 1024 * 1024
"""Default ``chunk get --context`` budget: ``--context 1000000`` must not return 200 MB."""


def chunk_with_context(
    store: Store, chunk_id: int, context: int = 0, *, max_bytes: int = DEFAULT_CONTEXT_MAX
) -> ChunkContext:
    """``chunk get ID --context N``: the chunk and N neighbours each side.

    The merged text is read from the buffer itself between the first start and
    the last end, so overlapping chunks contribute their shared text once.
    Neighbours are added one at a time, alternating sides, while the merged
    span stays within ``max_bytes`` (``truncated`` says some were left out);
    the chunk itself is always returned whole. Only chunk spans are read to
    plan this, so ``--context 1000000`` costs no more than the budget.
    """
    chunk = store.get_chunk(chunk_id)
    buffer = store.get_buffer(chunk.buffer_id)
    _check_span(chunk.id, chunk.byte_start, chunk.byte_end, buffer)
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
    refs = store.list_chunk_refs(chunk.buffer_id)
    at = next(i for i, r in enumerate(refs) if r.id == chunk.id)
    lo = hi = at
    span_start, span_end = chunk.byte_start, chunk.byte_end
    truncated = False
    # Grow one neighbour at a time, alternating sides, until N each side or the budget.
    for _ in range(context):
        grew = False
        if lo > 0:
            r = refs[lo - 1]
            if max(span_end, r.byte_end) - min(span_start, r.byte_start) <= max_bytes:
                lo, grew = lo - 1, True
                span_start, span_end = min(span_start, r.byte_start), max(span_end, r.byte_end)
            else:
                truncated = True
        if hi < len(refs) - 1:
            r = refs[hi + 1]
            if max(span_end, r.byte_end) - min(span_start, r.byte_start) <= max_bytes:
                hi, grew = hi + 1, True
                span_start, span_end = min(span_start, r.byte_start), max(span_end, r.byte_end)
            else:
                truncated = True
        if not grew:
            break
    around = refs[lo : hi + 1]
    for ref in around:
        _check_span(ref.id, ref.byte_start, ref.byte_end, buffer)
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
