"""Migrations: a blank database, and databases written by rlm-rs v1/v2/v3."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rlm.errors import NotInitializedError
from rlm.store import Store
from rlm.store.migrations import MIGRATIONS, applied, m001_create_rlm_rs_v3

RLM_RS_V1 = """
CREATE TABLE schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE context (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE buffers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, source_path TEXT,
    content TEXT NOT NULL, content_type TEXT, content_hash TEXT, size INTEGER NOT NULL,
    line_count INTEGER, chunk_count INTEGER, created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL);
CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT,
    buffer_id INTEGER NOT NULL REFERENCES buffers(id) ON DELETE CASCADE,
    content TEXT NOT NULL, byte_start INTEGER NOT NULL, byte_end INTEGER NOT NULL,
    chunk_index INTEGER NOT NULL, strategy TEXT, token_count INTEGER, line_start INTEGER,
    line_end INTEGER, has_overlap INTEGER NOT NULL DEFAULT 0, content_hash TEXT,
    custom_metadata TEXT, created_at INTEGER NOT NULL);
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
INSERT INTO schema_info VALUES ('version', '1');
INSERT INTO buffers (name, source_path, content, size, chunk_count, created_at, updated_at)
    VALUES ('old', 'old.txt', 'ancient text about lighthouses\nsecond line', 42, 1, 1, 1);
INSERT INTO chunks (buffer_id, content, byte_start, byte_end, chunk_index, created_at)
    VALUES (1, 'ancient text about lighthouses', 0, 30, 0, 1);
"""


def _rlm_rs_db(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(RLM_RS_V1)
    if version >= 2:
        m001_create_rlm_rs_v3(conn)  # creates embeddings + FTS the way v2 had them
        conn.execute(
            "INSERT INTO chunk_embeddings VALUES (1, zeroblob(1536), 384, 'all-MiniLM-L6-v2', 1)"
        )
        conn.execute("UPDATE schema_info SET value = ? WHERE key = 'version'", (str(version),))
    conn.commit()
    conn.close()


def test_blank_database_gets_every_migration(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "db.sqlite")
    assert applied(store.conn) == sorted(name for name, _ in MIGRATIONS)
    triggers = {
        r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    assert {"chunks_ai", "chunks_ad", "chunks_au", "chunks_aux_ad"} <= triggers
    assert store.stats().schema_version == 3


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rlm_rs_database_opens_and_works(tmp_path: Path, version: int) -> None:
    path = tmp_path / "rlm-rs.db"
    _rlm_rs_db(path, version)
    store = Store.open(path)
    buffer = store.resolve_buffer("old")
    assert store.read_buffer(buffer.id) == "ancient text about lighthouses\nsecond line"
    assert buffer.line_count == 2
    assert store.bm25('"lighthouse"', 10) == [
        (1, pytest.approx(store.bm25('"lighthouse"', 10)[0][1]))
    ]
    vectors = store.vector_count()
    assert vectors == (1 if version == 3 else 0)  # v1/v2 vectors were 384-d: dropped as rlm-rs
    assert store.stats().schema_version == 3


def test_reopening_runs_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Store.init(path).close()
    store = Store.open(path)
    assert len(applied(store.conn)) == len(MIGRATIONS)


def test_open_without_init_is_not_initialized(tmp_path: Path) -> None:
    with pytest.raises(NotInitializedError):
        Store.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_failed_migration_leaves_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rlm-rs.db"
    _rlm_rs_db(path, 1)
    before = path.read_bytes()

    def boom(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk on fire")

    import rlm.store.migrations as migrations

    broken = (*migrations.MIGRATIONS[:2], ("m003_add_lexical_aux_index", boom))
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    from rlm.errors import MigrationError

    with pytest.raises(MigrationError):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM schema_info").fetchone()[0] == "1"
    assert "_rlm_migrations" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert len(path.read_bytes()) >= len(before)


def test_fts_follows_content_updates_only(tmp_path: Path) -> None:
    from rlm.store import NewBuffer, NewChunk

    store = Store.init(tmp_path / "db.sqlite")
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name="a"))
        (cid,) = store.insert_chunks(bid, [NewChunk(0, 0, 5, "alpha", None, 1, 1, 1, False, "h")])
    store.set_token_counts([(cid, 7)])  # metadata update: index unchanged
    assert [c for c, _ in store.bm25('"alpha"', 5)] == [cid]
    store.conn.execute("UPDATE chunks SET content = 'omega' WHERE id = ?", (cid,))
    assert store.bm25('"alpha"', 5) == []
    assert [c for c, _ in store.bm25('"omega"', 5)] == [cid]


def test_m006_passages_follow_their_chunk(tmp_path: Path) -> None:
    from tests.search.conftest import add_chunks

    store = Store.init(tmp_path / "p.db")
    try:
        assert "m006_add_passage_embeddings" in applied(store.conn)
        add_chunks(store, "doc", ["One sentence here. Another one there."])
        assert store.passage_count() >= 1
        row = store.conn.execute(
            "SELECT dtype, length(embedding), dimensions, fingerprint FROM passage_embeddings"
        ).fetchone()
        assert row[0] == "i1" and row[1] == row[2] and row[3]
        buffer = store.find_buffer_by_name("doc")
        assert buffer is not None
        with store.transaction():
            store.delete_buffer(buffer.id)
        assert store.passage_count() == 0
    finally:
        store.close()


def test_m007_signatures_read_an_index_not_the_vector_rows(tmp_path: Path) -> None:
    """Every new search process computes both signatures: they must not scan BLOB rows."""
    store = Store.init(tmp_path / "s.db")
    try:
        assert "m007_add_signature_indexes" in applied(store.conn)
        for table, sig in (
            ("passage_embeddings", "COUNT(*), MAX(id), MAX(created_at)"),
            ("chunk_embeddings", "COUNT(*), MAX(chunk_id), MAX(created_at)"),
        ):
            plan = store.conn.execute(
                f"EXPLAIN QUERY PLAN SELECT {sig} FROM {table}"
                " WHERE fingerprint = 'f' AND dimensions = 384"
            ).fetchall()
            assert "COVERING INDEX" in " ".join(str(row[-1]) for row in plan), plan
    finally:
        store.close()


def test_search_bookkeeping_queries_seek_indexes(tmp_path: Path) -> None:
    """What every new search process asks (signatures, chunks without passages) must
    seek an index, never walk the vector rows once per chunk."""
    from tests.search.conftest import add_chunks

    store = Store.init(tmp_path / "q.db")
    try:
        add_chunks(store, "doc", ["One sentence here. Another one there.", "Second chunk."])
        fingerprint, dims = store.conn.execute(
            "SELECT fingerprint, dimensions FROM chunk_embeddings LIMIT 1"
        ).fetchone()
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        try:
            assert store.chunks_without_passages(fingerprint) == 0
            store.passage_signature(fingerprint, dims)
            store.vector_signature(fingerprint, dims)
        finally:
            store.conn.set_trace_callback(None)
        assert len(seen) == 3  # row_counts said no chunk lacks passages: nothing counted

        def scans(sql: str) -> str:
            plan = " ".join(str(r[-1]) for r in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            # row_counts holds a few rows per model (m008): reading it is no walk.
            return plan.replace("SCAN CONSTANT ROW", "").replace("SCAN row_counts", "")

        for sql in seen:
            assert "SCAN" not in scans(sql), (sql, scans(sql))
        with store.transaction():  # an older store: vectors without passages
            store.conn.execute("DELETE FROM passage_embeddings")
        seen.clear()
        store.conn.set_trace_callback(seen.append)
        try:
            assert store.chunks_without_passages(fingerprint) == 2
        finally:
            store.conn.set_trace_callback(None)
        counted = [sql for sql in seen if "NOT EXISTS" in sql]
        assert len(counted) == 1 and "chunk_id=?" in scans(counted[0])
    finally:
        store.close()
