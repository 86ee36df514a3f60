"""``rlm mcp --read-only`` leaves the database file's bytes unchanged (review 2d, M1).

The review's reproduction: delete a ledger row so a migration is pending,
then one read-only ``list_buffers`` call changed the file (the migration
ran). Now the server opens the store with SQLite ``mode=ro`` and says the
store needs a migration instead.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.types import CallToolResult, TextContent

from mcp import Client
from rlm.mcp.server import build_server

Cli = Callable[..., Any]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _payload(result: CallToolResult) -> Any:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


def _calls(db: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[CallToolResult]:
    results: list[CallToolResult] = []

    async def main() -> None:
        with anyio.fail_after(60):
            async with Client(build_server(str(db), read_only=True)) as client:
                for name, args in calls:
                    results.append(await client.call_tool(name, args))

    anyio.run(main)
    return results


def test_a_read_only_session_changes_no_byte(
    cli: Cli, hash_embedder: None, isolated_env: Path
) -> None:
    db = isolated_env / "ro.db"
    assert cli("-d", str(db), "init").code == 0
    (isolated_env / "doc.txt").write_text("The lighthouse keeper logs the tide.\n" * 200)
    assert cli("-d", str(db), "load", "doc.txt").code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(db)
    results = _calls(
        db,
        [
            ("list_buffers", {}),
            ("search", {"query": "lighthouse tide", "mode": "bm25"}),
            ("chunk_get", {"chunk_id": 1, "context": 1}),
            ("peek", {"buffer": "doc.txt", "start": 0, "end": 100}),
            ("grep", {"buffer": "doc.txt", "pattern": "keeper"}),
            ("dispatch", {"buffer": "doc.txt"}),
            ("aggregate", {"findings": []}),
        ],
    )
    assert all(not r.is_error for r in results), [_payload(r) for r in results if r.is_error]
    assert _digest(db) == before


def test_a_store_needing_migration_is_refused_not_migrated(
    cli: Cli, hash_embedder: None, isolated_env: Path
) -> None:
    db = isolated_env / "old.db"
    assert cli("-d", str(db), "init").code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM _rlm_migrations WHERE name = 'm005_drop_redundant_chunk_index'")
        conn.execute("CREATE INDEX idx_chunks_buffer ON chunks(buffer_id)")
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(db)
    (result,) = _calls(db, [("list_buffers", {})])
    assert result.is_error
    error = _payload(result)["error"]
    assert error["type"] == "ReadOnly" and "migration" in error["message"]
    assert _digest(db) == before
