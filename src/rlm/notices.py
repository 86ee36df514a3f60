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


def old_passages(count: int) -> str:
    """Passages planned under older passage rules: still searched, re-planned on request."""
    return (
        f"{count:,} chunks have passages planned under older passage rules (search still"
        " uses them); run 'rlm chunk embed' to re-plan them"
    )


def other_model_passages(count: int) -> str:
    """Old passages of another model: ``rlm chunk embed`` re-plans the current model's
    only, and search ignores the other model's vectors anyway, so the way on is
    ``--force`` (new vectors, new passages), not a re-plan."""
    return (
        f"{count:,} chunks of another model have passages planned under older passage rules"
        " (search ignores that model's vectors); run 'rlm chunk embed --all --force' to"
        " re-embed them with the current model"
    )


def replanning(count: int) -> str:
    """What ``chunk embed`` is about to re-plan, said before it starts."""
    return (
        f"re-planning the passages of {count:,} chunks planned under older passage rules"
        " (their chunk vectors are kept)"
    )


def query_cut(kept_chars: int, total_chars: int, kept_words: int) -> str:
    """A search query longer than the cap was cut before searching."""
    return (
        f"query cut to {kept_chars} of {total_chars} characters ({kept_words} words);"
        " pass --max-query-chars to raise the cap"
    )


def duration(seconds: float) -> str:
    """A rough human duration: "about 40 s", "about 12 min", "about 2.5 h"."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def embedding_in_background(chunks: int, seconds: float | None) -> str:
    """A load handed its embedding to the background worker."""
    eta = f" ({duration(seconds)})" if seconds is not None else ""
    return f"embedding {chunks:,} chunks in the background{eta}; see 'rlm status'"


def partial_coverage(percent: float, background: bool, seconds_left: float | None) -> str:
    """Search ran while vectors are missing: how much the semantic leg saw."""
    head = f"semantic leg covers {percent:.0f}% of chunks"
    if not background:
        return head + "; the rest are found by BM25 only: run 'rlm chunk embed' to embed them"
    eta = f", {duration(seconds_left)} left" if seconds_left is not None else ""
    return head + f"; embedding in the background{eta}"


def files_gone(names: list[str]) -> str:
    """``search --refresh`` found buffers whose file is gone; they are kept."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"{len(names)} loaded files are gone ({shown}); their buffers are kept:"
        " 'rlm load --sync DIR' or 'rlm delete NAME' removes them"
    )


def empty_collection(collection: str) -> str:
    return f"no buffers in collection '{collection}'"


def no_files(paths: str) -> str:
    return f"no files to load in {paths}"


def name_taken_by_other_file(other_source: str, collection: str) -> str:
    """Why a folder load skipped a file whose name its collection already gives to
    another file (two folders with the same layout loaded into one collection)."""
    return (
        f"collection '{collection}' already holds this name for {other_source}; load this"
        " folder with --collection NAME to keep both"
    )


__all__ = [
    "duration",
    "embedding_in_background",
    "embedding_stopped",
    "empty_collection",
    "files_gone",
    "hash_fallback",
    "name_taken_by_other_file",
    "no_files",
    "not_embedded",
    "old_passages",
    "other_model_passages",
    "partial_coverage",
    "query_cut",
    "replanning",
    "stale_vectors",
]
