"""The MCP server embeds big loads in a background thread with its warm model (issue #12)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import CallToolResult, TextContent

import rlm
from rlm.ingest import background as bg
from rlm.mcp.server import RlmTools

DOC = "".join(f"Entry {i}: the lighthouse keeper logs the tide at dawn.\n\n" for i in range(400))


def call(pending: Coroutine[Any, Any, CallToolResult]) -> CallToolResult:
    """Run one (async) tool method to completion."""

    async def main() -> CallToolResult:
        return await pending

    return anyio.run(main)


def payload(result: CallToolResult) -> dict[str, object]:
    assert not result.is_error, result.content
    block = result.content[0]
    assert isinstance(block, TextContent)
    data = json.loads(block.text)
    assert isinstance(data, dict)
    return data


@pytest.mark.usefixtures("hash_embedder")
def test_big_load_returns_and_the_thread_embeds(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLM_BACKGROUND_AFTER", "0")
    db = isolated_env / ".rlm" / "rlm-state.db"
    rlm.Store.init(db).close()
    (isolated_env / "doc.md").write_text(DOC, encoding="utf-8")
    tools = RlmTools(str(db))
    lock = bg.WorkerLock(bg.WorkerFiles.of(db).lock)
    assert lock.acquire()  # hold the thread back until the load has answered
    try:
        loaded = payload(call(tools.load(path="doc.md")))
        assert loaded["embedded_count"] == 0
        job = loaded["background_embedding"]
        assert isinstance(job, dict) and job["chunks"] == loaded["chunk_count"]
        assert tools.embedding.running
        found = payload(call(tools.search(query="lighthouse tide")))
        coverage = found["semantic_coverage"]
        assert isinstance(coverage, dict) and coverage["background"] is True
    finally:
        lock.release()
    deadline = time.monotonic() + 30
    while tools.embedding.running:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert tools.embedding.last is not None and tools.embedding.last.error is None
    with rlm.Store.open(db) as store:
        assert store.embedding_backlog().chunks == 0
        assert store.vector_count() == store.chunk_count_total()
    done = payload(call(tools.search(query="lighthouse tide")))
    assert done["semantic_coverage"] == {
        "background": False,
        "covered_chunks": loaded["chunk_count"],
        "eta_seconds": None,
        "percent": 100.0,
        "total_chunks": loaded["chunk_count"],
    }


def test_stop_ends_the_thread_after_the_batch(isolated_env: Path) -> None:
    db = isolated_env / ".rlm" / "rlm-state.db"
    rlm.Store.init(db).close()
    thread = bg.WorkerThread(db, lambda: pytest.fail("nothing to embed"), lambda _: None)
    assert thread.kick()
    thread.stop(timeout=10)
    assert not thread.running
    assert thread.last is not None and thread.last.chunks == 0


@pytest.mark.usefixtures("hash_embedder")
def test_search_refresh_over_mcp(isolated_env: Path) -> None:
    db = isolated_env / ".rlm" / "rlm-state.db"
    rlm.Store.init(db).close()
    notes = isolated_env / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("plain words\n", encoding="utf-8")
    tools = RlmTools(str(db))
    payload(call(tools.load(path="notes")))
    (notes / "a.md").write_text("the zeppelin over the harbour\n", encoding="utf-8")
    os.utime(notes / "a.md", (1_900_000_000, 1_900_000_000))
    found = payload(call(tools.search(query="zeppelin", mode="bm25", refresh=True)))
    refresh = found["refresh"]
    assert isinstance(refresh, dict) and refresh["changed"] == ["a.md"]
    assert found["count"] == 1
    reader = RlmTools(str(db), read_only=True)
    refused = call(reader.search(query="zeppelin", refresh=True))
    assert refused.is_error
    assert payload(call(reader.search(query="zeppelin", mode="bm25")))["refresh"] is None
