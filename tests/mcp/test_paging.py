"""MCP results within a token budget: pages that fit, and cursors that join to the whole."""

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
from rlm.ops.budget import json_tokens, page_text
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

DOC = "".join(
    f"Line {i:04d}: the lighthouse keeper records wind, tide and the ships that pass.\n"
    for i in range(1200)
)


@pytest.fixture
def db(cli: Cli, isolated_env: Path, hash_embedder: None) -> Path:
    path = isolated_env / "rlm.db"
    assert cli("-d", str(path), "init").code == 0
    done = cli(
        "-d", str(path), "add-buffer", "log", DOC, "--chunk-size", "20000", "--overlap", "100"
    )
    assert done.code == 0, done.err
    return path


def calls(
    db: Path, tool: str, args: dict[str, Any], follow: Callable[[CallToolResult], str | None]
) -> list[CallToolResult]:
    """Call ``tool``, then again with each returned cursor until there is none."""
    pages: list[CallToolResult] = []

    async def main() -> None:
        async with Client(build_server(str(db))) as client:
            cursor: str | None = None
            for _ in range(200):
                extra = {"cursor": cursor} if cursor is not None else {}
                result = await client.call_tool(tool, {**args, **extra})
                assert not result.is_error, result.content
                pages.append(result)
                cursor = follow(result)
                if cursor is None:
                    return
            raise AssertionError("cursors never ended")

    anyio.run(main)
    return pages


def body(result: CallToolResult) -> Any:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


def cli_json(cli: Cli, db: Path, *args: str) -> Any:
    done = cli("-d", str(db), "--format", "json", *args)
    assert done.code == 0, done.err
    return done.json()


def test_chunk_pages_fit_and_join_to_the_whole_text(db: Path, cli: Cli) -> None:
    pages = calls(
        db, "chunk_get", {"chunk_id": 1, "max_tokens": 1000}, lambda r: body(r)["next_cursor"]
    )
    whole = cli_json(cli, db, "chunk", "get", "1")
    assert len(pages) > 3
    for page in pages:
        assert json_tokens(body(page)) <= 1000
    assert "".join(body(p)["content"] for p in pages) == whole["content"]
    assert body(pages[0])["content_offset"] == 0
    unpaged = calls(db, "chunk_get", {"chunk_id": 1}, lambda r: None)
    assert body(unpaged[0]) == whole


def test_search_pages_join_to_the_cli_ranking(db: Path, cli: Cli) -> None:
    args = {
        "query": "lighthouse keeper",
        "mode": "bm25",
        "top_k": 6,
        "preview": True,
        "preview_len": 2000,
    }
    pages = calls(db, "search", {**args, "max_tokens": 700}, lambda r: body(r)["next_cursor"])
    whole = cli_json(
        cli,
        db,
        "search",
        "lighthouse keeper",
        "-m",
        "bm25",
        "-k",
        "6",
        "-p",
        "--preview-len",
        "2000",
    )
    assert len(pages) > 1
    assert [r for p in pages for r in body(p)["results"]] == whole["results"]
    assert all(body(p)["count"] == len(body(p)["results"]) for p in pages)
    assert all(json_tokens(body(p)) <= 700 for p in pages)


def test_grep_pages_name_the_cursor_in_a_notice(db: Path, cli: Cli) -> None:
    def follow(result: CallToolResult) -> str | None:
        notes = [b.text for b in result.content[1:] if isinstance(b, TextContent)]
        found = [n.split('cursor="')[1].split('"')[0] for n in notes if 'cursor="' in n]
        return found[0] if found else None

    args = {"pattern": "Line 0[0-4]\\d\\d", "buffer": "log", "max_matches": 400, "window": 40}
    pages = calls(db, "grep", {**args, "max_tokens": 1500}, follow)
    whole = cli_json(cli, db, "grep", "log", "Line 0[0-4]\\d\\d", "-n", "400", "-w", "40")
    assert len(pages) > 2
    assert [m for p in pages for m in body(p)] == whole
    assert all(json_tokens(body(p)) <= 1500 for p in pages)


def test_a_bad_cursor_is_an_argument_error(db: Path) -> None:
    got: list[CallToolResult] = []

    async def main() -> None:
        async with Client(build_server(str(db))) as client:
            got.append(
                await client.call_tool("grep", {"pattern": "x", "buffer": "log", "cursor": "abc"})
            )

    anyio.run(main)
    assert body(got[0])["error"]["type"] == "InvalidArgument"


def test_page_text_never_splits_and_always_advances() -> None:
    text = "é" * 50 + "\n" + '"quoted"\n' * 40
    offset, pieces = 0, []
    while True:
        piece, cursor = page_text(text, offset, 20)
        assert piece
        pieces.append(piece)
        if cursor is None:
            break
        offset = int(cursor)
    assert "".join(pieces) == text
