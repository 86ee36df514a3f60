from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.errors import EmbeddingError

SCRIPT = (
    "from rlm.embedding.hashing import HashEmbedder;"
    "print(HashEmbedder().embed_query('The quick brown fox').tobytes().hex())"
)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_unit_length_and_shape() -> None:
    batch = HashEmbedder().embed_documents(["alpha beta", "gamma, delta!", "é 日本語"])
    assert batch.vectors.shape == (3, 1024)
    assert batch.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch.vectors, axis=1), 1.0, atol=1e-6)
    assert batch.windows == [1, 1, 1]


def test_deterministic_across_instances_and_processes() -> None:
    here = HashEmbedder().embed_query("The quick brown fox").tobytes().hex()
    assert here == HashEmbedder().embed_query("The quick brown fox").tobytes().hex()
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert out.stdout.strip() == here


def test_lexical_similarity() -> None:
    embedder = HashEmbedder()
    query = embedder.embed_query("quick brown fox")
    close = embedder.embed_query("the quick brown fox jumps")
    far = embedder.embed_query("interest rates and the stock market")
    assert _cos(query, close) > _cos(query, far) + 0.3


def test_case_and_punctuation_are_normalised() -> None:
    embedder = HashEmbedder()
    np.testing.assert_allclose(
        embedder.embed_query("Hello, World!"), embedder.embed_query("hello  world "), atol=1e-6
    )


def test_symbol_only_text_still_gets_a_unit_vector() -> None:
    vector = HashEmbedder().embed_query("!?")
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", ["", "   \n\t"])
def test_empty_text_is_an_error(bad: str) -> None:
    with pytest.raises(EmbeddingError, match="empty"):
        HashEmbedder().embed_documents(["fine", bad])
    with pytest.raises(EmbeddingError, match="empty"):
        HashEmbedder().embed_query(bad)


def test_identity() -> None:
    embedder = HashEmbedder(fallback_reason="because")
    assert embedder.is_semantic is False
    assert embedder.fallback_reason == "because"
    assert embedder.count_tokens(["a b"]) is None
    assert embedder.name == "fallback-hash-v1-py"
    assert embedder.fingerprint.startswith("fallback-hash-v1-py:")
