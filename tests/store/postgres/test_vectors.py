"""pgvector on the PostgreSQL backend: HNSW is used, agrees with exact search, and
the search engine's ANN leg goes through it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlm.store import NewBuffer, NewChunk, Store, VectorRow
from rlm.store.postgres.vectors import nearest_sql

pytestmark = pytest.mark.pg

DIMS = 32


def _store_with_vectors(url: str, n: int) -> tuple[Store, np.ndarray]:
    rng = np.random.default_rng(7)
    centroids = rng.normal(size=(8, DIMS))
    vectors = centroids[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, DIMS))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    store = Store.init(url)
    with store.transaction():
        buffer_id = store.insert_buffer(NewBuffer(name="v", size=n))
        ids = store.insert_chunks(
            buffer_id,
            [
                NewChunk(i, i, i + 1, f"chunk {i}", "fixed", 2, 1, 1, False, str(i))
                for i in range(n)
            ],
        )
        store.store_vectors(
            VectorRow(cid, vec.astype("<f4").tobytes(), DIMS, "m", "fp", 1)
            for cid, vec in zip(ids, vectors, strict=True)
        )
    return store, vectors


def test_hnsw_index_is_used_and_agrees_with_exact_search(pg_url: str) -> None:
    store, vectors = _store_with_vectors(pg_url, 600)
    with store:
        recalls = []
        for q in vectors[:20]:
            found = store.nearest_chunks("fp", DIMS, q, 10)
            exact = store.exact_nearest_chunks("fp", DIMS, q, 10)  # type: ignore[attr-defined]
            recalls.append(len({c for c, _ in found} & {c for c, _ in exact}) / 10)
            assert found == sorted(found, key=lambda h: (-h[1], h[0]))
            assert found[0][1] == pytest.approx(1.0, abs=1e-5)  # itself, exact cosine
        assert sum(recalls) / len(recalls) >= 0.95
        plan = "\n".join(
            r[0]
            for r in store.pg.execute(  # type: ignore[attr-defined]
                "EXPLAIN " + nearest_sql(DIMS), {"q": vectors[0], "fp": "fp", "depth": 40}
            )
        )
        assert f"idx_chunk_embeddings_hnsw_{DIMS}" in plan


def test_the_engine_ann_leg_asks_the_store(pg_url: str) -> None:
    from rlm.search.ann import StoreAnn
    from rlm.search.vector import clear_cache, vector_index

    store, vectors = _store_with_vectors(pg_url, 300)
    with store:
        clear_cache()
        index = vector_index(store, "fp", DIMS, use_ann=True)
        assert isinstance(index.ann, StoreAnn)
        ann_hits = index.search(vectors[5], 5)
        exact_hits = index.search(vectors[5], 5, exact=True, passages=False)
        assert [c for c, _ in ann_hits] == [c for c, _ in exact_hits]
        for (_, a), (_, b) in zip(ann_hits, exact_hits, strict=True):
            assert a == pytest.approx(b, abs=1e-5)
        clear_cache()


def test_passages_round_trip_as_int8(pg_url: str, tmp_path: Path) -> None:
    from rlm.store import PassageRow

    store, _ = _store_with_vectors(pg_url, 3)
    with store:
        chunk_ids = [c.id for c in store.list_chunks(store.list_buffers()[0].id)]
        blob = bytes(np.arange(DIMS, dtype=np.int8).tobytes())
        with store.transaction():
            store.store_passages(
                chunk_ids[:1],
                [PassageRow(chunk_ids[0], 0, 0, 1, 1, 1, 3, blob, DIMS, "m", "fp")],
            )
        loaded = store.load_passages("fp", DIMS)
        assert loaded.chunk_ids.tolist() == [chunk_ids[0]]
        assert loaded.matrix[0].tolist() == list(range(DIMS))
        assert store.passage_spans(chunk_ids)[chunk_ids[0]][0].byte_end == 1
