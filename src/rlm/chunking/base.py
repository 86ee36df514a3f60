"""What every chunker takes and returns.

Chunkers work on UTF-8 **bytes** (``bytes`` or a read-only ``mmap``), never on
``str``: every offset rlm stores is a byte offset into the buffer, as in rlm-rs,
and working on bytes lets a 1 GB file be chunked from a memory map without
ever holding it as a Python string. A chunker yields :class:`ChunkSpan` objects
lazily and in order; the loader slices and decodes the content itself.

Invariants every chunker keeps (tested by property tests):

* spans are ``0 <= start < end <= len(data)``, indices 0, 1, 2, ... in order;
* ``start`` and ``end`` never fall inside a UTF-8 character;
* ``start`` strictly increases and ``end`` strictly increases, so no chunk is
  nested inside its predecessor and the loop always terminates;
* consecutive spans leave no gap (except the code chunker, which may drop
  whitespace-only pieces), so the union of spans covers the input;
* the same input and config give the same spans on every machine.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, Union

from rlm.defaults import DEFAULT_CHUNK_SIZE as DEFAULT_CHUNK_SIZE
from rlm.defaults import DEFAULT_MAX_CHUNKS, MIN_CHUNK_SIZE
from rlm.defaults import DEFAULT_OVERLAP as DEFAULT_OVERLAP
from rlm.defaults import MAX_CHUNK_SIZE as MAX_CHUNK_SIZE
from rlm.errors import (
    ChunkTooLargeError,
    InvalidChunkConfigError,
    OverlapTooLargeError,
    TooManyChunksError,
)

ByteText = Union[bytes, mmap.mmap]  # noqa: UP007 (a runtime alias, kept as written)
"""A buffer's UTF-8 bytes: an in-memory ``bytes`` or a read-only memory map."""

MAX_STORED_FACTOR = 8
"""Chunk text stored may be at most this many times the bytes read (overlap amplifies it)..."""
STORED_FLOOR = 64 << 20
"""... unless it stays under 64 MiB anyway (small inputs may overlap as they like)."""


def max_chunks() -> int:
    """The cap on chunks per buffer: ``RLM_MAX_CHUNKS`` if set to a positive number."""
    raw = os.environ.get("RLM_MAX_CHUNKS", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_CHUNKS
    return value if value > 0 else DEFAULT_MAX_CHUNKS


@dataclass(frozen=True)
class ChunkConfig:
    """Sizes are in bytes of UTF-8, like rlm-rs (its help text says characters)."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    overlap: int = DEFAULT_OVERLAP
    language: str | None = None
    """Code chunkers: a language name or a file extension (``py``, ``rs``...)."""

    def validate(self, *, check_maximum: bool = True) -> None:
        """Raise the rlm-rs chunking errors for impossible sizes."""
        if self.chunk_size <= 0:
            raise InvalidChunkConfigError("chunk_size must be > 0")
        if check_maximum and self.chunk_size > MAX_CHUNK_SIZE:
            raise ChunkTooLargeError(self.chunk_size, MAX_CHUNK_SIZE)
        if self.overlap < 0:
            raise InvalidChunkConfigError("overlap must be >= 0")
        if self.overlap >= self.chunk_size:
            raise OverlapTooLargeError(self.overlap, self.chunk_size)

    def check_load_limits(self, size: int, maximum: int | None = None) -> None:
        """Refuse, before any work, a load that would amplify ``size`` bytes into a flood.

        Each chunk advances by at most ``chunk_size - overlap`` bytes, so
        ``size / (chunk_size - overlap)`` is a lower bound on the chunk count.
        """
        cap = maximum or max_chunks()
        if self.chunk_size < MIN_CHUNK_SIZE:
            raise InvalidChunkConfigError(f"chunk_size must be >= {MIN_CHUNK_SIZE} bytes")
        step = max(1, self.chunk_size - self.overlap)
        stored = size * self.chunk_size // step  # chunk text with its overlaps, roughly
        if stored > max(MAX_STORED_FACTOR * size, STORED_FLOOR):
            raise InvalidChunkConfigError(
                f"overlap {self.overlap} of chunk_size {self.chunk_size} would store about"
                f" {stored} bytes of chunk text for {size} bytes read"
                f" (max: {MAX_STORED_FACTOR}x); use an overlap well below the chunk size"
            )
        at_least = -(-size // step)
        if at_least > cap:
            raise TooManyChunksError(
                f"{size} bytes with chunk_size {self.chunk_size} and overlap {self.overlap}"
                f" make at least {at_least} chunks (max: {cap})",
                cap,
            )


@dataclass(frozen=True)
class ChunkSpan:
    """One chunk as a half-open byte range of the buffer."""

    start: int
    end: int
    index: int
    strategy: str | None
    has_overlap: bool = False
    symbol: str | None = None
    """Code chunks: the dotted symbol path, e.g. ``module.Class.method``."""

    @property
    def size(self) -> int:
        return self.end - self.start


class Chunker(Protocol):
    """A chunking strategy. ``name`` is what ``--chunker`` accepts."""

    name: str

    def chunk(self, data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        """Yield the spans of ``data`` in order (lazily; may be huge)."""
        ...


def floor_boundary(data: ByteText, pos: int) -> int:
    """Largest position <= pos that is not inside a UTF-8 character."""
    n = len(data)
    if pos >= n:
        return n
    if pos <= 0:
        return 0
    while pos > 0 and (data[pos] & 0xC0) == 0x80:
        pos -= 1
    return pos


def ceil_boundary(data: ByteText, pos: int) -> int:
    """Smallest position >= pos that is not inside a UTF-8 character."""
    n = len(data)
    if pos >= n:
        return n
    if pos <= 0:
        return 0
    while pos < n and (data[pos] & 0xC0) == 0x80:
        pos += 1
    return pos


def capped(spans: Iterator[ChunkSpan], maximum: int | None = None) -> Iterator[ChunkSpan]:
    """``spans``, failing with :class:`TooManyChunksError` past the cap (rolls a load back)."""
    cap = maximum or max_chunks()
    for count, span in enumerate(spans, start=1):
        if count > cap:
            raise TooManyChunksError(f"more than {cap} chunks in one buffer", cap)
        yield span


def estimate_tokens(byte_len: int) -> int:
    """rlm-rs's simple estimate, used when no tokenizer is available."""
    return (byte_len + 3) // 4


def next_boundary(data: ByteText, pos: int) -> int:
    """Smallest character boundary strictly after ``pos`` (``len(data)`` at the end).

    Chunkers use it as the last resort when no boundary fits in a window, so a
    chunk always advances by at least one whole character even when the chunk
    size is smaller than that character.
    """
    return ceil_boundary(data, pos + 1)


class PageReleaser:
    """Drops already-chunked pages of a memory map from this process's RSS.

    Scanning a memory-mapped file faults its pages into the process; the kernel
    keeps them mapped while memory is plentiful, so the resident set of a 1 GB
    chunking run would grow to 1 GB. ``MADV_DONTNEED`` on a read-only file
    mapping only unmaps pages (they stay in the page cache and re-fault cheaply
    if read again), so calling :meth:`release` behind the scan position bounds
    RSS without changing any result. A no-op for ``bytes`` or where the platform
    has no ``madvise``.
    """

    STEP = 32 * 1024 * 1024

    def __init__(self, data: ByteText) -> None:
        usable = isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED")
        self._map = data if usable and isinstance(data, mmap.mmap) else None
        self._done = 0

    def release(self, upto: int) -> None:
        """Release whole pages below ``upto`` once at least ``STEP`` bytes accumulated."""
        if self._map is None or upto - self._done < self.STEP:
            return
        aligned = upto - upto % mmap.PAGESIZE
        try:
            self._map.madvise(mmap.MADV_DONTNEED, self._done, aligned - self._done)
        except (OSError, ValueError):  # closed map, exotic platform: keep going
            self._map = None
            return
        self._done = aligned
