"""The default ``semantic`` strategy: rlm-rs's boundary preferences, without its bugs.

A chunk aims at ``chunk_size`` bytes and ends at the best natural break in the
last fifth of that budget, preferring (in order) a paragraph break (``\\n\\n``
or ``\\r\\n\\r\\n``), a line end, a sentence end (``.``/``!``/``?`` followed by
whitespace; the whitespace starts the next chunk), a space, and finally the
character boundary at the budget. A last chunk shorter than 100 bytes is merged
into its predecessor (rlm-rs's tail merge).

Deviations from rlm-rs (spec §3.5 and §8 item 2), each a bug fix:

* The lookback window is ``chunk_size // 5`` of the *effective* chunk size (600
  at the default 3000, as in rlm-rs) instead of a constant 600, so a chunk is
  never shorter than ~80% of the budget when it does not hit the end of text
  (rlm-rs could end a 30-byte chunk 600 bytes back).
* The next chunk starts at the best break *inside the last ``overlap`` bytes*
  of the previous chunk, searched forwards from ``end - overlap`` over a
  window of ``overlap // 5`` bytes (same preference order), so the real overlap
  is between ~80% and 100% of ``overlap`` and **never exceeds it**. rlm-rs
  searched backwards with the 600-byte window and produced overlaps of up to
  ``overlap + 600`` bytes, nested and duplicate chunks.
* Starts and ends both strictly increase: a chunk end is searched only after
  the previous end, and the overlap start only after the previous start. The
  last resort is one whole character, so even ``chunk_size=1`` on CJK text
  terminates (each chunk is then one character).
* ``has_overlap`` is true exactly when the chunk starts before the previous
  chunk's end, including after a tail merge (rlm-rs reset it to false).
* ``\\r\\n\\r\\n`` counts as a paragraph break and ``.\\r`` as a sentence end, so
  CRLF documents keep their paragraph preference.

Size bound: a chunk is at most ``chunk_size + 3`` bytes (it only passes the
budget to finish one character that straddles it, when nothing else fits),
and the tail-merged last chunk at most ``chunk_size + 3 + 99`` bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rlm.chunking.base import (
    ByteText,
    ChunkConfig,
    ChunkSpan,
    PageReleaser,
    ceil_boundary,
    floor_boundary,
    next_boundary,
)

STRATEGY = "semantic"
MIN_TAIL = 100
"""A last chunk shorter than this many bytes is merged into its predecessor."""
LOOKBACK_DIVISOR = 5
"""Chunk ends are searched in the last ``chunk_size // 5`` bytes of the budget."""

_PARAGRAPHS = (b"\n\n", b"\r\n\r\n")
_SENTENCE_ENDS = tuple(bytes([p, w]) for p in b".!?" for w in b" \n\r")

Pair = tuple[int, int]


def lookback(size: int) -> int:
    """The search window for a budget of ``size`` bytes (never empty)."""
    return max(1, size // LOOKBACK_DIVISOR)


def _last_of(data: ByteText, patterns: Iterable[bytes], lo: int, hi: int) -> int:
    """Position just after the last of ``patterns`` lying wholly in ``[lo, hi)``, or -1."""
    best = -1
    for pat in patterns:
        i = data.rfind(pat, lo, hi)
        if i >= 0 and i + len(pat) > best:
            best = i + len(pat)
    return best


def _first_of(data: ByteText, patterns: Iterable[bytes], lo: int, hi: int) -> int:
    """Smallest position ``p`` in ``[lo, hi]`` just after one of ``patterns``, or -1."""
    best = -1
    for pat in patterns:
        i = data.find(pat, max(0, lo - len(pat)), hi)
        if i >= 0 and (best < 0 or i + len(pat) < best):
            best = i + len(pat)
    return best


def last_break(data: ByteText, lo: int, hi: int) -> int:
    """Position after the preferred break in ``[lo, hi)``, or -1 if there is none.

    A sentence end's trailing whitespace may lie at ``hi`` (rlm-rs reads the
    byte after the punctuation wherever it is); the break is then ``<= hi``.
    """
    pos = _last_of(data, _PARAGRAPHS, lo, hi)
    if pos < 0:
        pos = _last_of(data, (b"\n",), lo, hi)
    if pos < 0:
        end = min(hi + 1, len(data))
        pos = _last_of(data, _SENTENCE_ENDS, lo, end)
        pos = pos - 1 if pos >= 0 else -1  # break after the punctuation, not the space
    if pos < 0:
        pos = _last_of(data, (b" ",), lo, hi)
    return pos


def first_break(data: ByteText, lo: int, hi: int) -> int:
    """Smallest position in ``[lo, hi]`` after a preferred break, or -1 (forward twin)."""
    pos = _first_of(data, _PARAGRAPHS, lo, hi)
    if pos < 0:
        pos = _first_of(data, (b"\n",), lo, hi)
    if pos < 0:
        pos = _first_of(data, _SENTENCE_ENDS, lo + 1, min(hi + 1, len(data)))
        pos = pos - 1 if pos >= 0 else -1
    if pos < 0:
        pos = _first_of(data, (b" ",), lo, hi)
    return pos


def best_end(data: ByteText, target: int, low: int, window: int) -> int:
    """Where a chunk aiming at ``target`` ends: a boundary strictly after ``low``.

    ``low`` is the larger of the chunk start and the previous chunk's end, which
    is what keeps ends strictly increasing. The result is ``<= target`` unless
    one character straddles ``target``, in which case it is that character's end.
    """
    hi = floor_boundary(data, target)
    lo = max(floor_boundary(data, target - window), low)
    if lo < hi:
        pos = last_break(data, lo, hi)
        if pos > lo:
            return pos
    return hi if hi > low else next_boundary(data, low)


def overlap_start(data: ByteText, start: int, end: int, overlap: int) -> int:
    """Where the chunk after ``[start, end)`` begins: in ``(start, end]``, at most
    ``overlap`` bytes before ``end``, on the first break of a small window."""
    if overlap <= 0:
        return end
    t = ceil_boundary(data, max(end - overlap, start + 1))
    hi = min(end - 1, t + lookback(overlap))
    if t < hi:
        pos = first_break(data, t, hi)
        if pos >= t:
            return pos
    return t


def raw_pairs(
    data: ByteText,
    config: ChunkConfig,
    *,
    start: int = 0,
    stop: int | None = None,
    prev_end: int = 0,
    release_pages: bool = True,
) -> Iterator[Pair]:
    """The un-merged ``(start, end)`` ranges of ``data[start:stop]``.

    ``prev_end`` is the end of a chunk emitted before ``start`` (the parallel
    chunker resumes mid-text with it); the first range ends after it.
    ``release_pages`` drops scanned pages of a memory map as it goes; the
    parallel chunker turns it off and releases behind its consumer instead.
    """
    limit = len(data) if stop is None else stop
    size, window = config.chunk_size, lookback(config.chunk_size)
    releaser = PageReleaser(data if release_pages else b"")
    while start < limit:
        target = start + size
        low = max(start, prev_end)
        end = limit if target >= limit else best_end(data, target, low, window)
        yield start, end
        if end >= limit:
            return
        start, prev_end = overlap_start(data, start, end, config.overlap), end
        releaser.release(start)


def tail_merged(pairs: Iterable[Pair], limit: int, min_tail: int = MIN_TAIL) -> Iterator[Pair]:
    """Yield ``pairs``, merging the final one (ending at ``limit``) if it is short."""
    pending: Pair | None = None
    for pair in pairs:
        if pending is not None and pair[1] >= limit and pair[1] - pair[0] < min_tail:
            yield pending[0], pair[1]
            return
        if pending is not None:
            yield pending
        pending = pair
    if pending is not None:
        yield pending


def to_spans(pairs: Iterable[Pair], strategy: str | None) -> Iterator[ChunkSpan]:
    """Number the ranges and set ``has_overlap`` from the real previous end."""
    prev_end = 0
    for index, (start, end) in enumerate(pairs):
        yield ChunkSpan(start, end, index, strategy, has_overlap=start < prev_end)
        prev_end = end


class SemanticChunker:
    """The default strategy (``semantic``): natural breaks near the size budget."""

    name = STRATEGY

    def chunk(self, data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        """Validate now (errors surface at call time), then chunk lazily."""
        config.validate()
        pairs = tail_merged(raw_pairs(data, config), len(data))
        return to_spans(pairs, STRATEGY)
