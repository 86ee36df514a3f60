"""Semantic behaviour with the real bundled model (one load for the module)."""

from __future__ import annotations

import os

import pytest

from rlm.embedding.base import Embedder
from rlm.search import search
from rlm.store import Store
from tests.search.conftest import add_chunks


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The bundled default model, with a private model cache (as tests/embedding does)."""
    from rlm.embedding.registry import default_model
    from rlm.embedding.selection import build_embedder

    previous = os.environ.get("RLM_CACHE_DIR")
    os.environ["RLM_CACHE_DIR"] = str(tmp_path_factory.mktemp("search-model-cache"))
    try:
        return build_embedder(default_model(), None)
    finally:
        if previous is None:
            os.environ.pop("RLM_CACHE_DIR", None)
        else:
            os.environ["RLM_CACHE_DIR"] = previous


def test_semantic_finds_a_paraphrase_lexical_cannot(store: Store, model: Embedder) -> None:
    assert model.is_semantic
    texts = [
        "The feline rested on the rug all afternoon.",
        "Quarterly revenue grew by twelve percent.",
        "Rust programs are compiled ahead of time.",
    ]
    ids = add_chunks(store, "docs", texts, embedder=model)
    assert search(store, "cat sleeping upon carpet", mode="bm25").count == 0
    sem = search(store, "cat sleeping upon carpet", mode="semantic", embedder=model)
    assert sem.semantic_available is True
    assert sem.results and sem.results[0].chunk_id == ids[0]
    assert all(r.score >= 0.3 for r in sem.results)
    hybrid = search(store, "cat sleeping upon carpet", embedder=model)
    assert hybrid.results[0].chunk_id == ids[0]
    assert hybrid.results[0].bm25_score is None
