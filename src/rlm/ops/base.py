"""What every operation returns, and the embedder they use unless told otherwise."""

from __future__ import annotations

from typing import Any, Protocol

from rlm.ingest.embed import EmbedderFactory, default_embedder

__all__ = ["EmbedderFactory", "Result", "default_embedder"]


class Result(Protocol):
    """A command's outcome: its JSON payload and its user-facing warnings."""

    @property
    def warnings(self) -> list[str]: ...

    def to_json(self) -> Any:
        """The ``--format json`` payload (also the MCP tool result)."""
        ...
