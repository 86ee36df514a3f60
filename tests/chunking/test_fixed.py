"""The fixed chunker: rlm-rs's line-aware fixed windows (spec §3.4) with the fixes."""

from __future__ import annotations

import itertools

from rlm.chunking.base import ChunkConfig, ChunkSpan
from rlm.chunking.fixed import FixedChunker
from tests.chunking.span_checks import assert_invariants, mapped, pairs


def chunk(data: bytes, size: int, overlap: int) -> list[ChunkSpan]:
    config = ChunkConfig(chunk_size=size, overlap=overlap)
    spans = list(FixedChunker().chunk(data, config))
    assert_invariants(data, spans, config, extra_last=0)
    assert {s.strategy for s in spans} <= {"fixed"}
    return spans


def test_spec_example_changed_by_effective_lookback() -> None:
    """rlm-rs gave [0,5) [5,105) ... : its 300-byte lookback (3000/10) found the
    newline at byte 4. The lookback is now 100 // 10 = 10 bytes."""
    spans = chunk(b"line\n" + b"x" * 300, 100, 10)
    assert pairs(spans) == [(0, 100), (90, 190), (180, 280), (270, 305)]
    assert [s.has_overlap for s in spans] == [False, True, True, True]


def test_default_size_matches_rlm_rs() -> None:
    """At the default size the lookback is rlm-rs's 300: a newline 200 bytes
    before the budget ends the chunk, and the next starts 500 bytes back."""
    text = b"x" * 2799 + b"\n" + b"y" * 1000
    assert pairs(chunk(text, 3000, 500)) == [(0, 2800), (2300, 3800)]


def test_newline_outside_lookback_is_ignored() -> None:
    text = b"x" * 2000 + b"\n" + b"y" * 2000
    assert chunk(text, 3000, 0)[0].end == 3000


def test_multibyte_overlap_start_is_snapped_up() -> None:
    """rlm-rs sliced at end - overlap without snapping and panicked here."""
    data = "é".encode() * 1000  # 2 bytes each
    spans = chunk(data, 101, 51)
    assert spans[0].end == 100
    assert spans[1].start == 50  # 100 - 51 = 49 is inside "é": rounded up to 50
    for span in spans:
        data[span.start : span.end].decode("utf-8")


def test_size_smaller_than_a_character_terminates() -> None:
    data = "😀".encode() * 5
    spans = chunk(data, 2, 1)
    assert pairs(spans) == [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20)]


def test_overlap_larger_than_chunk_falls_back_to_no_overlap() -> None:
    """When end - overlap would not move past the start, rlm-rs (and we) start at end."""
    data = b"ab\n" * 4
    spans = chunk(data, 4, 3)
    assert all(c.start > p.start for p, c in itertools.pairwise(spans))


def test_empty_input() -> None:
    assert chunk(b"", 10, 0) == []


def test_mmap_equals_bytes() -> None:
    data = ("línea número " + "日本" * 10 + "\n").encode() * 2000
    config = ChunkConfig(chunk_size=333, overlap=77)
    expected = list(FixedChunker().chunk(data, config))
    with mapped(data) as view:
        assert list(FixedChunker().chunk(view, config)) == expected
    assert len(expected) > 100
