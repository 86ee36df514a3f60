"""Chunking: split a buffer's UTF-8 bytes into overlapping, ordered byte ranges.

Strategies (``--chunker``, case-insensitive):

* ``semantic`` (default): natural breaks near the size budget (:mod:`.semantic`);
* ``fixed``: size-driven, ending at a nearby line end (:mod:`.fixed`);
* ``code`` / ``ast``: definitions via tree-sitter or regexes (:mod:`.code_regex`);
* ``parallel``: segment-parallel semantic for large texts (:mod:`.parallel`);
  its spans say ``semantic`` and equal the semantic chunker's below 100 KB.

Every strategy yields spans lazily from ``bytes`` or a read-only ``mmap``, with
strictly increasing starts and ends, UTF-8-safe offsets, and an overlap that
never exceeds ``config.overlap``; the size bounds are in each module's doc.

:func:`chunk_spans` validates the config for every strategy, including the
50000-byte maximum that rlm-rs skipped for ``code`` (a chunk that large is
useless to an embedder or an LLM, and one rule is easier to document).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rlm.chunking.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_OVERLAP,
    MAX_CHUNK_SIZE,
    ByteText,
    ChunkConfig,
    Chunker,
    ChunkSpan,
    capped,
)
from rlm.chunking.code_regex import CodeChunker
from rlm.chunking.fixed import FixedChunker
from rlm.chunking.languages import detect_language
from rlm.chunking.parallel import ParallelChunker
from rlm.chunking.semantic import SemanticChunker
from rlm.defaults import STRATEGIES
from rlm.errors import UnknownStrategyError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_OVERLAP",
    "MAX_CHUNK_SIZE",
    "STRATEGIES",
    "ByteText",
    "ChunkConfig",
    "ChunkSpan",
    "Chunker",
    "chunk_spans",
    "detect_language",
    "get_chunker",
]


_FACTORIES: dict[str, Callable[[], Chunker]] = {
    "semantic": SemanticChunker,
    "fixed": FixedChunker,
    "code": CodeChunker,
    "ast": CodeChunker,
    "parallel": ParallelChunker,
}


def get_chunker(name: str) -> Chunker:
    """The chunker for a strategy name (case-insensitive).

    Raises :class:`UnknownStrategyError` with the name as given, like rlm-rs.
    """
    factory = _FACTORIES.get(name.strip().lower())
    if factory is None:
        raise UnknownStrategyError(name)
    return factory()


def chunk_spans(
    data: ByteText, config: ChunkConfig, strategy: str = "semantic"
) -> Iterator[ChunkSpan]:
    """Validate ``config`` and return the lazy spans of ``data``.

    Errors (unknown strategy, invalid sizes, a chunk size below
    :data:`~rlm.chunking.base.MIN_CHUNK_SIZE`, a count sure to pass the
    chunks-per-buffer cap) are raised here, before the first span, so a
    caller can report them before writing anything; a chunker that passes
    the cap anyway fails on the first span too many.
    """
    chunker = get_chunker(strategy)
    config.validate(check_maximum=True)
    config.check_load_limits(len(data))
    return capped(chunker.chunk(data, config))
