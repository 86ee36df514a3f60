"""The real bundled model (all-MiniLM-L6-v2 int8), run offline through fastembed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rlm.embedding.onnx_embedder import OnnxEmbedder
from rlm.embedding.passages import pooled, with_whole
from rlm.embedding.registry import default_model
from rlm.embedding.selection import build_embedder
from rlm.errors import EmbeddingError

QUERY = "How do I fix a flat bicycle tire?"
PARAPHRASE = (
    "Repairing a punctured bike wheel: take the inner tube out, find the hole, "
    "patch it and pump the tube up again."
)
UNRELATED = "The central bank raised interest rates to slow inflation in the housing market."
LONG = " ".join(
    f"Paragraph {i} is about topic number {i % 7}, mixing bicycles, banks and rivers."
    for i in range(120)
)


def test_shape_unit_norm_and_dtype(model: OnnxEmbedder) -> None:
    batch = model.embed_documents([QUERY, PARAPHRASE, UNRELATED])
    assert model.dimensions == 384 and model.max_tokens == 256
    assert batch.vectors.shape == (3, 384)
    assert batch.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch.vectors, axis=1), 1.0, atol=1e-5)
    assert batch.windows == [1, 1, 1]
    assert model.is_semantic and model.fallback_reason is None


def test_deterministic(model: OnnxEmbedder) -> None:
    first = model.embed_documents([PARAPHRASE, UNRELATED]).vectors
    again = model.embed_documents([UNRELATED, PARAPHRASE]).vectors
    np.testing.assert_allclose(first, again[::-1], atol=1e-5)
    np.testing.assert_allclose(model.embed_query(PARAPHRASE), first[0], atol=1e-5)


def test_paraphrase_beats_unrelated(model: OnnxEmbedder) -> None:
    query = model.embed_query(QUERY)
    docs = model.embed_documents([PARAPHRASE, UNRELATED]).vectors
    related, unrelated = (float(v) for v in docs @ query)
    assert related > unrelated + 0.2, (related, unrelated)


def test_long_text_is_windowed_not_truncated(model: OnnxEmbedder) -> None:
    [tokens] = model.count_tokens([LONG]) or [0]
    assert tokens > model.max_tokens
    batch = model.embed_documents([LONG, QUERY])
    assert batch.windows[0] > 1 and batch.windows[1] == 1
    assert batch.windows[0] >= -(-tokens // model.max_tokens)
    tail_changed = model.embed_documents([LONG[: len(LONG) // 4]]).vectors[0]
    assert float(batch.vectors[0] @ tail_changed) < 0.999
    np.testing.assert_allclose(np.linalg.norm(batch.vectors[0]), 1.0, atol=1e-5)
    np.testing.assert_allclose(model.embed_query(LONG), batch.vectors[0], atol=1e-5)


def test_window_vector_differs_from_first_window_alone(model: OnnxEmbedder) -> None:
    pieces = model._plan([LONG], "")[0]
    assert len(pieces) > 1
    assert all(tokens <= model.max_tokens - 2 for _, tokens in pieces)
    first_only = model.embed_documents([pieces[0][0]])
    assert first_only.windows == [1]
    whole = model.embed_documents([LONG]).vectors[0]
    assert float(whole @ first_only.vectors[0]) < 0.995


def test_non_ascii_long_text(model: OnnxEmbedder) -> None:
    text = "Ünïcödé café — 日本語のテキスト, naïve résumé. " * 80
    batch = model.embed_documents([text])
    assert batch.windows[0] > 1
    assert np.isfinite(batch.vectors).all()


def test_count_tokens_is_exact_and_needs_no_session() -> None:
    fresh = build_embedder(default_model(), None)
    assert isinstance(fresh, OnnxEmbedder)
    assert fresh.count_tokens(["hello world", "", "unbelievable"]) == [4, 2, 3]
    assert fresh._engine is None, "counting tokens must not create the ONNX session"


def test_empty_texts_are_refused(model: OnnxEmbedder) -> None:
    with pytest.raises(EmbeddingError, match="empty text 1"):
        model.embed_documents(["fine", "  "])
    with pytest.raises(EmbeddingError, match="empty query"):
        model.embed_query("")


def test_non_finite_output_is_refused(model: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(pieces: list[tuple[str, int]]) -> np.ndarray:
        return np.full((len(pieces), 384), np.nan, dtype=np.float32)

    monkeypatch.setattr(model, "_run", broken)
    with pytest.raises(EmbeddingError, match="NaN"):
        model.embed_documents(["text"])


def test_progress_is_reported(model: OnnxEmbedder) -> None:
    seen: list[tuple[int, int]] = []
    model.embed_documents(["one", "two", "three"], progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3, 3)


def test_threads_share_one_session() -> None:
    fresh = build_embedder(default_model(), None)
    assert isinstance(fresh, OnnxEmbedder)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(fresh.embed_query(QUERY))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for vector in results[1:]:
        np.testing.assert_allclose(vector, results[0], atol=1e-5)
    assert fresh.threads >= 1 and fresh.load_seconds is not None


def test_chunk_that_fits_one_window_is_blended_with_its_whole_vector(
    model: OnnxEmbedder,
) -> None:
    short = (
        "The harbour master logged three vessels before the storm. "
        "Nobody expected the copper shipment to arrive early. "
        "Falcons nested on the customs house roof that spring."
    )
    batch = model.embed_passages([short, LONG], 16)
    assert len(batch.spans[0]) > 1  # several passages, one window
    whole = model.embed_documents([short]).vectors[0]
    blended = with_whole(pooled(batch.passage_vectors[0], batch.spans[0]), whole)
    assert np.allclose(batch.vectors[0], blended, atol=1e-5)
    assert not np.allclose(batch.vectors[0], pooled(batch.passage_vectors[0], batch.spans[0]))
    # Longer than one window: pooled from its passages only, never embedded twice.
    assert np.allclose(batch.vectors[1], pooled(batch.passage_vectors[1], batch.spans[1]))
    # A query is pooled as measured (rlm.search.vector.long_query_chunk_vector).
    query = model.embed_passages([short], 16, query=True)
    assert np.allclose(query.vectors[0], pooled(query.passage_vectors[0], query.spans[0]))
