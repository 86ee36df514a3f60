"""The semantic chunker: rlm-rs's worked examples (spec §3.5) and the §8 fixes."""

from __future__ import annotations

import itertools

import pytest

from rlm.chunking.base import ChunkConfig, ChunkSpan
from rlm.chunking.semantic import MIN_TAIL, SemanticChunker, lookback
from rlm.errors import ChunkTooLargeError, InvalidChunkConfigError, OverlapTooLargeError
from tests.chunking.span_checks import assert_invariants, mapped, pairs


def chunk(data: bytes, size: int, overlap: int) -> list[ChunkSpan]:
    config = ChunkConfig(chunk_size=size, overlap=overlap)
    spans = list(SemanticChunker().chunk(data, config))
    assert_invariants(data, spans, config)
    return spans


# --- the spec's worked examples -------------------------------------------------


def test_spec_example_title_intro_body_is_unchanged() -> None:
    """Spec example 3 still holds: every end is a sentence end found within the
    last fifth of the budget, so the smaller lookback changes nothing."""
    text = b"# Title\n\n" + b"Intro sentence here. " * 10 + b"\n\n" + b"Body text goes on. " * 200
    assert len(text) == 4021
    spans = chunk(text, 1000, 0)
    assert pairs(spans) == [(0, 999), (999, 1987), (1987, 2975), (2975, 4021)]
    assert [s.has_overlap for s in spans] == [False] * 4
    assert {s.strategy for s in spans} == {"semantic"}


def test_spec_example_three_sentences_changed_by_effective_lookback() -> None:
    """rlm-rs gave [0,15) [15,48) because its 600-byte lookback reached back to the
    first sentence end. With a 6-byte lookback (30 // 5) the first chunk ends at
    the budget, and the 18-byte rest is tail-merged: one chunk."""
    text = b"First sentence. Second sentence. Third sentence."
    assert pairs(chunk(text, 30, 0)) == [(0, 48)]


def test_spec_example_paragraphs_no_longer_nested() -> None:
    """rlm-rs gave [0,602) [479,1204) [602,1204) ...: chunk 2 nested in chunk 1 and
    false has_overlap flags. Now the budget's last fifth holds sentence ends, the
    overlap start is a sentence end in the last 100 bytes, and every overlap is real."""
    text = (b"Paragraph one has some words. " * 20 + b"\n\n") * 5
    spans = chunk(text, 1000, 100)
    assert pairs(spans) == [(0, 991), (901, 1806), (1713, 2707), (2617, 3010)]
    assert [s.has_overlap for s in spans] == [False, True, True, True]
    for prev, cur in itertools.pairwise(spans):
        assert 80 <= prev.end - cur.start <= 100  # ~80-100% of the configured overlap


# --- boundaries and lookback ----------------------------------------------------


def test_lookback_is_a_fifth_of_the_effective_size() -> None:
    assert lookback(3000) == 600  # rlm-rs's constant, at the default size
    assert lookback(100) == 20
    assert lookback(1) == 1


def test_small_chunk_does_not_jump_back_to_a_distant_newline() -> None:
    """rlm-rs (600-byte lookback) would end the first 100-byte chunk at byte 5."""
    text = b"line\n" + b"x" * 300
    spans = chunk(text, 100, 0)
    assert spans[0].end == 100


def test_paragraph_break_beats_a_later_line_end() -> None:
    text = b"a" * 850 + b"\n\n" + b"b" * 60 + b"\n" + b"c" * 500
    assert chunk(text, 1000, 0)[0].end == 852


def test_crlf_paragraph_break_is_a_paragraph_break() -> None:
    """rlm-rs never matched \\r\\n\\r\\n, so it preferred the later single line end."""
    text = b"a" * 850 + b"\r\n\r\n" + b"b" * 60 + b"\r\n" + b"c" * 500
    spans = chunk(text, 1000, 0)
    assert spans[0].end == 854
    assert bytes(text[: spans[0].end]).endswith(b"\r\n\r\n")


def test_sentence_end_before_crlf_counts() -> None:
    text = b"w" * 850 + b"end.\r" + b"z" * 600
    spans = chunk(text, 1000, 0)
    assert spans[0].end == 854  # right after the full stop


def test_space_when_nothing_better() -> None:
    text = b"x" * 900 + b" " + b"y" * 400
    assert chunk(text, 1000, 0)[0].end == 901


def test_character_boundary_when_no_break_at_all() -> None:
    text = "é".encode() * 600  # 1200 bytes, no break
    spans = chunk(text, 1001, 0)
    assert spans[0].end == 1000  # 1001 rounded down to a character


# --- overlap and tail merge -----------------------------------------------------


def test_overlap_never_exceeds_configuration_and_starts_strictly_increase() -> None:
    text = b"Short line.\n" * 500
    spans = chunk(text, 300, 250)
    assert len(spans) > 10
    assert all(0 < p.end - c.start <= 250 for p, c in itertools.pairwise(spans))


def test_tail_merge_keeps_has_overlap() -> None:
    """rlm-rs reset has_overlap on the merged chunk although it still overlaps."""
    text = b"word " * 410  # 2050 bytes
    spans = chunk(text, 1000, 20)
    assert pairs(spans) == [(0, 1000), (980, 2050)]
    assert spans[-1].has_overlap is True
    assert spans[-1].size == 1070  # may exceed the size: at most size + 99


def test_tail_merge_threshold() -> None:
    text = b"x" * 1000 + b"y" * MIN_TAIL  # last piece exactly 100 bytes: kept
    assert pairs(chunk(text, 1000, 0)) == [(0, 1000), (1000, 1100)]
    text = b"x" * 1000 + b"y" * (MIN_TAIL - 1)
    assert pairs(chunk(text, 1000, 0)) == [(0, 1099)]


def test_text_no_longer_than_size_is_one_chunk() -> None:
    assert pairs(chunk(b"hello world", 11, 5)) == [(0, 11)]


def test_empty_input_gives_no_chunks() -> None:
    assert chunk(b"", 10, 0) == []


# --- multi-byte text ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "日本語のテキストです。これは二番目の文です。\n\n第三段落。" * 40,
        "emoji 😀😃😄 and flags 🇫🇷🇩🇪 mixed with text. " * 60,
        "Ça coûte très cher, n'est-ce pas ? Évidemment ! Ünïcödé.\n" * 50,
    ],
)
@pytest.mark.parametrize(("size", "overlap"), [(1, 0), (2, 1), (5, 4), (37, 11), (500, 120)])
def test_multibyte_text_is_never_split_inside_a_character(
    text: str, size: int, overlap: int
) -> None:
    data = text.encode()
    spans = chunk(data, size, overlap)
    for span in spans:
        data[span.start : span.end].decode("utf-8")  # raises if split mid-character


def test_chunk_size_smaller_than_a_character_terminates_with_whole_characters() -> None:
    """rlm-rs looped forever here (end == start)."""
    data = "日本語".encode() + "😀".encode() * 2
    spans = chunk(data, 1, 0)
    assert [data[s.start : s.end].decode() for s in spans[:-1]] == ["日", "本", "語"]
    assert data[spans[-1].start : spans[-1].end].decode() == "😀😀"  # tail-merged


# --- inputs and validation ------------------------------------------------------


def test_mmap_input_gives_the_same_spans_as_bytes() -> None:
    data = ("Mixed text — ünïcode 日本 😀.\n" * 3000 + "\r\n\r\nEnd.").encode()
    config = ChunkConfig(chunk_size=700, overlap=150)
    expected = list(SemanticChunker().chunk(data, config))
    with mapped(data) as view:
        got = list(SemanticChunker().chunk(view, config))
    assert got == expected
    assert len(got) > 100


@pytest.mark.parametrize(
    ("size", "overlap", "error"),
    [
        (0, 0, InvalidChunkConfigError),
        (50001, 0, ChunkTooLargeError),
        (100, 100, OverlapTooLargeError),
        (100, -1, InvalidChunkConfigError),
    ],
)
def test_invalid_config_raises_at_call_time(size: int, overlap: int, error: type) -> None:
    with pytest.raises(error):
        SemanticChunker().chunk(b"text", ChunkConfig(chunk_size=size, overlap=overlap))
