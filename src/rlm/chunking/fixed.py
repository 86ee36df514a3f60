"""The ``fixed`` strategy: size-driven chunks that prefer to end at a line end.

rlm-rs behaviour (spec §3.4) with its bugs fixed:

* The line-end lookback is ``chunk_size // 10`` of the *effective* size (300 at
  the default 3000, as in rlm-rs) instead of a constant 300, which made a
  100-byte chunk end 300 bytes back (the spec's ``[0,5)`` example).
* Every position is snapped to a UTF-8 character boundary: the overlap start is
  rounded *up* (so the overlap never exceeds ``overlap``), the fallback end
  rounded down, and a chunk always holds at least one whole character.
* Chunk ends strictly increase as well as starts, and ``has_overlap`` is true
  exactly when the chunk starts before the previous end (rlm-rs: ``index > 0
  and overlap > 0``).

Size bound: at most ``chunk_size + 3`` bytes (only to finish one character that
straddles the budget, when nothing else fits).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlm.chunking.base import (
    ByteText,
    ChunkConfig,
    ChunkSpan,
    PageReleaser,
    ceil_boundary,
    floor_boundary,
    next_boundary,
)
from rlm.chunking.semantic import Pair, to_spans

STRATEGY = "fixed"
LOOKBACK_DIVISOR = 10


def line_end(data: ByteText, target: int, low: int, window: int) -> int:
    """End of a chunk aiming at ``target``: after the last ``\\n`` in the window
    before it, else the character boundary at ``target``; always ``> low``."""
    pos = floor_boundary(data, target)
    lo = max(pos - window, low)
    if lo < pos:
        i = data.rfind(b"\n", lo, pos)
        if i >= 0:
            return i + 1
    return pos if pos > low else next_boundary(data, low)


def fixed_pairs(data: ByteText, config: ChunkConfig) -> Iterator[Pair]:
    """The ``(start, end)`` ranges; the next start is ``end - overlap`` rounded up
    to a character, or ``end`` when that would not move past the current start."""
    n, size, overlap = len(data), config.chunk_size, config.overlap
    window = max(1, size // LOOKBACK_DIVISOR)
    start = prev_end = 0
    releaser = PageReleaser(data)
    while start < n:
        target = start + size
        end = n if target >= n else line_end(data, target, max(start, prev_end), window)
        yield start, end
        if end >= n:
            return
        t = end - overlap
        start, prev_end = (ceil_boundary(data, t) if t > start else end), end
        releaser.release(start)


class FixedChunker:
    """``fixed``: chunks of ``chunk_size`` bytes ending at a nearby line end."""

    name = STRATEGY

    def chunk(self, data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        """Validate now (errors surface at call time), then chunk lazily."""
        config.validate()
        return to_spans(fixed_pairs(data, config), STRATEGY)
