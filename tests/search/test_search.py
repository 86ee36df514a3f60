"""search(): modes, filters before top-k, recall of CJK / identifiers, order, thresholds."""

from __future__ import annotations

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.errors import InvalidArgumentError
from rlm.search import SearchEngine, rrf, search
from rlm.search.preview import preview_text
from rlm.search.vector import top_scores
from rlm.store import Store
from tests.search.conftest import AddBuffer


def test_rrf_worked_example_from_the_spec() -> None:
    fused = rrf([[5, 3, 9], [3, 7]], 60)
    assert [f.chunk_id for f in fused] == [3, 5, 7, 9]
    scores = {f.chunk_id: f.score for f in fused}
    assert scores[3] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[5] == pytest.approx(1 / 61)
    assert scores[7] == pytest.approx(1 / 62)
    assert scores[9] == pytest.approx(1 / 63)


def test_rrf_ties_break_by_best_rank_then_chunk_id() -> None:
    # 8 and 4 both sit at rank 1 of one list and tie on score: lower id first.
    assert [f.chunk_id for f in rrf([[8], [4]])] == [4, 8]
    # Symmetric lists: equal sums and equal best ranks, so the chunk id decides.
    fused = rrf([[1, 2], [2, 1]])
    assert [f.chunk_id for f in fused] == [1, 2]


def test_empty_and_whitespace_queries_are_usage_errors(store: Store) -> None:
    for query in ("", "   ", "\n\t"):
        with pytest.raises(InvalidArgumentError) as info:
            search(store, query, embedder=HashEmbedder())
        assert info.value.exit_code == 2


def test_unknown_mode_is_a_usage_error(store: Store) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        search(store, "fox", mode="fuzzy", embedder=HashEmbedder())
    assert info.value.exit_code == 2
    assert search(store, "fox", mode="BM25").mode == "bm25"


def test_bm25_mode_never_builds_the_embedder(store: Store, add: AddBuffer) -> None:
    add("doc", ["fox"])

    def factory() -> HashEmbedder:
        raise AssertionError("bm25 must not load a model")

    response = search(store, "fox", mode="bm25", embedder=factory)
    assert response.count == 1
    assert response.semantic_available is None


def test_hash_fallback_is_marked_lexical_only(store: Store, add: AddBuffer) -> None:
    add("doc", ["fox"])
    response = search(store, "fox", embedder=HashEmbedder(fallback_reason="test"))
    assert response.semantic_available is False
    assert any("lexical only" in w for w in response.warnings)


def test_buffer_filter_is_applied_before_top_k(store: Store, add: AddBuffer) -> None:
    # The big buffer has 30 strong matches; the small one 3 weak ones.
    add("big", [f"alpha alpha alpha beta {i}" for i in range(30)])
    small = add(
        "small", ["alpha gamma delta epsilon zeta eta theta", "alpha x y z w v u", "alpha q"]
    )
    engine = SearchEngine(store, HashEmbedder())
    for mode in ("bm25", "semantic", "hybrid"):
        unfiltered = engine.search("alpha", mode=mode, top_k=3, threshold=0.0)
        assert not set(small) & {r.chunk_id for r in unfiltered.results}, mode
        small_id = store.find_buffer_by_name("small")
        assert small_id is not None
        filtered = engine.search(
            "alpha", mode=mode, top_k=3, threshold=0.0, buffer_ids=[small_id.id]
        )
        assert sorted(r.chunk_id for r in filtered.results) == sorted(small), mode
        assert {r.buffer_name for r in filtered.results} == {"small"}


def test_empty_buffer_filter_returns_nothing(store: Store, add: AddBuffer) -> None:
    add("doc", ["fox"])
    assert search(store, "fox", buffer_ids=[], embedder=HashEmbedder()).count == 0


def test_cjk_word_inside_a_sentence_is_found(store: Store, add: AddBuffer) -> None:
    ids = add("ja", ["私は東京に住んでいます。", "大阪は食べ物が美味しい。", "The quick brown fox"])
    hits = search(store, "東京", mode="bm25").results
    assert [r.chunk_id for r in hits] == [ids[0]]
    hits = search(store, "食べ物", mode="bm25").results
    assert [r.chunk_id for r in hits] == [ids[1]]


def test_camel_case_identifier_parts_are_found(store: Store, add: AddBuffer) -> None:
    ids = add(
        "code",
        [
            "def parseConfigFile(path):\n    return load(path)",
            "def parse_config_file(path):\n    pass",
            "class HttpClient:\n    pass",
            "unrelated prose about foxes",
        ],
    )
    config = {r.chunk_id for r in search(store, "config", mode="bm25").results}
    assert {ids[0], ids[1]} <= config
    ident = [r.chunk_id for r in search(store, "parseConfigFile", mode="bm25").results]
    assert set(ident[:2]) == {ids[0], ids[1]}
    assert ids[2] in {r.chunk_id for r in search(store, "client", mode="bm25").results}


def test_order_is_deterministic_across_runs(store: Store, add: AddBuffer) -> None:
    # Many identical chunks: every score ties, so only the tie-break orders them.
    ids = add("same", ["alpha beta"] * 12)
    orders = set()
    for _ in range(3):
        for mode in ("bm25", "semantic", "hybrid"):
            res = search(store, "alpha", mode=mode, top_k=12, embedder=HashEmbedder())
            orders.add((mode, tuple(r.chunk_id for r in res.results)))
    assert {o for _, o in orders} == {tuple(ids)}


def test_semantic_threshold_keeps_scores_at_or_above_it(store: Store, add: AddBuffer) -> None:
    add("doc", ["alpha beta gamma", "alpha", "delta epsilon", "zeta"])
    emb = HashEmbedder()
    all_hits = search(store, "alpha", mode="semantic", threshold=-1.0, top_k=10, embedder=emb)
    assert all_hits.count == 4
    cut = sorted(r.score for r in all_hits.results)[1]
    kept = search(store, "alpha", mode="semantic", threshold=cut, top_k=10, embedder=emb)
    assert [r.score for r in kept.results] == [r.score for r in all_hits.results if r.score >= cut]
    assert all(r.semantic_score == r.score and r.bm25_score is None for r in kept.results)
    none = search(store, "alpha", mode="semantic", threshold=1.01, embedder=emb)
    assert none.count == 0


def test_hybrid_reports_per_leg_scores(store: Store, add: AddBuffer) -> None:
    ids = add("doc", ["alpha beta", "gamma delta"])
    emb = HashEmbedder()
    res = search(store, "alpha", mode="hybrid", threshold=0.0, embedder=emb, fusion="rrf")
    first = res.results[0]
    assert first.chunk_id == ids[0]
    assert first.bm25_score is not None and first.semantic_score is not None
    assert first.score == pytest.approx(2 / 61)
    # The default fusion adds the top-rank bonus, in units of 1/(k+1), per leg for rank 1.
    from rlm.search.fusion import TOP_BONUS

    bonus = search(store, "alpha", mode="hybrid", threshold=0.0, embedder=emb, fusion="rrf_bonus")
    assert TOP_BONUS[0] > 0
    assert bonus.results[0].score == pytest.approx(2 / 61 + 2 * TOP_BONUS[0] / 61)
    # The default scales it by each leg's certainty (legs of two hits are sure: x 1 + GAP)
    # and adds each hit's normalised score (1 for a leg's first hit).
    from rlm.search.fusion import GAP, SCORE_WEIGHT

    default = search(store, "alpha", mode="hybrid", threshold=0.0, embedder=emb)
    expected = 2 / 61 + 2 * (1 + GAP) * TOP_BONUS[0] / 61 + 2 * SCORE_WEIGHT / 61
    assert default.results[0].score == pytest.approx(expected)
    other = [r for r in res.results if r.chunk_id == ids[1]]
    assert other and other[0].bm25_score is None


def test_top_k_zero_returns_nothing(store: Store, add: AddBuffer) -> None:
    add("doc", ["alpha"])
    assert search(store, "alpha", top_k=0, embedder=HashEmbedder()).count == 0


def test_result_metadata(store: Store, add: AddBuffer) -> None:
    ids = add("code", ["x = 1", "def run():\n    go()\n"], symbols=[None, "run"])
    res = search(store, "run", mode="bm25", preview_len=3).results
    assert res[0].chunk_id == ids[1]
    assert (res[0].line_start, res[0].line_end, res[0].symbol) == (3, 5, "run")
    assert res[0].source == "src/code" and res[0].buffer_name == "code"
    assert res[0].preview == "def..."


def test_preview_never_splits_a_character() -> None:
    assert preview_text("日本語のテキスト", 3) == "日本語..."
    assert preview_text("ab", 5) == "ab"
    # e + combining acute: the accent stays with its letter.
    assert preview_text("cafe\u0301 au lait", 4) == "caf..."
    assert preview_text("cafe\u0301 au lait", 5) == "cafe\u0301..."
    # An emoji ZWJ sequence is not cut in half.
    assert preview_text("a👩\u200d💻b", 2) == "a..."
    assert preview_text("🦊🦊🦊", 2) == "🦊🦊..."


def test_top_scores_ties_at_the_cut_prefer_lower_ids() -> None:
    import numpy as np

    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1], dtype=np.float32)
    ids = np.array([50, 10, 30, 20, 40], dtype=np.int64)
    assert [i for i, _ in top_scores(scores, ids, 3, None)] == [10, 20, 30]
    assert [i for i, _ in top_scores(scores, ids, 9, 0.5)] == [10, 20, 30, 50]


def test_huge_top_k_is_clamped_not_an_overflow(store: Store, add: AddBuffer) -> None:
    ids = add("doc", ["alpha", "alpha beta"])
    res = search(store, "alpha", top_k=10**20, threshold=0.0, embedder=HashEmbedder())
    assert sorted(r.chunk_id for r in res.results) == sorted(ids)
