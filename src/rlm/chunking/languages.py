"""Which programming language a ``--language`` value or a file name means: one table.

The caller passes ``ChunkConfig.language`` as a language name (``python``), an
alias (``golang``), an extension (``py``, ``.py``) or a file name
(``src/main.rs``). Each row of :data:`TABLE` says which **language** that is
(what users and the regex chunker call it) and which tree-sitter **grammar**
parses it. The two differ in one place: ``.tsx`` is TypeScript, but only the
TSX grammar can parse its JSX. (``.h`` is C for both; ``.jsx`` uses the
JavaScript grammar.)
"""

from __future__ import annotations

from typing import NamedTuple


class LanguageRow(NamedTuple):
    language: str
    """Canonical name (``detect_language``)."""
    grammar: str
    """The tree-sitter grammar that parses it (``grammar_for``)."""
    names: tuple[str, ...]
    """Spellings of the name, and file extensions, that mean this row."""


TABLE: tuple[LanguageRow, ...] = (
    LanguageRow("rust", "rust", ("rust", "rs")),
    LanguageRow("python", "python", ("python", "py", "pyw", "pyi", "py3", "python3")),
    LanguageRow(
        "javascript",
        "javascript",
        ("javascript", "js", "mjs", "cjs", "jsx", "node", "ecmascript"),
    ),
    LanguageRow("typescript", "typescript", ("typescript", "ts", "mts", "cts")),
    LanguageRow("typescript", "tsx", ("tsx",)),
    LanguageRow("go", "go", ("go", "golang")),
    LanguageRow("java", "java", ("java",)),
    LanguageRow("c", "c", ("c", "h")),
    LanguageRow(
        "cpp",
        "cpp",
        ("cpp", "c++", "cplusplus", "cc", "cxx", "hpp", "hxx", "hh", "h++", "ipp", "tpp"),
    ),
    LanguageRow("ruby", "ruby", ("ruby", "rb", "rake", "gemspec", "ru")),
    LanguageRow("php", "php", ("php", "phtml", "php3", "php4", "php5", "php7", "php8", "phps")),
)

LANGUAGES = tuple(dict.fromkeys(row.language for row in TABLE))
"""Canonical language names."""

_ROWS: dict[str, LanguageRow] = {name: row for row in TABLE for name in row.names}


def _row(name_or_ext: str | None) -> LanguageRow | None:
    """The row for a name or extension, else for the text after the last ``.``."""
    if not name_or_ext:
        return None
    key = name_or_ext.strip().lower()
    return _ROWS.get(key) or _ROWS.get(key.rsplit(".", 1)[-1])


def detect_language(name_or_ext: str | None) -> str | None:
    """The canonical language for a name, extension or file name; ``None`` if unknown.

    A name wins over an extension, so ``"c"`` is C and ``"go"`` is Go.
    """
    row = _row(name_or_ext)
    return row.language if row else None


def grammar_for(name_or_ext: str | None) -> str | None:
    """The tree-sitter grammar for a name, extension or file name; ``None`` if unknown."""
    row = _row(name_or_ext)
    return row.grammar if row else None
