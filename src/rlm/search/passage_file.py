"""Memory-mapped sidecars of the passage and chunk matrices, so a new process does
not decode every vector row from SQLite.

Without it, every ``rlm search`` process reads all passage rows and converts
them to one float32 matrix: about 3 s and 170 MB at 100k passages, growing
with the store. With it, a process maps one file (``np.memmap``, read only)
and the kernel pages the matrix in as it is scored.

The file lives next to the database, ``<db>.vec/<model-hash>-<dims>.passages``
(as :mod:`rlm.search.ann` keeps ``<db>.ann/``). Layout: an 8-byte magic, a
little-endian uint64 header length, a JSON header (fingerprint, dimensions,
the passages' :meth:`~rlm.store.Store.passage_signature`, row count, array
offsets), then three 64-byte aligned arrays: chunk ids (int64), ordinals
(int64) and the row-normalised float32 matrix, exactly the arrays the SQLite
path builds, so scores are the same to the bit.

float32 rather than int8 plus a per-row scale, by measurement (100k x 384,
bench/passage_sidecar_bench.py, 2 CPUs, four runs): one query over the float32
map took 6-17 ms, over int8 dequantised in blocks of 16k-64k rows 22-72 ms (3-4x
the per-query cost in every run, for a file 4x smaller).

The chunk vectors get the same treatment (``<model-hash>-<dims>.chunks``, header
``"kind": "chunks"``): chunk ids, buffer ids (in the second array) and the
row-normalised matrix, valid while :meth:`~rlm.store.Store.vector_signature`
matches. Decoding them cost a new process about 17 us a chunk (1.7 s at 100k).

Validity: the header's fingerprint, dimensions and signature (count, max id,
newest timestamp) must equal the store's, and the file size the one the header
implies (and the chunk ids be sorted). The file is written only once the newest
passage is from an earlier second than now (see :func:`_writable`), so a later
change always changes the signature. A missing, stale, truncated or unreadable
file is rebuilt from SQLite once and written to a temporary name then renamed
(a reader never sees half a file). Bytes damaged inside the matrix itself are not
detected (no checksum: that would read the whole file on every start). A store
opened read-only neither reads nor writes the sidecar (it keeps the SQLite
path), nor does an in-memory store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MAGIC = b"RLMPSG01"
ALIGN = 64
MAX_HEADER = 1 << 16


@dataclass(frozen=True)
class PassageArrays:
    """Passage rows sorted by (chunk id, ordinal), rows L2-normalised float32."""

    chunk_ids: npt.NDArray[np.int64]
    ordinals: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


@dataclass(frozen=True)
class ChunkArrays:
    """Chunk vector rows sorted by chunk id, rows L2-normalised float32 (zero rows stay
    zero), with each row's buffer id (searches filter by buffer in memory)."""

    chunk_ids: npt.NDArray[np.int64]
    buffer_ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


def sidecar_path(db_path: Path, fingerprint: str, dimensions: int, kind: str = "passages") -> Path:
    """``<db>.vec/<model-hash>-<dims>.<kind>`` (``passages`` or ``chunks``)."""
    name = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:16]
    return Path(str(db_path) + ".vec") / f"{name}-{dimensions}.{kind}"


def from_store(store: Store, fingerprint: str, dimensions: int) -> PassageArrays:
    """Today's path: decode every passage row, normalise each row in place."""
    import numpy as np

    loaded = store.load_passages(fingerprint, dimensions)
    matrix = loaded.matrix
    # load_passages returns this call's own copy: normalise in place.
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1.0
    matrix /= norms[:, None]
    return PassageArrays(loaded.chunk_ids, loaded.ordinals, matrix)


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _layout(header_end: int, rows: int, dimensions: int) -> tuple[int, int, int, int]:
    ids_at = _aligned(header_end)
    ords_at = _aligned(ids_at + 8 * rows)
    matrix_at = _aligned(ords_at + 8 * rows)
    return ids_at, ords_at, matrix_at, matrix_at + 4 * rows * dimensions


def write(
    path: Path,
    arrays: PassageArrays | ChunkArrays,
    fingerprint: str,
    dimensions: int,
    signature: tuple[int, int, int],
) -> None:
    """Write ``arrays`` atomically (temporary name, then ``os.replace``)."""
    import numpy as np

    rows = int(arrays.chunk_ids.shape[0])
    meta: dict[str, Any] = {
        "fingerprint": fingerprint,
        "dimensions": dimensions,
        "signature": list(signature),
        "rows": rows,
    }
    if isinstance(arrays, ChunkArrays):
        meta["kind"] = "chunks"
        second = arrays.buffer_ids
    else:
        second = arrays.ordinals
    header = json.dumps(meta).encode("utf-8")
    header_end = len(MAGIC) + 8 + len(header)
    ids_at, ords_at, matrix_at, end = _layout(header_end, rows, dimensions)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(header)) + header)
            for at, arr, dtype in (
                (ids_at, arrays.chunk_ids, "<i8"),
                (ords_at, second, "<i8"),
                (matrix_at, arrays.matrix, "<f4"),
            ):
                f.write(b"\0" * (at - f.tell()))
                # No copy for native little-endian arrays (the matrix can be GBs).
                f.write(np.ascontiguousarray(arr, dtype=dtype).data)
            if f.tell() != end:  # pragma: no cover - shapes are checked by the caller
                raise OSError("passage sidecar: unexpected size")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def read(
    path: Path, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> PassageArrays | None:
    """The mapped arrays if ``path`` is a complete passage sidecar for this signature."""
    return _read(path, fingerprint, dimensions, signature, "passages")


def read_chunks(
    path: Path, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> ChunkArrays | None:
    """The mapped arrays if ``path`` is a complete chunk sidecar for this signature."""
    arrays = _read(path, fingerprint, dimensions, signature, "chunks")
    return None if arrays is None else ChunkArrays(*arrays.__dict__.values())


def _read(
    path: Path, fingerprint: str, dimensions: int, signature: tuple[int, int, int], kind: str
) -> PassageArrays | None:
    import numpy as np

    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + 8)
            if len(head) != len(MAGIC) + 8 or head[: len(MAGIC)] != MAGIC:
                return None
            (length,) = struct.unpack("<Q", head[len(MAGIC) :])
            if length > MAX_HEADER:
                return None
            raw = f.read(length)
        meta: Any = json.loads(raw.decode("utf-8"))
        if not isinstance(meta, dict):
            return None
        rows = meta.get("rows")
        if (
            meta.get("fingerprint") != fingerprint
            or meta.get("dimensions") != dimensions
            or meta.get("signature") != list(signature)
            or meta.get("kind", "passages") != kind
            or not isinstance(rows, int)
            or rows < 0
        ):
            return None
        ids_at, ords_at, matrix_at, end = _layout(len(MAGIC) + 8 + length, rows, dimensions)
        if size != end:
            return None
        if rows == 0:
            return PassageArrays(
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
                np.zeros((0, dimensions), dtype=np.float32),
            )
        ids = np.memmap(path, dtype="<i8", mode="r", offset=ids_at, shape=(rows,))
        ords = np.memmap(path, dtype="<i8", mode="r", offset=ords_at, shape=(rows,))
        matrix = np.memmap(path, dtype="<f4", mode="r", offset=matrix_at, shape=(rows, dimensions))
    except (OSError, ValueError, UnicodeDecodeError, struct.error):
        return None
    chunk_ids = np.asarray(ids).view(np.ndarray)
    # A cheap consistency check (ids sorted): a corrupted id array is rebuilt too.
    if rows > 1 and bool((chunk_ids[1:] < chunk_ids[:-1]).any()):
        return None
    return PassageArrays(
        chunk_ids,
        np.asarray(ords).view(np.ndarray),
        np.asarray(matrix).view(np.ndarray),
    )


def load(
    store: Store, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> PassageArrays:
    """The passages of one model: from the sidecar when it is valid, else from SQLite
    (and then the sidecar is (re)written, unless the store is read-only or in memory)."""
    base = store.sidecar_dir()
    if store.read_only or base is None:
        return from_store(store, fingerprint, dimensions)
    path = sidecar_path(base, fingerprint, dimensions)
    mapped = read(path, fingerprint, dimensions, signature)
    if mapped is not None:
        return mapped
    arrays = from_store(store, fingerprint, dimensions)
    if _writable(store, fingerprint, dimensions, signature):
        with contextlib.suppress(OSError):  # a read-only folder: this process still has them
            write(path, arrays, fingerprint, dimensions, signature)
    return arrays


def chunks_from_store(store: Store, fingerprint: str, dimensions: int) -> ChunkArrays:
    """Decode every chunk vector row; rows normalised (zero rows stay zero)."""
    import numpy as np

    vectors, buffers = store.load_vectors_with_buffers(fingerprint, dimensions)
    norms = np.linalg.norm(vectors.matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    matrix = np.ascontiguousarray(vectors.matrix / norms, dtype=np.float32)
    return ChunkArrays(vectors.chunk_ids, buffers, matrix)


def load_chunks(
    store: Store, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> ChunkArrays:
    """The chunk vectors of one model, as :func:`load` gives passages (``signature``:
    :meth:`~rlm.store.Store.vector_signature`)."""
    if store.read_only or str(store.path) == ":memory:":
        return chunks_from_store(store, fingerprint, dimensions)
    path = sidecar_path(Path(store.path).resolve(), fingerprint, dimensions, "chunks")
    mapped = read_chunks(path, fingerprint, dimensions, signature)
    if mapped is not None:
        return mapped
    arrays = chunks_from_store(store, fingerprint, dimensions)
    if store.now() > signature[2] and store.vector_signature(fingerprint, dimensions) == signature:
        with contextlib.suppress(OSError):
            write(path, arrays, fingerprint, dimensions, signature)
    return arrays


def _writable(
    store: Store, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> bool:
    """Whether a sidecar made under ``signature`` can be trusted by later processes.

    No passage changed while the rows were read (another process), and the newest
    passage is from an earlier second than now: passage ids can be reused (no
    AUTOINCREMENT) and ``created_at`` has a one-second grain, so a delete and insert
    later in the newest row's second could leave (count, max id, newest) unchanged.
    Every later write is stamped with a later second, so it changes the signature.
    """
    if store.now() <= signature[2]:
        return False
    return store.passage_signature(fingerprint, dimensions) == signature
