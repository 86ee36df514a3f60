"""Memory-mapped sidecars of the passage and chunk matrices, so a new process does
not decode every vector row from SQLite, kept in step with the store by appending.

Without them, every ``rlm search`` process reads all vector rows and converts them
to float32 matrices: about 17 us a chunk vector and 3 us a passage (1.7 s + 3 s at
100k chunks / 1M passages). With them, a process maps two files (``np.memmap``,
read only) and the kernel pages the matrices in as they are scored.

The files live next to the database, ``<db>.vec/<model-hash>-<dims>.passages`` and
``.chunks`` (as :mod:`rlm.search.ann` keeps ``<db>.ann/``). Layout (format 3): a
4 KiB header block (magic, CRC-32 and length of a JSON header: fingerprint,
dimensions, kind, signature, rows, capacity), then 64-byte aligned arrays sized
for ``capacity`` rows of which the first ``rows`` are valid: the centre of the
sign codes (float32, ``dims``), chunk ids (int64), ordinals (int64; buffer ids in
a ``chunks`` file), the row-normalised float32 matrix, and the sign codes (one
bit a dimension, ``x > centre``, packed into uint64 words and stored word-major
so a Hamming scan reads each word column contiguously; see
:mod:`rlm.search.vector` for the compact first pass that uses them), and, in a
``passages`` file only, an int8 copy of the matrix with one float32 scale per row
(:func:`int8_rows`). Scores over the mapped float32 matrix are the ones the SQLite
path gives, to the bit.

**The int8 copy** is what the first pass rescores its candidate passages with: it
gathers 384 bytes a row instead of 1,536 from a 1.5 GB map (the gather was memory
latency: 16 -> 4.4 ms for 24k rows). Passages are stored as int8 in SQLite
(:func:`rlm.embedding.sync.quantise`, largest component +-127), so requantising the
normalised row gives those same integers back and ``int8 row * scale`` is the
float32 row up to float rounding (scores within 1e-7): no ranking changes. It costs
a quarter more disk per passage file (384 MB at 1M passages) and no memory unless
read. A format 2 file (before the copy) fails the magic check and is rebuilt from
SQLite once, as any invalid sidecar is.

float32 rather than int8 plus a per-row scale, by measurement (100k x 384,
bench/passage_sidecar_bench.py, 2 CPUs, four runs): one query over the float32
map took 6-17 ms, over int8 dequantised in blocks of 16k-64k rows 22-72 ms (3-4x
the per-query cost in every run, for a file 4x smaller).

Validity: the header's CRC, fingerprint, dimensions and signature (count, max id,
newest timestamp) must match the store's, the file size the one the capacity
implies, and the chunk ids be sorted. A file is written only once the newest row
is from an earlier second than now (see :func:`_writable`), so a later change
always changes the signature.

**Appends.** When the store moved on by appending only (every row of the model
written since the file's newest timestamp has an id above the file's max id, the
count grew by exactly those rows, and they sort after the file's last row: what
``rlm load`` of a new buffer does), the new rows are written into the spare
capacity after the valid ones, flushed, and only then the header is rewritten
with the new row count (under an exclusive ``flock``; readers read the header
under a shared one). A crash before the header write leaves the old, still valid
file (the bytes past ``rows`` are ignored); a torn header fails its CRC and the
file is rebuilt. Any other change (a delete, a re-embed, passages added to old
chunks, a full file) rebuilds: from the mapped rows plus the new ones when only
the capacity ran out, else from SQLite, written to a temporary name and renamed
(a reader never sees half a file, and processes that mapped the old file keep it).
Bytes damaged inside the arrays are not detected (no checksum: that would read the
whole file on every start). A store opened read-only neither reads nor writes the
sidecar (it keeps the SQLite path), nor does an in-memory store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import numpy.typing as npt

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no appends, rebuilds only
    fcntl = None  # type: ignore[assignment]

MAGIC = b"RLMPSG03"
ALIGN = 64
HEADER_BLOCK = 4096
"""Bytes reserved for the header; the arrays start after it, so a header rewrite
never moves them."""
SPARE = 0.25
"""A (re)written file leaves room for this fraction more rows (plus :data:`MIN_SPARE`),
so the next loads append in place; the unused tail is a hole on most file systems."""
MIN_SPARE = 4096
_HEAD = struct.Struct("<8sII")  # magic, CRC-32 of the JSON, JSON length


@dataclass(frozen=True)
class PassageArrays:
    """Passage rows sorted by (chunk id, ordinal), rows L2-normalised float32, with
    their sign codes (``words`` x rows uint64) around ``centre`` and their int8 copy
    (``matrix8 * scales[:, None]`` is ``matrix``, see :func:`int8_rows`)."""

    chunk_ids: npt.NDArray[np.int64]
    ordinals: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]
    codes: npt.NDArray[np.uint64] | None = None
    centre: npt.NDArray[np.float32] | None = None
    matrix8: npt.NDArray[np.int8] | None = None
    scales: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True)
class ChunkArrays:
    """Chunk vector rows sorted by chunk id, rows L2-normalised float32 (zero rows stay
    zero), with each row's buffer id (searches filter by buffer in memory)."""

    chunk_ids: npt.NDArray[np.int64]
    buffer_ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]
    codes: npt.NDArray[np.uint64] | None = None
    centre: npt.NDArray[np.float32] | None = None


Arrays = PassageArrays | ChunkArrays


def sidecar_path(db_path: Path, fingerprint: str, dimensions: int, kind: str = "passages") -> Path:
    """``<db>.vec/<model-hash>-<dims>.<kind>`` (``passages`` or ``chunks``)."""
    name = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:16]
    return Path(str(db_path) + ".vec") / f"{name}-{dimensions}.{kind}"


def words(dimensions: int) -> int:
    """uint64 words of one sign code."""
    return (dimensions + 63) // 64


def sign_codes(
    matrix: npt.NDArray[np.float32], centre: npt.NDArray[np.float32]
) -> npt.NDArray[np.uint64]:
    """Bit ``i`` of a row's code: ``x[i] > centre[i]``, word-major (``words`` x rows).

    Centred on the rows' mean: embeddings share a common direction, and signs about
    zero would put most bits alike. Encoded in blocks (a bool copy of 1M x 384 rows
    would be 384 MB).
    """
    import numpy as np

    rows, dims = int(matrix.shape[0]), int(matrix.shape[1])
    w = words(dims)
    out = np.empty((w, rows), dtype=np.uint64)
    for lo in range(0, rows, 65536):
        block = np.asarray(matrix[lo : lo + 65536]) > centre
        packed = np.packbits(block, axis=1, bitorder="little")
        padded = np.zeros((packed.shape[0], 8 * w), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        out[:, lo : lo + packed.shape[0]] = padded.view("<u8").T
    return out


def int8_rows(
    matrix: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Each row scaled so its largest component is +-127 and rounded, and the scale
    that makes the int8 row a unit vector again (``1 / |int8 row|``; 0 for a zero row).

    For a row that was stored as int8 (:func:`rlm.embedding.sync.quantise`) and then
    normalised this gives the stored integers back, so ``int8 row * scale`` equals the
    float32 row up to rounding. Computed in cache-sized blocks: 1.8-2.0 s per 1M
    384-d rows on the 2-core machine (3.4-4.0 s in 65536-row blocks), paid when a
    sidecar is rebuilt (appends quantise their new rows only).
    """
    import numpy as np

    rows, dims = int(matrix.shape[0]), int(matrix.shape[1])
    out = np.empty((rows, dims), dtype=np.int8)
    scales = np.zeros(rows, dtype=np.float32)
    if not dims:
        return out, scales
    step = 2048  # blocks that stay in cache: 1M rows in 65536-row blocks took 1.6x as long
    for lo in range(0, rows, step):
        block = np.asarray(matrix[lo : lo + step], dtype=np.float32)
        hi = lo + block.shape[0]
        peak = np.abs(block).max(axis=1)
        factor = np.divide(np.float32(127.0), peak, out=np.zeros_like(peak), where=peak > 0)
        scaled = block * factor[:, None]
        np.rint(scaled, out=scaled)
        out[lo:hi] = scaled
        # Integers up to 127: the float32 sum of squares (at most 384 * 127**2) is exact.
        norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
        np.divide(np.float32(1.0), norms, out=scales[lo:hi], where=norms > 0)
    return out, scales


def with_codes(arrays: Arrays, centre: npt.NDArray[np.float32] | None = None) -> Arrays:
    """``arrays`` with sign codes (around ``centre``, default the rows' mean) and, for
    passages, the int8 copy of the matrix."""
    import dataclasses

    import numpy as np

    if centre is None:
        if arrays.matrix.shape[0]:
            centre = arrays.matrix.mean(axis=0, dtype=np.float64).astype(np.float32)
        else:
            centre = np.zeros(arrays.matrix.shape[1], dtype=np.float32)
    coded = dataclasses.replace(arrays, codes=sign_codes(arrays.matrix, centre), centre=centre)
    if isinstance(coded, PassageArrays) and coded.matrix8 is None:
        matrix8, scales = int8_rows(coded.matrix)
        coded = dataclasses.replace(coded, matrix8=matrix8, scales=scales)
    return coded


def from_store(store: Store, fingerprint: str, dimensions: int, after: int = 0) -> PassageArrays:
    """Decode the passage rows (with an id above ``after``), normalise each row."""
    import numpy as np

    if after:
        loaded = store.passages_after(fingerprint, dimensions, after)
    else:
        loaded = store.load_passages(fingerprint, dimensions)
    matrix = loaded.matrix
    # passages_after returns this call's own copy: normalise in place.
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1.0
    matrix /= norms[:, None]
    return PassageArrays(loaded.chunk_ids, loaded.ordinals, matrix)


def chunks_from_store(
    store: Store, fingerprint: str, dimensions: int, after: int = 0
) -> ChunkArrays:
    """Decode the chunk vector rows (chunk id above ``after``); rows normalised (zero
    rows stay zero)."""
    import numpy as np

    if after:
        vectors, buffers = store.vectors_after(fingerprint, dimensions, after)
    else:
        vectors, buffers = store.load_vectors_with_buffers(fingerprint, dimensions)
    norms = np.linalg.norm(vectors.matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    matrix = np.ascontiguousarray(vectors.matrix / norms, dtype=np.float32)
    return ChunkArrays(vectors.chunk_ids, buffers, matrix)


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class _Layout:
    centre: int
    ids: int
    second: int
    matrix: int
    codes: int
    scales: int
    """Passages only (else equal to ``end``), as ``matrix8``."""
    matrix8: int
    end: int


def _layout(capacity: int, dimensions: int, kind: str) -> _Layout:
    centre = HEADER_BLOCK
    ids = _aligned(centre + 4 * dimensions)
    second = _aligned(ids + 8 * capacity)
    matrix = _aligned(second + 8 * capacity)
    codes = _aligned(matrix + 4 * capacity * dimensions)
    end = codes + 8 * words(dimensions) * capacity
    if kind != "passages":
        return _Layout(centre, ids, second, matrix, codes, end, end, end)
    scales = _aligned(end)
    matrix8 = _aligned(scales + 4 * capacity)
    return _Layout(
        centre, ids, second, matrix, codes, scales, matrix8, matrix8 + capacity * dimensions
    )


def _kind(arrays: Arrays) -> str:
    return "chunks" if isinstance(arrays, ChunkArrays) else "passages"


def _second(arrays: Arrays) -> npt.NDArray[np.int64]:
    return arrays.buffer_ids if isinstance(arrays, ChunkArrays) else arrays.ordinals


def _header(meta: dict[str, Any]) -> bytes:
    raw = json.dumps(meta).encode("utf-8")
    block = _HEAD.pack(MAGIC, zlib.crc32(raw), len(raw)) + raw
    if len(block) > HEADER_BLOCK:  # pragma: no cover - a few hundred bytes in practice
        raise OSError("sidecar header too long")
    return block


def write(
    path: Path,
    arrays: Arrays,
    fingerprint: str,
    dimensions: int,
    signature: tuple[int, int, int],
) -> None:
    """Write ``arrays`` (with room to append) atomically: temporary name, then
    ``os.replace``. Sign codes are computed when ``arrays`` has none."""
    if (
        arrays.codes is None
        or arrays.centre is None
        or (isinstance(arrays, PassageArrays) and arrays.matrix8 is None)
    ):
        arrays = with_codes(arrays, arrays.centre if arrays.codes is not None else None)
    assert arrays.codes is not None and arrays.centre is not None
    rows = int(arrays.chunk_ids.shape[0])
    capacity = rows + int(rows * SPARE) + MIN_SPARE
    lay = _layout(capacity, dimensions, _kind(arrays))
    meta = {
        "fingerprint": fingerprint,
        "dimensions": dimensions,
        "kind": _kind(arrays),
        "signature": list(signature),
        "rows": rows,
        "capacity": capacity,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.truncate(lay.end)  # sparse: the spare rows cost no disk until written
            f.write(_header(meta))
            _write_rows(f.fileno(), lay, capacity, 0, arrays)
            # On disk before the name is: the rename then never exposes missing rows, and
            # the next append's fsync flushes only its own rows (an fsync right after a
            # fresh 800 MB write took 0.38 s here, on a flushed file 4 ms).
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _write_rows(fd: int, lay: _Layout, capacity: int, at: int, arrays: Arrays) -> None:
    """Write ``arrays`` as rows ``at...`` of a file laid out as ``lay`` (and the centre)."""
    import numpy as np

    assert arrays.codes is not None and arrays.centre is not None
    if at == 0:
        os.pwrite(fd, np.ascontiguousarray(arrays.centre, dtype="<f4").tobytes(), lay.centre)
    rows = int(arrays.chunk_ids.shape[0])
    for offset, arr, dtype in (
        (lay.ids, arrays.chunk_ids, "<i8"),
        (lay.second, _second(arrays), "<i8"),
    ):
        os.pwrite(fd, np.ascontiguousarray(arr, dtype=dtype).data, offset + 8 * at)
    width = 4 * int(arrays.matrix.shape[1])
    for lo in range(0, rows, 65536):  # no full copy of a mapped matrix (GBs)
        block = np.ascontiguousarray(arrays.matrix[lo : lo + 65536], dtype="<f4")
        os.pwrite(fd, block.data, lay.matrix + width * (at + lo))
    for w in range(arrays.codes.shape[0]):
        column = np.ascontiguousarray(arrays.codes[w], dtype="<u8")
        os.pwrite(fd, column.data, lay.codes + 8 * (w * capacity + at))
    if isinstance(arrays, PassageArrays):
        assert arrays.matrix8 is not None and arrays.scales is not None
        scales = np.ascontiguousarray(arrays.scales, dtype="<f4")
        os.pwrite(fd, scales.data, lay.scales + 4 * at)
        width8 = int(arrays.matrix8.shape[1])
        for lo in range(0, rows, 262144):
            block8 = np.ascontiguousarray(arrays.matrix8[lo : lo + 262144], dtype=np.int8)
            os.pwrite(fd, block8.data, lay.matrix8 + width8 * (at + lo))


@contextlib.contextmanager
def _locked(f: Any, exclusive: bool) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover
        yield
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _read_meta(f: Any, fingerprint: str, dimensions: int, kind: str) -> dict[str, Any] | None:
    """The header of an open sidecar if it is whole and of this model and kind."""
    head = os.pread(f.fileno(), HEADER_BLOCK, 0)
    if len(head) < _HEAD.size:
        return None
    magic, crc, length = _HEAD.unpack_from(head)
    raw = head[_HEAD.size : _HEAD.size + length]
    if magic != MAGIC or len(raw) != length or zlib.crc32(raw) != crc:
        return None
    meta: Any = json.loads(raw.decode("utf-8"))
    if not isinstance(meta, dict):
        return None
    rows, capacity = meta.get("rows"), meta.get("capacity")
    sig = meta.get("signature")
    if (
        meta.get("fingerprint") != fingerprint
        or meta.get("dimensions") != dimensions
        or meta.get("kind") != kind
        or not isinstance(rows, int)
        or not isinstance(capacity, int)
        or not 0 <= rows <= capacity
        or not (isinstance(sig, list) and len(sig) == 3 and all(isinstance(x, int) for x in sig))
    ):
        return None
    if os.fstat(f.fileno()).st_size != _layout(capacity, dimensions, kind).end:
        return None
    return meta


def _map(path: Path, meta: dict[str, Any], dimensions: int, kind: str) -> Arrays | None:
    import numpy as np

    rows, capacity = int(meta["rows"]), int(meta["capacity"])
    lay = _layout(capacity, dimensions, kind)
    w = words(dimensions)
    centre = np.memmap(path, dtype="<f4", mode="r", offset=lay.centre, shape=(dimensions,))
    centre_arr = np.array(centre, dtype=np.float32)
    if rows == 0:
        empty = np.zeros(0, dtype=np.int64)
        mat = np.zeros((0, dimensions), dtype=np.float32)
        codes0 = np.zeros((w, 0), dtype=np.uint64)
        if kind == "chunks":
            return ChunkArrays(empty, empty.copy(), mat, codes0, centre_arr)
        mat8 = np.zeros((0, dimensions), dtype=np.int8)
        scales0 = np.zeros(0, dtype=np.float32)
        return PassageArrays(empty, empty.copy(), mat, codes0, centre_arr, mat8, scales0)
    ids = np.memmap(path, dtype="<i8", mode="r", offset=lay.ids, shape=(rows,))
    second = np.memmap(path, dtype="<i8", mode="r", offset=lay.second, shape=(rows,))
    matrix = np.memmap(path, dtype="<f4", mode="r", offset=lay.matrix, shape=(rows, dimensions))
    codes = np.memmap(path, dtype="<u8", mode="r", offset=lay.codes, shape=(w, capacity))
    chunk_ids = np.asarray(ids).view(np.ndarray)
    # A cheap consistency check (ids sorted): a corrupted id array is rebuilt too.
    if rows > 1 and bool((chunk_ids[1:] < chunk_ids[:-1]).any()):
        return None
    parts = (
        chunk_ids,
        np.asarray(second).view(np.ndarray),
        np.asarray(matrix).view(np.ndarray),
        np.asarray(codes).view(np.ndarray)[:, :rows],
        centre_arr,
    )
    if kind == "chunks":
        return ChunkArrays(*parts)
    scales = np.memmap(path, dtype="<f4", mode="r", offset=lay.scales, shape=(rows,))
    matrix8 = np.memmap(path, dtype="i1", mode="r", offset=lay.matrix8, shape=(rows, dimensions))
    return PassageArrays(
        *parts, np.asarray(matrix8).view(np.ndarray), np.asarray(scales).view(np.ndarray)
    )


def _open(
    path: Path, fingerprint: str, dimensions: int, kind: str
) -> tuple[dict[str, Any], Arrays] | None:
    """The header and mapped arrays of a whole sidecar of this model, any signature."""
    try:
        with open(path, "rb") as f, _locked(f, exclusive=False):
            meta = _read_meta(f, fingerprint, dimensions, kind)
        if meta is None:
            return None
        arrays = _map(path, meta, dimensions, kind)
    except (OSError, ValueError, UnicodeDecodeError, struct.error):
        return None
    return None if arrays is None else (meta, arrays)


def read(
    path: Path, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> PassageArrays | None:
    """The mapped arrays if ``path`` is a complete passage sidecar for this signature."""
    opened = _open(path, fingerprint, dimensions, "passages")
    if opened is None or opened[0]["signature"] != list(signature):
        return None
    assert isinstance(opened[1], PassageArrays)
    return opened[1]


def read_chunks(
    path: Path, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> ChunkArrays | None:
    """The mapped arrays if ``path`` is a complete chunk sidecar for this signature."""
    opened = _open(path, fingerprint, dimensions, "chunks")
    if opened is None or opened[0]["signature"] != list(signature):
        return None
    assert isinstance(opened[1], ChunkArrays)
    return opened[1]


def _concat(old: Arrays, new: Arrays) -> Arrays:
    """Old rows then new ones, in memory (codes included)."""
    import numpy as np

    assert old.codes is not None and new.codes is not None
    parts = (
        np.concatenate([old.chunk_ids, new.chunk_ids]),
        np.concatenate([_second(old), _second(new)]),
        np.concatenate([old.matrix, new.matrix]),
        np.concatenate([old.codes, new.codes], axis=1),
        old.centre,
    )
    if isinstance(old, ChunkArrays):
        return ChunkArrays(*parts)
    assert isinstance(new, PassageArrays)
    assert old.matrix8 is not None and new.matrix8 is not None
    assert old.scales is not None and new.scales is not None
    return PassageArrays(
        *parts,
        np.concatenate([old.matrix8, new.matrix8]),
        np.concatenate([old.scales, new.scales]),
    )


def _appended(
    store: Store,
    kind: str,
    fingerprint: str,
    dimensions: int,
    old: dict[str, Any],
    arrays: Arrays,
    signature: tuple[int, int, int],
) -> Arrays | None:
    """The rows the store gained since ``old``'s signature, when that change was an
    append only (else None: rebuild)."""
    count0, max0, newest0 = (int(x) for x in old["signature"])
    count1, max1, _ = signature
    if count1 < count0 or max1 < max0:
        return None
    new: Arrays
    if kind == "chunks":
        new = chunks_from_store(store, fingerprint, dimensions, after=max0)
        since = len(store.vector_ids_since(fingerprint, dimensions, newest0 + 1))
    else:
        new = from_store(store, fingerprint, dimensions, after=max0)
        since = store.passages_since(fingerprint, dimensions, newest0 + 1)
    added = int(new.chunk_ids.shape[0])
    # Every row written since the file's newest one is a new id (nothing replaced),
    # none went away, and the new rows sort after the file's last one.
    if count1 != count0 + added or since != added:
        return None
    rows = int(arrays.chunk_ids.shape[0])
    if added and rows:
        last = (int(arrays.chunk_ids[-1]), int(_second(arrays)[-1]))
        first = (int(new.chunk_ids[0]), int(_second(new)[0]))
        if first <= last or (kind == "chunks" and first[0] == last[0]):
            return None
    assert arrays.centre is not None
    return with_codes(new, arrays.centre)


def _append(
    path: Path,
    kind: str,
    fingerprint: str,
    dimensions: int,
    old: dict[str, Any],
    arrays: Arrays,
    new: Arrays,
    signature: tuple[int, int, int],
) -> Arrays | None:
    """Append ``new`` after ``arrays`` in place (or rewrite with more room when full);
    the mapped result, or None if the file moved on under us."""
    rows, capacity = int(old["rows"]), int(old["capacity"])
    added = int(new.chunk_ids.shape[0])
    if rows + added > capacity or fcntl is None:
        write(path, _concat(arrays, new), fingerprint, dimensions, signature)
    else:
        with open(path, "r+b") as f, _locked(f, exclusive=True):
            now = _read_meta(f, fingerprint, dimensions, kind)
            if now is None or now != old:
                return None  # another process appended or rebuilt meanwhile
            _write_rows(f.fileno(), _layout(capacity, dimensions, kind), capacity, rows, new)
            os.fsync(f.fileno())  # the rows reach the disk before the header names them
            meta = dict(old, rows=rows + added, signature=list(signature))
            os.pwrite(f.fileno(), _header(meta), 0)
            os.fsync(f.fileno())
    opened = _open(path, fingerprint, dimensions, kind)
    if opened is None or opened[0]["signature"] != list(signature):
        return None
    return opened[1]


def _load(
    store: Store,
    kind: str,
    fingerprint: str,
    dimensions: int,
    signature: tuple[int, int, int],
) -> Arrays:
    """One kind's arrays: mapped when in step, appended to when the store only grew,
    else decoded from SQLite (and the sidecar rewritten)."""
    base = store.sidecar_dir()

    def decode() -> Arrays:
        if kind == "chunks":
            return chunks_from_store(store, fingerprint, dimensions)
        return from_store(store, fingerprint, dimensions)

    if store.read_only or base is None:
        return decode()
    path = sidecar_path(base, fingerprint, dimensions, kind)
    opened = _open(path, fingerprint, dimensions, kind)
    if opened is not None and opened[0]["signature"] == list(signature):
        return opened[1]
    writable = _writable(store, kind, fingerprint, dimensions, signature)
    if opened is not None:
        old, arrays = opened
        try:
            new = _appended(store, kind, fingerprint, dimensions, old, arrays, signature)
        except (OSError, ValueError):
            new = None
        if new is not None:
            if not writable:  # this second may still change: serve, do not persist
                return _concat(arrays, new)
            with contextlib.suppress(OSError):
                done = _append(path, kind, fingerprint, dimensions, old, arrays, new, signature)
                if done is not None:
                    return done
            return _concat(arrays, new)
    fresh = decode()
    if writable:
        with contextlib.suppress(OSError):  # a read-only folder: this process still has them
            write(path, fresh, fingerprint, dimensions, signature)
            reopened = _open(path, fingerprint, dimensions, kind)
            if reopened is not None and reopened[0]["signature"] == list(signature):
                return reopened[1]
    return fresh


def load(
    store: Store, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> PassageArrays:
    """The passages of one model: from the sidecar when it is valid (or can be brought
    up to date by an append), else from SQLite (and then the sidecar is (re)written,
    unless the store is read-only or in memory)."""
    arrays = _load(store, "passages", fingerprint, dimensions, signature)
    assert isinstance(arrays, PassageArrays)
    return arrays


def load_chunks(
    store: Store, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> ChunkArrays:
    """The chunk vectors of one model, as :func:`load` gives passages (``signature``:
    :meth:`~rlm.store.Store.vector_signature`)."""
    arrays = _load(store, "chunks", fingerprint, dimensions, signature)
    assert isinstance(arrays, ChunkArrays)
    return arrays


def _writable(
    store: Store, kind: str, fingerprint: str, dimensions: int, signature: tuple[int, int, int]
) -> bool:
    """Whether a sidecar made under ``signature`` can be trusted by later processes.

    No row changed while the rows were read (another process), and the newest row
    is from an earlier second than now: ids can be reused (no AUTOINCREMENT) and
    ``created_at`` has a one-second grain, so a delete and insert later in the
    newest row's second could leave (count, max id, newest) unchanged. Every later
    write is stamped with a later second, so it changes the signature.
    """
    if store.now() <= signature[2]:
        return False
    if kind == "chunks":
        return store.vector_signature(fingerprint, dimensions) == signature
    return store.passage_signature(fingerprint, dimensions) == signature
