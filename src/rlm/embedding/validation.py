"""Input and output checks shared by every embedder.

Empty or whitespace-only text is refused, as rlm-rs does ("Cannot embed empty
text"): it has no meaning to embed, and the chunkers never produce it, so one
showing up means a caller bug worth surfacing. Callers skip empty chunks.
Vectors that are not finite or not unit length are refused too: one NaN stored
in the database would poison every cosine score it takes part in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rlm.errors import EmbeddingError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def check_texts(texts: Sequence[str], *, what: str = "text") -> None:
    """Raise EmbeddingError for a non-string or an empty/whitespace-only text."""
    if isinstance(texts, str):
        raise EmbeddingError("embedding error: expected a sequence of texts, got one str")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise EmbeddingError(
                f"embedding error: {what} {index} is {type(text).__name__}, not str"
            )
        if not text.strip():
            label = what if len(texts) == 1 else f"{what} {index}"
            raise EmbeddingError(
                f"embedding error: cannot embed empty {label}",
                suggestion="Skip empty or whitespace-only chunks before embedding",
            )


def check_vectors(vectors: npt.NDArray[np.float32], dim: int) -> None:
    """Raise EmbeddingError unless ``vectors`` is (n, dim), finite and unit length."""
    import numpy as np

    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise EmbeddingError(
            f"embedding error: model produced vectors of shape {vectors.shape}, "
            f"expected (n, {dim})",
            suggestion="The model file does not match the selected model; check --model-path",
        )
    if not np.isfinite(vectors).all():
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise EmbeddingError(f"embedding error: model produced NaN or infinite values (text {bad})")
    norms = np.linalg.norm(vectors, axis=1)
    if vectors.shape[0] and not np.allclose(norms, 1.0, atol=1e-3):
        bad = int(np.flatnonzero(~np.isclose(norms, 1.0, atol=1e-3))[0])
        raise EmbeddingError(
            f"embedding error: vector {bad} has norm {norms[bad]:.4g}, expected unit length"
        )
