"""Typed queries: lex:, vec:, hyde:, and plain entries feeding both legs."""

from __future__ import annotations

import pytest

from rlm.errors import InvalidArgumentError
from rlm.search.queries import HYDE_LEGS, VEC_LEGS, parse_queries, parse_query


def test_prefixes_choose_the_legs() -> None:
    specs = parse_queries(["retry logic", "lex: backoff 429", "VEC:how to wait", "hyde: It waits."])
    assert [s.kind for s in specs] == ["", "lex", "vec", "hyde"]
    assert [s.text for s in specs] == ["retry logic", "backoff 429", "how to wait", "It waits."]
    assert specs[0].legs == ("semantic", "bm25")
    assert specs[1].legs == ("bm25",)
    assert specs[2].legs == VEC_LEGS == ("semantic", "bm25")
    assert specs[3].legs == HYDE_LEGS


def test_other_colons_are_plain_text() -> None:
    spec = parse_query("error: connection refused")
    assert spec.kind == "" and spec.text == "error: connection refused"


@pytest.mark.parametrize("entry", ["", "   ", "lex:", "hyde:   "])
def test_empty_entries_are_rejected(entry: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_query(entry)


def test_at_least_one_query() -> None:
    with pytest.raises(InvalidArgumentError):
        parse_queries([])


def test_a_question_ends_with_a_question_mark_or_starts_with_an_interrogative() -> None:
    from rlm.search.queries import is_question

    assert is_question("Which committee approved the funding?")
    assert is_question("  what's the retry limit")
    assert is_question("HOW does the parser recover")
    assert is_question("the parser recovers how?  ")
    assert not is_question("parser recovery retry limit")
    assert not is_question("whatever the parser does")  # a word boundary, not a prefix
    assert not is_question("Somewhere a claim is made.")
