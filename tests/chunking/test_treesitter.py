"""Tests for the tree-sitter code chunker (rlm.chunking.treesitter).

The fixtures under ``fixtures/code/`` are small hand-written files, one per
language, each with a leading comment, a plain function, a class/type with
methods and multi-byte text. The per-language table pins where the chunks of
the main definitions start (byte-exact) and which symbol they carry.
"""

from __future__ import annotations

import ast
import importlib
import mmap
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlm.chunking import treesitter
from rlm.chunking.base import ChunkConfig, ChunkSpan
from rlm.chunking.treesitter import (
    MAX_PARSE_BYTES,
    resolve_language,
    supported_languages,
    treesitter_available,
    treesitter_spans,
)
from rlm.errors import InvalidChunkConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "code"
WHITESPACE = b" \t\r\n\f\v"


def spans_of(data: bytes, language: str | None, chunk_size: int = 260) -> list[ChunkSpan]:
    result = treesitter_spans(
        data, ChunkConfig(chunk_size=chunk_size, overlap=0, language=language)
    )
    assert result is not None, f"no tree-sitter chunking for {language!r}"
    return list(result)


def check_invariants(data: bytes, spans: list[ChunkSpan], chunk_size: int) -> None:
    """The base.py contract, with the code chunker's whitespace-gap allowance."""
    prev_start, prev_end = -1, 0
    for i, span in enumerate(spans):
        assert span.index == i
        assert span.strategy == "code"
        assert span.has_overlap is False
        assert 0 <= span.start < span.end <= len(data)
        assert span.start > prev_start and span.end > prev_end
        assert span.start >= prev_end, "chunks overlap"
        gap = data[prev_end : span.start]
        assert gap.strip(WHITESPACE) == b"", f"non-whitespace dropped: {gap!r}"
        for pos in (span.start, span.end):
            assert pos in (0, len(data)) or (data[pos] & 0xC0) != 0x80, "boundary inside a char"
        if chunk_size >= 4:  # below one 4-byte character a chunk may hold one char
            assert span.size <= chunk_size
        prev_start, prev_end = span.start, span.end
    assert data[prev_end:].strip(WHITESPACE) == b"", "tail not covered"
    if data.strip(WHITESPACE):
        assert spans, "non-blank input gave no chunks"


def text(data: bytes, span: ChunkSpan) -> str:
    return data[span.start : span.end].decode("utf-8")


def symbols(span: ChunkSpan) -> list[str]:
    return span.symbol.split(",") if span.symbol else []


# (fixture, language, [(symbol, exact chunk start, text the chunk must hold)])
CASES: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    (
        "sample.py",
        "python",
        [
            ("grüße", "# Greets someone", "def grüße(name: str) -> str:"),
            ("decorated", "@staticmethod\ndef decorated", "return value * 2"),
            ("Store", "class Store:", 'kind = "store"'),
            ("Store.get", "def get(self, key: str)", 'return self.values.get(key, "missing: ∅")'),
            ("Store.put", "def put(self, key: str, value: str)", "self.values[key] = value"),
        ],
    ),
    (
        "sample.js",
        "js",
        [
            ("grüße", "/** Greets someone", "function grüße(name) {"),
            ("café", "// An arrow function", "const café = (cup) => {"),
            ("Store.put", "put(key, value) {", "this.values.set(key, value);"),
        ],
    ),
    (
        "sample.ts",
        "typescript",
        [
            ("greet", "/** Greets someone", "export function greet(name: string): string {"),
            ("Store", "export class Store<T> {", "private values"),
            ("Store.get", "get(key: string): T | undefined {", "this.values.get(key)"),
            ("Store.put", "put(key: string, value: T): number {", "this.values.set"),
        ],
    ),
    (
        "sample.tsx",
        "tsx",
        [
            ("Greeting", "export function Greeting(", '<div className="greeting"'),
            ("Counter", "export const Counter = (", '<ul className="counter">'),
        ],
    ),
    (
        "sample.go",
        "go",
        [
            ("Shape", "// Shape is a named rectangle", "type Shape struct {"),
            ("Shape.Area", "// Area returns", "func (s *Shape) Area() float64 {"),
            ("Größe", "// Größe greets", "func Größe(name string) string {"),
        ],
    ),
    (
        "sample.rs",
        "rs",
        [
            ("Shape", "/// A named rectangle", "#[derive(Debug, Clone)]\npub struct Shape {"),
            ("Shape", "impl Shape {", "pub fn area(&self) -> f64 {"),
            ("größe", "/// Greets someone", "pub fn größe(name: &str) -> String {"),
        ],
    ),
    (
        "sample.java",
        "java",
        [
            ("Store", "/** A store with", "public class Store {"),
            ("Store.get", "/** Fetch one value", "@Override\n    public String get(String key) {"),
            ("Store.größe", "public int größe(", "values.put(key, value);"),
        ],
    ),
    (
        "sample.c",
        "c",
        [
            ("shape", "/* A named rectangle", "struct shape {"),
            ("area", "/* Area of the shape", "static double area(const struct shape *s)"),
            ("greet", "/* Greets someone", "char *greet(char *out, size_t size"),
        ],
    ),
    (
        "sample.cpp",
        "cpp",
        [
            ("geo.Shape", "// A named rectangle", "double area() const {"),
            ("Greeter<T>::greet", "std::string Greeter<T>::greet(", "std::to_string"),
        ],
    ),
    (
        "sample.rb",
        "ruby",
        [
            ("Storage", "# A store with", "module Storage"),
            ("Storage.Store.get", "# Fetch one value", "def get(key)"),
            ("Storage.Store.größe", "def größe(key, value)", "@values[key] = value"),
        ],
    ),
    (
        "sample.php",
        "php",
        [
            ("Store", "/** A store with", "class Store\n{"),
            ("Store.get", "/** Fetch one value", "public function get(string $key): string"),
            ("Store.größe", "public function größe(", "$this->values[$key] = $value;"),
            ("greet", "// Greets someone", "function greet(string $name): string"),
        ],
    ),
]


@pytest.mark.parametrize(("fixture", "language", "expected"), CASES, ids=[c[0] for c in CASES])
def test_definitions_start_chunks_with_their_symbols(
    fixture: str, language: str, expected: list[tuple[str, str, str]]
) -> None:
    data = (FIXTURES / fixture).read_bytes()
    spans = spans_of(data, language, 260)
    check_invariants(data, spans, 260)
    for symbol, head, body in expected:
        holders = [s for s in spans if symbol in symbols(s)]
        assert holders, f"no chunk has symbol {symbol!r}: {[s.symbol for s in spans]}"
        starts = [s for s in holders if text(data, s).startswith(head)]
        assert starts, f"no {symbol!r} chunk starts with {head!r}"
        chunk = starts[0]
        # byte-exact span: the chunk starts exactly at the definition (or its comment)
        assert chunk.start == data.index(head.encode())
        assert body in text(data, chunk)
        line = data.count(b"\n", 0, chunk.start) + 1
        expected_line = data[: data.index(head.encode())].count(b"\n") + 1
        assert line == expected_line


@pytest.mark.parametrize(("fixture", "language", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("chunk_size", [1, 3, 17, 64, 150, 1000, 50_000])
def test_fixture_spans_valid_at_any_size(
    fixture: str, language: str, expected: list[tuple[str, str, str]], chunk_size: int
) -> None:
    data = (FIXTURES / fixture).read_bytes()
    check_invariants(data, spans_of(data, language, chunk_size), chunk_size)


def test_whole_small_file_is_one_chunk_listing_every_definition() -> None:
    data = (FIXTURES / "sample.go").read_bytes()
    (only,) = spans_of(data, "go", 3000)
    assert (only.start, only.end) == (0, len(data.rstrip()))
    assert only.symbol == "Shape,Shape.Area,Größe"


# --- splitting and merging -----------------------------------------------------


def huge_function(language: str, statements: int) -> tuple[bytes, str, str]:
    """(source, keyword that starts the function, prefix of every statement)."""
    if language == "python":
        body = "".join(
            f"    value_{i} = compute({i}) + {i} * 2  # step {i} ✓\n" for i in range(statements)
        )
        return f"import os\n\n\ndef huge(x):\n{body}    return x\n".encode(), "def huge", "value_"
    if language == "go":
        body = "".join(
            f"\tvalue_{i} := compute({i}) + {i}*2 // step {i} ✓\n" for i in range(statements)
        )
        return (
            f"package p\n\nfunc huge(x int) int {{\n{body}\treturn x\n}}\n".encode(),
            "func huge",
            "value_",
        )
    if language == "rust":
        body = "".join(
            f"    let value_{i} = compute({i}) + {i} * 2; // ✓\n" for i in range(statements)
        )
        return (
            f"use std::io;\n\nfn huge(x: i32) -> i32 {{\n{body}    x\n}}\n".encode(),
            "fn huge",
            "let value_",
        )
    body = "".join(f"  const value_{i} = compute({i}) + {i} * 2; // ✓\n" for i in range(statements))
    return (
        f'import x from "x";\n\nfunction huge(x) {{\n{body}  return x;\n}}\n'.encode(),
        "function huge",
        "const value_",
    )


@pytest.mark.parametrize("language", ["python", "go", "rust", "javascript"])
def test_huge_function_split_at_statement_boundaries(language: str) -> None:
    data, keyword, statement = huge_function(language, 300)
    size = 600
    spans = spans_of(data, language, size)
    check_invariants(data, spans, size)
    in_function = [s for s in spans if s.symbol == "huge"]
    assert len(in_function) >= 10, "a 300-statement function must be split"
    assert text(data, in_function[0]).startswith(keyword)
    for span in in_function[1:]:
        assert text(data, span).startswith(statement), text(data, span)[:40]
    for span in in_function[:-1]:
        # every piece ends at the end of a statement line (its comment included)
        assert data[span.end - 1 : span.end] == b"\n" or data[span.end : span.end + 1] == b"\n"
    # the import before the function is not glued to the function's first piece
    assert spans[0].symbol is None and text(data, spans[0]).strip() in (
        "import os",
        "package p",
        "use std::io;",
        'import x from "x";',
    )


def test_huge_class_split_into_methods() -> None:
    methods = "".join(
        f"    def method_{i}(self):\n" + "".join(f"        self.v{j} = {j}\n" for j in range(20))
        for i in range(12)
    )
    data = f"class Big:\n    '''Doc.'''\n\n{methods}".encode()
    spans = spans_of(data, "python", 500)
    check_invariants(data, spans, 500)
    assert text(data, spans[0]).startswith("class Big:")
    for i in range(12):
        chunk = next(s for s in spans if f"Big.method_{i}" in symbols(s))
        assert text(data, chunk).startswith(f"def method_{i}(self):")


def test_small_functions_merged_up_to_chunk_size() -> None:
    data = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(30)).encode()
    (whole,) = spans_of(data, "python", 3000)
    assert whole.symbol == ",".join(f"f{i}" for i in range(30))
    spans = spans_of(data, "python", 100)
    check_invariants(data, spans, 100)
    assert 1 < len(spans) < 30, "neighbours must be merged, but not beyond chunk_size"
    for span in spans:
        assert text(data, span).startswith("def f")
        assert len(symbols(span)) >= 2


def test_function_sized_definition_starts_its_own_chunk() -> None:
    body = "".join(f"    y = x + {i}\n" for i in range(12))
    data = f"import os\nimport sys\n\ndef big(x):\n{body}    return y\n".encode()
    spans = spans_of(data, "python", 300)
    assert len(data) < 300, "would fit in one chunk; the rule must still cut"
    assert [s.symbol for s in spans] == [None, "big"]
    assert text(data, spans[1]).startswith("def big(x):")


def test_comment_on_same_line_stays_with_previous_statement() -> None:
    data = b"x = 1  # trailing note\n\n# leads f\ndef f():\n    return 1\n"
    spans = spans_of(data, "python", 30)
    chunk = next(s for s in spans if s.symbol == "f")
    assert text(data, chunk).startswith("# leads f\ndef f():")
    assert text(data, spans[0]) == "x = 1  # trailing note"


def test_long_line_and_leaf_nodes_cut_within_limit_on_char_boundaries() -> None:
    data = ('S = "' + "日本語✓é" * 2000 + '"\n').encode()
    spans = spans_of(data, "python", 101)
    check_invariants(data, spans, 101)
    assert len(spans) >= len(data) // 101
    assert b"".join(data[s.start : s.end] for s in spans) == data.rstrip(WHITESPACE)


def test_multibyte_identifiers_never_split_even_at_tiny_sizes() -> None:
    data = "def 函数名(参数):\n    return '值✓' * 3\n".encode()
    for size in range(1, 12):
        spans = spans_of(data, "python", size)
        check_invariants(data, spans, size)
        for span in spans:
            text(data, span)  # decodes: no chunk cuts a character


# --- configuration, fallbacks and caching --------------------------------------


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("python", "python"),
        ("PY", "python"),
        (".py", "python"),
        ("pkg/mod.pyi", "python"),
        ("mjs", "javascript"),
        ("ts", "typescript"),
        ("tsx", "tsx"),
        ("golang", "go"),
        ("rs", "rust"),
        ("java", "java"),
        ("h", "c"),
        ("c++", "cpp"),
        ("hpp", "cpp"),
        ("rb", "ruby"),
        ("php", "php"),
        ("cobol", None),
        ("md", None),
        ("", None),
        (None, None),
    ],
)
def test_resolve_language(given_name: str | None, expected: str | None) -> None:
    assert resolve_language(given_name) == expected


@pytest.mark.parametrize("language", ["cobol", "md", "txt", "", None])
def test_unknown_language_returns_none(language: str | None) -> None:
    config = ChunkConfig(chunk_size=100, overlap=0, language=language)
    assert treesitter_spans(b"def f():\n    pass\n", config) is None


def test_too_large_input_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_PARSE_BYTES == 5 * 1024 * 1024
    monkeypatch.setattr(treesitter, "MAX_PARSE_BYTES", 64)
    config = ChunkConfig(chunk_size=100, overlap=0, language="py")
    assert treesitter_spans(b"x = 1\n" * 11, config) is None
    assert treesitter_spans(b"x = 1\n" * 10, config) is not None


def test_missing_grammar_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def no_ruby(name: str, package: str | None = None) -> object:
        if name == "tree_sitter_ruby":
            raise ImportError("not installed")
        return real_import(name, package)

    monkeypatch.setattr(treesitter._parsers, "by_language", {})
    monkeypatch.setattr(treesitter, "_language_cache", {})
    monkeypatch.setattr(importlib, "import_module", no_ruby)
    config = ChunkConfig(chunk_size=100, overlap=0, language="rb")
    assert treesitter_spans(b"def f\nend\n", config) is None
    assert treesitter_available("rb") is False
    assert treesitter_available("py") is True


def test_mmap_gives_the_same_spans_as_bytes(tmp_path: Path) -> None:
    data = (FIXTURES / "sample.rs").read_bytes()
    path = tmp_path / "sample.rs"
    path.write_bytes(data)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        from_map = spans_of(mm, "rust", 200)  # type: ignore[arg-type]
    assert from_map == spans_of(data, "rust", 200)


def test_overlap_is_ignored_and_output_deterministic() -> None:
    data = (FIXTURES / "sample.java").read_bytes()
    no_overlap = spans_of(data, "java", 200)
    result = treesitter_spans(data, ChunkConfig(chunk_size=200, overlap=150, language="java"))
    assert result is not None
    assert list(result) == no_overlap == spans_of(data, "java", 200)


@pytest.mark.parametrize("data", [b"", b"   \n\n\t  \n"])
def test_blank_input_gives_no_chunks(data: bytes) -> None:
    assert spans_of(data, "python", 100) == []


def test_non_positive_chunk_size_rejected() -> None:
    with pytest.raises(InvalidChunkConfigError):
        treesitter_spans(b"x = 1\n", ChunkConfig(chunk_size=0, overlap=0, language="py"))


def test_parsers_and_languages_are_cached() -> None:
    assert treesitter._parser_for("python") is treesitter._parser_for("python")
    assert treesitter._load_language("go") is treesitter._load_language("go")


def test_module_does_not_import_tree_sitter_at_import_time() -> None:
    """Commands that never chunk code must not pay for importing tree-sitter."""
    tree = ast.parse(Path(treesitter.__file__).read_text(encoding="utf-8"))
    for node in tree.body:  # module level only; the TYPE_CHECKING block is exempt
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("tree_sitter") for a in node.names)
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("tree_sitter")


def test_grammars_are_bundled_and_load_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every grammar is a compiled module inside its wheel; loading needs no socket."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("grammar loading tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(treesitter._parsers, "by_language", {})
    monkeypatch.setattr(treesitter, "_language_cache", {})
    for name in supported_languages():
        spec = treesitter._LANGUAGES[name]
        package_dir = Path(importlib.import_module(spec.module).__file__ or "").parent
        assert list(package_dir.glob("_binding*.so")) or list(package_dir.glob("_binding*.pyd"))
        assert treesitter_available(name), name
    required = [
        "python",
        "javascript",
        "typescript",
        "tsx",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "ruby",
        "php",
    ]
    assert set(supported_languages()) >= set(required)


# --- properties ----------------------------------------------------------------

PYTHONISH = st.lists(
    st.sampled_from(
        [
            "def ",
            "class ",
            "async def ",
            "return ",
            "if ",
            "else:",
            "for ",
            " in ",
            "import ",
            "@dec",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ":",
            ",",
            "=",
            "+",
            "lambda ",
            "\n",
            "\n    ",
            "\n        ",
            "\t",
            "    ",
            "# comment ✓",
            "'''",
            '"',
            "'",
            "\\",
            "x",
            "name",
            "é",
            "日本",
            "🎉",
            "1",
            "0x1F",
            "pass",
            "yield ",
            "with ",
            "try:",
            "except:",
            ";",
        ]
    ),
    max_size=120,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=PYTHONISH, chunk_size=st.integers(min_value=1, max_value=300))
def test_random_pythonish_text_never_crashes(source: str, chunk_size: int) -> None:
    data = source.encode("utf-8")
    spans = spans_of(data, "python", chunk_size)
    check_invariants(data, spans, chunk_size)


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=400),
    language=st.sampled_from(["py", "js", "c", "rb", "php"]),
    chunk_size=st.integers(min_value=1, max_value=120),
)
def test_random_bytes_keep_spans_valid(data: bytes, language: str, chunk_size: int) -> None:
    spans = spans_of(data, language, chunk_size)
    prev_end = 0
    for i, span in enumerate(spans):
        assert span.index == i and prev_end <= span.start < span.end <= len(data)
        for pos in (span.start, span.end):
            assert pos in (0, len(data)) or (data[pos] & 0xC0) != 0x80
        prev_end = span.end


def _iter_python_files(root: Path, limit: int) -> Iterator[Path]:
    for count, path in enumerate(sorted(root.rglob("*.py"))):
        if count >= limit:
            return
        yield path


def test_real_python_sources_keep_invariants() -> None:
    """Run over this project's own sources: real code with real edge cases."""
    root = Path(treesitter.__file__).parents[1]
    for path in _iter_python_files(root, 60):
        data = path.read_bytes()
        for size in (300, 3000):
            spans = spans_of(data, "python", size)
            check_invariants(data, spans, size)
            for span in spans:
                first = text(data, span).lstrip()
                if span.symbol and len(symbols(span)) == 1 and first.startswith(("def ", "class ")):
                    assert symbols(span)[0].rsplit(".", 1)[-1] in first.split("\n", 1)[0]
