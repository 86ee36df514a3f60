"""aggregate: both findings formats, NDJSON, validation errors, ordering, evidence, -o."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from rlm.agents.aggregate import check_quote, relevance_rank
from rlm.agents.findings import parse_findings
from rlm.errors import InvalidFindingsError
from tests.agents.conftest import Cli


def chunks(cli: Cli, db: str, buffer: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli(
        "-d", db, "--format", "json", "chunk", "list", buffer, "--preview", "--preview-len", "400"
    ).json()["chunks"]
    return rows


def run_aggregate(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, payload: str, *args: str
) -> tuple[int, Any, str]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(payload.encode())))
    result = cli(*args)
    try:
        data = result.json()
    except json.JSONDecodeError:
        data = None
    return result.code, data, result.out + result.err


def test_rlm_rs_format_ordering_and_case_insensitive_counts(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [c["id"] for c in chunks(cli, db, doc)]
    items = [
        {"chunk_id": ids[3], "relevance": "Low", "findings": ["minor point"]},
        {"chunk_id": ids[1], "relevance": "HIGH", "findings": ["key fact", "Key  Fact"]},
        {"chunk_id": ids[2], "relevance": "none", "findings": ["nothing"]},
        {"chunk_id": ids[0], "relevance": "medium", "findings": ["key fact"], "summary": "s"},
    ]
    code, data, _ = run_aggregate(
        cli, monkeypatch, json.dumps(items), "-d", db, "--format", "json", "aggregate"
    )
    assert code == 0
    assert list(data["grouped"]) == ["high", "medium", "low"]  # not string order
    assert [f["chunk_id"] for f in data["findings"]] == [ids[1], ids[0], ids[3]]
    s = data["summary"]
    assert (s["high_relevance"], s["medium_relevance"], s["low_relevance"]) == (1, 1, 1)
    assert s["total_findings"] == 3
    assert data["all_findings_deduplicated"] == ["key fact", "minor point"]
    assert data["filtered_out"] == 1
    code, data, _ = run_aggregate(
        cli,
        monkeypatch,
        json.dumps(items),
        "-d",
        db,
        "--format",
        "json",
        "aggregate",
        "--min-relevance",
        "NONE",
        "--group-by",
        "chunk_id",
    )
    assert list(data["grouped"]) == [str(i) for i in sorted(ids[:4])]  # numeric order


def test_analyst_objects_and_ndjson_with_evidence_check(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = chunks(cli, db, doc)
    real = rows[2]["preview"][20:80]
    lines = [
        {
            "chunk_id": rows[2]["id"],
            "relevance": "high",
            "findings": [
                {"text": "real claim", "evidence": real},
                {"finding": "made up", "quote": "the treaty was signed in 1648"},
            ],
        },
        {
            "chunk_id": rows[4]["id"],
            "relevance": "medium",
            "findings": [f'The text says "{rows[4]["preview"][10:50].upper()}" loudly'],
        },
        {
            "chunk_id": rows[5]["id"],
            "relevance": "low",
            "findings": [{"description": "wrong chunk", "evidence": real}],
        },
    ]
    payload = "\n".join(json.dumps(x) for x in lines)
    code, data, _ = run_aggregate(
        cli, monkeypatch, payload, "-d", db, "--format", "json", "aggregate"
    )
    assert code == 0
    by_chunk = {f["chunk_id"]: f for f in data["findings"]}
    first = by_chunk[rows[2]["id"]]
    assert first["findings"] == ["real claim", "made up"]
    assert [e["verified"] for e in first["evidence"]] == [True, False]
    assert first["evidence"][0]["match"] == "exact"
    assert first["verified"] is False
    inline = by_chunk[rows[4]["id"]]["evidence"][0]
    assert inline["verified"] is True and inline["match"] == "normalized"
    unverified = {(u["chunk_id"], u["quote"]) for u in data["unverified"]}
    assert unverified == {
        (rows[2]["id"], "the treaty was signed in 1648"),
        (rows[5]["id"], real),
    }
    assert data["summary"]["unverified_quotes"] == 2
    assert data["summary"]["verified_quotes"] == 2


def test_validation_errors_name_the_item_and_problem(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = [
        {"chunk_id": 1, "relevance": "high"},
        {"chunk_id": "abc", "relevance": "high"},
        {"relevance": "low"},
        {"chunk_id": 2, "relevance": 5},
        {"chunk_id": 3, "relevance": "low", "findings": [{"evidence": 7}]},
        "just a string",
    ]
    code, data, _ = run_aggregate(
        cli, monkeypatch, json.dumps(bad), "-d", db, "--format", "json", "aggregate"
    )
    assert code == 1
    message = data["error"]["message"]
    assert data["error"]["type"] == "InvalidFindings"
    assert "item 1: 'chunk_id' must be an integer" in message
    assert "item 2: missing required field 'chunk_id'" in message
    assert "item 3: 'relevance' must be a string" in message
    assert "item 4, finding 0: 'evidence'[0]" not in message
    assert "item 4, finding 0" in message
    assert "item 5: expected an object, got string" in message
    assert "item 0" not in message
    code, data, out = run_aggregate(
        cli, monkeypatch, json.dumps(bad), "-d", db, "--format", "json", "aggregate",
        "--skip-invalid",
    )  # fmt: skip
    assert code == 0 and data["summary"]["total_findings"] == 1
    assert "skipped invalid item 1" in out


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
        ("[1, 2", "Invalid JSON input"),
        ("", "input is empty"),
        ('[{"chunk_id": 1' + "0" * 5000 + ', "relevance": "high"}]', "Invalid JSON input"),
        ('{"x": 1}\n{"y": 2}', "line 1: an object without 'chunk_id'"),
    ],
)
def test_hostile_json_gives_clear_errors(
    cli: Cli, db: str, monkeypatch: pytest.MonkeyPatch, payload: str, expected: str
) -> None:
    code, data, out = run_aggregate(
        cli, monkeypatch, payload, "-d", db, "--format", "json", "aggregate"
    )
    assert code == 1, out
    assert expected in data["error"]["message"]
    assert "Traceback" not in out and "RecursionError" not in out


def test_fenced_json_and_wrapper_object_are_accepted() -> None:
    items, _ = parse_findings(
        '```json\n{"results": [{"chunk_id": 4, "relevance": "High", "findings": []}]}\n```'
    )
    assert [(i.chunk_id, i.relevance) for i in items] == [(4, "High")]
    with pytest.raises(InvalidFindingsError):
        parse_findings('{"chunk_id": true, "relevance": "high"}')


def test_check_quote_levels() -> None:
    content = "The  Quick brown fox\njumps over the ‘lazy’ dog."
    assert check_quote("Quick brown", content) == (True, "exact")
    assert check_quote("quick BROWN fox jumps", content) == (True, "normalized")
    assert check_quote("the 'lazy' dog", content) == (True, "normalized")
    assert check_quote("Quick ... lazy' dog", content) == (True, "fragments")
    assert check_quote("lazy ... Quick", content) == (False, None)
    assert check_quote("a slow cat", content) == (False, None)
    assert [relevance_rank(r) for r in ("HIGH", "Medium", "low", "None", "meh")] == [0, 1, 2, 3, 4]


def test_output_buffer_is_chunked_and_searchable(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    ids = [c["id"] for c in chunks(cli, db, doc)]
    items = [{"chunk_id": ids[0], "relevance": "high", "findings": ["xylophone quartet"]}]
    findings_file = isolated_env / "f.json"
    findings_file.write_text(json.dumps(items), encoding="utf-8")
    result = cli("-d", db, "aggregate", "--file", str(findings_file), "-o", "report")
    assert result.code == 0, result.err
    assert "Results stored in buffer 'report'" in result.out
    listed = cli("-d", db, "--format", "json", "chunk", "list", "report").json()
    assert listed["chunk_count"] >= 1
    found = cli("-d", db, "--format", "json", "search", "xylophone", "--mode", "bm25").json()
    assert found["results"] and found["results"][0]["buffer_name"] == "report"
    again = cli("-d", db, "--format", "json", "aggregate", "-f", str(findings_file), "-o", "report")
    assert again.code == 1 and again.json()["error"]["type"] == "BufferExists"
    # --buffer reads the findings from a stored buffer.
    assert cli("-d", db, "add-buffer", "answers", json.dumps(items)).code == 0
    from_buffer = cli("-d", db, "--format", "json", "aggregate", "--buffer", "answers").json()
    assert from_buffer["summary"]["high_relevance"] == 1
