"""The lexical fallback: word and character-trigram feature hashing.

Used when the real model cannot run (package missing, file corrupt, or
``RLM_EMBEDDER=hash``), so that load and search still work, lexically. It
follows rlm-rs's ``fallback-hash-v1`` recipe (spec §4.3) but hashes with
blake2b instead of Rust's SipHash, so its vectors differ and it carries its own
name (``fallback-hash-v1-py``): model-mismatch detection then keeps working.
blake2b, not Python's ``hash()``, because vectors must not change between runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rlm.embedding import passages
from rlm.embedding.base import EmbeddingBatch, PassageBatch
from rlm.embedding.passages import plan_passages, pooled, word_offsets
from rlm.embedding.registry import FALLBACK_MODEL, get_model
from rlm.embedding.validation import check_texts
from rlm.embedding.windowing import Window

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def _normalise(text: str) -> str:
    """Keep alphanumerics and whitespace (ASCII lower-cased); the rest becomes a space."""
    return "".join(
        (ch.lower() if ch.isascii() else ch) if ch.isalnum() or ch.isspace() else " " for ch in text
    )


def _hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def hash_features(text: str, dims: int) -> list[tuple[int, float]]:
    """(index, weight) features of ``text``, per the §4.3 recipe with blake2b."""
    clean = _normalise(text)
    features: list[tuple[int, float]] = []
    for word in clean.split():
        h = _hash(word)
        sign = -1.0 if (h >> 32) & 1 else 1.0
        features.append((h % dims, sign * (1.0 + ((h >> 16) & 0xFF) / 255.0)))
    for i in range(len(clean) - 2):
        h = _hash(clean[i : i + 3])
        features.append((h % dims, -0.5 if (h >> 32) & 1 else 0.5))
    return features


class HashEmbedder:
    """Deterministic, unit-length, lexical vectors; no model files needed."""

    is_semantic = False

    def __init__(self, fallback_reason: str | None = None) -> None:
        model = get_model(FALLBACK_MODEL)
        self.name = model.name
        self.dimensions = model.dim
        self.max_tokens = model.max_tokens
        self.fallback_reason = fallback_reason
        self.fingerprint = f"{model.name}:blake2b-word-trigram-{model.dim}"

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        import numpy as np

        vector = np.zeros(self.dimensions, dtype=np.float64)
        features = hash_features(text, self.dimensions)
        if features:
            index, weight = zip(*features, strict=True)
            np.add.at(vector, np.array(index), np.array(weight))
        norm = float(np.linalg.norm(vector))
        if norm > 0.0:
            vector /= norm
        else:
            # Only punctuation or symbols: no features. A fixed unit vector keeps
            # the "every vector is unit length" contract without favouring any text.
            vector[0] = 1.0
        return vector.astype(np.float32)

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> EmbeddingBatch:
        """One vector per text (each is a single 'window')."""
        import numpy as np

        check_texts(texts)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
        if progress is not None:
            progress(len(texts), len(texts))
        return EmbeddingBatch(vectors=out, windows=[1] * len(texts))

    def embed_passages(
        self,
        texts: Sequence[str],
        budget: int | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        query: bool = False,
        whole: bool = True,
    ) -> PassageBatch:
        """Passages cut at words (no tokenizer) and hashed like documents (queries and
        documents share one space: ``query`` changes nothing; no text is hashed whole,
        so ``whole`` changes nothing either)."""
        import numpy as np

        check_texts(texts)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        spans: list[list[Window]] = []
        rows: list[npt.NDArray[np.float32]] = []
        for i, text in enumerate(texts):
            offsets, word_ids = word_offsets(text)
            plan = plan_passages(text, offsets, word_ids, budget or passages.PASSAGE_TOKENS) or [
                Window(0, len(text), 0)
            ]
            vectors = np.stack([self._vector(text[w.start : w.end]) for w in plan])
            spans.append(plan)
            rows.append(vectors)
            out[i] = pooled(vectors, plan)
        if progress is not None:
            progress(len(texts), len(texts))
        return PassageBatch(vectors=out, spans=spans, passage_vectors=rows)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """The query's vector (same space as documents)."""
        check_texts([text], what="query")
        return self._vector(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        """The hash embedder has no tokenizer."""
        return None
