"""User-facing warnings, worded once.

The CLI prints these on stderr (``Warning: ...``) and the MCP server sends
them as extra text blocks; the library returns them in its results. Keeping
the wording here means a fix to one message reaches every command that says it.
"""

from __future__ import annotations

from rlm.suggest import rlm_command


def hash_fallback(reason: str) -> str:
    """The model could not load: vectors come from the lexical hash fallback."""
    return (
        f"embedding model unavailable ({reason}); used the hash fallback,"
        " so semantic search is lexical only. Run 'rlm model doctor'."
    )


def not_embedded(count: int, error: str, target: str) -> str:
    """An embedding run failed part-way: which chunks still lack a vector, and the fix."""
    return f"{count} chunks not embedded ({error}); run '{rlm_command('chunk', 'embed', target)}'"


def embedding_stopped(name: str, error: str, left: int, collection: str) -> str:
    """A folder load's embedding stopped: the rest resumes with a later command."""
    return (
        f"embedding stopped at {name} ({error}); {left} buffers of '{collection}' still need"
        " vectors: run 'rlm chunk embed' or 'rlm load' again"
    )


def stale_vectors(count: int, label: str, model: str) -> str:
    """Vectors made by another model are kept until ``--force`` replaces them."""
    return (
        f"{count} chunks of '{label}' have vectors from another model; current model is"
        f" '{model}'. Run '{rlm_command('chunk', 'embed', label, '--force')}' to regenerate them."
    )


def query_cut(kept_chars: int, total_chars: int, kept_words: int) -> str:
    """A search query longer than the cap was cut before searching."""
    return (
        f"query cut to {kept_chars} of {total_chars} characters ({kept_words} words);"
        " pass --max-query-chars to raise the cap"
    )


def empty_collection(collection: str) -> str:
    return f"no buffers in collection '{collection}'"


def no_files(paths: str) -> str:
    return f"no files to load in {paths}"


__all__ = [
    "embedding_stopped",
    "empty_collection",
    "hash_fallback",
    "no_files",
    "not_embedded",
    "query_cut",
    "stale_vectors",
]
