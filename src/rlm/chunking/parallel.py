"""The ``parallel`` strategy: semantic chunking of large texts, segment by segment.

rlm-rs split the text into one segment per CPU, so the chunks depended on the
machine, and left no overlap across segment seams (spec §3.7, §8 item 4).
Here:

* Below :data:`PARALLEL_THRESHOLD` bytes (and whenever the text fits in one
  segment) the output *is* the semantic chunker's, span for span.
* Segment ends are a function of the data and config only: every
  :func:`segment_size` bytes, moved back to the last paragraph break, line end
  or space in the preceding :data:`SEAM_LOOKBACK` bytes. The worker count only
  changes how many segments are chunked at once, never the result.
* Seams keep the overlap. Segment ``k+1`` starts where the semantic chunker
  would start a chunk after one ending at the seam (``overlap_start``), and
  its first chunk must end after the seam. Segment ``k``'s trailing chunks that
  start at or after that point, or a last chunk under 100 bytes, are merged
  into the chunk before them, so starts and ends strictly increase across the
  seam and there is no gap. Such a seam chunk is at most ``chunk_size +
  max(overlap, 99)`` bytes.
* The stored strategy is ``semantic``, as in rlm-rs: it is the semantic
  algorithm, and small inputs are then identical to ``semantic`` in every field.

The pool is a thread pool. Under CPython's GIL the per-segment work (short
``find``/``rfind`` calls from Python) barely runs concurrently, so the speed-up
is modest; the point of the design is that any pool (threads, processes,
free-threaded Python) gives the same spans. At most ``2 * workers`` segments are
in flight, so memory stays bounded on a 1 GB memory map.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from rlm.chunking.base import (
    ByteText,
    ChunkConfig,
    ChunkSpan,
    PageReleaser,
    floor_boundary,
    next_boundary,
)
from rlm.chunking.semantic import (
    MIN_TAIL,
    STRATEGY,
    Pair,
    SemanticChunker,
    overlap_start,
    raw_pairs,
    tail_merged,
    to_spans,
)

PARALLEL_THRESHOLD = 100_000
"""Texts shorter than this are chunked by the plain semantic chunker."""
MIN_SEGMENT = 4 * 1024 * 1024
SEAM_LOOKBACK = 64 * 1024
_SEAM_BREAKS = ((b"\n\n", b"\r\n\r\n"), (b"\n",), (b" ",))


def segment_size(config: ChunkConfig) -> int:
    """Bytes per segment: large enough that every segment holds many chunks."""
    return max(MIN_SEGMENT, 64 * config.chunk_size)


def seam(data: ByteText, begin: int, target: int) -> int:
    """Where the segment ``[begin, ...)`` aiming at ``target`` ends: after the last
    paragraph break, else line end, else space, in the ``SEAM_LOOKBACK`` bytes
    before ``target``; else the character boundary there. Always ``> begin``."""
    if target >= len(data):
        return len(data)
    lo = max(begin, target - SEAM_LOOKBACK)
    for patterns in _SEAM_BREAKS:
        found = [i + len(p) for p in patterns if (i := data.rfind(p, lo, target)) >= 0]
        if found:
            return max(found)
    pos = floor_boundary(data, target)
    return pos if pos > begin else next_boundary(data, begin)


def segments(data: ByteText, config: ChunkConfig) -> Iterator[tuple[int, int, int]]:
    """``(first_start, segment_start, segment_end)`` for each segment, in order.

    ``first_start`` is where the segment's first chunk begins: before the
    segment start (in the previous segment's last ``overlap`` bytes) after the
    first segment.
    """
    n, step = len(data), segment_size(config)
    first = begin = 0
    while begin < n:
        end = seam(data, begin, begin + step)
        yield first, begin, end
        first = overlap_start(data, begin, end, config.overlap)
        begin = end


def segment_pairs(
    data: ByteText, config: ChunkConfig, first: int, begin: int, end: int, next_first: int
) -> list[Pair]:
    """The chunk ranges of one segment, its trailing chunks merged for the seam.

    ``next_first`` is where the next segment's first chunk starts (``len(data)``
    for the last segment, which gets the ordinary semantic tail merge).
    """
    pairs = list(
        raw_pairs(data, config, start=first, stop=end, prev_end=begin, release_pages=False)
    )
    if next_first >= len(data):
        return list(tail_merged(pairs, end))
    while len(pairs) > 1 and (pairs[-1][0] >= next_first or pairs[-1][1] - pairs[-1][0] < MIN_TAIL):
        last = pairs.pop()
        pairs[-1] = (pairs[-1][0], last[1])
    return pairs


class ParallelChunker:
    """``parallel``: deterministic segment-parallel semantic chunking."""

    name = "parallel"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))

    def chunk(self, data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        """Validate now, then chunk lazily (semantic itself for small texts)."""
        config.validate()
        if len(data) < PARALLEL_THRESHOLD:
            return SemanticChunker().chunk(data, config)
        return to_spans(self._pairs(data, config), STRATEGY)

    def _pairs(self, data: ByteText, config: ChunkConfig) -> Iterator[Pair]:
        """Chunk segments on the pool, at most ``2 * workers`` ahead, in order."""
        n = len(data)
        releaser = PageReleaser(data)
        pending: list[Future[list[Pair]]] = []
        bounds = segments(data, config)
        current = next(bounds, None)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            try:
                while current is not None or pending:
                    while current is not None and len(pending) < 2 * self.workers:
                        following = next(bounds, None)
                        next_first = following[0] if following is not None else n
                        pending.append(
                            pool.submit(segment_pairs, data, config, *current, next_first)
                        )
                        current = following
                    pairs = pending.pop(0).result()
                    yield from pairs
                    releaser.release(pairs[-1][0])
            finally:
                for future in pending:
                    future.cancel()
