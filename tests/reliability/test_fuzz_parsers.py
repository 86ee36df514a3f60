"""Hypothesis fuzzing of the two parsers user text reaches: FTS5 queries and findings.

* Any string typed as a search query (FTS5 operators, quotes, NUL and control
  characters, unbalanced parentheses, CJK, camelCase...) goes through
  ``rlm search --mode bm25`` / ``--mode hybrid`` and never becomes an FTS5
  syntax error: exit 0 and a JSON result list, every hit a real chunk.
* Any text handed to ``aggregate`` as findings (random JSON values, well-formed
  items, NDJSON, Markdown fences, truncated documents) either parses or raises
  ``InvalidFindingsError``; never another exception. Well-formed items always
  parse, whichever of the accepted shapes carries them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlm.agents.findings import parse_findings
from rlm.errors import InvalidFindingsError

EXAMPLES = 300
COUNTS: dict[str, int] = {}
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FTS_NOISE = st.sampled_from(
    ['"', "'", "*", "^", "-", "+", "(", ")", ":", "NEAR", "AND", "OR", "NOT", "{", "}", "\x00",
     "\x1f", "\x7f", "\\", "NEAR(a b, 2)", "col:word", "日本語", "parseConfig", "x*", '""']
)  # fmt: skip
QUERIES = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(FTS_NOISE, st.text(max_size=6)), max_size=8).map(" ".join),
    st.lists(st.one_of(FTS_NOISE, st.text(max_size=6)), max_size=8).map("".join),
)


@pytest.fixture
def search_db(isolated_env: Path, hash_embedder: None, cli: Callable[..., Any]) -> Path:
    assert cli("init").code == 0
    text = "parseConfig reads 日本語 and naïve café text. AND OR NOT NEAR\n\n" * 30
    assert cli("add-buffer", "doc", text, "--chunk-size", "300", "--overlap", "0").code == 0
    listed = cli("chunk", "list", "doc", "--format", "json").json()
    return Path(json.dumps([c["id"] for c in listed["chunks"]]))


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_any_query_is_safe_fts5(mode: str, search_db: Path, cli: Callable[..., Any]) -> None:
    chunk_ids = set(json.loads(str(search_db)))
    hits = 0

    @SETTINGS
    @given(query=QUERIES)
    def check(query: str) -> None:
        nonlocal hits
        if query.startswith("-") or "\x00" in query:
            args = ["search", "--mode", mode, "--format", "json", "--", query]
        else:
            args = ["search", query, "--mode", mode, "--format", "json"]
        if "\x00" in query:
            query = query.replace("\x00", "")  # argv cannot hold NUL; the library can
            args[-1] = query
        result = cli(*args)
        COUNTS[f"query-{mode}"] = COUNTS.get(f"query-{mode}", 0) + 1
        if not query.strip():
            assert result.code == 2, (query, result.out)
            assert result.json()["error"]["type"] == "InvalidArgument"
            return
        assert result.code == 0, (query, result.out, result.err)
        data = result.json()
        assert {r["chunk_id"] for r in data["results"]} <= chunk_ids
        hits += bool(data["results"])

    check()
    # Sanity: the generator does hit real words sometimes, and plain words always work.
    plain = cli("search", "café parseConfig", "--mode", mode, "--format", "json").json()
    assert plain["results"]
    print(f"{COUNTS[f'query-{mode}']} queries in {mode}, {hits} with results")


def test_lexical_ranking_takes_nul_and_controls(search_db: Path) -> None:
    """What argv cannot carry (NUL) reaches the library from MCP and Python callers."""
    from rlm.search.lexical import lexical_ranking
    from rlm.store import Store

    with Store.open() as store:
        for query in ["\x00", 'a\x00"b', "café\x00parseConfig", "\x01\x02 NEAR(", '"\x00"']:
            assert isinstance(lexical_ranking(store, query, 5), list)
        assert lexical_ranking(store, "caf\x00é", 5) == lexical_ranking(store, "café", 5)


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
ITEM_KEYS = st.sampled_from(
    ["chunk_id", "relevance", "findings", "summary", "follow_up", "text", "finding",
     "evidence", "quote", "quotes", "items", "results", "description", "claim"]
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.one_of(ITEM_KEYS, st.text()), kids)
    ),
    max_leaves=25,
)
FINDING = st.one_of(
    st.text(min_size=1, max_size=30),
    st.fixed_dictionaries(
        {"text": st.text(min_size=1, max_size=30)},
        optional={"evidence": st.text(max_size=20), "chunk_id": st.integers(1, 10**6)},
    ),
)
GOOD_ITEM = st.fixed_dictionaries(
    {
        "chunk_id": st.integers(min_value=1, max_value=2**31),
        "relevance": st.sampled_from(["high", "medium", "low", "none", "HIGH"]),
        "findings": st.lists(FINDING, max_size=3),
    },
    optional={"summary": st.one_of(st.none(), st.text(max_size=20))},
)


def _render(value: Any, shape: str, ascii_only: bool) -> str:
    dumps = lambda v: json.dumps(v, ensure_ascii=ascii_only)  # noqa: E731
    if shape == "ndjson" and isinstance(value, list) and value:
        return "\n".join(dumps(v) for v in value)
    if shape == "fenced":
        return "```json\n" + dumps(value) + "\n```"
    if shape == "wrapped":
        return dumps({"items": value})
    return dumps(value)


@SETTINGS
@given(
    value=JSON_VALUES,
    shape=st.sampled_from(["plain", "ndjson", "fenced", "wrapped"]),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
    skip=st.booleans(),
)
def test_findings_parser_raises_only_its_own_error(
    value: Any, shape: str, cut: int | None, skip: bool
) -> None:
    text = _render(value, shape, ascii_only=False)
    if cut is not None:
        text = text[:cut]
    COUNTS["findings-random"] = COUNTS.get("findings-random", 0) + 1
    try:
        items, problems = parse_findings(text, skip_invalid=skip)
    except InvalidFindingsError:
        return
    assert all(isinstance(p, str) for p in problems)
    assert all(isinstance(i.chunk_id, int) for i in items)


@SETTINGS
@given(
    items=st.lists(GOOD_ITEM, min_size=1, max_size=5),
    shape=st.sampled_from(["plain", "ndjson", "fenced", "wrapped"]),
    ascii_only=st.booleans(),
)
def test_well_formed_findings_always_parse(
    items: list[dict[str, Any]], shape: str, ascii_only: bool
) -> None:
    COUNTS["findings-good"] = COUNTS.get("findings-good", 0) + 1
    parsed, problems = parse_findings(_render(items, shape, ascii_only))
    assert problems == []
    assert [p.chunk_id for p in parsed] == [i["chunk_id"] for i in items]
    assert [p.relevance.lower() for p in parsed] == [i["relevance"].lower() for i in items]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_ndjson_findings_may_hold_unicode_line_separators(separator: str) -> None:
    """NDJSON is split on "\\n" only: these are legal, unescaped, inside JSON strings.

    ``rlm ... --format ndjson`` itself writes them raw (``ensure_ascii=False``),
    and models do emit U+2028. ``str.splitlines`` breaks such a line in two.
    """
    items = [
        {"chunk_id": 1, "relevance": "high", "findings": [f"before{separator}after"]},
        {"chunk_id": 2, "relevance": "low", "findings": ["plain"]},
    ]
    text = "\n".join(json.dumps(item, ensure_ascii=False) for item in items)
    parsed, problems = parse_findings(text)
    assert problems == []
    assert [p.chunk_id for p in parsed] == [1, 2]
    assert parsed[0].findings == [f"before{separator}after"]


def test_report_fuzz_counts() -> None:
    """Runs last in this module: prints how many examples the fuzzers above exercised."""
    print(f"parser fuzz examples: {COUNTS}")
    assert sum(COUNTS.values()) >= EXAMPLES
