"""The contract: every MCP tool's JSON equals ``rlm --format json`` for the same arguments.

Both front ends call the same :mod:`rlm.ops` function, so this holds by
construction; the test keeps it so. Tools that write run against two copies
of one store (the MCP server writes to one, the CLI to the other), so both
start from the same state. The table must name every tool the server lists.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import CallToolResult, TextContent

from mcp import Client
from rlm.mcp.server import build_server
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

DOC = "".join(
    f"## Section {i}\n\nThe lighthouse keeper number {i} logs the tide at dawn.\n"
    f"Ships pass the harbour while gulls circle the pier. Entry {i} ends here.\n\n"
    for i in range(40)
)
FINDINGS = (
    '[{"chunk_id": 1, "relevance": "high", "findings": [{"text": "tide logged",'
    ' "evidence": "logs the tide at dawn"}]}, {"chunk_id": 2, "relevance": "none"}]'
)

# (tool, MCP arguments, CLI argv after `rlm -d DB --format json`, writes?)
CASES: list[tuple[str, dict[str, Any], list[str], bool]] = [
    ("list_buffers", {}, ["list"], False),
    ("list_buffers", {"collection": "docs"}, ["list", "--collection", "docs"], False),
    (
        "search",
        {"query": "gulls pier", "mode": "bm25", "top_k": 3},
        ["search", "gulls pier", "-m", "bm25", "-k", "3"],
        False,
    ),
    (
        "search",
        {"query": "keeper tide", "buffers": ["notes"], "preview": True, "preview_len": 20},
        ["search", "keeper tide", "-b", "notes", "--preview", "--preview-len", "20"],
        False,
    ),
    (
        "search",
        {"query": "keeper", "collection": "docs", "threshold": 0.1},
        ["search", "keeper", "--collection", "docs", "-t", "0.1"],
        False,
    ),
    ("chunk_get", {"chunk_id": 2}, ["chunk", "get", "2"], False),
    ("chunk_get", {"chunk_id": 3, "context": 1}, ["chunk", "get", "3", "-C", "1"], False),
    ("chunk_list", {"buffer": "notes"}, ["chunk", "list", "notes"], False),
    (
        "chunk_list",
        {"buffer": "notes", "preview": True, "preview_len": 12},
        ["chunk", "list", "notes", "-p", "--preview-len", "12"],
        False,
    ),
    (
        "grep",
        {"pattern": "Entry 1\\d", "buffer": "notes", "window": 4, "max_matches": 3},
        ["grep", "notes", "Entry 1\\d", "-w", "4", "-n", "3"],
        False,
    ),
    (
        "grep",
        {"pattern": "HARBOUR", "all_buffers": True, "ignore_case": True},
        ["grep", "--all", "HARBOUR", "-i"],
        False,
    ),
    (
        "grep",
        {"pattern": "keeper", "collection": "docs"},
        ["grep", "--collection", "docs", "keeper"],
        False,
    ),
    (
        "peek",
        {"buffer": "notes", "start": 5, "end": 60},
        ["peek", "notes", "--start", "5", "--end", "60"],
        False,
    ),
    ("peek", {"buffer": "notes"}, ["peek", "notes"], False),
    (
        "grep",
        {"pattern": "Entry 3\\d", "buffer": "notes", "context": 1},
        ["grep", "notes", "Entry 3\\d", "-C", "1"],
        False,
    ),
    ("runs", {}, ["runs"], False),
    ("runs", {"limit": 1}, ["runs", "-n", "1"], False),
    (
        "dispatch",
        {"buffer": "notes", "batch_size": 3, "record": False},
        ["dispatch", "notes", "--batch-size", "3", "--no-record"],
        False,
    ),
    (
        "dispatch",
        {"buffer": "notes", "max_tokens": 200, "chunks": [2, 3, 4], "record": False},
        ["dispatch", "notes", "--max-tokens", "200", "--chunks", "2,3,4", "--no-record"],
        False,
    ),
    (
        "dispatch",
        {"buffer": "notes", "workers": 2},
        ["dispatch", "notes", "--workers", "2"],
        True,
    ),
    ("aggregate", {"findings": FINDINGS}, ["aggregate", "--buffer", "findings"], False),
    (
        "aggregate",
        {"findings": FINDINGS, "strict": True},
        ["aggregate", "--buffer", "findings", "--strict"],
        False,
    ),
    (
        "aggregate",
        {"findings": FINDINGS, "min_relevance": "all", "group_by": "chunk_id"},
        ["aggregate", "--buffer", "findings", "--min-relevance", "all", "--group-by", "chunk_id"],
        False,
    ),
    (
        "aggregate",
        {"buffer": "findings", "output_buffer": "report"},
        ["aggregate", "--buffer", "findings", "-o", "report"],
        True,
    ),
    (
        "load",
        {"content": "a new note about lighthouses\n", "name": "fresh"},
        ["add-buffer", "fresh", "a new note about lighthouses\n"],
        True,
    ),
    ("load", {"path": "docs/a.md"}, ["load", "docs/a.md"], True),
    (
        "load",
        {"path": "docs", "chunk_size": 200, "overlap": 20, "collection": "docs"},
        ["load", "docs", "--chunk-size", "200", "--overlap", "20", "--collection", "docs"],
        True,
    ),
    (
        "load",
        {"path": "docs/*.md", "sync": True, "embed": False},
        ["load", "docs/*.md", "--sync", "--no-embed"],
        True,
    ),
]


def text_json(result: CallToolResult) -> Any:
    import json

    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


@pytest.fixture
def store(cli: Cli, isolated_env: Path, hash_embedder: None) -> Path:
    db = isolated_env / "store" / "rlm.db"
    docs = isolated_env / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nalpha keeper at the harbour\n", encoding="utf-8")
    (docs / "b.md").write_text("# B\n\nbeta keeper logs the tide\n", encoding="utf-8")
    (docs / "c.txt").write_text("gamma\n", encoding="utf-8")
    assert cli("-d", str(db), "init").code == 0
    assert (
        cli(
            "-d", str(db), "add-buffer", "notes", DOC, "--chunk-size", "300", "--overlap", "30"
        ).code
        == 0
    )
    assert cli("-d", str(db), "add-buffer", "findings", FINDINGS).code == 0
    assert cli("-d", str(db), "load", "docs/*.md", "--collection", "docs").code == 0
    return db


def call(db: Path, tool: str, args: dict[str, Any]) -> CallToolResult:
    got: list[CallToolResult] = []

    async def main() -> None:
        with anyio.fail_after(60):
            async with Client(build_server(str(db))) as client:
                got.append(await client.call_tool(tool, args))

    anyio.run(main)
    return got[0]


def without_run_ids(data: Any) -> Any:
    """Run ids are random per call; everything else must match."""
    if isinstance(data, dict):
        return {k: None if k == "run_id" else without_run_ids(v) for k, v in data.items()}
    if isinstance(data, list):
        return [without_run_ids(v) for v in data]
    return data


@pytest.mark.parametrize(("tool", "args", "argv", "writes"), CASES)
def test_tool_json_equals_cli_json(
    store: Path, cli: Cli, tool: str, args: dict[str, Any], argv: list[str], writes: bool
) -> None:
    cli_db = store.with_name("cli.db")
    if writes:
        shutil.copyfile(store, cli_db)
    result = call(store, tool, args)
    assert not result.is_error, result.content
    done = cli("-d", str(cli_db if writes else store), "--format", "json", *argv)
    assert done.code == 0, done.out + done.err
    mcp_json, cli_json = text_json(result), done.json()
    if writes:
        # The CLI ran on a copy: its dispatch instructions name that copy.
        cli_json = done.json() if tool != "dispatch" else _renamed(done.out, cli_db, store)
    assert without_run_ids(mcp_json) == without_run_ids(cli_json)
    if isinstance(mcp_json, dict):
        assert result.structured_content == mcp_json
    warnings = [b.text for b in result.content[1:] if isinstance(b, TextContent)]
    cli_warnings = [line for line in done.err.splitlines() if line.startswith("Warning: ")]
    assert warnings == cli_warnings


def _renamed(out: str, copy: Path, original: Path) -> Any:
    import json

    return json.loads(out.replace(str(copy), str(original)))


def test_the_table_covers_every_tool(store: Path) -> None:
    listed: list[str] = []

    async def main() -> None:
        async with Client(build_server(str(store))) as client:
            listed.extend(t.name for t in (await client.list_tools()).tools)

    anyio.run(main)
    assert set(listed) == {tool for tool, *_ in CASES}
