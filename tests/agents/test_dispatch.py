"""dispatch: batch sizing precedence, token budgets, runs, --chunks, --query, errors."""

from __future__ import annotations

import pytest

from rlm.agents.dispatch import plan_batches
from rlm.errors import InvalidArgumentError
from rlm.store import ChunkRef
from tests.agents.conftest import Cli


def refs(tokens: list[int]) -> list[ChunkRef]:
    return [
        ChunkRef(i + 1, 1, i, 0, 4 * t, t, None, None, None, None) for i, t in enumerate(tokens)
    ]


def sizes(tokens: list[int], **kw: int | None) -> list[list[int]]:
    batches, _ = plan_batches(refs(tokens), **kw)
    return [b.chunk_ids for b in batches]


def test_batch_size_and_workers_precedence() -> None:
    assert [len(b) for b in sizes([1] * 25)] == [10, 10, 5]
    assert [len(b) for b in sizes([1] * 25, batch_size=7)] == [7, 7, 7, 4]
    # --workers overrides --batch-size: ceil(10 / 4) = 3 -> 3, 3, 3, 1.
    assert [len(b) for b in sizes([1] * 10, batch_size=7, workers=4)] == [3, 3, 3, 1]
    assert [len(b) for b in sizes([1] * 9, workers=4)] == [3, 3, 3]


def test_token_budget_packs_greedily_and_flags_oversized() -> None:
    batches, cap = plan_batches(refs([40, 50, 20, 300, 10, 90, 5]), max_tokens=100)
    assert cap is None
    assert [b.chunk_ids for b in batches] == [[1, 2], [3], [4], [5, 6], [7]]
    assert [b.token_count for b in batches] == [90, 20, 300, 100, 5]
    assert [b.oversized for b in batches] == [False, False, True, False, False]
    capped, cap = plan_batches(refs([1] * 5), max_tokens=100, batch_size=2)
    assert cap == 2 and [len(b.chunk_ids) for b in capped] == [2, 2, 1]


@pytest.mark.parametrize("name", ["batch_size", "workers", "max_tokens"])
@pytest.mark.parametrize("value", [0, -3])
def test_zero_or_negative_sizes_are_usage_errors(name: str, value: int) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        plan_batches(refs([1, 2]), **{name: value})
    assert info.value.exit_code == 2


@pytest.mark.parametrize("flag", ["--batch-size", "--workers", "--max-tokens", "--top-k"])
def test_cli_rejects_zero_with_exit_2(cli: Cli, db: str, doc: str, flag: str) -> None:
    args = ["-d", db, "--format", "json", "dispatch", doc, flag, "0"]
    if flag == "--top-k":
        args += ["-q", "river"]
    result = cli(*args)
    assert result.code == 2
    assert result.json()["error"]["type"] == "InvalidArgument"
    assert flag in result.json()["error"]["message"]


def test_dispatch_json_fields_and_run_recorded(cli: Cli, db: str, doc: str) -> None:
    result = cli("-d", db, "--format", "json", "dispatch", doc, "--batch-size", "4")
    assert result.code == 0, result.err
    data = result.json()
    for key in (
        "batch_count",
        "batch_size",
        "batches",
        "buffer_id",
        "buffer_name",
        "query_filter",
        "total_chunks",
        "run_id",
    ):
        assert key in data
    assert data["batch_size"] == 4 and data["query_filter"] is None
    assert data["run_id"].startswith("run-") and len(data["run_id"]) == 12
    all_ids = [
        c["id"] for c in cli("-d", db, "--format", "json", "chunk", "list", doc).json()["chunks"]
    ]
    assert [i for b in data["batches"] for i in b["chunk_ids"]] == all_ids
    first = data["batches"][0]
    assert set(first) >= {"batch_index", "chunk_count", "chunk_ids", "token_count", "instruction"}
    assert first["chunk_count"] == 4
    assert f"rlm -d {db} chunk get ID" in first["instruction"]
    assert all(str(i) in first["instruction"] for i in first["chunk_ids"])
    assert "chunk_id" in first["instruction"] and "quote" in first["instruction"]


def test_dispatch_text_output(cli: Cli, db: str, doc: str) -> None:
    out = cli("-d", db, "dispatch", doc, "--workers", "3").out
    assert out.startswith("Dispatch plan for buffer 'doc' (")
    assert "-> 3 batches):" in out
    assert "Batch 0: " in out and "Batch 2: " in out and "Batch 3: " not in out
    assert "Run: run-" in out


def test_dispatch_chunks_subset_and_bad_ids(cli: Cli, db: str, doc: str) -> None:
    ids = [
        c["id"] for c in cli("-d", db, "--format", "json", "chunk", "list", doc).json()["chunks"]
    ]
    picked = f"{ids[5]},{ids[2]}"
    data = cli("-d", db, "--format", "json", "dispatch", doc, "--chunks", picked).json()
    assert data["batches"][0]["chunk_ids"] == [ids[5], ids[2]]
    assert data["total_chunks"] == 2
    bad = cli("-d", db, "--format", "json", "dispatch", doc, "--chunks", "abc")
    assert bad.code == 2
    missing = cli("-d", db, "--format", "json", "dispatch", doc, "--chunks", "999999")
    assert missing.code == 2
    assert "does not exist" in missing.json()["error"]["message"]


def test_dispatch_query_filters_this_buffer_in_rank_order(
    cli: Cli, db: str, doc: str, isolated_env: object
) -> None:
    other = "zebra zebra zebra appears everywhere here. " * 200
    assert cli("-d", db, "add-buffer", "other", other).code == 0
    data = cli(
        "-d", db, "--format", "json", "dispatch", doc, "-q", "Section 7", "--mode", "bm25"
    ).json()
    doc_ids = {
        c["id"] for c in cli("-d", db, "--format", "json", "chunk", "list", doc).json()["chunks"]
    }
    got = [i for b in data["batches"] for i in b["chunk_ids"]]
    assert got and set(got) <= doc_ids
    assert data["query_filter"] == "Section 7"
    none = cli("-d", db, "--format", "json", "dispatch", doc, "-q", "zebra", "--mode", "bm25")
    assert none.code == 0
    empty = none.json()
    assert (empty["batch_count"], empty["batches"], empty["run_id"]) == (0, [], None)
    text = cli("-d", db, "dispatch", doc, "-q", "zebra", "--mode", "bm25").out
    assert text == "No matching chunks found in buffer 'doc' for query\n"


def test_dispatch_empty_buffer_gives_json(cli: Cli, db: str) -> None:
    assert cli("-d", db, "add-buffer", "empty", "").code == 0
    result = cli("-d", db, "--format", "json", "dispatch", "empty")
    assert result.code == 0
    assert result.json()["batch_count"] == 0 and result.json()["total_chunks"] == 0
    assert cli("-d", db, "dispatch", "empty").out == "No chunks found in buffer 'empty'\n"
