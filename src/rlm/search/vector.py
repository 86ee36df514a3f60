"""The vector leg: exact cosine over one contiguous matrix, cached per process.

A query is one matrix-vector product over every vector of the current model
(rows L2-normalised once at load), the buffer filter applied as a mask
*before* ranking, then a partial sort. The matrix is loaded once per process
and reused until the database changes: repeated queries in one process (MCP
server, ``rlm eval``) never reload it. Validity is checked with
``PRAGMA data_version`` + this connection's change counter (microseconds), and
only when those moved with the vectors' signature (count, max id, newest
timestamp).

Above :data:`ANN_MIN_VECTORS` vectors, and when ``usearch`` is installed, an
HNSW index (see :mod:`rlm.search.ann`) answers unfiltered queries instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ANN_MIN_VECTORS = 200_000
"""Below this, exact search is fast enough (about 10 ms per 100k 384-d vectors)."""


@dataclass
class VectorIndex:
    """One model's vectors, ready to score."""

    chunk_ids: npt.NDArray[np.int64]
    buffer_ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]
    """Row-normalised (zero rows stay zero), C-contiguous float32."""
    signature: tuple[int, int, int]
    ann: Any = None
    """An :class:`rlm.search.ann.AnnIndex` or None."""
    token: tuple[int, int, int] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return int(self.chunk_ids.shape[0])

    def search(
        self,
        query: npt.NDArray[np.float32],
        limit: int,
        threshold: float | None = None,
        buffer_ids: list[int] | None = None,
        *,
        exact: bool = False,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) best first; ties by chunk id; ``score >= threshold``."""
        import numpy as np

        if limit <= 0 or self.size == 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.matrix.shape[1]:
            return []
        norm = float(np.linalg.norm(q))
        if norm == 0.0:
            return []
        q = q / np.float32(norm)
        if self.ann is not None and buffer_ids is None and not exact:
            hits: list[tuple[int, float]] = self.ann.search(q, limit)
            if threshold is not None:
                hits = [(cid, s) for cid, s in hits if s >= threshold]
            return hits
        scores = self.matrix @ q
        if buffer_ids is not None:
            scores[~np.isin(self.buffer_ids, np.asarray(buffer_ids, dtype=np.int64))] = -np.inf
        return top_scores(scores, self.chunk_ids, limit, threshold)


def top_scores(
    scores: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
    limit: int,
    threshold: float | None,
) -> list[tuple[int, float]]:
    """The ``limit`` best (id, score), ties by id, never ``-inf`` (filtered out).

    One pass selects the candidates (threshold, else a partial sort), so the
    cost over a bare matrix-vector product is a few linear scans.
    """
    import numpy as np

    if threshold is not None:
        rows = np.flatnonzero(scores >= np.float32(threshold))
    elif scores.size > limit:
        rows = np.argpartition(scores, scores.size - limit)[scores.size - limit :]
        # Every row tied with the weakest kept score competes on chunk id.
        rows = np.flatnonzero(scores >= scores[rows].min())
    else:
        rows = np.arange(scores.size)
    rows = rows[scores[rows] > -np.inf]
    if rows.size > limit:
        sub = scores[rows]
        kth = np.partition(sub, sub.size - limit)[sub.size - limit]
        rows = rows[sub >= kth]
    order = np.lexsort((ids[rows], -scores[rows]))[:limit]
    chosen = rows[order]
    return [(int(i), float(s)) for i, s in zip(ids[chosen], scores[chosen], strict=True)]


_cache: dict[tuple[str, str, int], VectorIndex] = {}
_lock = threading.Lock()


def _store_key(store: Store) -> str:
    try:
        return str(Path(store.path).resolve())
    except OSError:
        return str(store.path)


def _normalise(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: npt.NDArray[np.float32] = np.ascontiguousarray(matrix / norms, dtype=np.float32)
    return out


def vector_index(
    store: Store, fingerprint: str, dimensions: int, *, use_ann: bool | None = None
) -> VectorIndex:
    """The (cached) vectors of one model in ``store``.

    ``use_ann``: None = automatic (at least :data:`ANN_MIN_VECTORS` vectors and
    usearch installed), True = build/open the index whenever usearch is
    installed, False = do not build one (an index already open stays; pass
    ``exact=True`` to :meth:`VectorIndex.search` to bypass it).
    """
    key = (_store_key(store), fingerprint, dimensions)
    with _lock:
        token = store.change_token()
        entry = _cache.get(key)
        if entry is None or entry.token != token:
            entry = _refresh(store, key, entry, fingerprint, dimensions)
            entry.token = token
        want_ann = entry.size >= ANN_MIN_VECTORS if use_ann is None else use_ann
        if want_ann and entry.ann is None and entry.size:
            from rlm.search.ann import load_or_build

            entry.ann = load_or_build(store, fingerprint, entry)
        return entry


def _refresh(
    store: Store,
    key: tuple[str, str, int],
    entry: VectorIndex | None,
    fingerprint: str,
    dimensions: int,
) -> VectorIndex:
    signature = store.vector_signature(fingerprint, dimensions)
    if entry is None or entry.signature != signature:
        vectors, buffers = store.load_vectors_with_buffers(fingerprint, dimensions)
        entry = VectorIndex(
            chunk_ids=vectors.chunk_ids,
            buffer_ids=buffers,
            matrix=_normalise(vectors.matrix),
            signature=signature,
        )
        _cache[key] = entry
    return entry


def clear_cache() -> None:
    """Forget every cached matrix (tests; or to free memory)."""
    with _lock:
        _cache.clear()
