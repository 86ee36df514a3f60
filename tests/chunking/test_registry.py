"""The public API of ``rlm.chunking``: strategy lookup, validation, laziness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import rlm.chunking as chunking
from rlm.chunking import STRATEGIES, ChunkConfig, chunk_spans, get_chunker
from rlm.chunking.code_regex import CodeChunker
from rlm.chunking.fixed import FixedChunker
from rlm.chunking.parallel import ParallelChunker
from rlm.chunking.semantic import SemanticChunker
from rlm.errors import (
    ChunkTooLargeError,
    InvalidChunkConfigError,
    OverlapTooLargeError,
    UnknownStrategyError,
)


def test_strategies() -> None:
    assert STRATEGIES == ("semantic", "fixed", "code", "parallel")
    for name in STRATEGIES:
        assert get_chunker(name).name in (name, "code")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("semantic", SemanticChunker),
        ("SEMANTIC", SemanticChunker),
        ("Fixed", FixedChunker),
        ("code", CodeChunker),
        ("AST", CodeChunker),
        ("parallel", ParallelChunker),
    ],
)
def test_get_chunker_is_case_insensitive(name: str, kind: type) -> None:
    assert isinstance(get_chunker(name), kind)


def test_unknown_strategy_keeps_the_name_as_given() -> None:
    with pytest.raises(UnknownStrategyError) as caught:
        get_chunker("Recursive")
    assert caught.value.message == "chunking error: unknown chunking strategy: Recursive"
    assert caught.value.error_type == "UnknownStrategy"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("size", "overlap", "error"),
    [
        (0, 0, InvalidChunkConfigError),
        (50001, 0, ChunkTooLargeError),  # also for code, unlike rlm-rs
        (10, 10, OverlapTooLargeError),
    ],
)
def test_chunk_spans_validates_before_iterating(
    strategy: str, size: int, overlap: int, error: type
) -> None:
    with pytest.raises(error):
        chunk_spans(b"some text", ChunkConfig(chunk_size=size, overlap=overlap), strategy)


def test_chunk_spans_unknown_strategy_raises_at_call_time() -> None:
    with pytest.raises(UnknownStrategyError):
        chunk_spans(b"x", ChunkConfig(), "nope")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_input_gives_no_chunks(strategy: str) -> None:
    assert list(chunk_spans(b"", ChunkConfig(), strategy)) == []


def test_default_strategy_is_semantic() -> None:
    data = b"Hello there. " * 500
    assert list(chunk_spans(data, ChunkConfig())) == list(
        chunk_spans(data, ChunkConfig(), "semantic")
    )


def test_reexports() -> None:
    assert chunking.DEFAULT_CHUNK_SIZE == 3000
    assert chunking.DEFAULT_OVERLAP == 500
    assert chunking.MAX_CHUNK_SIZE == 50000
    assert chunking.detect_language("rs") == "rust"
    assert ChunkConfig().chunk_size == 3000


class TrackedBytes:
    """A ``bytes`` stand-in that records the furthest position a chunker looked at."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.furthest = 0

    def _see(self, pos: int | None) -> None:
        if pos is not None:
            self.furthest = max(self.furthest, pos)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: int | slice) -> int | bytes:
        self._see(key.stop if isinstance(key, slice) else key)
        return self.data[key]

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        self._see(end)
        return self.data.find(sub, start, end)

    def rfind(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        self._see(end)
        return self.data.rfind(sub, start, end)


@pytest.mark.parametrize("strategy", ["semantic", "fixed"])
def test_chunkers_are_lazy(strategy: str) -> None:
    """The first span is produced after reading only around the first chunk."""
    tracked = TrackedBytes(b"Some words here. " * 1_000_000)  # 17 MB
    spans: Iterator[chunking.ChunkSpan] = chunk_spans(tracked, ChunkConfig(), strategy)  # type: ignore[arg-type]
    first = next(spans)
    assert first.end <= 3000
    assert tracked.furthest < 10_000
