"""``rlm mcp``: a real MCP client session over stdio, and the tools in-process.

The stdio test launches ``python -m rlm mcp`` as a subprocess with the SDK's
own client, so it covers the protocol framing, stdout hygiene and start-up;
the in-process tests use the SDK's in-memory client against the same server
object and check each tool's JSON equals ``rlm --format json`` for the same
arguments.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import CallToolResult, TextContent

from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from rlm.mcp.server import build_server
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

ALL_TOOLS = {
    "search",
    "chunk_get",
    "chunk_list",
    "grep",
    "peek",
    "list_buffers",
    "runs",
    "load",
    "dispatch",
    "aggregate",
}
READ_ONLY = ALL_TOOLS - {"load"}

DOC = "".join(
    f"## Section {i}\n\nThe lighthouse keeper number {i} logs the tide at dawn.\n"
    f"Ships pass the harbour while gulls circle the pier. Entry {i} ends here.\n\n"
    for i in range(60)
)


def payload(result: CallToolResult) -> Any:
    """The JSON in the first text block (the CLI's --format json value)."""
    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


def ok(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    data = payload(result)
    if isinstance(data, dict):
        assert result.structured_content == data
    return data


@pytest.fixture
def db(cli: Cli, isolated_env: Path, hash_embedder: None) -> Path:
    path = isolated_env / "store" / "rlm.db"
    assert cli("-d", str(path), "init").code == 0
    return path


def cli_json(cli: Cli, db: Path, *args: str) -> Any:
    result = cli("-d", str(db), "--format", "json", *args)
    assert result.code == 0, result.out + result.err
    return result.json()


def run_stdio(
    db: Path, cwd: Path, body: Callable[[ClientSession], Awaitable[None]], *extra: str
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rlm", "mcp", *extra],
        env={"RLM_DB_PATH": str(db), "RLM_EMBEDDER": "hash"},
        cwd=str(cwd),
    )

    async def main() -> None:
        with anyio.fail_after(60):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                await body(s)

    anyio.run(main)


def test_stdio_session(db: Path, isolated_env: Path, cli: Cli) -> None:
    doc = isolated_env / "keeper.md"
    doc.write_text(DOC, encoding="utf-8")
    seen: dict[str, Any] = {}

    async def body(s: ClientSession) -> None:
        tools = await s.list_tools()
        assert {t.name for t in tools.tools} == ALL_TOOLS
        loaded = ok(
            await s.call_tool("load", {"path": "keeper.md", "chunk_size": 400, "overlap": 40})
        )
        assert loaded["name"] == "keeper.md" and loaded["chunk_count"] > 3
        seen["search"] = ok(
            await s.call_tool("search", {"query": "lighthouse tide", "mode": "bm25", "top_k": 3})
        )
        hit = seen["search"]["results"][0]["chunk_id"]
        seen["hit"] = hit
        seen["chunk"] = ok(await s.call_tool("chunk_get", {"chunk_id": hit, "context": 1}))
        seen["grep"] = ok(
            await s.call_tool("grep", {"buffer": "keeper.md", "pattern": r"Entry 4\d", "window": 5})
        )
        missing = await s.call_tool("chunk_get", {"chunk_id": 999999})
        assert missing.is_error
        seen["missing"] = payload(missing)

    run_stdio(db, isolated_env, body)

    search = seen["search"]
    assert search["mode"] == "bm25" and 1 <= search["count"] <= 3
    assert search == cli_json(cli, db, "search", "lighthouse tide", "-m", "bm25", "-k", "3")
    chunk = seen["chunk"]
    assert chunk["chunk_id"] == seen["hit"] and "context" in chunk
    assert chunk["context"]["content"].count("lighthouse") >= 1
    assert chunk == cli_json(cli, db, "chunk", "get", str(seen["hit"]), "--context", "1")
    assert [m["matched"] for m in seen["grep"]] == [f"Entry {i}" for i in range(40, 50)]
    assert seen["grep"] == cli_json(cli, db, "grep", "keeper.md", r"Entry 4\d", "-w", "5")
    error = seen["missing"]
    assert error["success"] is False
    assert error["error"]["type"] == "ChunkNotFound"
    assert "999999" in error["error"]["message"] and error["error"]["suggestion"]


def test_stdio_read_only_has_no_load(db: Path, isolated_env: Path) -> None:
    async def body(s: ClientSession) -> None:
        tools = await s.list_tools()
        assert {t.name for t in tools.tools} == READ_ONLY
        assert all(t.annotations and t.annotations.read_only_hint for t in tools.tools)
        listed = await s.call_tool("list_buffers", {})
        assert payload(listed) == []

    run_stdio(db, isolated_env, body, "--read-only")


# --- in-process (the SDK's in-memory transport): quick, one check per tool ------------


def in_memory(db: Path, body: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        with anyio.fail_after(60):
            async with Client(build_server(str(db))) as client:
                await body(client)

    anyio.run(main)


def test_tools_match_cli_json(db: Path, cli: Cli) -> None:
    results: dict[str, Any] = {}

    async def body(c: Client) -> None:
        loaded = ok(
            await c.call_tool(
                "load", {"content": DOC, "name": "notes", "chunk_size": 300, "overlap": 30}
            )
        )
        results["load"] = loaded
        results["list"] = ok(await c.call_tool("list_buffers", {}))
        results["chunks"] = ok(await c.call_tool("chunk_list", {"buffer": "notes"}))
        results["peek"] = ok(await c.call_tool("peek", {"buffer": "notes", "start": 2, "end": 40}))
        results["hybrid"] = ok(
            await c.call_tool(
                "search", {"query": "gulls pier", "buffers": ["notes"], "preview": True}
            )
        )
        results["grep_i"] = ok(
            await c.call_tool(
                "grep",
                {"buffer": "notes", "pattern": "LIGHTHOUSE", "ignore_case": True, "max_matches": 2},
            )
        )
        results["grep_all"] = ok(
            await c.call_tool("grep", {"pattern": "lighthouse", "all_buffers": True})
        )

    in_memory(db, body)
    assert results["load"]["name"] == "notes" and results["load"]["chunk_count"] > 3
    assert results["list"] == cli_json(cli, db, "list")
    assert results["chunks"] == cli_json(cli, db, "chunk", "list", "notes")
    assert results["peek"] == cli_json(cli, db, "peek", "notes", "--start", "2", "--end", "40")
    assert results["hybrid"] == cli_json(
        cli, db, "search", "gulls pier", "--buffer", "notes", "--preview"
    )
    assert results["hybrid"]["results"][0]["content_preview"]
    assert len(results["grep_i"]) == 2
    assert results["grep_i"] == cli_json(cli, db, "grep", "notes", "LIGHTHOUSE", "-i", "-n", "2")
    assert results["grep_all"] == cli_json(cli, db, "grep", "--all", "lighthouse")
    assert {m["buffer_name"] for m in results["grep_all"]} == {"notes"}


def test_arguments_that_look_like_flags_stay_arguments(db: Path) -> None:
    found: dict[str, Any] = {}

    async def body(c: Client) -> None:
        ok(await c.call_tool("load", {"content": "--help -x -- text\n", "name": "-n"}))
        found["grep"] = ok(await c.call_tool("grep", {"buffer": "-n", "pattern": "-x"}))

    in_memory(db, body)
    assert [m["matched"] for m in found["grep"]] == ["-x"]


def test_dispatch_then_aggregate_reports_coverage(db: Path, cli: Cli) -> None:
    got: dict[str, Any] = {}

    async def body(c: Client) -> None:
        ok(
            await c.call_tool(
                "load", {"content": DOC, "name": "log", "chunk_size": 300, "overlap": 0}
            )
        )
        plan = ok(await c.call_tool("dispatch", {"buffer": "log", "batch_size": 4}))
        got["plan"] = plan
        first = plan["batches"][0]["chunk_ids"]
        content = ok(await c.call_tool("chunk_get", {"chunk_id": first[0]}))["content"]
        quote = content.split("\n")[2][:30]
        findings = [
            {
                "chunk_id": first[0],
                "relevance": "high",
                "findings": [{"text": "a keeper logs the tide", "evidence": quote}],
            },
            {"chunk_id": first[1], "relevance": "none", "findings": []},
        ]
        report = await c.call_tool("aggregate", {"findings": findings, "run_id": plan["run_id"]})
        got["report"] = ok(report)
        got["warnings"] = [b.text for b in report.content[1:] if isinstance(b, TextContent)]
        as_text = ok(await c.call_tool("aggregate", {"findings": json.dumps(findings)}))
        got["as_text"] = as_text
        got["ids"] = [first[2], first[3]]
        redo = await c.call_tool("dispatch", {"buffer": "log", "chunks": got["ids"]})
        got["redo"] = ok(redo)

    in_memory(db, body)
    plan = got["plan"]
    assert plan["run_id"] and plan["batch_count"] == len(plan["batches"]) > 1
    assert all(len(b["chunk_ids"]) <= 4 for b in plan["batches"])
    # The CLI sees the same store; a second dispatch records another run, so compare sans id.
    again = cli_json(cli, db, "dispatch", "log", "--batch-size", "4")
    assert {**again, "run_id": None} == {**plan, "run_id": None}
    report = got["report"]
    assert report["summary"]["high_relevance"] == 1
    assert report["summary"]["unverified_quotes"] == 0
    coverage = report["coverage"]
    assert coverage["run_id"] == plan["run_id"] and not coverage["complete"]
    assert set(got["ids"]) <= set(coverage["missing_chunk_ids"])
    assert any("dispatched chunks have no finding" in w for w in got["warnings"])
    assert got["as_text"]["coverage"] is None
    assert [b["chunk_ids"] for b in got["redo"]["batches"]] == [got["ids"]]


def test_read_only_dispatch_records_nothing(db: Path, cli: Cli) -> None:
    got: dict[str, Any] = {}

    async def load(c: Client) -> None:
        ok(await c.call_tool("load", {"content": DOC, "name": "log"}))

    async def body(c: Client) -> None:
        got["plan"] = ok(await c.call_tool("dispatch", {"buffer": "log"}))
        got["store"] = await c.call_tool("aggregate", {"findings": [], "output_buffer": "report"})

    in_memory(db, load)

    async def main() -> None:
        async with Client(build_server(str(db), read_only=True)) as client:
            await body(client)

    anyio.run(main)
    assert got["plan"]["run_id"] is None
    assert payload(got["store"])["error"]["type"] == "InvalidArgument"


@pytest.mark.parametrize(
    ("tool", "args", "error_type"),
    [
        ("chunk_get", {"chunk_id": 424242}, "ChunkNotFound"),
        ("peek", {"buffer": "nope"}, "BufferNotFound"),
        ("grep", {"buffer": "nope", "pattern": "x"}, "BufferNotFound"),
        ("search", {"query": "x", "mode": "fuzzy"}, "InvalidArgument"),
        ("load", {}, "InvalidArgument"),
        ("load", {"path": "a.txt", "content": "b", "name": "c"}, "InvalidArgument"),
        ("load", {"content": "text without a name"}, "InvalidArgument"),
        ("load", {"path": "-"}, "InvalidArgument"),
        ("load", {"path": "does-not-exist.txt"}, "FileNotFound"),
        ("load", {"content": "x", "name": "n", "chunker": "bogus"}, "UsageError"),
        ("dispatch", {"buffer": "nope"}, "BufferNotFound"),
        ("aggregate", {}, "InvalidArgument"),
        ("aggregate", {"findings": "not json"}, "InvalidFindings"),
        ("aggregate", {"findings": [], "run_id": "r-missing"}, "RunNotFound"),
        ("grep", {"buffer": "x"}, "UsageError"),
        ("peek", {"buffer": "x", "start": -1}, "UsageError"),
        ("chunk_get", {"chunk_id": "abc"}, "UsageError"),
        ("no_such_tool", {}, "UsageError"),
    ],
)
def test_errors_carry_the_rlm_envelope(
    db: Path, tool: str, args: dict[str, Any], error_type: str
) -> None:
    got: list[CallToolResult] = []

    async def body(c: Client) -> None:
        got.append(await c.call_tool(tool, args))

    in_memory(db, body)
    result = got[0]
    assert result.is_error
    envelope = payload(result)
    assert envelope["success"] is False
    assert envelope["error"]["type"] == error_type, envelope
    assert result.structured_content == envelope


def test_the_served_store_wins_over_the_environment(
    db: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLM_DB_PATH", str(isolated_env / "other.db"))
    got: list[CallToolResult] = []

    async def body(c: Client) -> None:
        got.append(await c.call_tool("list_buffers", {}))

    in_memory(db, body)
    assert ok(got[0]) == []


def test_uninitialised_store_is_a_tool_error(isolated_env: Path) -> None:
    got: list[CallToolResult] = []

    async def body(c: Client) -> None:
        got.append(await c.call_tool("list_buffers", {}))

    in_memory(isolated_env / "absent.db", body)
    assert payload(got[0])["error"]["type"] == "NotInitialized"


def test_docs_list_every_tool_and_argument(db: Path) -> None:
    """docs/mcp.md names each tool and each of its arguments (the schema is the source)."""
    docs = (Path(__file__).parents[2] / "docs" / "mcp.md").read_text(encoding="utf-8")
    tools: list[Any] = []

    async def body(c: Client) -> None:
        tools.extend((await c.list_tools()).tools)

    in_memory(db, body)
    assert {t.name for t in tools} == ALL_TOOLS
    for tool in tools:
        assert f"`{tool.name}`" in docs
        for argument in tool.input_schema["properties"]:
            assert f"`{argument}`" in docs, (tool.name, argument)
