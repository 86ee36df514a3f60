"""peek and grep: looking inside buffers without search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm import notices
from rlm.defaults import GREP_MAX_MATCHES, GREP_WINDOW, MAX_VIEW_BYTES
from rlm.errors import UsageError
from rlm.store import Buffer, Store
from rlm.views import GrepMatch, PeekView, grep_buffers, peek_buffer

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
    max_bytes: int = MAX_VIEW_BYTES,
) -> Peek:
    """Bytes ``start..end`` of a buffer (default ``start + PEEK_BYTES``), whole characters.

    At most ``max_bytes`` come back; a cut range says ``truncated`` and warns.
    """
    view = peek_buffer(store, store.resolve_buffer(buffer), start, end, max_bytes)
    return Peek(view, [notices.view_cut("peek", max_bytes)] if view.truncated else [])


@dataclass(frozen=True)
class GrepResult:
    pattern: str
    matches: list[tuple[Buffer, GrepMatch]]
    many: bool
    """Searched a collection or every buffer: each match also names its buffer."""
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict[str, object]]:
        data: list[dict[str, object]] = []
        for b, m in self.matches:
            item: dict[str, object] = {
                "offset": m.offset,
                "matched": m.matched,
                "snippet": m.snippet,
                "line": m.line,
            }
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
) -> GrepResult:
    """Regex matches in one buffer, a collection, or every buffer (exactly one of them)."""
    if sum((buffer is not None, collection is not None, all_buffers)) != 1:
        raise UsageError(
            "grep one buffer, one collection or all buffers (exactly one of them)",
            suggestion="rlm grep BUFFER PATTERN, or rlm grep --collection NAME PATTERN",
        )
    warnings: list[str] = []
    if buffer is not None:
        buffers = [store.resolve_buffer(buffer)]
    else:
        buffers = store.list_buffers(collection=collection)
        if not buffers and collection is not None:
            warnings.append(notices.empty_collection(collection))
    found = grep_buffers(
        store, buffers, pattern, max_matches=max_matches, window=window, ignore_case=ignore_case
    )
    return GrepResult(pattern, found, buffer is None, warnings)
