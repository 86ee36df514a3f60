"""Every default and every list of choices a user can see, stated once.

The CLI's ``show_default`` values, the MCP tools' field descriptions and the
library's keyword defaults all read these, so changing a default is one edit
and the help text can never disagree with the behaviour. This module imports
nothing, so any layer can use it.
"""

from __future__ import annotations

# --- chunking -------------------------------------------------------------------

DEFAULT_CHUNK_SIZE = 3000
"""Target chunk size in bytes of UTF-8."""
DEFAULT_OVERLAP = 500
"""Bytes shared by consecutive chunks."""
MAX_CHUNK_SIZE = 50000
"""Larger chunks are useless to an embedder or an LLM."""
MIN_CHUNK_SIZE = 16
"""Loads refuse smaller chunks: ``--chunk-size 1`` turned 2 MB into 2M chunks."""
DEFAULT_MAX_CHUNKS = 1_000_000
"""Chunks per buffer (``RLM_MAX_CHUNKS`` raises it): a 1 GB file makes about 430k."""

STRATEGIES = ("semantic", "fixed", "code", "parallel")
"""Canonical chunking strategies."""
STRATEGY_ALIASES = {"ast": "code"}
CHUNKERS = ("semantic", "fixed", "code", "ast", "parallel")
"""What ``--chunker`` accepts: the strategies and their aliases."""
DEFAULT_CHUNKER = "semantic"
"""For folder loads it means "the code chunker for code files, semantic otherwise"."""

# --- search ---------------------------------------------------------------------

MODES = ("hybrid", "semantic", "bm25")
"""Search modes; the first is the default."""
DEFAULT_MODE = MODES[0]
DEFAULT_TOP_K = 10
DEFAULT_THRESHOLD = 0.3
"""Minimum cosine similarity for a semantic match."""
DEFAULT_RRF_K = 60
"""Reciprocal Rank Fusion constant ``k`` in ``1 / (k + rank)``."""
MAX_QUERY_CHARS = 4096
"""Longer search queries are cut (with a warning), to 1 word per 16 characters at most."""
SEARCH_PREVIEW_LEN = 150
"""``search --preview``: characters of each chunk attached."""

# --- embedding ------------------------------------------------------------------

EMBED_MODES = ("auto", "now", "background", "off")
"""``load --embed``: auto = inline when quick, else in a background worker."""
DEFAULT_EMBED_MODE = EMBED_MODES[0]
BACKGROUND_AFTER_SECONDS = 30.0
"""``--embed auto`` embeds in the background when the estimated time exceeds this
(``RLM_BACKGROUND_AFTER`` overrides it; 0 sends every load with chunks to the worker)."""
DEFAULT_TOKENS_PER_SECOND = 3000.0
"""Embedding rate assumed before one is measured: the bundled model on two idle cores
(about 12 KB of text per second). Measured rates are recorded per model next to the db."""
DEVICES = ("auto", "cpu", "cuda", "rocm", "coreml", "directml", "openvino", "tensorrt")
"""``--device`` / ``RLM_DEVICE``: which ONNX Runtime execution provider embeds."""
DEFAULT_DEVICE = "cpu"

# --- reading --------------------------------------------------------------------

CHUNK_PREVIEW_LEN = 100
"""``chunk list --preview``: characters of each chunk shown."""
PEEK_BYTES = 3000
"""``peek`` without ``--end``: bytes shown from ``--start``."""
GREP_MAX_MATCHES = 20
"""``grep``: matches per buffer."""
GREP_WINDOW = 120
"""``grep``: context bytes on each side of a match."""

MCP_MAX_TOKENS = 20000
"""MCP search, grep and chunk_get: the default token budget of one result (clients cap
tool output at about 25,000 tokens; the rest comes with a cursor)."""

MCP_CALL_TIMEOUT = 60.0
"""``rlm mcp --call-timeout``: seconds one tool call may run before it is stopped."""

# --- agents ---------------------------------------------------------------------

DEFAULT_BATCH_SIZE = 10
"""``dispatch``: chunks per batch when neither --workers nor --max-tokens is given."""

__all__ = [
    "BACKGROUND_AFTER_SECONDS",
    "CHUNKERS",
    "CHUNK_PREVIEW_LEN",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHUNKER",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DEVICE",
    "DEFAULT_EMBED_MODE",
    "DEFAULT_MAX_CHUNKS",
    "DEFAULT_MODE",
    "DEFAULT_OVERLAP",
    "DEFAULT_RRF_K",
    "DEFAULT_THRESHOLD",
    "DEFAULT_TOKENS_PER_SECOND",
    "DEFAULT_TOP_K",
    "DEVICES",
    "EMBED_MODES",
    "GREP_MAX_MATCHES",
    "GREP_WINDOW",
    "MAX_CHUNK_SIZE",
    "MAX_QUERY_CHARS",
    "MCP_CALL_TIMEOUT",
    "MCP_MAX_TOKENS",
    "MIN_CHUNK_SIZE",
    "MODES",
    "PEEK_BYTES",
    "SEARCH_PREVIEW_LEN",
    "STRATEGIES",
    "STRATEGY_ALIASES",
]
