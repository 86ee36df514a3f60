"""trec_eval metric definitions, checked against hand-computed values."""

from __future__ import annotations

import math

import pytest

from rlm.search.metrics import evaluate, mrr_at, ndcg_at, recall_at


def test_ndcg_binary_hand_computed() -> None:
    judged = {"a": 1, "b": 1}
    # Relevant docs at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at(["x", "a", "y", "b"], judged, 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.6509209, abs=1e-6)


def test_ndcg_graded_gains_are_linear_like_trec_eval() -> None:
    judged = {"a": 2, "b": 1, "c": 0}
    # Ranking b, a: DCG = 1 + 2/log2(3); IDCG = 2 + 1/log2(3).
    got = ndcg_at(["b", "a", "c"], judged, 10)
    assert got == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert got == pytest.approx(0.8597186, abs=1e-6)
    assert ndcg_at(["a", "b"], judged, 10) == pytest.approx(1.0)


def test_ndcg_cut_ignores_ranks_after_k_and_counts_duplicates_once() -> None:
    judged = {"a": 1}
    assert ndcg_at([f"d{i}" for i in range(10)] + ["a"], judged, 10) == 0.0
    assert ndcg_at(["a", "a"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_ideal_uses_all_judged_documents() -> None:
    # 12 relevant docs, ranking finds exactly 10 of them in the top 10 -> 1.0.
    judged = {f"r{i}": 1 for i in range(12)}
    assert ndcg_at([f"r{i}" for i in range(10)], judged, 10) == pytest.approx(1.0)
    assert ndcg_at([], judged, 10) == 0.0
    assert ndcg_at(["x"], {"x": 0}, 10) == 0.0  # nothing relevant: 0, not a division error


def test_recall_and_mrr() -> None:
    judged = {"a": 1, "b": 1, "c": 1, "z": 0}
    ranking = ["z", "x", "a"] + [f"n{i}" for i in range(20)] + ["b"]
    assert recall_at(ranking, judged, 10) == pytest.approx(1 / 3)
    assert recall_at(ranking, judged, 100) == pytest.approx(2 / 3)
    assert mrr_at(ranking, judged, 10) == pytest.approx(1 / 3)
    assert mrr_at([f"n{i}" for i in range(10)] + ["a"], judged, 10) == 0.0


def test_evaluate_averages_over_qrels_queries() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    runs = {"q1": ["a"], "q3": ["b"]}  # q2 missing: scores 0; q3 not judged: ignored
    result = evaluate(runs, qrels)
    assert result["ndcg@10"] == pytest.approx(0.5)
    assert result["recall@100"] == pytest.approx(0.5)
    assert result["mrr@10"] == pytest.approx(0.5)
