"""Review 4a, kept clean: SQL and FTS syntax in queries, names and keys is only data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]

QUERIES = [
    '"',
    'alpha" OR 1=1 --',
    "'; DROP TABLE chunks; --",
    "NEAR(alpha beta)",
    "content:alpha",
    "*",
    "alpha*",
    "^alpha",
    "{content}: alpha",
    "al\x01pha",
    'a" AND "b',
    "))))((((",
    "rowid:1",
    "日本",
    "x AND y OR NOT z",
]


@pytest.fixture
def store(cli: Cli, hash_embedder: None, isolated_env: Path) -> None:
    assert cli("init").code == 0
    (isolated_env / "doc.txt").write_text("alpha beta gamma delta\n" * 50)
    assert cli("load", "doc.txt").code == 0


@pytest.mark.parametrize("query", QUERIES)
def test_query_syntax_is_answered_as_words(store: None, cli: Cli, query: str) -> None:
    result = cli("search", query, "--mode", "bm25", "--format", "json")
    assert result.code == 0, result.out
    assert result.json()["mode"] == "bm25"


def test_names_and_keys_are_stored_as_data(store: None, cli: Cli) -> None:
    name = "x'); DROP TABLE buffers; --"
    assert cli("add-buffer", name, "content one", "--no-embed").code == 0
    assert cli("var", "k'); DROP TABLE context;--", "v").code == 0
    assert cli("global", "__proto__", '{"a":1}').code == 0
    names = [b["name"] for b in cli("list", "--format", "json").json()]
    assert names == ["doc.txt", name]
    status = cli("status", "--format", "json").json()
    assert status["buffer_count"] == 2
    assert cli("var", "k'); DROP TABLE context;--").out.strip().endswith('= String("v")')
