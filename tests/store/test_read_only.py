"""A read-only store is read-only in SQLite itself: no migration, not one byte changed."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from rlm.errors import ReadOnlyStoreError
from rlm.search import search
from rlm.store import NewBuffer, NewChunk, Store
from rlm.views import chunk_with_context


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with Store.init(path) as store, store.transaction():
        bid = store.insert_buffer(NewBuffer(name="doc", size=11))
        store.write_buffer_segments(bid, [b"hello world"])
        store.insert_chunks(
            bid, [NewChunk(0, 0, 11, "hello world", "semantic", 3, 1, 1, False, "h0")]
        )
    # checkpoint the WAL into the main file, as a store at rest looks
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def test_several_reads_leave_the_file_bytes_unchanged(db: Path, hash_embedder: None) -> None:
    before = _digest(db)
    for _ in range(3):
        with Store.open(db, read_only=True) as store:
            assert store.read_only
            assert [b.name for b in store.list_buffers()] == ["doc"]
            assert store.read_buffer_bytes(store.resolve_buffer("doc").id) == b"hello world"
            assert store.bm25('"hello"', 5)
            assert chunk_with_context(store, 1, 0) is not None
            search(store, "hello", top_k=3, mode="bm25")
            store.stats()
    assert _digest(db) == before


def test_writes_are_refused_with_a_typed_error(db: Path) -> None:
    before = _digest(db)
    with Store.open(db, read_only=True) as store:
        with pytest.raises(ReadOnlyStoreError, match="read-only"), store.transaction():
            store.insert_buffer(NewBuffer(name="x"))
        with pytest.raises(sqlite3.OperationalError):  # even SQL that skips the API
            store.conn.execute("DELETE FROM buffers")
        assert store.conn.execute("PRAGMA query_only").fetchone()[0] == 1
        assert store.conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0
    assert _digest(db) == before


def test_a_store_needing_migration_says_so_and_is_left_alone(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM _rlm_migrations WHERE name = 'm005_drop_redundant_chunk_index'")
        conn.execute("CREATE INDEX idx_chunks_buffer ON chunks(buffer_id)")
    before = _digest(db)
    with pytest.raises(ReadOnlyStoreError) as info:
        Store.open(db, read_only=True)
    assert "needs 1 schema migration" in info.value.message
    assert "without --read-only" in (info.value.suggestion or "")
    assert _digest(db) == before
    Store.open(db).close()  # a normal open migrates it
    Store.open(db, read_only=True).close()


def test_read_only_search_writes_no_ann_sidecar(tmp_path: Path) -> None:
    from rlm.embedding.hashing import HashEmbedder
    from rlm.ingest.loader import LoadOptions, load_text
    from rlm.io import from_text
    from rlm.search import vector as vector_mod
    from rlm.search.ann import available, index_paths

    if not available():  # the dev extra installs usearch; see tests/search/test_vector.py
        pytest.skip("usearch is not installed")
    db = tmp_path / "v.db"
    emb = HashEmbedder()
    with Store.init(db) as store:
        text = "".join(f"Paragraph {i} about topic {i % 7}.\n\n" for i in range(300))
        options = LoadOptions(chunk_size=200, overlap=0)
        load_text(store, from_text(text), name="doc", options=options, embedder_factory=lambda: emb)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(db)
    vector_mod.clear_cache()
    with Store.open(db, read_only=True) as store:
        index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions, use_ann=True)
        assert index.ann is not None and index.size > 10
    ann_path, meta_path = index_paths(db.resolve(), emb.fingerprint)
    assert not ann_path.exists() and not meta_path.exists()
    assert _digest(db) == before
