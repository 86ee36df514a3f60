"""Cold passage load with and without the memory-mapped sidecar (prints figures).

Builds a synthetic store (``--chunks`` chunks, ``--per-chunk`` int8 passage
vectors each, 384-d, default 10k x 10 = 100k passages), then times, each in a
new Python process (as an agent's ``rlm search`` is), ``vector_index`` (chunk
vectors + passages) and the first query:

* without sidecar: the store opened read-only, so passages are decoded from
  SQLite rows (today's path, and what a read-only store still does);
* with sidecar: ``<db>.vec/…passages`` mapped with ``np.memmap``.

It also times one query over the mapped float32 matrix against int8 rows with a
per-row scale dequantised in blocks (the alternative on-disk format, 4x smaller).
The OS page cache is warm for both (the files were just written).

    python bench/passage_sidecar_bench.py [--chunks 10000] [--per-chunk 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rlm.store import NewBuffer, NewChunk, Store
from rlm.store.vectors import PassageRow, VectorRow

DIMS = 384
FINGERPRINT = "bench-sidecar"

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
from rlm.search.vector import vector_index
from rlm.store import Store
db, fp, dims, read_only = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
t1 = time.perf_counter()
store = Store.open(db, read_only=read_only)
index = vector_index(store, fp, dims, use_ann=False)
t2 = time.perf_counter()
q = np.random.default_rng(0).standard_normal(dims).astype(np.float32)
index.search(q, 10)
t3 = time.perf_counter()
index.search(q * -1, 10)
t4 = time.perf_counter()
print(json.dumps({"load_ms": (t2 - t1) * 1e3, "first_ms": (t3 - t2) * 1e3,
                  "second_ms": (t4 - t3) * 1e3, "import_ms": (t1 - t0) * 1e3,
                  "passages": index.passages.size if index.passages is not None else 0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(path: Path, chunks: int, per_chunk: int) -> None:
    rng = np.random.default_rng(7)
    store = Store(path, _create=True)
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name="bench", source="bench", size=0))
    batch = 2000
    for start in range(0, chunks, batch):
        n = min(batch, chunks - start)
        new = [
            NewChunk(start + i, 0, 1, f"c{start + i}", "bench", None, 1, 1, False, f"{i:016x}")
            for i in range(n)
        ]
        vecs = rng.standard_normal((n, DIMS)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with store.transaction():
            ids = store.insert_chunks(bid, new)
            store.store_vectors(
                VectorRow(cid, v.astype("<f4").tobytes(), DIMS, "bench", FINGERPRINT, 1)
                for cid, v in zip(ids, vecs, strict=True)
            )
            rows = []
            for cid, v in zip(ids, vecs, strict=True):
                noisy = v + 0.08 * rng.standard_normal((per_chunk, DIMS)).astype(np.float32)
                peak = np.abs(noisy).max(axis=1, keepdims=True)
                q8 = np.round(noisy / peak * 127).astype(np.int8)
                for ordinal, row in enumerate(q8):
                    rows.append(
                        PassageRow(cid, ordinal, 0, 1, None, None, 8, row.tobytes(), DIMS,
                                   "bench", FINGERPRINT)
                    )  # fmt: skip
            store.store_passages(ids, rows)
    store.close()


def child(db: Path, read_only: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), FINGERPRINT, str(DIMS), "1" if read_only else "0"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return data


def passages_only(db: Path, runs: int) -> tuple[float, float]:
    """Median ms to get the passage arrays: decoded from SQLite vs mapped from the sidecar."""
    from rlm.search import passage_file

    path = passage_file.sidecar_path(db.resolve(), FINGERPRINT, DIMS)
    decode, mapped = [], []
    with Store.open(db) as store:
        sig = store.passage_signature(FINGERPRINT, DIMS)
        for _ in range(runs):
            t = time.perf_counter()
            passage_file.from_store(store, FINGERPRINT, DIMS)
            decode.append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            assert passage_file.read(path, FINGERPRINT, DIMS, sig) is not None
            mapped.append((time.perf_counter() - t) * 1e3)
    return float(np.median(decode)), float(np.median(mapped))


def per_query(db: Path, queries: int) -> tuple[float, float]:
    """p50 ms of one query over the mapped float32 matrix vs int8 + scale in blocks."""
    from rlm.search import passage_file

    with Store.open(db) as store:
        sig = store.passage_signature(FINGERPRINT, DIMS)
    path = passage_file.sidecar_path(db.resolve(), FINGERPRINT, DIMS)
    arrays = passage_file.read(path, FINGERPRINT, DIMS, sig)
    assert arrays is not None
    f32 = arrays.matrix
    peak = np.abs(f32).max(axis=1)
    peak[peak == 0] = 1.0
    i8_file = path.with_name("int8.npy")
    np.save(i8_file, np.round(f32 / peak[:, None] * 127).astype(np.int8))
    i8 = np.load(i8_file, mmap_mode="r")
    scale = (peak / 127).astype(np.float32)
    rng = np.random.default_rng(1)
    qs = rng.standard_normal((queries, DIMS)).astype(np.float32)

    def blockwise(q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.empty(i8.shape[0], dtype=np.float32)
        for s in range(0, i8.shape[0], 32768):
            out[s : s + 32768] = i8[s : s + 32768].astype(np.float32) @ q
        scaled: npt.NDArray[np.float32] = out * scale
        return scaled

    times: dict[str, list[float]] = {"f32": [], "i8": []}
    for q in qs:
        for name, fn in (("f32", lambda v: f32 @ v), ("i8", blockwise)):
            t = time.perf_counter()
            fn(q)
            times[name].append((time.perf_counter() - t) * 1e3)
    i8_file.unlink()
    return float(np.median(times["f32"])), float(np.median(times["i8"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--per-chunk", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="new processes per case (median)")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rlm-sidecar-") as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        build(db, args.chunks, args.per_chunk)
        print(f"store: {args.chunks:,} chunks x {args.per_chunk} passages, {DIMS}-d,"
              f" built in {time.perf_counter() - t0:.0f}s")  # fmt: skip
        time.sleep(1.1)  # a sidecar is written only a second after the newest passage
        first = child(db, read_only=False)  # no sidecar yet: SQLite path, then writes it
        print(f"first read-write process (decode + write sidecar): {first['load_ms']:.0f} ms")
        cases = {
            "without sidecar": [child(db, read_only=True) for _ in range(args.runs)],
            "with sidecar": [child(db, read_only=False) for _ in range(args.runs)],
        }
        med = {k: {f: float(np.median([r[f] for r in v])) for f in v[0]} for k, v in cases.items()}
        print(f"{'':<16} {'passages':>9} {'load ms':>8} {'1st query':>10} {'2nd query':>10}"
              f" {'peak RSS MB':>12}")  # fmt: skip
        for name, m in med.items():
            print(f"{name:<16} {m['passages']:>9,.0f} {m['load_ms']:>8.0f} {m['first_ms']:>10.1f}"
                  f" {m['second_ms']:>10.1f} {m['rss_mb']:>12.0f}")  # fmt: skip
        ratio = med["without sidecar"]["load_ms"] / max(med["with sidecar"]["load_ms"], 1e-9)
        print(f"cold load ratio without / with sidecar: {ratio:.1f}x")
        decode, mapped = passages_only(db, args.runs)
        print(f"passages alone (in process, median): SQLite decode {decode:.0f} ms,"
              f" sidecar map {mapped:.1f} ms, ratio {decode / max(mapped, 1e-9):.0f}x")  # fmt: skip
        f32, i8 = per_query(db, args.queries)
        print(f"one query over all passages, p50: float32 mmap {f32:.1f} ms,"
              f" int8 + scale dequantised in 32k-row blocks {i8:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
