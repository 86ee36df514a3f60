"""The regex code chunker (spec §3.6 with the §8 fixes) and the ``code`` dispatch."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from rlm.chunking import code_regex, treesitter
from rlm.chunking.base import ByteText, ChunkConfig, ChunkSpan
from rlm.chunking.code_regex import CodeChunker, RegexCodeChunker, regex_spans
from rlm.chunking.languages import detect_language
from rlm.chunking.semantic import SemanticChunker
from rlm.errors import ChunkTooLargeError
from tests.chunking.span_checks import assert_invariants, mapped

# rlm-rs emitted [0,2985) forever on this file (spec §3.6 item 4).
HANG_CASE = b"def main():\n" + b"".join(
    b"    value_%d = compute(%d)  # a comment to make the line longer\n" % (i, i)
    for i in range(150)
)


def regex_chunks(data: ByteText, size: int, overlap: int, language: str | None) -> list[ChunkSpan]:
    config = ChunkConfig(chunk_size=size, overlap=overlap, language=language)
    spans = list(itertools.islice(RegexCodeChunker().chunk(data, config), 100_000))
    assert_invariants(data, spans, config, gaps_allowed=True, extra_last=0)
    assert {s.strategy for s in spans} <= {"code"}
    return spans


@pytest.fixture
def no_treesitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``code`` strategy behave as if no tree-sitter grammar were installed."""
    monkeypatch.setattr(treesitter, "treesitter_spans", lambda data, config: None)


# --- languages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("py", "python"),
        (".PY", "python"),
        ("src/lib/main.rs", "rust"),
        ("Python", "python"),
        ("c", "c"),
        ("h", "c"),
        ("C++", "cpp"),
        ("hpp", "cpp"),
        ("tsx", "typescript"),
        ("mjs", "javascript"),
        ("go", "go"),
        ("golang", "go"),
        ("gemspec", "ruby"),
        ("phtml", "php"),
        ("java", "java"),
        ("markdown", None),
        ("README", None),
        ("", None),
        (None, None),
    ],
)
def test_detect_language(value: str | None, expected: str | None) -> None:
    assert detect_language(value) == expected


def test_one_table_names_each_language_and_its_grammar() -> None:
    """tsx is TypeScript parsed by the TSX grammar; every grammar has a tree-sitter spec."""
    from rlm.chunking.languages import TABLE, grammar_for

    assert (detect_language("App.tsx"), grammar_for("App.tsx")) == ("typescript", "tsx")
    assert (detect_language("ts"), grammar_for("ts")) == ("typescript", "typescript")
    assert (detect_language("node"), detect_language("ru"), detect_language("php3")) == (
        "javascript",
        "ruby",
        "php",
    )
    names = [name for row in TABLE for name in row.names]
    assert len(names) == len(set(names)), "a name belongs to one row"
    assert {row.grammar for row in TABLE} == set(treesitter.supported_languages())


# --- the rlm-rs hang and other termination cases --------------------------------


def test_hang_case_terminates_with_default_sizes() -> None:
    assert len(HANG_CASE) > 8000
    spans = regex_chunks(HANG_CASE, 3000, 500, "py")
    assert 3 <= len(spans) <= 5
    assert spans[0].start == 0 and spans[0].symbol == "main"
    assert spans[-1].end == len(HANG_CASE)


@pytest.mark.parametrize("language", [None, "py"])
def test_hang_case_through_the_code_strategy(language: str | None) -> None:
    config = ChunkConfig(language=language)
    spans = list(itertools.islice(CodeChunker().chunk(HANG_CASE, config), 1000))
    assert 2 <= len(spans) < 1000
    assert not HANG_CASE[spans[-1].end :].strip()  # tree-sitter may drop trailing blanks


def test_only_boundary_at_byte_zero_with_large_overlap() -> None:
    data = b"fn only() {\n" + b"    let x = 1;\n" * 400
    spans = regex_chunks(data, 500, 499, "rust")
    assert spans[-1].end == len(data)


# --- boundaries -----------------------------------------------------------------

PYTHON = b'''import os


class Greeter:
    """Says hello."""

    def hello(self, name):
        return f"hello {name}"

    async def later(self):
        return None


def main():
    print(Greeter().hello("world"))
'''


def test_python_chunks_start_on_definitions() -> None:
    data = PYTHON * 20
    spans = regex_chunks(data, 400, 0, "python")
    heads = (b"class Greeter:", b"def hello(", b"async def later(", b"def main(")
    for span in spans[1:]:
        assert bytes(data[span.start : span.start + 40]).lstrip().startswith(heads), span
    assert {s.symbol for s in spans[1:]} <= {"Greeter", "hello", "later", "main"}


def test_overlap_starts_on_a_definition_or_line() -> None:
    data = PYTHON * 20
    spans = regex_chunks(data, 400, 120, "python")
    for span in spans[1:]:
        assert span.start == 0 or data[span.start - 1] == ord("\n")
    assert all(s.has_overlap for s in spans[1:])


def test_chunk_end_is_closest_definition_below_budget() -> None:
    data = b"def a():\n" + b"    x = 1\n" * 30 + b"def b():\n" + b"    y = 2\n" * 60
    spans = regex_chunks(data, 400, 0, "python")
    assert spans[0].end == 9 + 300  # just before "def b():"
    assert spans[1].symbol == "b"


C_SOURCE = b"""static int helper(int a, char *b) {
    if (a) {
        return 1;
    } else if (b) {
        for (;;) {}
    }
    while (a) {
    }
    return 0;
}

int main(int argc, char **argv)
{
    return helper(argc, argv[0]);
}
"""


def test_c_control_flow_is_not_a_boundary() -> None:
    bounds = code_regex._Boundaries(C_SOURCE, "c")
    found = bounds.between(0, len(C_SOURCE))
    names = [bounds.symbol_at(b) for b in found]
    assert names == ["helper", "main"]


def test_js_control_flow_is_not_a_method() -> None:
    source = b"class A {\n  run(x) {\n    if (x) {\n    }\n    for (;;) {\n    }\n  }\n}\n"
    bounds = code_regex._Boundaries(source, "javascript")
    assert [bounds.symbol_at(b) for b in bounds.between(0, len(source))] == ["A", "run"]


@pytest.mark.parametrize(
    ("language", "line", "name"),
    [
        ("rust", b"pub(crate) async fn fetch(x: u8) {", "fetch"),
        ("rust", b"impl<T> Display for Wrapper<T> {", "Display"),
        ("rust", b"pub trait Shape {", "Shape"),
        ("go", b"func (s *Server) Serve(l net.Listener) error {", "Serve"),
        ("go", b"type Server struct {", "Server"),
        ("java", b"    public static List<String> names(int n) {", "names"),
        ("java", b"public final class Main {", "Main"),
        ("typescript", b"export interface Props {", "Props"),
        ("typescript", b"export const add = (a: number, b: number): number => a + b;", "add"),
        ("javascript", b"export default async function* gen() {", "gen"),
        ("ruby", b"  def self.valid?(x)", "valid?"),
        ("php", b"    public static function &make() {", "make"),
        ("cpp", b"template <typename T> class Box {", "Box"),
        (None, b"sub handler {", "handler"),
    ],
)
def test_definition_patterns(language: str | None, line: bytes, name: str) -> None:
    data = b"// header\n" + line + b"\n"
    bounds = code_regex._Boundaries(data, language)
    assert bounds.between(0, len(data)) == [10]
    assert bounds.symbol_at(10) == name


@pytest.mark.parametrize("language", ["c", "java", "typescript", "rust"])
def test_no_catastrophic_backtracking_on_long_lines(language: str) -> None:
    """rlm-rs's ``(\\w+\\s+)+`` C pattern is quadratic in Python's ``re``."""
    data = (b"public " + b"word " * 20000 + b"(\n") * 10
    began = time.perf_counter()
    regex_chunks(data, 3000, 500, language)
    assert time.perf_counter() - began < 5.0


# --- sizes, whitespace, UTF-8 ---------------------------------------------------


def test_chunks_never_exceed_the_size() -> None:
    """rlm-rs allowed chunk_size + 750; now the bound is the size itself."""
    data = (b"def f():\n" + b"    pass\n" * 37) * 50
    spans = regex_chunks(data, 256, 64, "py")
    assert max(s.size for s in spans) <= 256


def test_whitespace_only_pieces_are_skipped() -> None:
    data = b"def a():\n    pass\n" + b" \n" * 3000 + b"def b():\n    pass\n"
    spans = regex_chunks(data, 1000, 0, "py")
    assert len(spans) == 2
    assert spans[0].start == 0 and spans[-1].end == len(data)
    assert spans[1].has_overlap is False


def test_unicode_whitespace_counts_as_blank() -> None:
    assert code_regex._is_blank("\u3000\u00a0 \n".encode())
    assert not code_regex._is_blank("\u3000x".encode())


def test_multibyte_code_is_snapped() -> None:
    data = ("def grüße():\n    return '日本語😀'  # ünïcode\n" * 80).encode()
    for size, overlap in [(1, 0), (7, 3), (50, 25), (333, 100)]:
        for span in regex_chunks(data, size, overlap, "python"):
            data[span.start : span.end].decode("utf-8")


def test_mmap_equals_bytes() -> None:
    data = PYTHON * 50
    config = ChunkConfig(chunk_size=500, overlap=100, language="py")
    expected = list(regex_spans(data, config, "python"))
    with mapped(data) as view:
        assert list(regex_spans(view, config, "python")) == expected


def test_maximum_size_is_checked_for_code_too() -> None:
    with pytest.raises(ChunkTooLargeError):
        CodeChunker().chunk(b"x", ChunkConfig(chunk_size=60000, overlap=0))


# --- dispatch -------------------------------------------------------------------


@pytest.mark.usefixtures("no_treesitter")
def test_dispatch_known_language_uses_regex() -> None:
    config = ChunkConfig(chunk_size=400, overlap=50, language="py")
    spans = list(CodeChunker().chunk(PYTHON * 10, config))
    assert spans == list(regex_spans(PYTHON * 10, config, "python"))
    assert {s.strategy for s in spans} == {"code"}


def test_dispatch_unknown_language_uses_semantic() -> None:
    config = ChunkConfig(chunk_size=400, overlap=50, language="markdown")
    spans = list(CodeChunker().chunk(PYTHON * 10, config))
    assert spans == list(SemanticChunker().chunk(PYTHON * 10, config))


def test_dispatch_prefers_treesitter(monkeypatch: pytest.MonkeyPatch) -> None:
    marker = ChunkSpan(0, 3, 0, "code", symbol="from-treesitter")

    def fake(data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        return iter([marker])

    monkeypatch.setattr(treesitter, "treesitter_spans", fake)
    assert list(CodeChunker().chunk(b"def", ChunkConfig(language="py"))) == [marker]


def test_dispatch_falls_back_when_treesitter_declines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(treesitter, "treesitter_spans", lambda data, config: None)
    spans = list(CodeChunker().chunk(PYTHON, ChunkConfig(chunk_size=200, overlap=0, language="py")))
    assert spans == list(regex_spans(PYTHON, ChunkConfig(chunk_size=200, overlap=0), "python"))


def test_empty_input_gives_nothing() -> None:
    assert list(CodeChunker().chunk(b"", ChunkConfig(language="py"))) == []
    assert regex_chunks(b"", 10, 0, "py") == []
