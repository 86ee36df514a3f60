"""Fixtures for the embedding tests: one real model load shared by the session.

The real bundled model is used (it is a base dependency), so a broken install
fails these tests instead of being skipped. Every test gets its own model cache
dir so nothing is read from or written to the user's real cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm.embedding import reset_embedders
from rlm.embedding.onnx_embedder import OnnxEmbedder
from rlm.embedding.registry import default_model
from rlm.embedding.selection import build_embedder

ENV = ("RLM_MODEL", "RLM_MODEL_PATH", "RLM_EMBEDDER", "RLM_CACHE_DIR")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No RLM_* settings leak in; a private model cache per test."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("RLM_CACHE_DIR", str(cache))
    reset_embedders()
    yield cache
    reset_embedders()


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    """The bundled default model, loaded once for the whole session."""
    previous = os.environ.get("RLM_CACHE_DIR")
    os.environ["RLM_CACHE_DIR"] = str(tmp_path_factory.mktemp("shared-cache"))
    try:
        embedder = build_embedder(default_model(), None)
    finally:
        if previous is None:
            os.environ.pop("RLM_CACHE_DIR", None)
        else:
            os.environ["RLM_CACHE_DIR"] = previous
    assert isinstance(embedder, OnnxEmbedder), embedder.fallback_reason
    return embedder
