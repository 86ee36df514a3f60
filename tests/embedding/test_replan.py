"""Re-planning old passages with the real model: passages only, the chunk vector kept.

A re-plan keeps each chunk's vector, so embedding a chunk that fits one model window
whole as well (what a fresh embed blends into the chunk vector) would be thrown away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlm.embedding.onnx_embedder import OnnxEmbedder
from rlm.embedding.passages import PASSAGE_RULES
from rlm.embedding.sync import embed_buffer
from rlm.store import Store
from tests.search.conftest import add_chunks

# Chunks of several passages that fit one window (embedded whole too on a fresh embed),
# and one longer than a window (never embedded whole).
TEXTS = [
    f"The keeper of light {i} logs the tide at dawn. Gulls circle the copper roof. "
    f"Fog rolls in from the west by noon.\n\nThe lamp {i} is trimmed at dusk."
    for i in range(6)
] + [" ".join(f"Sentence {j} tells of harbours, ropes and lanterns." for j in range(60))]


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in store.conn.execute(sql).fetchall()]


def test_replan_embeds_the_passages_only_and_matches_a_fresh_embed(
    model: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.init(tmp_path / "r.db") as store:
        ids = add_chunks(store, "doc", TEXTS, embedder=model)
        bid = store.list_buffers()[0].id
        fresh = _rows(
            store,
            "SELECT chunk_id, ordinal, byte_start, byte_end, line_start, line_end, tokens,"
            " embedding FROM passage_embeddings ORDER BY chunk_id, ordinal",
        )
        with store.transaction():
            store.conn.execute("UPDATE passage_embeddings SET rules = 2")
            store.conn.execute("UPDATE chunk_embeddings SET created_at = 1")
        vectors = _rows(
            store, "SELECT chunk_id, rowid, created_at, embedding FROM chunk_embeddings"
        )

        embedded: list[str] = []
        real = model._embed

        def spy(texts: list[str], prefix: str) -> Any:
            embedded.extend(texts)
            return real(texts, prefix)

        monkeypatch.setattr(model, "_embed", spy)
        outcome = embed_buffer(store, bid, model)

        assert outcome.replanned == len(ids) and outcome.embedded == outcome.replaced == 0
        assert len(embedded) == len(fresh) == outcome.passages  # one text per passage
        assert not set(embedded) & set(TEXTS[:6]), "a chunk was embedded whole"
        assert (
            _rows(store, "SELECT chunk_id, rowid, created_at, embedding FROM chunk_embeddings")
            == vectors
        )
        again = _rows(
            store,
            "SELECT chunk_id, ordinal, byte_start, byte_end, line_start, line_end, tokens,"
            " embedding, rules FROM passage_embeddings ORDER BY chunk_id, ordinal",
        )
        assert [r[:7] for r in again] == [r[:7] for r in fresh]  # same spans, same tokens
        assert {r[8] for r in again} == {PASSAGE_RULES}
        for old, new in zip(fresh, again, strict=True):
            a = np.frombuffer(old[7], dtype=np.int8).astype(np.float32)
            b = np.frombuffer(new[7], dtype=np.int8).astype(np.float32)
            cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
            assert cosine > 0.999 and int(np.abs(a - b).max()) <= 2, (old[:2], cosine)


def test_chunks_to_replan_selects_only_what_it_returns(tmp_path: Path) -> None:
    """Its rows are (id, content, byte start, line start): no constant column is read."""
    from rlm.embedding.hashing import HashEmbedder

    emb = HashEmbedder()
    with Store.init(tmp_path / "c.db") as store:
        add_chunks(store, "doc", ["One sentence here. Another one there.", "Second chunk."])
        bid = store.list_buffers()[0].id
        with store.transaction():
            store.conn.execute("UPDATE passage_embeddings SET rules = 2")
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        try:
            rows = store.chunks_to_replan(bid, emb.fingerprint, PASSAGE_RULES)
        finally:
            store.conn.set_trace_callback(None)
        assert len(rows) == 2 and all(r[2] is True for r in rows)
        (sql,) = seen
        columns = [d[0] for d in store.conn.execute(sql).description]
        assert columns == ["id", "content", "byte_start", "line_start"]
