"""``row_counts`` (m008): the counts a search reads instead of counting stay exact."""

from __future__ import annotations

from pathlib import Path

from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.sync import embed_buffer
from rlm.store import Store, VectorRow
from tests.search.conftest import add_chunks

TEXTS = [
    "The lighthouse keeper lit the lamp at dusk. Ships passed the rocks safely.",
    "Tide tables are printed each spring. Fishermen read them before dawn.",
    "A third chunk about nothing in particular.",
]


def counted(store: Store) -> dict[tuple[str, str, int], int]:
    """What the triggers should hold, counted the slow way."""
    conn = store.conn
    out: dict[tuple[str, str, int], int] = {}
    for table in ("chunk_embeddings", "passage_embeddings"):
        for fp, dims, n in conn.execute(
            f"SELECT COALESCE(fingerprint, ''), COALESCE(dimensions, 0), COUNT(*) FROM {table}"
            " GROUP BY 1, 2"
        ):
            out[(table, str(fp), int(dims))] = int(n)
    for fp, dims, n in conn.execute(
        "SELECT fingerprint, dimensions, COUNT(DISTINCT chunk_id) FROM passage_embeddings"
        " GROUP BY 1, 2"
    ):
        out[("passage_chunks", str(fp), int(dims))] = int(n)
    return {k: v for k, v in out.items() if v}


def test_counts_follow_loads_reembeds_and_deletes(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "c.db")
    try:
        first = add_chunks(store, "a", TEXTS)
        add_chunks(store, "b", TEXTS[:2])
        assert store._row_counts() == counted(store)
        emb = HashEmbedder()
        # A re-embed replaces vectors and passages (the UPSERT keeps the count).
        embed_buffer(store, store.resolve_buffer("a").id, emb, force=True)
        assert store._row_counts() == counted(store)
        row = store.vector_rows([first[0]])[0]
        with store.transaction():  # another model's vector for one chunk
            store.store_vectors(
                [VectorRow(row.chunk_id, row.blob, row.dimensions, "m", "other", 1)]
            )
        assert store._row_counts() == counted(store)
        assert store.stale_vector_count(None, emb.fingerprint) == 1
        with store.transaction():
            store.delete_buffer(store.resolve_buffer("b").id)  # cascades to vectors, passages
        assert store._row_counts() == counted(store)
        assert store.chunk_count_total() == len(TEXTS)
        assert store.embedded_chunk_count() == len(TEXTS)
    finally:
        store.close()


def test_backlog_and_missing_passages_are_still_seen(tmp_path: Path) -> None:
    """The counts only skip the walks when nothing can be missing."""
    store = Store.init(tmp_path / "b.db")
    try:
        add_chunks(store, "a", TEXTS)
        emb = HashEmbedder()
        assert store.embedding_backlog().chunks == 0
        assert store.chunks_without_passages(emb.fingerprint) == 0
        with store.transaction():
            store.conn.execute("DELETE FROM passage_embeddings WHERE chunk_id = 1")
        assert store.chunks_without_passages(emb.fingerprint) == 1
        with store.transaction():
            store.conn.execute("DELETE FROM chunk_embeddings WHERE chunk_id = 2")
        assert store.embedding_backlog().chunks >= 1
        assert store.embedded_chunk_count() == len(TEXTS) - 1
        assert store._row_counts() == counted(store)
    finally:
        store.close()


def test_migration_counts_an_existing_store(tmp_path: Path) -> None:
    """A store made before m008 gets its counts from one pass at the upgrade."""
    db = tmp_path / "old.db"
    store = Store.init(db)
    add_chunks(store, "a", TEXTS)
    with store.transaction():
        for (name,) in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%count_a%'"
        ).fetchall():
            store.conn.execute(f"DROP TRIGGER {name}")
        store.conn.execute("DROP TABLE row_counts")
        store.conn.execute("DELETE FROM _rlm_migrations WHERE name = 'm008_add_row_counts'")
    add_chunks(store, "b", TEXTS[:1])  # written with no trigger in place
    store.close()
    again = Store.open(db)
    try:
        assert again._row_counts() == counted(again)
        assert again.chunk_count_total() == len(TEXTS) + 1
    finally:
        again.close()
