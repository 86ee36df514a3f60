"""The scripted map-reduce: dispatch a multi-megabyte document, answer all but two
batches, and let aggregate --run find exactly the unanswered chunks."""

from __future__ import annotations

import io
import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from rlm.store import Store
from tests.agents.conftest import Cli, join, make_document


def test_map_reduce_coverage_and_evidence(
    cli: Cli, db: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = isolated_env / "big.txt"
    path.write_text(join(make_document(3_000_000, seed=42)), encoding="utf-8")
    assert path.stat().st_size > 3_000_000
    assert cli("-d", db, "load", str(path), "--name", "big", "--no-embed").code == 0

    started = time.perf_counter()
    plan = cli("-d", db, "--format", "json", "dispatch", "big", "--max-tokens", "8000")
    assert plan.code == 0, plan.err
    assert time.perf_counter() - started < 20
    data = plan.json()
    batches = data["batches"]
    assert len(batches) > 20
    assert all(b["token_count"] <= 8000 for b in batches)
    assert sum(b["chunk_count"] for b in batches) == data["total_chunks"] > 1000
    run_id = data["run_id"]

    skipped = {3, len(batches) - 2}
    with Store.open(db) as store:
        contents = {
            c.id: c.content
            for b in batches
            if b["batch_index"] not in skipped
            for c in store.get_chunks(b["chunk_ids"]).values()
        }
    findings: list[dict[str, Any]] = []
    fabricated: list[int] = []
    for b in batches:
        if b["batch_index"] in skipped:
            continue
        for n, cid in enumerate(b["chunk_ids"]):
            item: dict[str, Any] = {"chunk_id": cid, "relevance": "none", "findings": []}
            if n == 0:
                quote = contents[cid][40:100]
                item["relevance"] = "high"
                item["findings"] = [{"text": f"fact from {cid}", "evidence": quote}]
                if b["batch_index"] % 5 == 0:
                    item["findings"].append(
                        {"text": "invented", "evidence": f"the council of {cid} voted twice"}
                    )
                    fabricated.append(cid)
            findings.append(item)
    # One analyst answers a chunk twice and one cites a chunk outside the run.
    findings.append({"chunk_id": findings[1]["chunk_id"], "relevance": "low", "findings": ["x"]})
    findings.append({"chunk_id": 10_000_000, "relevance": "low", "findings": ["y"]})
    payload = "\n".join(json.dumps(f) for f in findings)  # NDJSON, as analysts stream it
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(payload.encode())))
    result = cli("-d", db, "--format", "json", "aggregate", "--run", run_id)
    assert result.code == 0, result.out
    report = result.json()

    cov = report["coverage"]
    expected_missing = [
        cid for b in batches if b["batch_index"] in skipped for cid in b["chunk_ids"]
    ]
    assert cov["missing_chunk_ids"] == expected_missing
    assert [m["batch_index"] for m in cov["missing_batches"]] == sorted(skipped)
    assert all(m["complete_miss"] for m in cov["missing_batches"])
    assert cov["complete"] is False
    assert cov["dispatched_chunks"] == data["total_chunks"]
    assert cov["answered_chunks"] == data["total_chunks"] - len(expected_missing)
    assert cov["duplicate_chunk_ids"] == [findings[1]["chunk_id"]]
    assert cov["outside_run_chunk_ids"] == [10_000_000]

    flagged = sorted(u["chunk_id"] for u in report["unverified"])
    assert flagged == sorted(fabricated) and fabricated
    assert report["summary"]["verified_quotes"] == len(batches) - len(skipped)

    # The printed command re-dispatches exactly the missing chunks.
    argv = shlex.split(cov["redispatch_command"])
    assert argv[:3] == ["rlm", "-d", db]
    again = cli(*argv[1:], "--format", "json")
    assert again.code == 0, again.out
    redone = again.json()
    assert [i for b in redone["batches"] for i in b["chunk_ids"]] == expected_missing
    assert redone["run_id"] != run_id

    text = cli("-d", db, "aggregate", "--run", run_id, "--file", _write(isolated_env, payload))
    assert f"Coverage of {run_id}: " in text.out
    assert "Re-dispatch: rlm -d" in text.out
    assert "Unverified quotes: " in text.out


def _write(folder: Path, payload: str) -> str:
    path = folder / "findings.ndjson"
    path.write_text(payload, encoding="utf-8")
    return str(path)
