"""Tool results: an operation's JSON (and warnings), or the rlm error envelope."""

from __future__ import annotations

import json
import logging
from typing import Any

from mcp.types import CallToolResult, TextContent

from rlm.errors import RlmError
from rlm.ops.base import Result

log = logging.getLogger("rlm.mcp")


def compact_json(data: Any) -> str:
    """The JSON text of a result: compact, UTF-8 as is, no NaN (the CLI's encoder)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def result_to_tool(result: Result) -> CallToolResult:
    """``result.to_json()`` as a text block (+ structured copy), then its warnings."""
    data = result.to_json()
    content = [TextContent(type="text", text=compact_json(data))]
    for warning in result.warnings:
        log.warning("%s", warning)
        content.append(TextContent(type="text", text=f"Warning: {warning}"))
    structured = data if isinstance(data, dict) else None
    failed = bool(getattr(result, "failed", False))  # aggregate(strict=true) with gaps
    return CallToolResult(content=list(content), structured_content=structured, is_error=failed)


def error_result(error: RlmError) -> CallToolResult:
    """An rlm error as a tool error carrying the CLI's JSON error envelope, with the
    suggestion worded for tools (an MCP-only agent cannot run 'rlm list')."""
    envelope = error.to_dict(for_tools=True)
    return CallToolResult(
        content=[TextContent(type="text", text=compact_json(envelope))],
        structured_content=envelope,
        is_error=True,
    )
