"""Search results point inside the chunk; typed multi-query search; older stores."""

from __future__ import annotations

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.sync import embed_buffer
from rlm.search import search
from rlm.search.lexical import lexical_ranking, lexical_ranking_summed, porter_only_ranking
from rlm.store import Store
from tests.search.conftest import AddBuffer

LONG = (
    "Cosmic rays were counted in the hut for several winters.\n"
    "The counters used argon and were calibrated weekly.\n\n"
    "A pigeon nesting inside the waveguide horn caused the noise.\n"
    "The noise was removed once the bird left.\n\n"
    "Results agree with earlier balloon flights over the sea."
)


def _passage_text(store: Store, byte_start: int, byte_end: int) -> str:
    return store.read_buffer_bytes(1, byte_start, byte_end).decode("utf-8")


def test_results_carry_the_best_passage_span_and_exact_text(store: Store, add: AddBuffer) -> None:
    add("notes", ["unrelated filler text about magnets", LONG])
    res = search(store, "pigeon nesting waveguide horn", embedder=HashEmbedder(), preview_len=500)
    top = res.results[0]
    assert top.chunk_id == 2 and top.passage is not None
    # The chunk starts on line 3 (one-line chunk, blank line); the pigeon is line 6.
    assert (top.passage.line_start, top.passage.line_end) == (6, 7)
    assert top.passage.text == _passage_text(store, top.passage.byte_start, top.passage.byte_end)
    assert top.passage.text.startswith("A pigeon nesting")
    data = top.to_json(with_preview=True)["passage"]
    assert data["line_range"] == {"end": 7, "start": 6}
    assert data["content"] == top.passage.text


def test_bm25_mode_picks_the_passage_sharing_most_words(store: Store, add: AddBuffer) -> None:
    add("notes", [LONG])
    res = search(store, "balloon flights", mode="bm25", embedder=HashEmbedder())
    passage = res.results[0].passage
    assert passage is not None and passage.score is None
    assert passage.line_start == 7  # the last paragraph of the one chunk


def test_typed_queries_feed_their_legs_and_fuse(store: Store, add: AddBuffer) -> None:
    ids = add("notes", ["alpha beta", "gamma delta", "epsilon zeta"])
    emb = HashEmbedder()
    res = search(store, queries=["lex: gamma", "vec: epsilon"], mode="hybrid", embedder=emb)
    assert {r.chunk_id for r in res.results[:2]} == {ids[1], ids[2]}
    assert res.queries == ["lex: gamma", "vec: epsilon"] and res.query == "lex: gamma"
    # vec: words join the BM25 query too; in semantic mode the lex: entry feeds
    # nothing: said once, not silently dropped.
    lexical = search(store, queries=["lex: gamma", "vec: epsilon"], mode="bm25", embedder=emb)
    assert {r.chunk_id for r in lexical.results} == {ids[1], ids[2]}
    vector = search(store, queries=["lex: gamma", "vec: epsilon"], mode="semantic", embedder=emb)
    assert vector.results[0].chunk_id == ids[2]
    assert any("feed no semantic leg" in w for w in vector.warnings)


def test_entries_make_one_leg_per_kind(store: Store, add: AddBuffer) -> None:
    """Several entries: the semantic leg is each chunk's best score over the entries,
    the lexical leg the BM25 of their words together (not one leg per entry)."""
    add("notes", ["alpha beta gamma", "gamma delta", "epsilon zeta alpha", "eta theta"])
    emb = HashEmbedder()
    entries = ["alpha gamma", "vec: epsilon zeta", "hyde: theta delta"]

    def scores(mode: str, queries: list[str]) -> dict[int, float]:
        res = search(store, queries=queries, mode=mode, embedder=emb, threshold=-1.0, top_k=10)
        return {r.chunk_id: r.score for r in res.results}

    each = [scores("semantic", [e]) for e in entries]
    together = scores("semantic", entries)
    assert together.keys() == set().union(*each)
    for cid, score in together.items():
        assert score == pytest.approx(max(e[cid] for e in each if cid in e), abs=1e-6)
    joined = scores("bm25", ["alpha gamma\nepsilon zeta\ntheta delta"])
    assert scores("bm25", entries) == pytest.approx(joined)


def test_query_and_queries_combine(store: Store, add: AddBuffer) -> None:
    ids = add("notes", ["alpha beta", "gamma delta"])
    res = search(store, "alpha", queries=["lex: gamma"], embedder=HashEmbedder())
    assert res.queries == ["alpha", "lex: gamma"]
    assert {r.chunk_id for r in res.results} == set(ids)


def test_store_without_passages_works_at_chunk_level_until_embedded(
    store: Store, add: AddBuffer
) -> None:
    add("notes", [LONG])
    store.conn.execute("DELETE FROM passage_embeddings")
    store.conn.commit()
    emb = HashEmbedder()
    before = search(store, "pigeon waveguide", embedder=emb)
    assert before.results and before.results[0].passage is None
    assert any("no passage vectors" in w for w in before.warnings)
    outcome = embed_buffer(store, 1, emb)
    assert outcome.passages > 0 and outcome.replaced == 1
    after = search(store, "pigeon waveguide", embedder=emb)
    assert after.results[0].passage is not None
    assert not any("no passage vectors" in w for w in after.warnings)
    # Up to date now: nothing left to embed.
    assert embed_buffer(store, 1, emb).passages == 0


def test_semantic_score_uses_the_best_passage(store: Store, add: AddBuffer) -> None:
    from rlm.search import vector as vector_mod

    ids = add("notes", [LONG, "pigeon horn noise " * 3])
    emb = HashEmbedder()
    index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
    q = emb.embed_query("A pigeon nesting inside the waveguide horn caused the noise.")
    blended = dict(index.search(q, 10))
    whole = dict(index.search(q, 10, passages=False))
    # The matching sentence lifts its chunk above what the whole-chunk vector says.
    assert blended[ids[0]] > whole[ids[0]]


def test_blend_leans_on_the_best_passage_unless_the_whole_chunk_matches_better() -> None:
    import numpy as np

    from rlm.search.vector import CHUNK_FLOOR, blend

    best = np.array([0.9, 0.4], dtype=np.float32)
    chunk = np.array([0.2, 0.6], dtype=np.float32)
    got = blend(best, chunk, 0.8)
    # A buried fact (best passage above its chunk): the plain blend.
    assert got[0] == pytest.approx(0.8 * 0.9 + 0.2 * 0.2)
    # A chunk relevant as a whole: raised part of the way to its chunk cosine.
    mixed = 0.8 * 0.4 + 0.2 * 0.6
    assert got[1] == pytest.approx(mixed + CHUNK_FLOOR * (0.6 - mixed))
    assert mixed < got[1] < 0.6
    assert 0.0 < CHUNK_FLOOR < 1.0


def test_a_chunk_matching_through_all_its_passages_scores_above_the_blend(
    store: Store, add: AddBuffer
) -> None:
    from rlm.search import vector as vector_mod

    # Three paragraphs, one passage each, each dense in one of the query's words: no
    # passage holds the query, the chunk holds all of it.
    paragraphs = [
        " ".join([word] * 30 + [f"k{i}filler{j}" for j in range(10)]) + "."
        for i, word in enumerate(("argon", "pigeon", "balloon"))
    ]
    ids = add("notes", ["\n\n".join(paragraphs), "unrelated filler text about magnets"])
    emb = HashEmbedder()
    embed_buffer(store, 1, emb)
    index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
    q = emb.embed_query("argon pigeon balloon")
    whole = dict(index.search(q, 10, -1.0, passages=False))[ids[0]]
    best = index.best_passages([ids[0]], [q])[ids[0]][1]
    assert whole > best
    mixed = vector_mod.PASSAGE_WEIGHT * best + (1 - vector_mod.PASSAGE_WEIGHT) * whole
    got = dict(index.search(q, 10, -1.0))[ids[0]]
    assert got == pytest.approx(mixed + vector_mod.CHUNK_FLOOR * (whole - mixed), abs=1e-5)
    assert got > mixed + 1e-4


def test_a_word_found_by_both_indexes_counts_once(store: Store, add: AddBuffer) -> None:
    add("bio", ["the siRNA knock-down of the gene", "plain text about genes and cells"])
    grouped = lexical_ranking(store, "siRNA", 10)
    summed = lexical_ranking_summed(store, "siRNA", 10)
    porter = porter_only_ranking(store, "siRNA", 10)
    assert grouped[0][0] == summed[0][0] == porter[0][0] == 1
    assert grouped[0][1] < summed[0][1]
    # The chunk holds the word itself: its porter score alone, exactly plain FTS5's.
    assert grouped[0][1] == pytest.approx(porter[0][1])


def test_aux_index_still_finds_camel_case_parts_and_cjk(store: Store, add: AddBuffer) -> None:
    ids = add("code", ["def parseConfigFile(path): pass", "東京の天気は晴れです", "nothing"])
    assert [c for c, _ in lexical_ranking(store, "config", 10)] == [ids[0]]
    assert [c for c, _ in lexical_ranking(store, "天気", 10)] == [ids[1]]
    assert porter_only_ranking(store, "config", 10) == []


@pytest.mark.parametrize("entry", ["lex:", "  "])
def test_empty_typed_entry_is_a_clear_error(store: Store, entry: str) -> None:
    from rlm.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError):
        search(store, queries=["fine", entry], embedder=HashEmbedder())


class _PassageCalls(HashEmbedder):
    """The hash embedder, remembering how it was asked for passages."""

    def __init__(self) -> None:
        super().__init__()
        self.passage_calls: list[tuple[list[str], bool]] = []

    def embed_passages(self, texts, budget=None, *, progress=None, query=False, whole=True):  # type: ignore[no-untyped-def]
        self.passage_calls.append((list(texts), query))
        return super().embed_passages(texts, budget, progress=progress, query=query, whole=whole)


def test_long_query_chunk_term_is_the_mean_of_its_whole_and_pooled_cosines() -> None:
    import numpy as np

    from rlm.search.vector import long_query_chunk_vector

    rng = np.random.default_rng(7)
    whole, pooled, chunk = (rng.normal(size=8).astype(np.float32) for _ in range(3))
    chunk /= np.linalg.norm(chunk)
    cos = [float(v @ chunk / np.linalg.norm(v)) for v in (whole, pooled)]
    assert float(long_query_chunk_vector(whole, pooled) @ chunk) == pytest.approx(
        sum(cos) / 2, abs=1e-6
    )


def test_a_long_query_scores_chunks_with_its_pooled_passages_too(
    store: Store, add: AddBuffer
) -> None:
    from rlm.search import vector as vector_mod

    add("notes", ["alpha beta gamma", LONG, "the hut was cold in winter"])
    emb = _PassageCalls()
    embed_buffer(store, 1, emb)
    emb.passage_calls.clear()
    long_query = " ".join(
        f"Sentence {i} asks about {word} and the weekly calibration of the counters."
        for i, word in enumerate(["argon", "pigeons", "winter", "balloons", "magnets"])
    )
    assert vector_mod.is_long_query(long_query)
    got = search(store, long_query, mode="semantic", embedder=emb, threshold=-1.0)
    assert emb.passage_calls == [([long_query], True)]  # cut and pooled as a query
    index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
    q = emb.embed_query(long_query)
    pooled = emb.embed_passages([long_query], query=True).vectors[0]
    cq = vector_mod.long_query_chunk_vector(q, pooled)
    expected = index.search(
        q, 10, -1.0, weight=vector_mod.passage_weight(long_query), chunk_query=cq
    )
    assert [(r.chunk_id, pytest.approx(r.score, abs=1e-6)) for r in got.results] == expected
    plain = index.search(q, 10, -1.0, weight=vector_mod.passage_weight(long_query))
    assert [s for _, s in plain] != [s for _, s in expected]  # the chunk term did change
    emb.passage_calls.clear()
    search(store, "pigeon in the horn", mode="semantic", embedder=emb)
    assert emb.passage_calls == []  # a short query is embedded once


def test_long_queries_lean_on_the_chunk_vector() -> None:
    from rlm.search import vector as vector_mod

    long_query = " ".join(f"w{i}" for i in range(vector_mod.LONG_QUERY_WORDS + 1))
    assert vector_mod.passage_weight(long_query) == vector_mod.LONG_QUERY_PASSAGE_WEIGHT
    assert vector_mod.passage_weight("where is the pigeon") == vector_mod.PASSAGE_WEIGHT
    assert vector_mod.LONG_QUERY_PASSAGE_WEIGHT < vector_mod.PASSAGE_WEIGHT
