"""Property tests: the invariants of ``rlm.chunking.base`` for every strategy.

Inputs mix ASCII words, every break kind (``\\n\\n``, ``\\r\\n\\r\\n``, sentence
ends, spaces), multi-byte characters of 2, 3 and 4 bytes and code-like lines;
sizes go down to 1 byte (smaller than most characters). The invariants checked
(``span_checks.assert_invariants``) are: the spans cover the input (code: gaps
are whitespace), starts and ends strictly increase, no offset falls inside a
UTF-8 character, ``has_overlap`` is exact, the overlap never exceeds the
configured overlap (slack 0), and a chunk exceeds ``chunk_size`` by at most 3
bytes (one straddling character), plus 99 for a tail-merged last chunk and
``max(overlap, 99)`` for a parallel seam chunk. Termination is checked by
every example finishing (and by the suite's timeout).
"""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from rlm.chunking import parallel
from rlm.chunking.base import ChunkConfig
from rlm.chunking.code_regex import regex_spans
from rlm.chunking.fixed import FixedChunker
from rlm.chunking.parallel import ParallelChunker
from rlm.chunking.semantic import SemanticChunker
from tests.chunking.span_checks import TAIL_SLACK, assert_invariants

TOKENS = [
    "a",
    "word",
    "x" * 40,
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r\n\r\n",
    ".",
    ". ",
    "! ",
    "?\n",
    ".\r\n",
    "é",
    "ß",
    "日本",
    "語",
    "😀",
    "🇫🇷",
    "\u00a0",
    "def f(x):\n",
    "class A:\n",
    "    return 1\n",
    "fn main() {\n",
    "}\n",
]

texts = st.lists(st.sampled_from(TOKENS), max_size=120).map(lambda t: "".join(t).encode())


@st.composite
def configs(draw: st.DrawFn) -> ChunkConfig:
    size = draw(st.integers(min_value=1, max_value=160))
    overlap = draw(st.integers(min_value=0, max_value=size - 1))
    return ChunkConfig(chunk_size=size, overlap=overlap)


FAST = settings(max_examples=150, deadline=None)


@FAST
@given(data=texts, config=configs())
def test_semantic_invariants(data: bytes, config: ChunkConfig) -> None:
    assert_invariants(data, list(SemanticChunker().chunk(data, config)), config)


@FAST
@given(data=texts, config=configs())
def test_fixed_invariants(data: bytes, config: ChunkConfig) -> None:
    spans = list(FixedChunker().chunk(data, config))
    assert_invariants(data, spans, config, extra_last=0)


@FAST
@given(data=texts, config=configs(), language=st.sampled_from([None, "python", "rust", "c"]))
def test_regex_code_invariants(data: bytes, config: ChunkConfig, language: str | None) -> None:
    spans = list(regex_spans(data, config, language))
    assert_invariants(data, spans, config, gaps_allowed=True, extra_last=0)
    for span in spans:
        assert data[span.start : span.end].decode("utf-8").strip()  # never blank


@FAST
@given(data=texts, config=configs())
def test_parallel_below_threshold_is_semantic(data: bytes, config: ChunkConfig) -> None:
    expected = list(SemanticChunker().chunk(data, config))
    assert list(ParallelChunker(workers=2).chunk(data, config)) == expected


@FAST
@given(data=texts, config=configs(), segment=st.integers(min_value=1, max_value=400))
def test_parallel_seams(data: bytes, config: ChunkConfig, segment: int) -> None:
    """Tiny segments (down to 1 byte) so that seams are everywhere."""
    with (
        mock.patch.object(parallel, "PARALLEL_THRESHOLD", 0),
        mock.patch.object(parallel, "SEAM_LOOKBACK", 16),
        mock.patch.object(parallel, "segment_size", lambda _config: segment),
    ):
        one = list(ParallelChunker(workers=1).chunk(data, config))
        three = list(ParallelChunker(workers=3).chunk(data, config))
    assert one == three
    slack = max(config.overlap, TAIL_SLACK)
    assert_invariants(data, one, config, extra_any=slack)
