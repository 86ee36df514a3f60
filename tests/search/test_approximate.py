"""The sign-code first pass: exact results when it keeps every row, a lower bound
that still finds an exact match when it keeps few."""

from __future__ import annotations

import numpy as np
import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.search import SearchEngine
from rlm.search import vector as vector_mod
from rlm.search.passage_file import sign_codes
from rlm.store import Store
from tests.search.conftest import AddBuffer

TEXTS = [
    f"Report {i}: the {w} counter near the {v} was read at dawn.\n\nIt showed {i * 7} counts."
    for i, (w, v) in enumerate(
        [(w, v) for w in ("argon", "neon", "xenon", "helium") for v in ("hut", "mast", "pier")]
    )
]
QUERIES = ["argon counter at the pier", "xenon reading", "counts at dawn near the mast"]
EMB = HashEmbedder()


def _index(store: Store) -> vector_mod.VectorIndex:
    return vector_mod.vector_index(store, EMB.fingerprint, EMB.dimensions)


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(vector_mod, "APPROX_MIN_ROWS", 0)
    return monkeypatch


def test_small_stores_stay_exact(store: Store, add: AddBuffer) -> None:
    add("notes", TEXTS)
    assert not _index(store).approximate


def test_keeping_every_row_gives_the_exact_ranking(
    store: Store, add: AddBuffer, forced: pytest.MonkeyPatch
) -> None:
    add("notes", TEXTS)
    index = _index(store)
    assert index.approximate and index.passages is not None
    for text in QUERIES:
        q = EMB.embed_query(text)
        approx, exact = index.search(q, 10), index.search(q, 10, exact=True)
        assert [c for c, _ in approx] == [c for c, _ in exact]
        assert [s for _, s in approx] == pytest.approx([s for _, s in exact], abs=1e-6)
    engine = SearchEngine(store, EMB)
    for mode in ("hybrid", "semantic"):
        got = [r.chunk_id for r in engine.search(QUERIES[0], mode=mode).results]
        forced.setattr(vector_mod, "APPROX_MIN_ROWS", 1 << 62)
        want = [r.chunk_id for r in engine.search(QUERIES[0], mode=mode).results]
        forced.setattr(vector_mod, "APPROX_MIN_ROWS", 0)
        assert got == want


def test_few_candidates_still_find_an_exact_match(
    store: Store, add: AddBuffer, forced: pytest.MonkeyPatch
) -> None:
    ids = add("notes", TEXTS)
    forced.setattr(vector_mod, "PASSAGE_CANDIDATES", 2)
    forced.setattr(vector_mod, "PASSAGES_PER_HIT", 0)
    index = _index(store)
    p = index.passages
    assert p is not None and p.size > 4
    row = p.size // 2
    q = np.array(p.matrix[row])  # a passage's own vector: Hamming distance 0
    approx = index.search(q, 10)
    assert approx[0][0] == int(p.chunk_ids[row]) == index.search(q, 10, exact=True)[0][0]
    assert 0 < len(approx) < len(ids)  # only the candidates' chunks
    exact = dict(index.search(q, len(ids), exact=True))
    for cid, score in approx:  # a best passage among candidates: never above the exact
        assert score <= exact[cid] + 1e-6


def test_filtered_searches_stay_exact(
    store: Store, add: AddBuffer, forced: pytest.MonkeyPatch
) -> None:
    add("notes", TEXTS[:6])
    add("other", TEXTS[6:])
    forced.setattr(vector_mod, "PASSAGE_CANDIDATES", 1)
    forced.setattr(vector_mod, "PASSAGES_PER_HIT", 0)
    other = store.find_buffer_by_name("other")
    assert other is not None
    index = _index(store)
    q = EMB.embed_query(QUERIES[0])
    assert index.search(q, 5, None, [other.id]) == index.search(q, 5, None, [other.id], exact=True)


def test_sign_codes_pack_one_bit_a_dimension() -> None:
    m = np.array([[1.0, -1.0] * 40, [-1.0, 1.0] * 40], dtype=np.float32)
    codes = sign_codes(m, np.zeros(80, dtype=np.float32))
    assert codes.shape == (2, 2)
    assert int(codes[0, 0]) == int("01" * 32, 2)  # bit i = dimension i > centre
    assert vector_mod.hamming(codes, codes[:, 0]).tolist() == [0, 80]


def test_int8_rescoring_ranks_as_the_float32_rows(
    store: Store, add: AddBuffer, forced: pytest.MonkeyPatch
) -> None:
    """Passages are stored as int8, so the sidecar's int8 copy gives the float32 row's
    cosines back (to rounding) and the same ranking, with few candidates too."""
    add("notes", TEXTS)
    forced.setattr(vector_mod, "PASSAGE_CANDIDATES", 8)
    forced.setattr(vector_mod, "PASSAGES_PER_HIT", 0)
    index = _index(store)
    p = index.passages
    assert p is not None and p.matrix8 is not None and p.scales is not None
    assert p.matrix8.dtype == np.int8 and p.matrix8.shape == p.matrix.shape
    assert int(np.abs(p.matrix8.astype(np.int16)).max(axis=1).min()) == 127
    rows = np.arange(p.size, dtype=np.int64)
    for text in QUERIES:
        q = EMB.embed_query(text)
        q = q / np.linalg.norm(q)
        assert np.allclose(p.dots(rows, q), p.matrix @ q, atol=1e-6, rtol=0)
    with_int8 = [index.search(EMB.embed_query(t), 10) for t in QUERIES]
    forced.setattr(p, "matrix8", None)  # the float32 gather (a store without the copy)
    with_float = [index.search(EMB.embed_query(t), 10) for t in QUERIES]
    for a, b in zip(with_int8, with_float, strict=True):
        assert [c for c, _ in a] == [c for c, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-6)


def test_int8_rows_give_back_quantised_integers() -> None:
    from rlm.embedding.sync import quantise
    from rlm.search.passage_file import int8_rows

    rng = np.random.default_rng(4)
    raw = rng.standard_normal((50, 384)).astype(np.float32)
    stored = np.stack([np.frombuffer(quantise(v), dtype=np.int8) for v in raw])
    unit = stored.astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    unit = np.vstack([unit, np.zeros((1, 384), dtype=np.float32)])  # a zero row stays zero
    q8, scales = int8_rows(unit)
    assert (q8[:50] == stored).all() and not q8[50].any() and scales[50] == 0
    assert np.allclose(q8 * scales[:, None], unit, atol=1e-7, rtol=0)


@pytest.mark.parametrize("count", [1, 7, 500, 4999, 5000])
def test_sampled_cut_is_the_full_histogram_cut(count: int) -> None:
    rng = np.random.default_rng(count)
    for dist in (
        rng.binomial(384, 0.3, 5000).astype(np.uint16),
        np.full(5000, 9, dtype=np.uint16),  # every row tied
        np.r_[np.zeros(4990), np.full(10, 384)].astype(np.uint16),
    ):
        cumulative = np.cumsum(np.bincount(dist, minlength=385))
        assert vector_mod._cut(dist, count, 384) == int(np.searchsorted(cumulative, count))


def test_the_lexical_leg_overlaps_the_first_pass_with_the_same_ranking(
    store: Store, add: AddBuffer, forced: pytest.MonkeyPatch
) -> None:
    import threading

    from rlm.search import engine as engine_mod

    add("notes", TEXTS)
    engine = SearchEngine(store, EMB)
    seen: list[str] = []
    leg = SearchEngine.lexical_leg

    def lexical(self: SearchEngine, *args: object) -> list[tuple[int, float]]:
        seen.append(threading.current_thread().name)
        return leg(self, *args)  # type: ignore[arg-type]

    forced.setattr(SearchEngine, "lexical_leg", lexical)
    for text in QUERIES:
        forced.setattr(engine_mod, "OVERLAP_LEGS", True)
        together = engine.rank(text, ["hybrid", "bm25", "semantic"])
        forced.setattr(engine_mod, "OVERLAP_LEGS", False)
        in_turn = engine.rank(text, ["hybrid", "bm25", "semantic"])
        assert together == in_turn
    assert seen[0].startswith("rlm-lexical") and seen[1] == threading.current_thread().name


def test_a_failing_vector_leg_waits_for_the_lexical_worker(
    store: Store, add: AddBuffer, forced: pytest.MonkeyPatch
) -> None:
    import threading

    add("notes", TEXTS)
    engine = SearchEngine(store, EMB)
    engine.rank(QUERIES[0], ["hybrid"])  # maps the index first
    done = threading.Event()
    leg = SearchEngine.lexical_leg

    def slow(self: SearchEngine, *args: object) -> list[tuple[int, float]]:
        threading.Event().wait(0.2)
        out = leg(self, *args)  # type: ignore[arg-type]
        done.set()
        return out

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("vector leg failed")

    forced.setattr(SearchEngine, "lexical_leg", slow)
    forced.setattr(vector_mod.VectorIndex, "search_max", boom)
    with pytest.raises(RuntimeError, match="vector leg failed"):
        engine.rank(QUERIES[0], ["hybrid"])
    assert done.is_set()  # the worker was off the connection before the error surfaced
