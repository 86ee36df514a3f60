"""The vector leg: per-process matrix cache, invalidation, optional HNSW index."""

from __future__ import annotations

import numpy as np
import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.search import SearchEngine
from rlm.search import vector as vector_mod
from rlm.store import Store
from tests.search.conftest import AddBuffer


def _index(store: Store, **kw: bool) -> vector_mod.VectorIndex:
    emb = HashEmbedder()
    return vector_mod.vector_index(store, emb.fingerprint, emb.dimensions, **kw)


def test_matrix_is_loaded_once_and_reloaded_after_changes(
    store: Store, add: AddBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    add("a", ["alpha", "beta"])
    loads = []
    real = Store.load_vectors_with_buffers

    def counting(self: Store, fingerprint: str, dims: int):  # type: ignore[no-untyped-def]
        loads.append(fingerprint)
        return real(self, fingerprint, dims)

    monkeypatch.setattr(Store, "load_vectors_with_buffers", counting)
    engine = SearchEngine(store, HashEmbedder())
    for _ in range(5):
        engine.search("alpha", mode="semantic")
    assert len(loads) == 1
    first = _index(store)
    assert first.size == 2 and first.matrix.flags["C_CONTIGUOUS"]
    assert first.matrix.dtype == np.float32
    add("b", ["gamma"])
    assert _index(store).size == 3
    assert len(loads) == 2
    # Another connection to the same file sees the same cached entry, no reload.
    other = Store.open(store.path)
    try:
        SearchEngine(other, HashEmbedder()).search("gamma", mode="semantic")
    finally:
        other.close()
    assert len(loads) == 2


def test_deleted_chunks_drop_out_of_the_cache(store: Store, add: AddBuffer) -> None:
    ids = add("a", ["alpha one", "alpha two"])
    engine = SearchEngine(store, HashEmbedder())
    assert {r.chunk_id for r in engine.search("alpha", mode="semantic").results} == set(ids)
    buffer = store.find_buffer_by_name("a")
    assert buffer is not None
    with store.transaction():
        store.delete_buffer(buffer.id)
    assert engine.search("alpha", mode="semantic").count == 0


def test_ann_index_matches_exact_and_syncs_incrementally(store: Store, add: AddBuffer) -> None:
    from rlm.search.ann import available, index_paths

    if not available():  # not importorskip: usearch must be imported after onnxruntime
        pytest.skip("usearch is not installed")

    texts = [f"document number {i} about topic {i % 7} and item {i * 3}" for i in range(60)]
    add("a", texts)
    exact = _index(store, use_ann=False)
    emb = HashEmbedder()
    q = emb.embed_query("topic 3 item 9")
    # The HNSW index holds chunk vectors: it answers like the exact chunk cosine.
    want = exact.search(q, 10, exact=True, passages=False)
    ann = _index(store, use_ann=True)
    assert ann.ann is not None
    got = ann.search(q, 10)
    assert [c for c, _ in got] == [c for c, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    path, meta = index_paths(store.path.resolve(), emb.fingerprint)
    assert path.exists() and meta.exists()
    # New vectors are added to the persisted index on the next open.
    new = add("b", ["a brand new zebra document"])
    vector_mod.clear_cache()
    synced = _index(store, use_ann=True)
    assert synced.ann is not None and len(synced.ann) == 61
    top = synced.search(emb.embed_query("brand new zebra"), 1)
    assert top[0][0] == new[0]
    # A buffer filter always takes the exact path.
    filtered = synced.search(q, 5, buffer_ids=[1])
    assert filtered == synced.search(q, 5, buffer_ids=[1], exact=True)
    assert filtered == exact.search(q, 5, exact=True)


def test_search_max_scores_each_chunk_by_its_best_query(store: Store, add: AddBuffer) -> None:
    """Typed entries make one semantic leg: per chunk, the best score over the queries,
    on the exact path and on the HNSW path alike."""
    from rlm.search.ann import available

    add("a", [f"document number {i} about topic {i % 7} and item {i * 3}" for i in range(40)])
    emb = HashEmbedder()
    queries = [(emb.embed_query(t), None) for t in ("topic 3 item 9", "number 12", "item 60")]
    for use_ann in (False, True):
        if use_ann and not available():
            continue
        vector_mod.clear_cache()
        index = _index(store, use_ann=use_ann)
        assert (index.ann is not None) == use_ann
        best: dict[int, float] = {}
        for q, _ in queries:
            for cid, score in index.search(q, 40):
                best[cid] = max(score, best.get(cid, score))
        want = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:10]
        got = index.search_max(queries, 10)
        assert [c for c, _ in got] == [c for c, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-6)
        assert index.search_max(queries[:1], 10) == index.search(queries[0][0], 10)
