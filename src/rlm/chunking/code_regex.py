"""The ``code`` strategy (alias ``ast``): cut source files between definitions.

:class:`CodeChunker` is what ``--chunker code`` runs. It tries, in order:

1. tree-sitter (``rlm.chunking.treesitter.treesitter_spans``, imported on
   first use so that commands which never chunk code do not pay for it; it
   returns ``None`` for a language it cannot parse or whose grammar is missing);
2. :class:`RegexCodeChunker`, when ``config.language`` names a known language;
3. the semantic chunker, for unknown languages (its spans say ``semantic``,
   which is the truth about how they were cut).

:class:`RegexCodeChunker` is rlm-rs's regex-boundary algorithm (spec §3.6) with
these fixes (spec §8 item 1):

* The language comes from ``config.language`` (see :mod:`.languages`); rlm-rs
  never received one from the CLI and used the generic pattern for everything.
* Termination: the next chunk starts strictly after the current start (rlm-rs
  looped forever on a file whose only boundary is at byte 0), and chunk ends
  strictly increase.
* Every position is a UTF-8 character boundary.
* Size bound: a chunk is at most ``chunk_size`` bytes (rlm-rs allowed
  ``chunk_size + 750``), plus at most 3 to finish one character straddling the
  budget when nothing else fits.
  The end is the definition boundary closest below the budget within its last
  half, else the last line end in that half, else the budget itself.
* Overlap never exceeds ``overlap``: the next chunk starts at the first
  definition boundary, else the first line start, in the last ``overlap``
  bytes of the chunk (rlm-rs searched backwards without limit).
* Patterns only ever look at one line (``[ \\t]`` instead of ``\\s``, ``[^)\\n]``
  instead of ``[^)]``), which rules out catastrophic backtracking in ``re``
  (rlm-rs's C pattern ``(\\w+\\s+)+`` is quadratic across lines) and makes the
  boundary the definition's own line rather than the blank line above it.
  Control-flow lines (``if (x) {``, ``else if``, ``for``...) are excluded from
  the C and JavaScript function/method patterns.
* The config is validated like every strategy, including the 50000 maximum
  that rlm-rs skipped for ``code``.

Whitespace-only pieces are not emitted (as in rlm-rs), so code chunks may leave
gaps of whitespace. A chunk starting on a definition carries its name in
``symbol``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from rlm.chunking.base import (
    ByteText,
    ChunkConfig,
    ChunkSpan,
    PageReleaser,
    ceil_boundary,
    floor_boundary,
    next_boundary,
)
from rlm.chunking.languages import detect_language
from rlm.chunking.semantic import SemanticChunker

STRATEGY = "code"
MAX_LINE_SCAN = 4096
"""A definition whose line is longer than this past the window end is not seen."""

_MACROS = {
    b"<ID>": rb"([\w\x80-\xff]+)",  # the captured name; UTF-8 identifiers allowed
    b"<S>": rb"[ \t]+",
    b"<O>": rb"[ \t]*",
    b"<VIS>": rb"(?:pub(?:[ \t]*\([^)\n]*\))?[ \t]+)?",
    b"<NOT_C>": rb"(?!(?:if|else|for|while|switch|return|do|case|sizeof|catch|new|delete|goto)\b)",
    b"<NOT_JS>": rb"(?!(?:if|else|for|while|switch|catch|return|function|do|with|typeof|new)\b)",
}
"""Shorthands used in :data:`PATTERNS` (expanded before compiling)."""

_JS = (
    rb"(?:export<S>)?(?:default<S>)?(?:async<S>)?function<O>\*?<O><ID>",
    rb"(?:export<S>)?(?:default<S>)?(?:abstract<S>)?class<S><ID>",
    rb"(?:export<S>)?(?:const|let|var)<S><ID><O>=<O>(?:async<S>)?\([^)\n]*\)<O>(?::[^=\n]*)?=>",
    rb"<NOT_JS>(?:static<S>)?(?:async<S>)?(?:[gs]et<S>)?<ID><O>\([^)\n]*\)<O>(?::[^{\n;]*)?\{",
)

PATTERNS: dict[str | None, tuple[bytes, ...]] = {
    "rust": (
        rb"<VIS>(?:const<S>)?(?:async<S>)?(?:unsafe<S>)?(?:extern<S>\S+<S>)?fn<S><ID>",
        rb"(?:unsafe<S>)?impl(?:<[^>\n]*>)?<S><ID>",
        rb"<VIS>(?:struct|enum|mod|union|type)<S><ID>",
        rb"<VIS>(?:unsafe<S>)?trait<S><ID>",
    ),
    "python": (rb"(?:async<S>)?def<S><ID>", rb"class<S><ID>"),
    "javascript": _JS,
    "typescript": (*_JS, rb"(?:export<S>)?(?:declare<S>)?(?:interface|enum|type|namespace)<S><ID>"),
    "go": (rb"func<S>(?:\([^)\n]+\)<O>)?<ID>", rb"type<S><ID><S>(?:struct|interface)"),
    "java": (
        rb"(?:(?:public|private|protected|abstract|final|static|sealed)<S>)*"
        rb"(?:class|interface|enum|record)<S><ID>",
        rb"(?:public|private|protected)<S>(?:(?:static|final|abstract|synchronized)<S>)*"
        rb"(?:[\w<>\[\],.?]+<S>){1,6}<ID><O>\([^)\n]*\)<O>(?:\{|throws)",
    ),
    "c": (
        rb"<NOT_C>(?:[\w:<>,~*&]+<S>){1,8}[*&]*<O>(~?[\w:]+)<O>\([^)\n]*\)<O>(?:const<O>)?"
        rb"(?:\r?\n[ \t]*)?\{",
        rb"(?:template<O><[^>\n]*><O>)?(?:class|struct)<S><ID>",
        rb"namespace<S><ID>",
    ),
    "ruby": (rb"def<S>(?:self\.)?([\w\x80-\xff]+[?!=]?)", rb"(?:class|module)<S><ID>"),
    "php": (
        rb"(?:(?:public|private|protected|static|abstract|final)<S>)*function<S>&?<ID>",
        rb"(?:(?:abstract|final)<S>)?(?:class|interface|trait)<S><ID>",
    ),
    None: (rb"(?:function|def|fn|func|sub|proc)<S><ID>",),
}
"""Definition patterns per canonical language (``None``: the generic one).

Each alternative captures exactly one group, the definition's name, and starts
after the shared ``^[ \\t]*`` prefix. Only single-line constructs are used.
"""
PATTERNS["cpp"] = PATTERNS["c"]


def _expand(pattern: bytes) -> bytes:
    """Replace the :data:`_MACROS` shorthands."""
    for key, value in _MACROS.items():
        pattern = pattern.replace(key, value)
    return pattern


def _compile(alternatives: tuple[bytes, ...], prefix: bytes) -> re.Pattern[bytes]:
    """One alternation per language after ``prefix``; each alternative captures the name."""
    body = b"|".join(b"(?:" + _expand(alt) + b")" for alt in alternatives)
    return re.compile(prefix + rb"[ \t]*(?:" + body + rb")", re.MULTILINE)


@functools.cache
def pattern_for(language: str | None) -> re.Pattern[bytes]:
    """The boundary regex of a canonical language (the generic one for ``None``).

    Anchored at a line start: tried at one known position. Compiled on first
    use (all languages at import cost 17 ms of every command's start-up).
    """
    return _compile(PATTERNS.get(language, PATTERNS[None]), rb"^")


@functools.cache
def scanner_for(language: str | None) -> re.Pattern[bytes]:
    """The same patterns preceded by a newline: scanned across a window."""
    return _compile(PATTERNS.get(language, PATTERNS[None]), rb"\n")


def _name(match: re.Match[bytes]) -> str:
    """The captured definition name (exactly one alternative matched)."""
    group = next((g for g in match.groups() if g), b"")
    return group.decode("utf-8", "replace")


class _Boundaries:
    """Definition line starts of one buffer, found window by window (lazily).

    Windows are scanned with the ``\\n``-prefixed twin of the pattern: ``re``
    jumps between newlines with its literal-prefix search instead of trying the
    pattern at every byte, which is several times faster on code. The first
    line of the buffer has no newline before it and is probed separately.
    """

    def __init__(self, data: ByteText, language: str | None) -> None:
        self.data = data
        self.pattern = pattern_for(language)
        self.scanner = scanner_for(language)

    def match_at(self, pos: int) -> re.Match[bytes] | None:
        """The definition starting on the line that starts at ``pos``, if any."""
        return self.pattern.match(self.data, pos, min(len(self.data), pos + MAX_LINE_SCAN))

    def between(self, lo: int, hi: int) -> list[int]:
        """Definition line starts ``b`` with ``lo <= b <= hi``, ascending."""
        if lo > hi:
            return []
        data = self.data
        found = [0] if lo <= 0 and self.match_at(0) else []
        # A definition may take the line after ``hi`` too (C's brace line).
        eol = data.find(b"\n", hi, hi + MAX_LINE_SCAN)
        eol = data.find(b"\n", eol + 1, eol + MAX_LINE_SCAN) if eol >= 0 else eol
        endpos = len(data) if eol < 0 else eol + 1
        for match in self.scanner.finditer(data, max(lo - 1, 0), endpos):
            if match.start() >= hi:
                break
            found.append(match.start() + 1)
        return found

    def symbol_at(self, pos: int) -> str | None:
        """The definition name if a definition begins on the line starting at ``pos``."""
        match = self.match_at(pos)
        return _name(match) if match else None


def code_end(bounds: _Boundaries, start: int, low: int, size: int) -> int:
    """End of the chunk starting at ``start``: ``> low`` and ``<= start + size``."""
    data = bounds.data
    hi = floor_boundary(data, start + size)
    lo = max(start + size // 2, low)
    candidates = bounds.between(lo + 1, hi)
    if candidates:
        return candidates[-1]
    if lo < hi:
        i = data.rfind(b"\n", lo, hi)
        if i >= 0:
            return i + 1
    return hi if hi > low else next_boundary(data, low)


def code_next_start(bounds: _Boundaries, start: int, end: int, overlap: int) -> int:
    """Start of the next chunk: in ``(start, end]`` and at most ``overlap`` before ``end``."""
    if overlap <= 0:
        return end
    data = bounds.data
    t = ceil_boundary(data, max(end - overlap, start + 1))
    candidates = bounds.between(t, end - 1)
    if candidates:
        return candidates[0]
    if t < end:
        i = data.find(b"\n", max(t - 1, 0), end - 1)
        if i >= 0:
            return i + 1
    return t


def _is_blank(piece: bytes) -> bool:
    """Whitespace-only, including Unicode spaces (rlm-rs used ``str::trim``)."""
    stripped = piece.strip()
    if not stripped:
        return True
    if stripped[0] < 0x80:
        return False
    return not piece.decode("utf-8", "replace").strip()


def regex_spans(data: ByteText, config: ChunkConfig, language: str | None) -> Iterator[ChunkSpan]:
    """Chunk ``data`` between the definitions that ``language``'s patterns find."""
    bounds = _Boundaries(data, language)
    n, size = len(data), config.chunk_size
    start = prev_end = emitted_end = index = 0
    releaser = PageReleaser(data)
    while start < n:
        end = n if start + size >= n else code_end(bounds, start, max(start, prev_end), size)
        if not _is_blank(data[start:end]):
            has_overlap = start < emitted_end
            symbol = bounds.symbol_at(start)
            yield ChunkSpan(start, end, index, STRATEGY, has_overlap, symbol)
            index, emitted_end = index + 1, end
        if end >= n:
            return
        start, prev_end = code_next_start(bounds, start, end, config.overlap), end
        releaser.release(start)


class RegexCodeChunker:
    """Regex definition boundaries; the generic pattern when the language is unknown."""

    name = STRATEGY

    def chunk(self, data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        """Validate now (errors surface at call time), then chunk lazily."""
        config.validate()
        return regex_spans(data, config, detect_language(config.language))


class CodeChunker:
    """``code`` / ``ast``: tree-sitter, else regex boundaries, else semantic."""

    name = STRATEGY

    def chunk(self, data: ByteText, config: ChunkConfig) -> Iterator[ChunkSpan]:
        """Pick the best available method for ``config.language`` (see module doc)."""
        config.validate()
        if len(data) == 0:
            return iter(())
        from rlm.chunking.treesitter import treesitter_spans

        spans = treesitter_spans(data, config)
        if spans is not None:
            return spans
        language = detect_language(config.language)
        if language is not None:
            return regex_spans(data, config, language)
        return SemanticChunker().chunk(data, config)
