"""The search engine's order of work: the model load overlaps what does not need it."""

from __future__ import annotations

from typing import Any

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.store import Store
from tests.search.conftest import AddBuffer


def test_search_starts_the_model_load_before_the_work_that_does_not_need_it(
    store: Store, add: AddBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load overlaps the SQL, the BM25 leg and the vector matrices: it starts first,
    and the query is embedded only after them."""
    from rlm import ops
    from rlm.search import vector

    add("notes", ["alpha beta gamma", "delta epsilon"])
    calls: list[str] = []

    class Loading(HashEmbedder):
        def start_loading(self) -> None:
            calls.append("start")

        def embed_query(self, text: str) -> Any:
            calls.append("embed")
            return super().embed_query(text)

    real_index = vector.vector_index

    def index(*args: Any, **kwargs: Any) -> Any:
        calls.append("index")
        return real_index(*args, **kwargs)

    monkeypatch.setattr(vector, "vector_index", index)
    outcome = ops.search(store, "alpha", embedder_factory=lambda: Loading())
    assert outcome.response.results
    assert calls[0] == "start" and calls.index("index") < calls.index("embed")
    calls.clear()
    ops.search(store, "alpha", mode="bm25", embedder_factory=lambda: Loading())
    assert calls == []  # no model for BM25
