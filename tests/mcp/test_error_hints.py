"""MCP errors suggest tools and arguments, not CLI commands an MCP-only agent cannot
run (issue #14, smaller items; the walkthrough's steps 19, 20 and 25)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client
from tests.mcp.test_mcp_server import Cli, in_memory, payload


def test_tool_errors_name_tools(cli: Cli, isolated_env: Path, hash_embedder: None) -> None:
    db = isolated_env / "hints.db"
    assert cli("-d", str(db), "init").code == 0
    assert cli("-d", str(db), "add-buffer", "notes.md", "some text to read", "--no-embed").code == 0
    got: dict[str, Any] = {}

    async def body(c: Client) -> None:
        got["chunk"] = payload(await c.call_tool("chunk_get", {"chunk_id": 99999}))
        got["buffer"] = payload(await c.call_tool("peek", {"buffer": "notes"}))
        got["run"] = payload(await c.call_tool("aggregate", {"findings": [], "run_id": "run-x"}))

    in_memory(db, body)
    chunk = got["chunk"]["error"]
    assert chunk["type"] == "ChunkNotFound" and "chunk_list" in chunk["suggestion"]
    assert "rlm " not in chunk["suggestion"]
    buffer = got["buffer"]["error"]
    assert buffer["type"] == "BufferNotFound"
    assert (
        buffer["suggestion"]
        == "Did you mean 'notes.md'? Call the list_buffers tool to see buffer names"
    )
    run = got["run"]["error"]
    assert run["type"] == "RunNotFound" and "rlm " not in run["suggestion"]
    # The CLI keeps its own wording.
    cli_error = cli("-d", str(db), "--format", "json", "chunk", "get", "99999").json()["error"]
    assert "rlm chunk list" in cli_error["suggestion"]


def test_agent_path_tools_over_mcp(cli: Cli, isolated_env: Path, hash_embedder: None) -> None:
    """runs, grep hits with chunk ids and context lines, and aggregate's strict mode."""
    db = isolated_env / "path.db"
    text = "".join(f"line {i} of the harbour log\n" for i in range(200)) + "TODO fix the lamp\n"
    assert cli("-d", str(db), "init").code == 0
    assert cli("-d", str(db), "add-buffer", "log.md", text, "--chunk-size", "800").code == 0
    got: dict[str, Any] = {}

    async def body(c: Client) -> None:
        plan = await c.call_tool("dispatch", {"buffer": "log.md", "batch_size": 2})
        got["plan"] = payload(plan)
        got["runs"] = payload(await c.call_tool("runs", {}))
        run_id = got["plan"]["run_id"]
        got["run"] = payload(await c.call_tool("runs", {"run_id": run_id}))
        got["grep"] = payload(
            await c.call_tool("grep", {"pattern": "TODO", "buffer": "log.md", "context": 1})
        )
        findings = [{"chunk_id": got["plan"]["batches"][0]["chunk_ids"][0], "relevance": "low"}]
        args = {"findings": findings, "run_id": run_id, "strict": True}
        got["strict"] = await c.call_tool("aggregate", args)

    in_memory(db, body)
    run_id = got["plan"]["run_id"]
    assert [r["run_id"] for r in got["runs"]] == [run_id]
    assert got["run"]["batches"][0]["chunk_ids"] == got["plan"]["batches"][0]["chunk_ids"]
    hit = got["grep"][0]
    assert hit["text"] == "TODO fix the lamp" and hit["before"] == ["line 199 of the harbour log"]
    assert isinstance(hit["chunk_id"], int)
    strict = got["strict"]
    assert strict.is_error is True  # gaps under strict are a tool error ...
    report = payload(strict)
    assert report["strict"]["failed"] is True and report["coverage"]["missing_chunk_ids"]
