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
