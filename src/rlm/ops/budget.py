"""Cutting a result to a token budget, with a cursor for the rest.

MCP clients cap what a tool may return (Claude Code: about 25,000 tokens); a
result over the cap is dropped or cut blindly. So the MCP tools that can
return a lot (search, grep, chunk_get) take ``max_tokens`` and return a page
that fits, plus ``next_cursor`` to ask for the next page. Pages are cut from
the complete, deterministic result (same arguments, same order), so the
pages joined are exactly what one unlimited call returns.

Tokens are estimated as UTF-8 bytes of the compact JSON / 4, the estimate rlm
uses wherever no tokenizer is at hand; it overestimates English text a little,
which is the safe side of a cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rlm.chunking.base import estimate_tokens
from rlm.errors import InvalidArgumentError

__all__ = ["Page", "json_tokens", "page_list", "page_text", "parse_cursor"]


def json_tokens(data: Any) -> int:
    """Estimated tokens of ``data`` as compact JSON."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return estimate_tokens(len(text.encode("utf-8")))


def parse_cursor(cursor: str | None) -> int:
    """A cursor is the offset where the next page starts (items or characters)."""
    if cursor is None:
        return 0
    try:
        offset = int(cursor)
    except ValueError:
        offset = -1
    if offset < 0:
        raise InvalidArgumentError(
            f"cursor {cursor!r} is not one this tool returned",
            suggestion="Pass the next_cursor of the previous page, or leave cursor out",
        )
    return offset


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    """Where the next page starts; None when this page reaches the end."""


def page_list(items: list[Any], offset: int, max_tokens: int, overhead: int = 0) -> Page:
    """Items from ``offset`` while they fit ``max_tokens`` (at least one, so pages advance)."""
    used = overhead
    out: list[Any] = []
    for item in items[offset:]:
        cost = json_tokens(item) + 1
        if out and used + cost > max_tokens:
            break
        out.append(item)
        used += cost
    end = offset + len(out)
    return Page(out, str(end) if end < len(items) else None)


def page_text(text: str, offset: int, max_tokens: int, overhead: int = 0) -> tuple[str, str | None]:
    """Characters of ``text`` from ``offset`` that fit ``max_tokens``, ending at a line
    break when one is near; and the next cursor."""
    room = max(1, (max_tokens - overhead) * 4)
    # JSON escapes and multi-byte characters cost more than one byte each: shrink
    # the slice until its encoded size fits (a few rounds at most).
    piece = text[offset : offset + room]
    while len(piece) > 1 and estimate_tokens(
        len(json.dumps(piece, ensure_ascii=False).encode())
    ) > (max_tokens - overhead):
        piece = piece[: len(piece) * 3 // 4]
    end = offset + len(piece)
    if end < len(text):
        cut = piece.rfind("\n", len(piece) // 2)
        if cut > 0:
            piece = piece[: cut + 1]
            end = offset + len(piece)
    return piece, (str(end) if end < len(text) else None)
