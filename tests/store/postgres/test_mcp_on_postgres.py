"""The MCP server on a postgresql:// store: its tools answer as the CLI does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import CallToolResult, TextContent

from mcp import Client
from rlm.mcp.server import build_server
from tests.conftest import CliResult

pytestmark = pytest.mark.pg
Cli = Callable[..., CliResult]


def _call(db: str, tool: str, args: dict[str, Any]) -> Any:
    got: list[CallToolResult] = []

    async def main() -> None:
        with anyio.fail_after(60):
            async with Client(build_server(db)) as client:
                got.append(await client.call_tool(tool, args))

    anyio.run(main)
    block = got[0].content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


def test_search_chunk_get_and_list_match_the_cli(
    cli: Cli, pg_url: str, isolated_env: Path, hash_embedder: None
) -> None:
    (isolated_env / "a.md").write_text("the keeper logs the tide at dawn\n", encoding="utf-8")
    (isolated_env / "b.md").write_text("gulls circle the harbour pier\n", encoding="utf-8")
    assert cli("-d", pg_url, "init").code == 0
    assert cli("-d", pg_url, "load", "a.md", "b.md").code == 0
    for tool, args, argv in (
        ("search", {"query": "gulls pier", "mode": "bm25"}, ["search", "gulls pier", "-m", "bm25"]),
        ("list_buffers", {}, ["list"]),
        ("chunk_get", {"chunk_id": 1}, ["chunk", "get", "1"]),
    ):
        from_mcp = _call(pg_url, tool, args)
        from_cli = cli("-d", pg_url, "--format", "json", *argv).json()
        assert from_mcp == from_cli, tool
