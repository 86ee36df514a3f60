"""Fusion: RRF, RRF with a top-rank bonus, normalised scores; deterministic ties."""

from __future__ import annotations

import pytest

from rlm.search.fusion import GAP, SCORE_WEIGHT, SUPPORT, Leg, certainty, fuse, rrf


def _ids(legs: list[Leg], method: str, k: float = 60) -> list[int]:
    return [f.chunk_id for f in fuse(legs, method, k)]


def test_plain_rrf_buries_one_legs_first_hit_and_the_bonus_keeps_it() -> None:
    # Chunk 1 is first in the vector leg and absent from BM25; chunks 2 and 3
    # sit around rank 5 in both legs.
    vector = Leg([(1, 0.9), (6, 0.8), (7, 0.7), (8, 0.6), (2, 0.5), (3, 0.4)])
    lexical = Leg([(5, 9.0), (9, 8.0), (10, 7.0), (11, 6.0), (3, 5.0), (2, 4.0)])
    assert _ids([vector, lexical], "rrf")[:2] == [2, 3]
    assert _ids([vector, lexical], "rrf_bonus")[:2] == [1, 5]


def test_rrf_matches_the_formula() -> None:
    fused = fuse([Leg([(7, 0.0), (8, 0.0)]), Leg([(8, 0.0)])], "rrf", 60)
    assert fused[0].chunk_id == 8
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert [f.chunk_id for f in rrf([[7, 8], [8]])] == [8, 7]


def test_bonus_scales_with_k_and_weight() -> None:
    fused = fuse([Leg([(1, 0.0)], weight=2.0)], "rrf_bonus", 10, bonus=(3.0,))
    assert fused[0].score == pytest.approx(2 * (1 / 11 + 3 / 11))
    # Ranks past the bonus list are plain RRF.
    fused = fuse([Leg([(1, 0.0), (2, 0.0)])], "rrf_bonus", 10, bonus=(3.0,))
    assert fused[1].score == pytest.approx(1 / 12)


def test_score_fusion_normalises_each_leg() -> None:
    a = Leg([(1, 100.0), (2, 50.0), (3, 0.0)])
    b = Leg([(3, 0.9), (2, 0.8), (1, 0.1)])
    fused = {f.chunk_id: f.score for f in fuse([a, b], "score")}
    assert fused[1] == pytest.approx(1.0)
    assert fused[2] == pytest.approx(0.5 + 0.875)
    assert fused[3] == pytest.approx(1.0)


def test_ties_break_by_best_rank_then_id() -> None:
    fused = fuse([Leg([(9, 0.0), (4, 0.0)]), Leg([(4, 0.0), (9, 0.0)])], "rrf")
    assert [f.chunk_id for f in fused] == [4, 9]


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError):
        fuse([], "rrf", -1)
    with pytest.raises(ValueError):
        fuse([], "borda")


def test_certainty_is_how_far_the_first_score_stands_out() -> None:
    falling = [(i, 10.0 - i) for i in range(12)]  # s1 - s2 = 1, s1 - s10 = 9
    assert certainty(falling) == pytest.approx(1 / 9)
    assert certainty([(1, 50.0), *[(i, 1.0) for i in range(2, 12)]]) == 1.0
    assert certainty([(i, 0.4) for i in range(12)]) == 0.0  # a plateau
    assert certainty([(1, 0.2), (2, 0.1)]) == 1.0  # nothing else competes
    # Scale free: BM25 units and cosines alike.
    assert certainty([(c, 7 * s) for c, s in falling]) == pytest.approx(certainty(falling))


def test_the_surer_legs_first_hit_goes_first() -> None:
    # Both legs put a different chunk first; only the vector leg's stands out.
    vector = Leg([(9, 0.9), *[(i, 0.5 - i / 100) for i in range(20, 30)]])
    lexical = Leg([(1, 10.0), *[(i, 9.99 - (i - 40) / 100) for i in range(40, 50)]])
    assert _ids([vector, lexical], "rrf_bonus")[:2] == [1, 9]  # a tie, broken by id
    assert _ids([vector, lexical], "rrf_certainty")[:2] == [9, 1]
    assert _ids([lexical, vector], "rrf_certainty")[:2] == [9, 1]
    fused = {f.chunk_id: f.score for f in fuse([vector, lexical], "rrf_certainty", 60)}
    sure = certainty(vector.hits)
    assert sure > 0.8 and certainty(lexical.hits) < 0.2
    assert fused[9] == pytest.approx((1 + 1 - GAP + 2 * GAP * sure + SCORE_WEIGHT) / 61)


def test_scores_count_against_the_legs_top_20() -> None:
    # Rank 2 is nearly as good as rank 1; rank 3 is far below; rank 25 is past the top 20.
    hits = [(1, 10.0), (2, 9.9), (3, 2.0), *[(i, 1.0 - i / 1000) for i in range(4, 30)]]
    sure = {f.chunk_id: f.score for f in fuse([Leg(hits)], "rrf_certainty", 60)}
    plain = {f.chunk_id: f.score for f in fuse([Leg(hits)], "rrf_bonus", 60)}
    ref = hits[19][1]

    def extra(cid: int) -> float:
        return (sure[cid] - plain[cid]) * 61 / SCORE_WEIGHT

    assert extra(2) == pytest.approx((9.9 - ref) / (10.0 - ref))
    assert extra(3) == pytest.approx((2.0 - ref) / (10.0 - ref))
    assert extra(25) == 0.0  # below the leg's 20th score: clipped
    assert extra(2) > 0.95 and extra(3) < 0.2


def _question_legs(checked: bool) -> list[Leg]:
    """A short question: the vector leg has the answer (7) second; BM25's first two (1, 2)
    share a rare word with the question and are nowhere in the vector leg."""
    vector = Leg([(3, 0.46), (7, 0.45), *[(i, 0.44 - i / 1000) for i in range(20, 40)]])
    lexical = Leg(
        [(1, 11.0), (2, 10.8), *[(i, 8.0 - i / 100) for i in range(40, 60)], (3, 2.0)],
        checked=checked,
    )
    return [vector, lexical]


def test_a_checked_legs_unbacked_hit_gives_way() -> None:
    assert _ids(_question_legs(checked=False), "rrf_certainty")[:4] == [3, 1, 2, 7]
    assert _ids(_question_legs(checked=True), "rrf_certainty")[:4] == [3, 7, 1, 2]
    # Only rrf_certainty reads the flag.
    assert _ids(_question_legs(checked=True), "rrf_bonus") == _ids(
        _question_legs(checked=False), "rrf_bonus"
    )


def test_support_scales_the_bonus_and_score_term_not_the_rank_term() -> None:
    unchecked = {f.chunk_id: f.score for f in fuse(_question_legs(False), "rrf_certainty", 60)}
    checked = {f.chunk_id: f.score for f in fuse(_question_legs(True), "rrf_certainty", 60)}
    plain = {f.chunk_id: f.score for f in fuse(_question_legs(False), "rrf", 60)}
    # Chunk 1: BM25 rank 1, no vector support: its extra over plain RRF shrinks to 1 - SUPPORT.
    assert checked[1] - plain[1] == pytest.approx((1 - SUPPORT) * (unchecked[1] - plain[1]))
    # Chunk 3: the vector leg's first (normalised 1) backs its BM25 hit fully.
    assert checked[3] == pytest.approx(unchecked[3])
    # The vector leg itself is not checked: chunk 7 scores the same either way.
    assert checked[7] == pytest.approx(unchecked[7])
