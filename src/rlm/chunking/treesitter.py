"""Code-aware chunking with tree-sitter: chunks end at definition boundaries.

Why: a chunk that starts at ``def parse(...)`` and holds the whole function is
what an agent wants to read and what an embedding represents best; a window
cut mid-function is neither. :func:`treesitter_spans` parses the buffer with a
pre-compiled tree-sitter grammar and cuts it into :class:`ChunkSpan` objects
whose boundaries are syntax-node boundaries.

How a file is cut (see :class:`_Splitter`):

1. The top-level nodes of the tree are grouped into *units*: leading comments,
   decorators and attributes go with the node they precede; a comment on the
   same line as the previous node and bare punctuation (``;``, ``}``, ``end``)
   go with the node before them.
2. A unit that fits in ``chunk_size`` is one *piece*. A unit that does not is
   split recursively at its child nodes (a class into its methods, a function
   into its statements, ...); a node without children (a huge string) is cut
   at line ends, and a single line longer than ``chunk_size`` is cut at a
   UTF-8 character boundary, so every chunk is ``<= chunk_size`` (unless
   ``chunk_size`` is smaller than one character).
3. Consecutive pieces are packed greedily into chunks up to ``chunk_size``, so
   imports, constants and small functions share a chunk. A definition larger
   than half the chunk size ("function-sized") always starts a new chunk, and
   so does every definition that had to be split; the piece after a split
   definition starts a new chunk too, so the pieces of a big function are
   never mixed with other code.

Every chunk starts at the first non-whitespace byte of a piece, i.e. at the
definition keyword (or its leading comment / decorator), not at the line's
indentation; whitespace between chunks is not covered.

``symbol``: the dotted definition path of what the chunk holds, e.g.
``Class.method`` (the file/module stem is unknown here and left to the
caller). A chunk holding several definitions lists them comma-separated in
order (``load,save,Store``). When a big class or function is split, the
piece holding its own code (header, docstring, class attributes, statements)
carries its path, so a chunk with the class header and two methods is
``Store,Store.get,Store.put`` and one in the middle of a method is
``Store.get``. Code outside any definition (imports, top-level statements)
has no symbol; a chunk made only of such code has ``symbol=None``. Names are the source text
of the definition's name: C++ ``Foo::bar`` keeps its ``::``; a Go method is
``Receiver.Method``; a Rust ``impl`` block is named by its type.

Overlap: code chunks never overlap (``has_overlap`` is always False and
``config.overlap`` is ignored) because repeating the tail of the previous
function in the next chunk would put a second definition's code under the
wrong symbol.

tree-sitter is imported lazily on the first call, so commands that never chunk
code do not pay for it; ``Language`` and ``Parser`` objects are cached per
process (parsers per thread, as a ``Parser`` is not thread-safe). Grammars come
from the per-language wheels (``tree-sitter-python``, ...), which ship the
compiled grammar inside the wheel and never download anything.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rlm.chunking.base import ByteText, ChunkConfig, ChunkSpan, ceil_boundary, floor_boundary
from rlm.chunking.languages import grammar_for
from rlm.errors import InvalidChunkConfigError

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser

STRATEGY = "code"
"""The ``strategy`` of every span this chunker yields."""

MAX_PARSE_BYTES = 5 * 1024 * 1024
"""Inputs above this size are not parsed (``treesitter_spans`` returns None).

A memory map must be copied into ``bytes`` for tree-sitter, and files this big
are almost always generated or minified code where syntax boundaries buy
little; the caller's regex / semantic chunkers stream them instead.
"""

MAX_DEPTH = 200
"""Recursion limit when descending into oversized nodes; deeper: cut by lines."""

_WHITESPACE = frozenset(b" \t\r\n\f\v")


@dataclass(frozen=True)
class _LanguageSpec:
    """How to load one grammar and which of its nodes are definitions."""

    module: str
    function: str
    definitions: frozenset[str]
    """Node types that name a definition (function, class, method, type...)."""
    wrappers: frozenset[str] = frozenset()
    """Node types that wrap a definition (decorators, ``export``, ``template``).

    A wrapper takes its symbol from the definition inside it but does not add a
    level to the dotted path.
    """
    trivia: frozenset[str] = frozenset()
    """Node types (besides ``*comment*``) that attach to the node they precede."""


_JS_DEFINITIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "method_definition",
        "variable_declarator",
    }
)
_JS_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration"})
_TS_DEFINITIONS = _JS_DEFINITIONS | frozenset(
    {
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "internal_module",
        "module",
        "function_signature",
        "method_signature",
        "abstract_method_signature",
    }
)
_TS_WRAPPERS = _JS_WRAPPERS | frozenset({"expression_statement", "ambient_declaration"})
_C_DEFINITIONS = frozenset(
    {"function_definition", "struct_specifier", "union_specifier", "enum_specifier"}
    | {"type_definition"}
)

_LANGUAGES: dict[str, _LanguageSpec] = {
    "python": _LanguageSpec(
        "tree_sitter_python",
        "language",
        frozenset({"function_definition", "class_definition"}),
        frozenset({"decorated_definition"}),
        frozenset({"decorator"}),
    ),
    "javascript": _LanguageSpec(
        "tree_sitter_javascript",
        "language",
        _JS_DEFINITIONS,
        _JS_WRAPPERS,
        frozenset({"decorator"}),
    ),
    "typescript": _LanguageSpec(
        "tree_sitter_typescript",
        "language_typescript",
        _TS_DEFINITIONS,
        _TS_WRAPPERS,
        frozenset({"decorator"}),
    ),
    "tsx": _LanguageSpec(
        "tree_sitter_typescript",
        "language_tsx",
        _TS_DEFINITIONS,
        _TS_WRAPPERS,
        frozenset({"decorator"}),
    ),
    "go": _LanguageSpec(
        "tree_sitter_go",
        "language",
        frozenset({"function_declaration", "method_declaration", "type_spec", "type_alias"}),
        frozenset({"type_declaration"}),
    ),
    "rust": _LanguageSpec(
        "tree_sitter_rust",
        "language",
        frozenset(
            {
                "function_item",
                "function_signature_item",
                "struct_item",
                "enum_item",
                "union_item",
                "trait_item",
                "impl_item",
                "mod_item",
                "macro_definition",
                "type_item",
            }
        ),
        trivia=frozenset({"attribute_item"}),
    ),
    "java": _LanguageSpec(
        "tree_sitter_java",
        "language",
        frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
                "annotation_type_declaration",
                "method_declaration",
                "constructor_declaration",
                "compact_constructor_declaration",
            }
        ),
    ),
    "c": _LanguageSpec("tree_sitter_c", "language", _C_DEFINITIONS),
    "cpp": _LanguageSpec(
        "tree_sitter_cpp",
        "language",
        _C_DEFINITIONS | frozenset({"class_specifier", "namespace_definition"}),
        frozenset({"template_declaration"}),
    ),
    "ruby": _LanguageSpec(
        "tree_sitter_ruby",
        "language",
        frozenset({"method", "singleton_method", "class", "module"}),
    ),
    "php": _LanguageSpec(
        "tree_sitter_php",
        "language_php",
        frozenset(
            {
                "function_definition",
                "class_declaration",
                "interface_declaration",
                "trait_declaration",
                "enum_declaration",
                "method_declaration",
                "namespace_definition",
            }
        ),
    ),
}

_NAME_LIMIT = 200
"""Longest name kept in a symbol (a C++ declarator can be a long template)."""

_FUNCTION_VALUES = frozenset(
    {
        "arrow_function",
        "function",
        "function_expression",
        "generator_function",
        "class",
        "class_expression",
    }
)
"""JS/TS ``const x = <value>`` forms that make ``x`` a definition."""


def supported_languages() -> tuple[str, ...]:
    """Canonical names of the languages this chunker has a grammar spec for."""
    return tuple(_LANGUAGES)


def resolve_language(language: str | None) -> str | None:
    """The grammar for a language name, extension or file name (``"py"``, ``"src/app.tsx"``).

    One table answers (:mod:`rlm.chunking.languages`); None if it is not a
    language this chunker has a grammar for.
    """
    grammar = grammar_for(language)
    return grammar if grammar in _LANGUAGES else None


_language_cache: dict[str, Language | None] = {}
_language_lock = threading.Lock()
_parsers = threading.local()


def _load_language(name: str) -> Language | None:
    """The grammar for ``name``, or None if tree-sitter or the wheel is missing."""
    with _language_lock:
        if name in _language_cache:
            return _language_cache[name]
        language: Language | None = None
        spec = _LANGUAGES[name]
        try:
            from tree_sitter import Language

            grammar = importlib.import_module(spec.module)
            language = Language(getattr(grammar, spec.function)())
        except Exception:  # ImportError, or a grammar ABI this tree-sitter rejects
            language = None
        _language_cache[name] = language
        return language


def _parser_for(name: str) -> Parser | None:
    """A cached parser for this thread, or None if the grammar is unavailable."""
    cache: dict[str, Parser] | None = getattr(_parsers, "by_language", None)
    if cache is None:
        cache = {}
        _parsers.by_language = cache
    parser = cache.get(name)
    if parser is None:
        language = _load_language(name)
        if language is None:
            return None
        from tree_sitter import Parser

        parser = Parser(language)
        cache[name] = parser
    return parser


def treesitter_available(language: str | None) -> bool:
    """True if ``language`` resolves and its grammar loads in this environment."""
    name = resolve_language(language)
    return name is not None and _load_language(name) is not None


def treesitter_spans(data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan] | None:
    """Chunk source code at syntax boundaries; None when this chunker cannot.

    Returns None (so the caller falls back to the regex, then the semantic
    chunker) when ``config.language`` is unknown, tree-sitter or the grammar
    wheel is not installed, or ``data`` is larger than :data:`MAX_PARSE_BYTES`.
    Parsing happens eagerly, so a non-None result never fails later; the spans
    are yielded lazily.
    """
    if config.chunk_size <= 0:
        raise InvalidChunkConfigError("chunk_size must be > 0")
    name = resolve_language(config.language)
    if name is None or len(data) > MAX_PARSE_BYTES:
        return None
    parser = _parser_for(name)
    if parser is None:
        return None
    buf = data if isinstance(data, bytes) else bytes(data)
    try:
        tree = parser.parse(buf)
    except Exception:  # tree-sitter gave up (e.g. cancelled): let a fallback run
        return None
    splitter = _Splitter(buf, _LANGUAGES[name], config.chunk_size)
    pieces = splitter.split_root(tree.root_node)
    return _pack(buf, pieces, config.chunk_size)


# --- splitting ---------------------------------------------------------------


class _Piece:
    """An indivisible range: a whole small node, or part of a split one."""

    __slots__ = ("brk", "end", "start", "symbol")

    def __init__(self, start: int, end: int, symbol: str | None, brk: bool) -> None:
        self.start = start
        self.end = end
        self.symbol = symbol
        self.brk = brk
        """True: this piece must start a new chunk (a definition begins here)."""


class _Group:
    """A main node with the comments/decorators before it and punctuation after."""

    __slots__ = ("main", "nodes")

    def __init__(self, nodes: list[Node], main: Node | None) -> None:
        self.nodes = nodes
        self.main = main


class _Splitter:
    """Turns a syntax tree into ordered pieces, each at most ``chunk_size`` bytes."""

    def __init__(self, buf: bytes, spec: _LanguageSpec, chunk_size: int) -> None:
        self.buf = buf
        self.spec = spec
        self.chunk_size = chunk_size
        self.function_sized = chunk_size // 2

    def split_root(self, root: Node) -> list[_Piece]:
        return self.split(0, len(self.buf), root.children, None, 0)

    # -- helpers --------------------------------------------------------------

    def skip_ws(self, pos: int, limit: int) -> int:
        """First position in [pos, limit) that is not ASCII whitespace, else limit."""
        buf = self.buf
        while pos < limit and buf[pos] in _WHITESPACE:
            pos += 1
        return pos

    def is_trivia(self, node: Node) -> bool:
        kind = node.type
        return "comment" in kind or kind in self.spec.trivia

    def group(self, nodes: Sequence[Node]) -> list[_Group]:
        """Attach comments/decorators forward and stray punctuation backward."""
        groups: list[_Group] = []
        pending: list[Node] = []
        last_end_row = -1
        for node in nodes:
            if node.end_byte <= node.start_byte:
                continue  # zero-width MISSING nodes from error recovery
            if self.is_trivia(node):
                if not pending and groups and node.start_point[0] == last_end_row:
                    groups[-1].nodes.append(node)  # trailing comment on the same line
                else:
                    pending.append(node)
            elif not node.is_named and groups and not pending:
                groups[-1].nodes.append(node)  # `;`, `}`, `end`...
            else:
                groups.append(_Group([*pending, node], node))
                pending = []
            last_end_row = node.end_point[0]
        if pending:
            groups.append(_Group(pending, None))
        return groups

    def node_text(self, node: Node) -> str:
        text = self.buf[node.start_byte : node.end_byte].decode("utf-8", "replace")
        return " ".join(text.split())[:_NAME_LIMIT]

    def definition_name(self, node: Node) -> str | None:
        """The name a definition node declares, or None if it is anonymous."""
        kind = node.type
        if kind == "method_declaration" and node.child_by_field_name("receiver") is not None:
            return self._go_method_name(node)
        if kind in ("function_definition", "type_definition") and (
            node.child_by_field_name("declarator") is not None
        ):
            return self._c_declarator_name(node)
        if kind == "impl_item":
            target = node.child_by_field_name("type")
            return self.node_text(target) if target is not None else None
        if kind == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is None or value.type not in _FUNCTION_VALUES:
                return None
        name = node.child_by_field_name("name")
        return self.node_text(name) if name is not None else None

    def _go_method_name(self, node: Node) -> str | None:
        name = node.child_by_field_name("name")
        if name is None:
            return None
        receiver = node.child_by_field_name("receiver")
        target: Node | None = None
        if receiver is not None:
            for param in receiver.named_children:
                target = param.child_by_field_name("type")
                break
        while target is not None and target.type in ("pointer_type", "generic_type"):
            inner = target.child_by_field_name("type")
            if inner is None and target.named_children:
                inner = target.named_children[0]
            target = inner
        if target is None:
            return self.node_text(name)
        return f"{self.node_text(target)}.{self.node_text(name)}"

    def _c_declarator_name(self, node: Node) -> str | None:
        declarator = node.child_by_field_name("declarator")
        for _ in range(16):  # `int *(*f)(...)` nests declarators
            if declarator is None:
                return None
            inner = declarator.child_by_field_name("declarator")
            if inner is None:
                break
            declarator = inner
        if declarator is None or declarator.type in ("parameter_list", "ERROR"):
            return None
        return self.node_text(declarator)

    def symbol_of(self, node: Node | None, depth: int = 0) -> tuple[str | None, bool]:
        """(name, is_wrapper) for a definition or a wrapper around one."""
        if node is None:
            return None, False
        kind = node.type
        if kind in self.spec.definitions:
            return self.definition_name(node), False
        if kind in self.spec.wrappers and depth < 3:
            for child in node.named_children:
                name, _ = self.symbol_of(child, depth + 1)
                if name is not None:
                    return name, True
        return None, False

    def line_split(self, start: int, end: int, symbol: str | None) -> list[_Piece]:
        """Last resort: cut at line ends; a line longer than chunk_size at a char."""
        buf, size = self.buf, self.chunk_size
        pieces: list[_Piece] = []
        pos = self.skip_ws(start, end)
        while pos < end:
            stop = min(pos + size, end)
            if stop < end:
                newline = buf.rfind(b"\n", pos, stop)
                if newline >= pos:
                    stop = newline + 1
                else:
                    stop = floor_boundary(buf, stop)
                    if stop <= pos:  # chunk_size below one character
                        stop = ceil_boundary(buf, pos + 1)
            pieces.append(_Piece(pos, stop, symbol, False))
            pos = self.skip_ws(stop, end)
        return pieces

    # -- the recursion --------------------------------------------------------

    def split(
        self,
        start: int,
        end: int,
        nodes: Sequence[Node],
        context: str | None,
        depth: int,
        lead: bool = False,
    ) -> list[_Piece]:
        """Pieces covering [start, end) (minus whitespace) from its child ``nodes``.

        ``lead``: the nodes are the inside of a wrapper (``export``, ``const``,
        ``template<...>``), so the first definition among them continues the
        wrapper's chunk instead of starting a new one after ``export``.
        """
        out: list[_Piece] = []
        prev_end = start
        next_brk = False
        for group in self.group(nodes):
            group_end = group.nodes[-1].end_byte
            if group_end <= prev_end:
                continue
            unit_start = self.skip_ws(prev_end, group_end)
            if unit_start >= group_end:
                prev_end = group_end
                continue  # a whitespace-only node (e.g. PHP's inline text)
            name, is_wrapper = self.symbol_of(group.main)
            symbol = _join(context, name)
            starts_chunk = name is not None and not lead
            if name is not None:
                lead = False
            size = group_end - unit_start
            if size <= self.chunk_size:
                brk = next_brk or (starts_chunk and size > self.function_sized)
                out.append(_Piece(unit_start, group_end, symbol, brk))
                next_brk = False
            else:
                sub = self._split_unit(
                    group, unit_start, group_end, context, name, is_wrapper, depth
                )
                if sub:
                    sub[0].brk = sub[0].brk or next_brk or starts_chunk
                    next_brk = name is not None
                out.extend(sub)
            prev_end = group_end
        tail = self.skip_ws(prev_end, end)
        if tail < end:
            out.extend(self.line_split(tail, end, context))
        return out

    def _split_unit(
        self,
        group: _Group,
        start: int,
        end: int,
        context: str | None,
        name: str | None,
        is_wrapper: bool,
        depth: int,
    ) -> list[_Piece]:
        """Split one oversized unit at its main node's children."""
        main = group.main
        symbol = _join(context, name)
        if main is None or main.child_count == 0 or depth >= MAX_DEPTH:
            return self.line_split(start, end, symbol)
        children: list[Node] = []
        for node in group.nodes:
            if node == main:
                self._expand_bodies(main.children, children)
            else:
                children.append(node)
        inner_context = context if (is_wrapper or name is None) else symbol
        return self.split(start, end, children, inner_context, depth + 1, lead=is_wrapper)

    def _expand_bodies(self, nodes: Sequence[Node], out: list[Node]) -> None:
        """Append ``nodes`` to ``out``, replacing a large body by its statements.

        Without this a split function would become a tiny header chunk
        (``def f(...):``) followed by its body as one piece; opening the body
        lets the header pack with the first statements.
        """
        for node in nodes:
            if (
                node.child_count > 0
                and node.end_byte - node.start_byte > self.function_sized
                and _is_body(node)
            ):
                self._expand_bodies(node.children, out)
            else:
                out.append(node)


_BODY_TYPES = frozenset(
    {
        "block",
        "body_statement",
        "class_body",
        "compound_statement",
        "constructor_body",
        "declaration_list",
        "enum_body",
        "field_declaration_list",
        "interface_body",
        "statement_block",
        "statement_list",
    }
)


def _is_body(node: Node) -> bool:
    """True for the statement/member list of a definition (not a nested node)."""
    return node.type in _BODY_TYPES or node.type.endswith("_body")


def _join(context: str | None, name: str | None) -> str | None:
    if name is None:
        return context
    return name if context is None else f"{context}.{name}"


# --- packing -----------------------------------------------------------------


def _chunk_symbol(symbols: list[str]) -> str | None:
    """Comma list of the distinct definition paths of a chunk's pieces, in order."""
    return ",".join(symbols) if symbols else None


def _pack(buf: bytes, pieces: list[_Piece], chunk_size: int) -> Iterator[ChunkSpan]:
    """Greedily merge pieces into chunks of at most ``chunk_size`` bytes.

    Boundaries are also pulled onto UTF-8 character starts: tree-sitter node
    edges are character edges for valid UTF-8, but bytes that are not UTF-8
    could leave one inside a sequence of continuation bytes.
    """
    index = 0
    prev_end = 0
    carry: int | None = None  # start of a chunk too small to stand alone after the fix
    cur_start = cur_end = -1
    symbols: list[str] = []

    def emit(start: int, end: int, names: list[str]) -> ChunkSpan | None:
        nonlocal index, prev_end, carry
        if carry is not None:
            start = carry
        start = max(floor_boundary(buf, start), prev_end)
        fixed_end = floor_boundary(buf, end)
        if fixed_end <= start:
            carry = start
            return None
        carry = None
        span = ChunkSpan(start, fixed_end, index, STRATEGY, False, _chunk_symbol(names))
        index += 1
        prev_end = fixed_end
        return span

    for piece in pieces:
        if cur_start >= 0 and not piece.brk and piece.end - cur_start <= chunk_size:
            cur_end = piece.end
            if piece.symbol is not None and piece.symbol not in symbols:
                symbols.append(piece.symbol)
            continue
        if cur_start >= 0:
            span = emit(cur_start, cur_end, symbols)
            if span is not None:
                yield span
        cur_start, cur_end = piece.start, piece.end
        symbols = [piece.symbol] if piece.symbol is not None else []
    if cur_start >= 0:
        span = emit(cur_start, cur_end, symbols)
        if span is not None:
            yield span
        elif carry is not None and ceil_boundary(buf, cur_end) > carry:
            # Only when the carried piece still holds bytes: invalid UTF-8 can
            # collapse it to nothing, and an empty span breaks the invariants.
            yield ChunkSpan(
                carry, ceil_boundary(buf, cur_end), index, STRATEGY, False, _chunk_symbol(symbols)
            )
