"""Store basics: buffers, segments, chunks, context, atomic transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm.errors import BufferExistsError, BufferNotFoundError, ChunkNotFoundError
from rlm.store import NewBuffer, NewChunk, Store
from rlm.store.migrations import SEGMENT_SIZE


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.init(tmp_path / "db.sqlite")


def _chunk(i: int, text: str, start: int) -> NewChunk:
    raw = text.encode()
    return NewChunk(i, start, start + len(raw), text, "semantic", 1, 1, 1, False, f"h{i}")


def test_segments_round_trip_across_boundaries(store: Store) -> None:
    data = ("é" * (SEGMENT_SIZE // 2 + 7)).encode()  # 2-byte chars straddle segment edges
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name="big", size=len(data)))
        store.write_buffer_segments(bid, [data[:1000], data[1000:]])
    assert store.read_buffer_bytes(bid) == data
    lo, hi = SEGMENT_SIZE - 5, SEGMENT_SIZE + 9
    assert store.read_buffer_bytes(bid, lo, hi) == data[lo:hi]
    assert b"".join(store.iter_buffer_segments(bid)) == data


def test_transaction_rolls_back_everything(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        bid = store.insert_buffer(NewBuffer(name="x", size=5))
        store.write_buffer_segments(bid, [b"hello"])
        store.insert_chunks(bid, [_chunk(0, "hello", 0)])
        raise RuntimeError("crash")
    assert store.stats().buffer_count == 0
    assert store.stats().chunk_count == 0
    assert store.bm25('"hello"', 10) == []


def test_unique_names_and_resolution(store: Store) -> None:
    with store.transaction():
        first = store.insert_buffer(NewBuffer(name="2"))
        store.insert_buffer(NewBuffer(name="doc"))
    with pytest.raises(BufferExistsError):
        store.insert_buffer(NewBuffer(name="doc"))
    assert store.resolve_buffer("doc").name == "doc"
    assert store.resolve_buffer(str(first)).id == first
    with pytest.raises(BufferNotFoundError):
        store.resolve_buffer("nope")


def test_delete_cascades_to_chunks_fts_and_aux(store: Store) -> None:
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name="d"))
        ids = store.insert_chunks(bid, [_chunk(0, "parseConfig 東京タワー", 0)])
    assert store.bm25('"config"', 10, index="aux") == [(ids[0], pytest.approx(1e-06))]
    store.delete_buffer(bid)
    assert store.bm25('"config"', 10, index="aux") == []
    with pytest.raises(ChunkNotFoundError):
        store.get_chunk(ids[0])


def test_bm25_filters_buffers_before_ranking(store: Store) -> None:
    with store.transaction():
        a = store.insert_buffer(NewBuffer(name="a"))
        b = store.insert_buffer(NewBuffer(name="b"))
        store.insert_chunks(a, [_chunk(i, "apple apple apple", 0) for i in range(20)])
        wanted = store.insert_chunks(b, [_chunk(0, "apple and pears", 0)])
    assert [cid for cid, _ in store.bm25('"apple"', 3, [b])] == wanted
    assert len(store.bm25('"apple"', 3)) == 3


def test_context_values(store: Store) -> None:
    store.set_value("variables", "k", "v")
    assert store.get_value("variables", "k") == {"type": "String", "value": "v"}
    assert store.get_value("globals", "k") is None
    assert store.delete_value("variables", "k") is True
    assert store.delete_value("variables", "k") is False


def test_reset_keeps_ids_counting(store: Store) -> None:
    with store.transaction():
        first = store.insert_buffer(NewBuffer(name="a"))
    store.reset()
    with store.transaction():
        second = store.insert_buffer(NewBuffer(name="a"))
    assert second > first


@pytest.mark.parametrize("per_statement", [1, 7, 500])
def test_chunks_insert_in_multi_row_statements_with_fts_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch, per_statement: int
) -> None:
    """However a batch is cut into statements, ids are consecutive and every chunk is indexed."""
    import rlm.store.chunks as chunk_queries

    monkeypatch.setattr(chunk_queries, "_rows_per_statement", lambda conn: per_statement)
    words = [f"word{i:03d} parseConfig{i} 東京{i}" for i in range(23)]
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name="many", size=1))
        ids = store.insert_chunks(bid, [_chunk(i, w, i * 40) for i, w in enumerate(words)])
    assert ids == list(range(ids[0], ids[0] + len(words)))
    stored = store.list_chunks(bid)
    assert [(c.id, c.index, c.content) for c in stored] == list(
        zip(ids, range(len(words)), words, strict=True)
    )
    for i in (0, 6, 7, 22):  # statement edges for 7
        assert [cid for cid, _ in store.bm25(f'"word{i:03d}"', 5)] == [ids[i]]
    aux = store.conn.execute("SELECT COUNT(*) FROM chunks_aux_fts").fetchone()[0]
    assert aux == len(words)


def test_rows_per_statement_respects_the_parameter_limit() -> None:
    import rlm.store.chunks as chunk_queries

    class OldSqlite:
        def getlimit(self, category: int) -> int:
            return 999

    assert chunk_queries._rows_per_statement(OldSqlite()) == 999 // 13  # type: ignore[arg-type]


def test_change_token_differs_between_connections(store: Store) -> None:
    """Caches keyed on the token (vector matrix, search warnings) must not trust a
    fresh connection's counters: every connection starts at the same values, and
    another process may have written between two of them (the MCP server opens a
    store per call)."""
    path = store.path
    first = Store.open(path)
    token = first.change_token()
    first.close()
    second = Store.open(path)
    try:
        assert second.change_token() != token
        assert second.change_token() == second.change_token()
    finally:
        second.close()
