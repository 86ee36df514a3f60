"""Review section 6 and L1: a crafted store's rows and an unfit SQLite give typed errors.

A hostile store can hold values rlm never writes: text in a blob column, a
string or a negative number as a size, anything at all in a tombstone's JSON.
Each must come back as a ``DatabaseError`` naming the row ("corrupt store:
..."), never as an ``InternalError`` (a Python TypeError or OverflowError from
deep inside a command). The SQLite floor is checked at open, before any SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm.store import connection

Cli = Callable[..., Any]

DOC = "".join(f"line {i} alpha beta gamma\n" for i in range(400))
READS = (
    ("peek", "doc.txt"),
    ("grep", "doc.txt", "alpha", "--max-matches", "1"),
    ("chunk", "get", "1", "--context", "1"),
    ("export-buffers",),
)


@pytest.fixture
def db(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    (isolated_env / "doc.txt").write_text(DOC, encoding="utf-8")
    assert cli("init").code == 0
    assert cli("load", "doc.txt", "--chunk-size", "1000", "--no-embed").code == 0
    return isolated_env / ".rlm" / "rlm-state.db"


def craft(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(sql)
    conn.close()


def corrupt_error(cli: Cli, *args: str) -> str:
    result = cli("--format", "json", *args)
    assert result.code != 0, result.out
    error = result.json()["error"]
    assert error["type"] == "DatabaseError", error
    assert error["message"].startswith("storage error: corrupt store: ")
    assert "sqlite3" in error["suggestion"]
    return str(error["message"])


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("UPDATE buffer_segments SET data = 'text'", "segment 0 of buffer 1"),
        ("UPDATE buffers SET size = 'abc'", "the size of buffer 1"),
        ("UPDATE buffers SET size = -4", "the size of buffer 1"),
        ("UPDATE buffers SET size = 2.5", "the size of buffer 1"),
    ],
)
def test_type_confused_buffer_rows(db: Path, cli: Cli, sql: str, named: str) -> None:
    craft(db, sql)
    for args in READS:
        assert named in corrupt_error(cli, *args), args


@pytest.mark.parametrize(
    "replaced_by",
    ['{"a": 1}', '[1e400, "x"]', "not json", "[true]", "[0]", "[[1]]", '"7"', "[1.5]"],
)
def test_garbage_tombstones(db: Path, cli: Cli, replaced_by: str) -> None:
    craft(
        db,
        "INSERT INTO chunk_tombstones(chunk_id, buffer_id, replaced_by, created_at)"
        f" VALUES (999, 1, '{replaced_by}', 0)",
    )
    assert "the tombstone of chunk 999" in corrupt_error(cli, "chunk", "get", "999")


def test_a_well_formed_tombstone_still_names_its_replacements(db: Path, cli: Cli) -> None:
    craft(
        db,
        "INSERT INTO chunk_tombstones(chunk_id, buffer_id, replaced_by, created_at)"
        " VALUES (999, 1, '[1, 2]', 0)",
    )
    error = cli("--format", "json", "chunk", "get", "999").json()["error"]
    assert error["type"] == "ChunkSuperseded" and "1, 2" in error["message"]


def test_sqlite_below_the_floor_is_refused_at_open(
    db: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 30, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.30.1")
    before = db.read_bytes()
    result = cli("--format", "json", "list")
    assert result.code != 0
    error = result.json()["error"]
    assert error["type"] == "UnsupportedSQLite"
    assert "3.30.1" in error["message"] and "3.31.0" in error["message"]
    assert db.read_bytes() == before


def test_sqlite_without_fts5_is_refused_at_open(
    db: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "has_fts5", lambda: False)
    error = cli("--format", "json", "list").json()["error"]
    assert error["type"] == "UnsupportedSQLite" and "FTS5" in error["message"]


def test_this_sqlite_meets_the_floor() -> None:
    assert sqlite3.sqlite_version_info >= connection.MIN_SQLITE
    assert connection.has_fts5()
    connection.require_sqlite()
