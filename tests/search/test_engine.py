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


def test_only_a_short_questions_lexical_leg_must_be_backed(
    store: Store, add: AddBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Leg.checked`` (docs/search.md "Fusion"): set on the BM25 leg when an entry is a
    question and none is a long query, never on the semantic leg; keywords and a pasted
    paragraph's BM25 stand on their own."""
    from rlm.search import engine
    from rlm.search.engine import search
    from rlm.search.vector import LONG_QUERY_WORDS

    add("notes", ["alpha beta gamma delta", "alpha epsilon zeta", "beta eta theta"])
    seen: list[list[tuple[int, bool]]] = []
    real_fuse = engine.fuse

    def spy(legs: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append([(len(leg.hits), leg.checked) for leg in legs])
        return real_fuse(legs, *args, **kwargs)

    monkeypatch.setattr(engine, "fuse", spy)
    long = " ".join(["alpha"] * (LONG_QUERY_WORDS + 1)) + "?"
    for queries, lexical_checked in (
        (["what is alpha beta"], True),
        (["alpha beta?"], True),
        (["alpha beta"], False),
        (["how alpha beta", "lex: gamma", "hyde: alpha beta gamma"], True),
        (["alpha beta", "lex: gamma", "vec: which alpha beta"], True),
        ([long], False),
        (["what alpha beta?", long.rstrip("?")], False),
    ):
        seen.clear()
        search(store, queries=queries, threshold=0.0, embedder=HashEmbedder())
        assert [checked for _, checked in seen[0]] == [False, lexical_checked], queries
        assert all(n > 0 for n, _ in seen[0])  # both legs had hits to fuse
    seen.clear()
    search(store, "alpha", mode="semantic", threshold=0.0, embedder=HashEmbedder())
    assert seen == []  # one leg: nothing fused
