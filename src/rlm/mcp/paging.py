"""Pages of search, grep and chunk_get results that fit an MCP client's output cap.

A page is cut from the operation's complete JSON (see :mod:`rlm.ops.budget`).
When nothing had to be cut the JSON is untouched, so it still equals the
CLI's; when it was, objects gain ``next_cursor`` (and ``content_offset`` for
chunk text), and grep's list is followed by a notice naming the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm.ops.base import Result
from rlm.ops.budget import json_tokens, page_list, page_text, parse_cursor


@dataclass(frozen=True)
class Reshaped:
    """A result whose JSON was cut to a page (it satisfies :class:`Result`)."""

    data: Any
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> Any:
        return self.data


def _again(tool: str, cursor: str, max_tokens: int) -> str:
    return (
        f"result cut to fit max_tokens={max_tokens}: call {tool} again with the same"
        f' arguments and cursor="{cursor}" for the rest'
    )


def search_page(result: Result, cursor: str | None, max_tokens: int) -> Result:
    data = result.to_json()
    offset = parse_cursor(cursor)
    rest = {k: v for k, v in data.items() if k != "results"}
    page = page_list(data["results"], offset, max_tokens, json_tokens(rest) + 8)
    if offset == 0 and page.next_cursor is None:
        return result
    paged = {**data, "count": len(page.items), "next_cursor": page.next_cursor}
    paged["results"] = page.items
    return Reshaped(dict(sorted(paged.items())), list(result.warnings))


def grep_page(result: Result, cursor: str | None, max_tokens: int) -> Result:
    data = result.to_json()
    offset = parse_cursor(cursor)
    page = page_list(data, offset, max_tokens)
    if offset == 0 and page.next_cursor is None:
        return result
    notes = [_again("grep", page.next_cursor, max_tokens)] if page.next_cursor else []
    return Reshaped(page.items, [*result.warnings, *notes])


def chunk_page(result: Result, cursor: str | None, max_tokens: int) -> Result:
    """Cut the chunk's text (or, with context, the merged text) to the budget."""
    data = result.to_json()
    offset = parse_cursor(cursor)
    holder = data.get("context", data)
    text: str = holder["content"]
    overhead = json_tokens({**data, "content": "", "context": None}) + 16
    if "context" in data:
        overhead += json_tokens(data["content"])
    if offset == 0 and json_tokens(text) + overhead <= max_tokens:
        return result
    piece, next_cursor = page_text(text, offset, max_tokens, overhead)
    holder = {**holder, "content": piece}
    paged = {**data, **({"context": holder} if "context" in data else holder)}
    paged.update(content_offset=offset, next_cursor=next_cursor)
    return Reshaped(dict(sorted(paged.items())), list(result.warnings))
