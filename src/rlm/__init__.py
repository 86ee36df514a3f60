"""rlm: a local context engine for LLM agents.

Load text into a SQLite store, chunk it with exact byte and line spans, embed
it with a bundled ONNX model, search it (BM25 + vectors, fused by RRF) and
hand chunks to sub-agents by reference.

The library API is what the CLI and the MCP server call::

    import rlm
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        result = rlm.load_file(store, "book.txt")

Heavy dependencies (numpy, onnxruntime) load only when something embeds.
"""

from rlm.errors import RlmError
from rlm.loader import LoadOptions, LoadResult, load_text
from rlm.store import Store

__version__ = "0.1.0"

__all__ = [
    "LoadOptions",
    "LoadResult",
    "RlmError",
    "Store",
    "__version__",
    "load_file",
    "load_text",
]


def load_file(
    store: Store, path: str, *, name: str | None = None, options: LoadOptions | None = None
) -> LoadResult:
    """Load one file as a buffer named after it, embedding with the default model."""
    from pathlib import Path

    from rlm.embedding import get_embedder
    from rlm.io import open_file

    with open_file(path) as text:
        return load_text(
            store,
            text,
            name=name or Path(path).name,
            options=options,
            embedder_factory=get_embedder,
        )
