"""peek and grep: looking inside buffers without search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm.defaults import GREP_MAX_MATCHES, GREP_WINDOW
from rlm.errors import UsageError
from rlm.store import Buffer, Store
from rlm.views import (
    DEFAULT_GREP_BYTES,
    DEFAULT_PEEK_MAX,
    GrepBudget,
    GrepMatch,
    PeekView,
    compile_pattern,
    grep_buffers,
    peek_buffer,
)

__all__ = [
    "GrepResult",
    "Peek",
    "grep",
    "peek",
]


@dataclass(frozen=True)
class Peek:
    view: PeekView
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        v = self.view
        data: dict[str, Any] = {
            "start": v.start,
            "end": v.end,
            "size": v.end - v.start,
            "content": v.content,
        }
        if v.truncated:
            data["truncated"] = True
        return data


def peek(
    store: Store,
    buffer: str,
    start: int = 0,
    end: int | None = None,
    *,
    max_bytes: int = DEFAULT_PEEK_MAX,
) -> Peek:
    """Bytes ``start..end`` of a buffer (default ``start + PEEK_BYTES``), whole characters,
    at most ``max_bytes`` of them (the result says where to continue)."""
    view = peek_buffer(store, store.resolve_buffer(buffer), start, end, max_bytes=max_bytes)
    warnings = []
    if view.truncated:
        warnings.append(
            f"cut to --max-bytes {max_bytes} (bytes {view.start}..{view.end});"
            f" raise it, or peek from --start {view.end}"
        )
    return Peek(view, warnings)


@dataclass(frozen=True)
class GrepResult:
    pattern: str
    matches: list[tuple[Buffer, GrepMatch]]
    many: bool
    """Searched a collection or every buffer: each match also names its buffer."""
    warnings: list[str] = field(default_factory=list)
    context: int = 0

    def to_json(self) -> list[dict[str, object]]:
        data: list[dict[str, object]] = []
        for b, m in self.matches:
            item: dict[str, object] = {
                "offset": m.offset,
                "matched": m.matched,
                "snippet": m.snippet,
                "line": m.line,
                "chunk_id": m.chunk_id,
                "column": m.column,
                "text": m.text,
            }
            if self.context:
                item |= {"before": list(m.before), "after": list(m.after)}
            if m.truncated:
                item["truncated"] = True
            if self.many:
                item |= {"buffer_id": b.id, "buffer_name": b.name, "source": b.source}
            data.append(item)
        return data


def grep(
    store: Store,
    pattern: str,
    *,
    buffer: str | None = None,
    collection: str | None = None,
    all_buffers: bool = False,
    max_matches: int = GREP_MAX_MATCHES,
    window: int = GREP_WINDOW,
    ignore_case: bool = False,
    context: int = 0,
    max_bytes: int = DEFAULT_GREP_BYTES,
) -> GrepResult:
    """Regex matches in one buffer, a collection, or every buffer (exactly one of them).

    RE2 (linear time); a pattern RE2 cannot run, an unknown buffer or an
    unknown collection is an error (with close names), never "no matches".
    Stops once the returned text reaches ``max_bytes`` and says so.
    """
    if sum((buffer is not None, collection is not None, all_buffers)) != 1:
        raise UsageError(
            "grep one buffer, one collection or all buffers (exactly one of them)",
            suggestion="rlm grep BUFFER PATTERN, or rlm grep --collection NAME PATTERN",
        )
    compile_pattern(pattern, ignore_case)  # a bad pattern fails before any lookup
    warnings: list[str] = []
    if buffer is not None:
        buffers = [store.resolve_buffer(buffer)]
    else:
        if collection is not None:
            store.require_collection(collection)
        buffers = store.list_buffers(collection=collection)
    budget = GrepBudget(max_bytes)
    found = grep_buffers(
        store,
        buffers,
        pattern,
        max_matches=max_matches,
        window=window,
        ignore_case=ignore_case,
        context=context,
        budget=budget,
    )
    if budget.exhausted:
        warnings.append(
            f"stopped after {len(found)} matches: the output reached --max-bytes {max_bytes};"
            " raise it, or narrow the pattern"
        )
    return GrepResult(pattern, found, buffer is None, warnings, context)
