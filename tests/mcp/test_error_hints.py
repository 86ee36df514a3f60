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
