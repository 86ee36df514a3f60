"""Shared checks of the chunker invariants documented in ``rlm.chunking.base``.

Imported by the chunking tests as ``tests.chunking.span_checks``.
"""

from __future__ import annotations

import mmap
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from rlm.chunking.base import ByteText, ChunkConfig, ChunkSpan

CHAR_SLACK = 3
"""A chunk may run past its budget by the tail of one 4-byte character."""
TAIL_SLACK = 99
"""The tail merge may add a last piece of at most 99 bytes."""


def is_boundary(data: ByteText, pos: int) -> bool:
    """True if ``pos`` is not inside a UTF-8 character."""
    return pos >= len(data) or (data[pos] & 0xC0) != 0x80


def assert_invariants(
    data: ByteText,
    spans: list[ChunkSpan],
    config: ChunkConfig,
    *,
    gaps_allowed: bool = False,
    extra_last: int = TAIL_SLACK,
    extra_any: int = 0,
) -> None:
    """Every property a chunker promises, for one output.

    ``extra_last`` is the size slack of the last chunk (tail merge), and
    ``extra_any`` the slack of any chunk (parallel seams).
    """
    n = len(data)
    if n == 0:
        assert spans == []
        return
    if gaps_allowed:  # code: only blank text may be left out
        if not spans:
            assert not bytes(data).decode("utf-8").strip()
            return
        assert not bytes(data[: spans[0].start]).decode("utf-8").strip()
        assert not bytes(data[spans[-1].end :]).decode("utf-8").strip()
    assert spans, "non-empty input gives at least one chunk"
    assert [s.index for s in spans] == list(range(len(spans)))
    if not gaps_allowed:
        assert spans[0].start == 0
        assert spans[-1].end == n
    prev: ChunkSpan | None = None
    for span in spans:
        assert 0 <= span.start < span.end <= n
        assert is_boundary(data, span.start) and is_boundary(data, span.end), span
        budget = config.chunk_size + CHAR_SLACK + extra_any
        if span is spans[-1]:
            budget += extra_last
        assert span.size <= budget, (span, budget)
        if prev is None:
            assert not span.has_overlap
        else:
            assert span.start > prev.start and span.end > prev.end, (prev, span)
            if not gaps_allowed:
                assert span.start <= prev.end, ("gap", prev, span)
            else:
                gap = bytes(data[prev.end : span.start]).decode("utf-8")
                assert not gap.strip(), ("non-blank gap", prev, span)
            assert span.has_overlap == (span.start < prev.end), (prev, span)
            assert prev.end - span.start <= config.overlap, ("overlap too large", prev, span)
        prev = span


@contextmanager
def mapped(data: bytes) -> Iterator[mmap.mmap]:
    """``data`` as a read-only memory map of a temporary file (must be non-empty)."""
    assert data, "a zero-length file cannot be memory-mapped"
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            yield view


def pairs(spans: list[ChunkSpan]) -> list[tuple[int, int]]:
    """``(start, end)`` of each span, for readable comparisons."""
    return [(s.start, s.end) for s in spans]
