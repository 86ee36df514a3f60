"""How a text is chunked and stored: the options every write path shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rlm.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKER, DEFAULT_OVERLAP

Progress = Callable[[int, int], None]
"""A progress callback: ``progress(done, total)`` (bytes read, or chunks embedded)."""


@dataclass(frozen=True)
class LoadOptions:
    chunker: str = DEFAULT_CHUNKER
    chunk_size: int = DEFAULT_CHUNK_SIZE
    overlap: int = DEFAULT_OVERLAP
    replace: bool = False
    embed: bool = True
    language: str | None = None
