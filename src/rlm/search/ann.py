"""Optional HNSW index (``usearch``) for stores with very many vectors.

Used automatically by :func:`rlm.search.vector.vector_index` at
:data:`~rlm.search.vector.ANN_MIN_VECTORS` vectors or more, when ``usearch``
is installed (``pip install usearch``, or the ``ann`` extra). Queries with a
buffer filter always use the exact path (a filter must apply before ranking).

The index lives next to the database, ``<db>.ann/<model-hash>.usearch`` plus a
``.json`` with the model fingerprint and the time of the last sync. Keys are
chunk ids, so no id map is needed. On open it is brought up to date
incrementally: vectors of deleted chunks are removed, vectors written since the
last sync (new chunks, ``--force`` re-embeds) are (re)inserted. Files are
written to a temporary name and renamed, so a reader never sees half a file.

Parameters: inner-product metric on unit vectors (= cosine), connectivity
(M) 16, expansion 128 at build time (as rlm-rs's unused HNSW module) and
``max(128, 2 * limit)`` at query time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from rlm.search.vector import VectorIndex

CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 128


def _import_usearch() -> Any:
    """``usearch.index``, imported after onnxruntime.

    Importing usearch 2.26 first and onnxruntime second segfaults the process
    (seen with onnxruntime 1.32); the other order is fine. The embedder may be
    loaded after the index is built (MCP server, eval), so force the order.
    """
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    import usearch.index

    return usearch.index


def available() -> bool:
    try:
        _import_usearch()
    except ImportError:
        return False
    return True


class AnnIndex:
    """An HNSW index over unit vectors keyed by chunk id."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def search(self, query: npt.NDArray[np.float32], limit: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) best first, ties by chunk id."""
        if limit <= 0 or len(self.index) == 0:
            return []
        self.index.expansion_search = max(EXPANSION_SEARCH, 2 * limit)
        matches = self.index.search(query, limit)
        pairs = [
            (int(k), float(1.0 - d)) for k, d in zip(matches.keys, matches.distances, strict=True)
        ]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs


class StoreAnn:
    """The store's own vector index (pgvector HNSW on PostgreSQL), as an AnnIndex."""

    def __init__(self, store: Store, fingerprint: str, dimensions: int, size: int) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.dimensions = dimensions
        self.size = size

    def __len__(self) -> int:
        return self.size

    def search(self, query: npt.NDArray[np.float32], limit: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) best first, ties by chunk id."""
        return self.store.nearest_chunks(self.fingerprint, self.dimensions, query, limit)


def new_index(dimensions: int) -> Any:
    return _import_usearch().Index(
        ndim=dimensions,
        metric="ip",
        dtype="f32",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def build(chunk_ids: npt.NDArray[np.int64], matrix: npt.NDArray[np.float32]) -> AnnIndex:
    """A fresh in-memory index over ``matrix`` (rows unit length)."""
    import numpy as np

    index = new_index(int(matrix.shape[1]))
    if len(chunk_ids):
        index.add(chunk_ids.astype(np.uint64), matrix)
    return AnnIndex(index)


def index_paths(db_path: Path, fingerprint: str) -> tuple[Path, Path]:
    folder = Path(str(db_path) + ".ann")
    name = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:16]
    return folder / f"{name}.usearch", folder / f"{name}.json"


def _save(index: Any, path: Path, meta_path: Path, meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    index.save(str(tmp))
    os.replace(tmp, path)
    tmp_meta = meta_path.with_suffix(f".tmp{os.getpid()}")
    tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp_meta, meta_path)


def _sync(index: Any, store: Store, fingerprint: str, entry: VectorIndex, since: int) -> bool:
    """Bring a loaded index up to date with ``entry``; True if it changed."""
    import numpy as np

    current = entry.chunk_ids.astype(np.uint64)
    keys = np.asarray(index.keys, dtype=np.uint64)
    gone = keys[~np.isin(keys, current)]
    changed = np.asarray(
        store.vector_ids_since(fingerprint, entry.matrix.shape[1], since), dtype=np.uint64
    )
    stale = changed[np.isin(changed, keys)]
    for key in np.concatenate([gone, stale]):
        index.remove(int(key))
    missing = ~np.isin(current, keys) | np.isin(current, stale)
    if missing.any():
        index.add(current[missing], entry.matrix[missing])
    return bool(len(gone) or len(stale) or missing.any())


def load_or_build(store: Store, fingerprint: str, entry: VectorIndex) -> AnnIndex | StoreAnn | None:
    """The persisted index for this store and model, synced; None without usearch.

    A store with its own vector index (PostgreSQL: pgvector HNSW) answers itself.
    """
    if store.native_vector_index:
        return StoreAnn(store, fingerprint, int(entry.matrix.shape[1]), entry.size)
    if not available():
        return None
    base = store.sidecar_dir()
    started = int(time.time())
    if base is None:
        return build(entry.chunk_ids, entry.matrix)
    ann_path, meta_path = index_paths(base, fingerprint)
    meta: dict[str, Any] = {}
    index: Any = None
    if ann_path.exists() and meta_path.exists():
        try:
            loaded = json.loads(meta_path.read_text(encoding="utf-8"))
            meta = loaded if isinstance(loaded, dict) else {}
            if meta.get("fingerprint") == fingerprint:
                index = new_index(int(entry.matrix.shape[1]))
                index.load(str(ann_path))
        except (OSError, ValueError, RuntimeError):
            index = None
    if index is not None:
        changed = _sync(index, store, fingerprint, entry, int(meta.get("synced_at", 0)))
        ann = AnnIndex(index)
    else:
        ann = build(entry.chunk_ids, entry.matrix)
        changed = True
    if changed and not store.read_only:  # a read-only store writes no sidecar either
        # A read-only folder: the index still serves this process.
        with contextlib.suppress(OSError):
            _save(
                ann.index, ann_path, meta_path, {"fingerprint": fingerprint, "synced_at": started}
            )
    return ann
