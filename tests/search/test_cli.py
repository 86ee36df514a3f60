"""The search and eval commands: JSON fields, NDJSON, text table, usage errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

RESULT_KEYS = {
    "bm25_score",
    "buffer_id",
    "buffer_name",
    "byte_range",
    "chunk_id",
    "index",
    "line_range",
    "score",
    "semantic_score",
    "source",
    "symbol",
}


@pytest.fixture
def loaded(cli: Cli, hash_embedder: None, tmp_path: Path) -> Cli:
    assert cli("init").code == 0
    a = Path("notes.md")
    a.write_text("# Notes\n\nThe quick brown fox jumps over the lazy dog.\n", encoding="utf-8")
    b = Path("other.md")
    b.write_text("日本語のテキスト。東京タワーは赤い。\n", encoding="utf-8")
    assert cli("load", str(a)).code == 0
    assert cli("load", str(b)).code == 0
    return cli


def test_json_field_set(loaded: Cli) -> None:
    res = loaded("search", "fox", "--format", "json")
    assert res.code == 0, res.err
    data = res.json()
    assert set(data) == {
        "count",
        "mode",
        "model",
        "query",
        "results",
        "semantic_available",
        "semantic_coverage",
        "refresh",
    }
    assert data["count"] == len(data["results"]) >= 1
    assert data["mode"] == "hybrid" and data["query"] == "fox"
    assert data["semantic_available"] is False
    assert set(data["results"][0]) == RESULT_KEYS
    assert data["results"][0]["source"].endswith("notes.md")
    assert "lexical only" in res.err


def test_preview_key_only_with_preview(loaded: Cli) -> None:
    res = loaded("search", "東京", "-p", "--preview-len", "4", "--format", "json", "-m", "bm25")
    first = res.json()["results"][0]
    assert set(first) == RESULT_KEYS | {"content_preview"}
    assert first["content_preview"] == "日本語の..."


def test_ndjson_is_one_result_per_line(loaded: Cli) -> None:
    res = loaded("search", "fox dog 東京", "--format", "ndjson", "-m", "bm25")
    lines = res.lines()
    assert len(lines) == 2
    assert all(set(line) == RESULT_KEYS for line in lines)


def test_text_table(loaded: Cli) -> None:
    res = loaded("search", "fox", "-m", "bm25")
    lines = res.out.splitlines()
    assert lines[0] == 'Search results for "fox" (bm25 mode, 1 results):'
    assert lines[2].startswith("Chunk ID   Score        Semantic     BM25")
    assert lines[3] == "-" * 50
    assert lines[5].strip().startswith("notes.md:1-")
    assert lines[-1] == "Use 'rlm chunk get <id>' to retrieve chunk content."
    none = loaded("search", "zebra", "-m", "bm25")
    assert none.out == 'No results found for query: "zebra"\n'


def test_buffer_and_collection_filters(loaded: Cli) -> None:
    res = loaded("search", "fox 東京", "-m", "bm25", "-b", "other.md", "--format", "json")
    assert {r["buffer_name"] for r in res.json()["results"]} == {"other.md"}
    res = loaded("search", "fox", "-b", "missing", "--format", "json")
    assert res.code == 1
    res = loaded("search", "fox", "--collection", "nope", "--format", "json")
    assert res.code == 0 and res.json()["count"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("search", ""),
        ("search", "  "),
        ("search", "fox", "-m", "fuzzy"),
        ("search", "x", "-k", "-1"),
    ],
)
def test_usage_errors_exit_2(loaded: Cli, args: tuple[str, ...]) -> None:
    res = loaded(*args, "--format", "json")
    assert res.code == 2
    assert res.json()["success"] is False


def _dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "d1", "title": "Foxes", "text": "The red fox hunts at night."},
        {"_id": "d2", "title": "", "text": "Dogs are loyal companions."},
        {"_id": "d3", "title": "Cats", "text": "Cats sleep most of the day."},
        {"_id": "q2", "title": "", "text": "Which animal is loyal?"},
    ]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [
        {"_id": "q1", "text": "red fox"},
        {"_id": "q2", "text": "Which animal is loyal?"},
        {"_id": "q3", "text": "unjudged"},
    ]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq2\td2\t1\r\n"
    )
    return root


def test_eval_command(cli: Cli, hash_embedder: None, tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "tiny")
    run_file = tmp_path / "run.txt"
    res = cli("eval", str(ds), "--format", "json", "--run-file", str(run_file))
    assert res.code == 0, res.err
    data: dict[str, Any] = res.json()
    assert data["queries"] == 2 and data["documents"] == 4
    assert set(data["metrics"]) == {"bm25", "semantic", "hybrid"}
    assert set(data["metrics"]["bm25"]) == {"ndcg@10", "recall@10", "recall@100", "mrr@10"}
    # q1 finds d1 first; q2 is itself document q2, which is dropped, so d2 ranks first.
    assert data["metrics"]["bm25"]["mrr@10"] == pytest.approx(1.0)
    lines = run_file.read_text().splitlines()
    assert lines and all(len(line.split()) == 6 for line in lines)
    assert not any(line.split()[0] == "q2" and line.split()[2] == "q2" for line in lines)
    assert {line.split()[5] for line in lines} == {"bm25", "semantic", "hybrid"}
    text = cli("eval", str(ds), "--modes", "bm25", "--limit-queries", "1")
    assert "nDCG@10" in text.out and "bm25" in text.out and "hybrid" not in text.out
    assert cli("eval", str(ds), "--modes", "nope").code == 2
    assert cli("eval", str(tmp_path / "missing")).code == 1
