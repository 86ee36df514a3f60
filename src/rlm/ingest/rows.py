"""The rows a write stores: one builder each for buffers, chunks and text segments.

A load (:mod:`.loader`), an in-place update (:mod:`.update`) and a folder
sync (:mod:`.collection`) all write through these, so a new column or rule
is added once.

One rule lives here on purpose: **a chunk with no text but whitespace is not
stored.** Such a chunk can never get a vector (the embedder has nothing to
embed), so storing it made ``chunk_count`` and ``embedded_count`` disagree for
ever. Blank spans are dropped and the kept chunks are numbered 0, 1, 2...
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rlm.chunking.base import ByteText, PageReleaser, estimate_tokens
from rlm.ingest.options import LoadOptions, Progress
from rlm.io import SourceText
from rlm.store import Buffer, NewBuffer, NewChunk


def chunk_hash(content: bytes) -> str:
    """16 hex digits of SHA-256: short enough to cite, long enough never to collide."""
    return hashlib.sha256(content).hexdigest()[:16]


def is_blank(content: str) -> bool:
    """Nothing to embed (the test the embedder applies, so both always agree)."""
    return not content.strip()


@dataclass(frozen=True)
class SpanText:
    """One chunk's place in the text before it becomes a row."""

    start: int
    end: int
    strategy: str | None
    has_overlap: bool = False
    symbol: str | None = None


class LineCounter:
    """Line numbers of spans whose starts only move forward (a chunker invariant)."""

    def __init__(self, data: ByteText) -> None:
        self.data = data
        self.line = 1
        self.cursor = 0

    def span(self, start: int, end: int) -> tuple[int, int]:
        """(first line, last line) of ``data[start:end]``; a final newline ends the span."""
        self.line += self.data[self.cursor : start].count(b"\n")
        self.cursor = start
        return self.line, self.line + self.data[start : max(end - 1, start)].count(b"\n")


def chunk_row(
    data: ByteText, span: SpanText, index: int, lines: tuple[int, int], digest: str | None = None
) -> NewChunk:
    """A chunk row: exact text, line span, hash and token estimate of ``span``."""
    raw = bytes(data[span.start : span.end])
    return NewChunk(
        index=index,
        byte_start=span.start,
        byte_end=span.end,
        content=raw.decode("utf-8"),
        strategy=span.strategy,
        token_count=estimate_tokens(len(raw)),
        line_start=lines[0],
        line_end=lines[1],
        has_overlap=span.has_overlap,
        content_hash=digest or chunk_hash(raw),
        symbol=span.symbol,
    )


def chunk_rows(data: ByteText, spans: Iterable[SpanText]) -> Iterator[NewChunk]:
    """Rows for ``spans`` in order, blank ones dropped, indices renumbered from 0."""
    lines = LineCounter(data)
    index = 0
    for span in spans:
        row = chunk_row(data, span, index, lines.span(span.start, span.end))
        if is_blank(row.content):
            continue
        yield row
        index += 1


def is_blank_span(data: ByteText, start: int, end: int) -> bool:
    return is_blank(bytes(data[start:end]).decode("utf-8"))


def buffer_row(
    text: SourceText,
    name: str | None,
    opts: LoadOptions,
    collection: str | None,
    fallback: Buffer | None = None,
) -> NewBuffer:
    """The buffer row for ``text``; ``fallback`` fills what the text does not know."""
    return NewBuffer(
        name=name,
        source=text.source or (fallback.source if fallback else None),
        content_type=text.content_type or (fallback.content_type if fallback else None),
        content_hash=text.sha256,
        size=text.size,
        line_count=text.line_count,
        collection=collection,
        encoding=text.encoding,
        source_mtime=text.mtime,
        chunk_strategy=opts.chunker.lower(),
        chunk_size=opts.chunk_size,
        chunk_overlap=opts.overlap,
    )


def refreshed_row(old: Buffer, source: str | None, mtime: float | None) -> NewBuffer:
    """``old``'s row with a new source path and mtime (the content is identical)."""
    return NewBuffer(
        name=old.name,
        source=source,
        content_type=old.content_type,
        content_hash=old.content_hash,
        size=old.size,
        line_count=old.line_count,
        collection=old.collection,
        encoding=old.encoding,
        source_mtime=mtime,
        chunk_strategy=old.chunk_strategy,
        chunk_size=old.chunk_size,
        chunk_overlap=old.chunk_overlap,
    )


def same_settings(buffer: Buffer, opts: LoadOptions) -> bool:
    """Whether ``buffer`` was chunked with these settings (else: re-chunk in full)."""
    return (
        buffer.chunk_strategy == opts.chunker.lower()
        and buffer.chunk_size == opts.chunk_size
        and buffer.chunk_overlap == opts.overlap
    )


def segments(text: SourceText, progress: Progress | None = None) -> Iterator[bytes]:
    """The text as 1 MiB segments, releasing memory-mapped pages behind the reader."""
    releaser = PageReleaser(text.data)
    for start, end in text.pieces():
        yield bytes(text.data[start:end])
        releaser.release(end)
        if progress:
            progress(end // 2, text.size)
