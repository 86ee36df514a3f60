"""The operations layer: one library function per command, each returning a typed result.

``rlm.cli`` parses arguments, calls one of these and renders the result as
text or ``result.to_json()``; ``rlm.mcp`` calls the same function and returns
``result.to_json()``. So a command's behaviour and JSON shape live here once,
and a library user gets exactly what the CLI and the MCP server return::

    from rlm import ops
    hits = ops.search(store, "retry logic", top_k=5)
    print(hits.to_json(), hits.warnings)

Every result has ``to_json()`` (the ``--format json`` payload) and
``warnings`` (what the CLI prints on stderr). Names are imported on first use,
so commands that never embed stay fast to start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Result": "rlm.ops.base",
    "load": "rlm.ops.buffers",
    "add_buffer": "rlm.ops.buffers",
    "list_buffers": "rlm.ops.buffers",
    "show": "rlm.ops.buffers",
    "delete": "rlm.ops.buffers",
    "chunk_get": "rlm.ops.chunks",
    "chunk_list": "rlm.ops.chunks",
    "chunk_status": "rlm.ops.chunks",
    "chunk_embed": "rlm.ops.chunks",
    "chunk_embed_background": "rlm.ops.chunks",
    "chunk_embed_wait": "rlm.ops.chunks",
    "peek": "rlm.ops.read",
    "grep": "rlm.ops.read",
    "search": "rlm.ops.retrieval",
    "dispatch": "rlm.ops.agents",
    "aggregate": "rlm.ops.agents",
    "update_buffer": "rlm.ops.agents",
    "status": "rlm.ops.store",
    "vacuum": "rlm.ops.store",
    "store_copy": "rlm.ops.store_move",
    "store_export": "rlm.ops.store_move",
    "copy_stores": "rlm.ops.store_move",
    "runs": "rlm.ops.run_records",
    "run_detail": "rlm.ops.run_records",
    "watch": "rlm.ops.watching",
}

__all__ = [
    "Result",
    "add_buffer",
    "aggregate",
    "chunk_embed",
    "chunk_embed_background",
    "chunk_embed_wait",
    "chunk_get",
    "chunk_list",
    "chunk_status",
    "copy_stores",
    "delete",
    "dispatch",
    "grep",
    "list_buffers",
    "load",
    "peek",
    "run_detail",
    "runs",
    "search",
    "show",
    "status",
    "store_copy",
    "store_export",
    "update_buffer",
    "vacuum",
    "watch",
]

if TYPE_CHECKING:
    from rlm.ops.agents import aggregate, dispatch, update_buffer
    from rlm.ops.base import Result
    from rlm.ops.buffers import add_buffer, delete, list_buffers, load, show
    from rlm.ops.chunks import (
        chunk_embed,
        chunk_embed_background,
        chunk_embed_wait,
        chunk_get,
        chunk_list,
        chunk_status,
    )
    from rlm.ops.read import grep, peek
    from rlm.ops.retrieval import search
    from rlm.ops.run_records import run_detail, runs
    from rlm.ops.store import status, vacuum
    from rlm.ops.store_move import copy_stores, store_copy, store_export
    from rlm.ops.watching import watch


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rlm.ops' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
