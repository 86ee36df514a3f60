"""How a text is chunked and stored: the options every write path shares."""

from __future__ import annotations

from dataclasses import dataclass

from rlm.chunking.base import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP

DEFAULT_CHUNKER = "semantic"
"""The default strategy; for folder loads it means "code chunker for code files"."""


@dataclass(frozen=True)
class LoadOptions:
    chunker: str = DEFAULT_CHUNKER
    chunk_size: int = DEFAULT_CHUNK_SIZE
    overlap: int = DEFAULT_OVERLAP
    replace: bool = False
    embed: bool = True
    language: str | None = None
