"""Which programming language a ``--language`` value or a file name means.

rlm-rs mapped file extensions to languages (spec §3.6) but the CLI never passed
one, so every file was "Unknown". Here the caller passes ``ChunkConfig.language``
as a language name (``python``), an extension (``py``, ``.py``) or a file name
(``src/main.rs``), and :func:`detect_language` returns the canonical name used
by the code chunkers, or ``None`` when it is not a language we know.
"""

from __future__ import annotations

LANGUAGES = ("rust", "python", "javascript", "typescript", "go", "java", "c", "cpp", "ruby", "php")
"""Canonical names, as the code chunkers (and tree-sitter) know them."""

EXTENSIONS: dict[str, str] = {
    "rs": "rust",
    "py": "python",
    "pyw": "python",
    "pyi": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "mts": "typescript",
    "cts": "typescript",
    "go": "go",
    "java": "java",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hxx": "cpp",
    "hh": "cpp",
    "rb": "ruby",
    "rake": "ruby",
    "gemspec": "ruby",
    "php": "php",
    "phtml": "php",
}
"""rlm-rs's extension table (case-insensitive)."""

ALIASES: dict[str, str] = {
    "c++": "cpp",
    "cplusplus": "cpp",
    "golang": "go",
    "node": "javascript",
    "py3": "python",
    "python3": "python",
}
"""Common spellings of a language name that are neither canonical nor extensions."""


def detect_language(name_or_ext: str | None) -> str | None:
    """The canonical language for a name, extension or file name; ``None`` if unknown.

    A language name wins over an extension, so ``"c"`` is C and ``"go"`` is Go;
    otherwise the text after the last ``.`` is looked up as an extension.
    """
    if not name_or_ext:
        return None
    key = name_or_ext.strip().lower()
    if key in LANGUAGES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    suffix = key.rsplit(".", 1)[-1]
    return EXTENSIONS.get(suffix)
