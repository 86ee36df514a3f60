"""The parallel chunker: deterministic segments, overlap across seams (spec §3.7, §8)."""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Iterator

import pytest

from rlm.chunking import parallel
from rlm.chunking.base import ChunkConfig, ChunkSpan
from rlm.chunking.parallel import PARALLEL_THRESHOLD, ParallelChunker, segments
from rlm.chunking.semantic import SemanticChunker
from tests.chunking.span_checks import TAIL_SLACK, assert_invariants, mapped, pairs

PROSE = (
    "The quick brown fox jumps over the lazy dog. Ünïcode — 日本語のテキスト。😀\n"
    "A second line follows here! Does it? Yes.\n\n"
).encode()


def run(data: bytes, config: ChunkConfig, workers: int) -> list[ChunkSpan]:
    spans = list(ParallelChunker(workers=workers).chunk(data, config))
    extra = max(config.overlap, TAIL_SLACK)
    assert_invariants(data, spans, config, extra_any=extra)
    return spans


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Segments of a few chunks, so that seams are exercised on small inputs."""
    monkeypatch.setattr(parallel, "PARALLEL_THRESHOLD", 0)
    monkeypatch.setattr(parallel, "SEAM_LOOKBACK", 64)
    monkeypatch.setattr(parallel, "segment_size", lambda config: 5 * config.chunk_size + 13)
    yield


@pytest.mark.parametrize(("size", "overlap"), [(3000, 500), (200, 0), (97, 31), (13, 5)])
def test_below_threshold_equals_semantic_exactly(size: int, overlap: int) -> None:
    data = PROSE * (90_000 // len(PROSE))
    assert len(data) < PARALLEL_THRESHOLD
    config = ChunkConfig(chunk_size=size, overlap=overlap)
    assert run(data, config, 4) == list(SemanticChunker().chunk(data, config))


def test_single_segment_above_threshold_equals_semantic() -> None:
    data = PROSE * (300_000 // len(PROSE))
    config = ChunkConfig(chunk_size=1000, overlap=200)
    assert len(list(segments(data, config))) == 1
    assert run(data, config, 2) == list(SemanticChunker().chunk(data, config))


def test_same_output_whatever_the_worker_count() -> None:
    data = PROSE * (9_500_000 // len(PROSE))
    config = ChunkConfig(chunk_size=3000, overlap=500)
    assert len(list(segments(data, config))) == 3
    reference = run(data, config, 1)
    for workers in (2, 3, 8):
        assert list(ParallelChunker(workers=workers).chunk(data, config)) == reference
    assert {s.strategy for s in reference} == {"semantic"}


@pytest.mark.usefixtures("small_segments")
@pytest.mark.parametrize(("size", "overlap"), [(300, 100), (100, 99), (50, 0), (7, 3)])
def test_seams_keep_overlap_and_invariants(size: int, overlap: int) -> None:
    data = PROSE * 40
    config = ChunkConfig(chunk_size=size, overlap=overlap)
    bounds = list(segments(data, config))
    assert len(bounds) > 3
    spans = run(data, config, 3)
    assert spans == run(data, config, 1)
    if overlap:
        assert all(s.has_overlap for s in spans[1:])  # seams included: no lost overlap
        starts = {s.start: s for s in spans}
        for first, begin, _ in bounds[1:]:
            assert first < begin < starts[first].end  # the seam chunk straddles the seam


@pytest.mark.usefixtures("small_segments")
def test_segment_bounds_depend_on_data_only() -> None:
    data = PROSE * 40
    config = ChunkConfig(chunk_size=300, overlap=100)
    bounds = list(segments(data, config))
    assert bounds == list(segments(data, config))
    assert bounds[0][:2] == (0, 0) and bounds[-1][2] == len(data)
    for (_, _, end), (first, begin, _) in itertools.pairwise(bounds):
        assert begin == end and end - config.overlap <= first < end


def test_mmap_equals_bytes() -> None:
    data = PROSE * (5_000_000 // len(PROSE))
    config = ChunkConfig(chunk_size=2000, overlap=300)
    expected = list(ParallelChunker(workers=2).chunk(data, config))
    with mapped(data) as view:
        assert list(ParallelChunker(workers=3).chunk(view, config)) == expected
    assert pairs(expected)[-1][1] == len(data)


def test_abandoned_iteration_releases_the_pool() -> None:
    data = PROSE * (9_500_000 // len(PROSE))
    before = threading.active_count()
    spans = ParallelChunker(workers=2).chunk(data, ChunkConfig())
    assert next(spans).start == 0
    assert threading.active_count() > before
    del spans
    gc.collect()
    assert threading.active_count() == before
