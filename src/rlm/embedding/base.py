"""The embedder contract shared by the ONNX model and the hash fallback.

numpy is imported only for type checking here: this module is imported by
commands that never embed, and they must start fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rlm.embedding.windowing import Window

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class EmbeddingBatch:
    """Vectors for a batch of texts: ``vectors[i]`` is unit length float32.

    ``windows[i]`` is how many token windows text ``i`` was embedded in (1 when
    it fit the model's window; more when it was split and pooled, never
    truncated).
    """

    vectors: npt.NDArray[np.float32]
    windows: list[int]


@dataclass(frozen=True)
class PassageBatch:
    """Passage vectors for a batch of texts, and each text's vector pooled from them.

    ``spans[i]`` are text ``i``'s passages (character offsets, token counts),
    ``passage_vectors[i]`` their unit vectors (one row per span), and
    ``vectors[i]`` the token-weighted mean of those rows, renormalised: the
    text's own vector (an embedder may blend in the text embedded whole, as
    :func:`rlm.embedding.passages.with_whole` does for a chunk that fits one window).
    """

    vectors: npt.NDArray[np.float32]
    spans: list[list[Window]]
    passage_vectors: list[npt.NDArray[np.float32]]

    @property
    def windows(self) -> list[int]:
        """Passages per text (what ``chunk_embeddings.windows`` records)."""
        return [len(s) for s in self.spans]


class Embedder(Protocol):
    """What search and load need from an embedding model."""

    name: str
    """Stored in ``chunk_embeddings.model_name`` (e.g. ``all-MiniLM-L6-v2``)."""
    dimensions: int
    fingerprint: str
    """Changes whenever vectors would change (model file hash, pooling...)."""
    is_semantic: bool
    """False for the hash fallback: search is then effectively lexical."""
    max_tokens: int
    fallback_reason: str | None
    """Why the fallback is in use (to warn once), else None."""

    def embed_documents(self, texts: Sequence[str]) -> EmbeddingBatch: ...

    def embed_passages(
        self,
        texts: Sequence[str],
        budget: int | None = None,
        *,
        query: bool = False,
        whole: bool = True,
    ) -> PassageBatch:
        """Passages of each text (see :mod:`rlm.embedding.passages`) and their vectors
        (``query``: with the model's query prefix, for a long query cut like a document;
        ``whole=False``: no text is also embedded whole, so ``vectors`` are the pooled
        passages alone, for a caller that keeps its chunk vector and wants passages only)."""
        ...

    def embed_query(self, text: str) -> npt.NDArray[np.float32]: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        """Exact token counts with the model's tokenizer, or None if it has none."""
        ...


def import_numpy_here() -> None:
    """Import NumPy in this thread, before starting a thread that may import it too.

    Two threads importing NumPy for the first time at once can fail: importlib's
    deadlock avoidance hands one of them the partially initialised module, and it
    raises "cannot import name '__cpu_features__' from partially initialized module".
    A cold hybrid search through the library failed that way in 7 of 12 fresh
    processes: the model-loading thread (onnxruntime imports NumPy) against the
    vector leg's first ``import numpy``. Whoever starts such a thread calls this
    first; its cost is paid once per process, by a caller about to need NumPy anyway.
    """
    import numpy  # noqa: F401


def start_loading(embedder: object) -> None:
    """Start loading ``embedder``'s model in the background when it has one to load
    (the ONNX embedder; the hash fallback has nothing to load). A search calls this
    as soon as it knows it will embed a query, so the load overlaps its other work."""
    start = getattr(embedder, "start_loading", None)
    if callable(start):
        start()
