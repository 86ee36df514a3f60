"""Embedding models for semantic search: the bundled ONNX model, catalogue models, a fallback.

Importing this package is cheap: numpy, fastembed, onnxruntime and tokenizers
are imported only when something is embedded or tokenized. Start here:

* :func:`get_embedder` — the process-wide :class:`Embedder` (honours ``RLM_MODEL``,
  ``RLM_MODEL_PATH`` and ``RLM_EMBEDDER=hash``).
* :mod:`rlm.embedding.registry` — the models rlm knows.
* :mod:`rlm.embedding.doctor` — ``list_models``, ``model_info``, ``doctor``.
"""

from __future__ import annotations

from rlm.embedding.base import Embedder, EmbeddingBatch
from rlm.embedding.registry import DEFAULT_MODEL, FALLBACK_MODEL
from rlm.embedding.selection import get_embedder, reset_embedders

__all__ = [
    "DEFAULT_MODEL",
    "FALLBACK_MODEL",
    "Embedder",
    "EmbeddingBatch",
    "get_embedder",
    "reset_embedders",
]
