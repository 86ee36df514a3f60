"""FTS5 query building: every user query is safe, and means what it says."""

from __future__ import annotations

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.search import search
from rlm.search.lexical import lexical_ranking
from rlm.search.query import porter_match, porter_terms
from rlm.store import Store
from tests.search.conftest import AddBuffer

HOSTILE = [
    '"',
    '""',
    '"unterminated',
    "'",
    "(",
    ")",
    "()",
    "(fox",
    "fox)",
    "*",
    "fox*",
    "*fox",
    "NEAR",
    "NEAR(fox dog)",
    "NEAR(fox dog, 2)",
    "AND",
    "OR",
    "NOT",
    "fox AND",
    "AND fox",
    "fox OR OR dog",
    "fox NOT dog",
    "-",
    "- -",
    "-fox",
    "fox -dog",
    "C++",
    "c#",
    "^fox",
    "content:fox",
    "{content}: fox",
    "fox:",
    ":",
    "+",
    "a+b=c",
    "tool?",
    "?!.,;",
    "“quoted” ‘text’ — dash … ellipsis",
    "«fox»",
    "\u200b",
    "\u0301",
    "e\u0301",
    "fox\x00dog",
    "\x00",
    "\x01\x02",
    "\t\nfox\r\n",
    "___",
    "__init__",
    "select * from chunks; drop table chunks; --",
    "'; DELETE FROM chunks; --",
    "日本語",
    "東京 AND 大阪",
    "🦊",
    "👩\u200d💻",
    "x" * 5000,
    " ".join(["fox"] * 300),
    "%",
    "%fox%",
    "\\",
    "fox\\",
    "[fox]",
    "$fox",
    "#",
    "@",
]


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("mode", ["bm25", "hybrid", "semantic"])
def test_hostile_queries_never_raise(store: Store, add: AddBuffer, query: str, mode: str) -> None:
    add("doc", ["The quick brown fox jumps over the lazy dog.", "C++ and c# tool? yes"])
    response = search(store, query, mode=mode, embedder=HashEmbedder())
    assert response.mode == mode
    assert all(r.chunk_id > 0 for r in response.results)
    assert store.chunk_count_total() == 2  # nothing was injected


def test_rlm_rs_quoting_is_kept() -> None:
    assert porter_match("CLI tool?") == '"CLI" OR "tool?"'
    assert porter_match('say "hi"') == '"say" OR """hi"""'
    assert porter_match("NEAR(a b)") == '"NEAR(a" OR "b)"'


def test_pieces_without_word_characters_are_dropped() -> None:
    assert porter_match('- * ( ) "') is None
    assert porter_match("fox - *") == '"fox"'
    assert porter_match("fox\x00dog") == '"foxdog"'


def test_camel_case_adds_the_phrase_of_its_parts() -> None:
    assert porter_match("parseConfigFile") == '"parseConfigFile" OR "parse config file"'


def test_operators_are_literals(store: Store, add: AddBuffer) -> None:
    ids = add("doc", ["fox only here", "dog only here", "nothing relevant"])
    hits = [c for c, _ in lexical_ranking(store, "fox AND dog", 10)]
    # AND is a word, not an operator: "fox" or "dog" matches (rlm-rs OR semantics).
    assert set(hits) == {ids[0], ids[1]}
    assert [c for c, _ in lexical_ranking(store, "NOT fox", 10)] == [ids[0]]
    assert lexical_ranking(store, "- * ()", 10) == []


def test_cplusplus_matches_token_c(store: Store, add: AddBuffer) -> None:
    ids = add("doc", ["written in C++ mostly", "written in rust"])
    assert [c for c, _ in lexical_ranking(store, "C++", 10)] == [ids[0]]


def test_weighted_term_sum_equals_the_or_query(store: Store, add: AddBuffer) -> None:
    words = ["alpha", "beta", "gamma", "delta", "eps"]
    add("a", [" ".join(words[: i + 1]) + f" filler{i}" for i in range(5)])
    add("b", ["alpha alpha beta", "gamma zeta"])
    add("c", [f"other{i}" for i in range(10)])  # no term in half the chunks: nothing pruned
    query = "alpha beta alpha gamma zeta nothing"
    terms = porter_terms(query)
    expected = store.bm25(" OR ".join(terms), 50)
    weighted = [(t, float(terms.count(t))) for t in dict.fromkeys(terms)]
    got = store.bm25_sum(weighted, 50)
    assert [c for c, _ in got] == [c for c, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected])
    # Buffer filter and the batched path (> 400 distinct terms) agree too.
    many = weighted + [(f'"unused{i}"', 1.0) for i in range(450)]
    batched = store.bm25_sum(many, 50)
    assert [c for c, _ in batched] == [c for c, _ in got]
    assert [s for _, s in batched] == pytest.approx([s for _, s in got])
    assert [c for c, _ in store.bm25_sum(weighted, 50, [2])] == [
        c for c, _ in store.bm25(" OR ".join(terms), 50, [2])
    ]


def test_long_queries_skip_terms_with_clamped_idf(store: Store, add: AddBuffer) -> None:
    """Terms in half the chunks or more add ~1e-6 to BM25; long queries skip them."""
    texts = [f"the report {w} of the day" for w in ("alpha", "beta", "gamma", "delta")]
    texts += ["the the the", "the report", "zeta and the report"]
    ids = add("doc", texts)
    query = "the report about alpha and beta of the zeta day"  # >= 8 distinct terms
    terms = porter_terms(query)
    weighted = [(t, float(terms.count(t))) for t in dict.fromkeys(terms)]
    assert len(weighted) >= 8
    full = store.bm25(" OR ".join(terms), 50)
    got = store.bm25_sum(weighted, 50)
    # "the", "report", "of", "day" are in >= half of the 7 chunks: skipped. What is left
    # ranks exactly as the full OR query ranks the chunks that match informative terms.
    informative = {ids[0], ids[1], ids[6]}  # alpha, beta, zeta/and
    assert [c for c, _ in got] == [c for c, _ in full if c in informative]
    assert {c for c, _ in full} - informative  # the full query also had near-zero rows
    # A query made only of such terms keeps them: "the" still finds "the".
    common = ["the", "report", "of", "day", "the report", "of the", "the day", "reports"]
    found = store.bm25_sum([(f'"{t}"', 1.0) for t in common], 50)
    assert {c for c, _ in found} == set(ids)
