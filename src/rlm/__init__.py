"""rlm: a local context engine for LLM agents.

Load text into a SQLite store, chunk it with exact byte and line spans, embed
it with a bundled ONNX model, search it (BM25 + vectors, fused by RRF) and
hand chunks to sub-agents by reference.

The library API is what the CLI and the MCP server call::

    import rlm
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        result = rlm.load_file(store, "book.txt")
        report = rlm.load(store, ["src/", "notes.md"])  # what `rlm load` does

A load adds and updates buffers; it removes none unless ``sync=True`` asks it
to mirror a folder or glob.

Names are imported on first use, so ``import rlm`` stays cheap; heavy
dependencies (numpy, onnxruntime) load only when something embeds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "RlmError": "rlm.errors",
    "Store": "rlm.store",
    "LoadOptions": "rlm.ingest.loader",
    "LoadResult": "rlm.ingest.loader",
    "load_text": "rlm.ingest.loader",
    "load_file": "rlm.ingest.loader",
    "SyncReport": "rlm.ingest.collection",
    "sync_paths": "rlm.ingest.collection",
    "load": "rlm.ingest.load",
}

__all__ = [
    "LoadOptions",
    "LoadResult",
    "RlmError",
    "Store",
    "SyncReport",
    "__version__",
    "load",
    "load_file",
    "load_text",
    "sync_paths",
]

if TYPE_CHECKING:
    from rlm.errors import RlmError
    from rlm.ingest.collection import SyncReport, sync_paths
    from rlm.ingest.load import load
    from rlm.ingest.loader import LoadOptions, LoadResult, load_file, load_text
    from rlm.store import Store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rlm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
