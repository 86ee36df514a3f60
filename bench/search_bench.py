"""Search latency benchmark (prints figures; not a test).

For each size N it builds a synthetic store and times hybrid queries
*excluding query embedding* (the query vector is precomputed), next to a bare
NumPy matrix-vector product over the same matrix in the same run:

* N <= --fts-max (default 100k): a real SQLite store (one buffer, N chunks of
  ~40 words drawn from a Zipf vocabulary, so the FTS5 and aux indexes are real)
  plus N 384-d vectors stored as rlm stores them; the timed call is
  ``SearchEngine.rank(query, ["hybrid"], query_vector=q)`` = lexical leg +
  vector leg (cached matrix) + RRF.
* N > --fts-max (the 1M case): vectors only (building a 1M-row FTS index and
  1.5 GB of BLOBs in SQLite takes longer than the benchmark is worth); the
  timed call is the vector leg of the same engine code (``VectorIndex.search``)
  with the exact matrix and, with --ann, the usearch HNSW index, whose
  recall@10 against exact search is reported.

``--passages P`` (default 10) also stores P passage vectors per chunk (int8,
each its chunk's vector plus noise), as ``rlm load`` does, so the vector leg
scores every passage (max-sim per chunk); the report gives the vector memory
of the loaded index and the matrix load time (what a cold process pays).

Vectors are clustered by default (unit vectors around 2,000 random centroids,
queries are perturbed corpus vectors), which resembles real embeddings;
``--uniform`` uses i.i.d. random unit vectors, the worst case for HNSW.

Each query runs the exact vector path and the sign-code first pass
(:data:`rlm.search.vector.APPROX_MIN_ROWS`; forced on below it) interleaved, exact
then approximate, and reports both, the recall@10 of the approximate hybrid ranking
and vector leg against the exact ones, and then each path over all queries in a row
(an approximate query right after an exact one finds its rows evicted by the scan).
Vector memory: the arrays of the index (mapped from the sidecars), the process RSS,
and the sidecars' disk blocks.

``--cold R`` also times new ``rlm search`` processes per store size (wall clock,
model load and query embedding included, as an agent calls it from a shell): the
store is then written under the installed model's fingerprint so the CLI uses
its vectors. The first process finds no sidecar (decodes the vectors from SQLite
and writes ``<db>.vec/``), the next R map it; then R times a load of one 100-chunk
buffer followed by a new process ("after a load": the sidecars are appended to).

    python bench/search_bench.py                       # 10k and 100k, ~1-2 minutes
    python bench/search_bench.py --sizes 1000000 --ann # 1M vectors with HNSW
    python bench/search_bench.py --sizes 100000 --cold 5  # + cold `rlm search` wall
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rlm.embedding.sync import quantise
from rlm.search.engine import SearchEngine
from rlm.search.vector import VectorIndex, clear_cache, vector_index
from rlm.store import NewBuffer, NewChunk, PassageRow, Store, VectorRow

DIMS = 384
FINGERPRINT = "bench-synthetic-384"


class StubEmbedder:
    """Matches the stored vectors' fingerprint; queries come precomputed."""

    name = "bench-synthetic"
    dimensions = DIMS
    fingerprint = FINGERPRINT
    is_semantic = True
    max_tokens = 256
    fallback_reason = None

    def embed_documents(self, texts: Any) -> Any:
        raise NotImplementedError

    def embed_query(self, text: str) -> Any:
        raise NotImplementedError("the benchmark passes query vectors")

    def count_tokens(self, texts: Any) -> None:
        return None


def make_vectors(n: int, rng: np.random.Generator, uniform: bool) -> npt.NDArray[np.float32]:
    if uniform:
        m = rng.standard_normal((n, DIMS), dtype=np.float32)
    else:
        centroids = rng.standard_normal((2000, DIMS), dtype=np.float32)
        m = centroids[rng.integers(0, len(centroids), n)]
        m += 0.6 * rng.standard_normal((n, DIMS), dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return np.ascontiguousarray(m, dtype=np.float32)


def make_queries(
    matrix: npt.NDArray[np.float32], count: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    rows = matrix[rng.integers(0, len(matrix), count)]
    q = rows + (0.5 / np.sqrt(DIMS)) * rng.standard_normal(rows.shape, dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = q.astype(np.float32)
    return out


def vocabulary(size: int = 20000) -> list[str]:
    rnd = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rnd.choice(letters) for _ in range(rnd.randint(3, 9))) for _ in range(size)}
    return sorted(words)


def passage_rows(
    ids: list[int], vectors: npt.NDArray[np.float32], per_chunk: int, rng: np.random.Generator
) -> list[PassageRow]:
    """``per_chunk`` noisy copies of each chunk vector, as float16 passage rows."""
    rows = []
    for cid, vector in zip(ids, vectors, strict=True):
        noisy = vector + 0.08 * rng.standard_normal((per_chunk, DIMS), dtype=np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        for ordinal, row in enumerate(noisy):
            rows.append(
                PassageRow(cid, ordinal, 0, 1, None, None, 8, quantise(row), DIMS, "bench",
                           StubEmbedder.fingerprint)
            )  # fmt: skip
    return rows


def make_store(
    path: Path, n: int, matrix: npt.NDArray[np.float32], passages: int = 0
) -> tuple[Store, list[str]]:
    vocab = vocabulary()
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    rnd = random.Random(11)
    rng = np.random.default_rng(5)
    store = Store(path, _create=True)
    batch = 20000
    offset = 0
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name="bench", source="bench", size=0))
    for start in range(0, n, batch):
        chunks = []
        for i in range(start, min(n, start + batch)):
            words = rnd.choices(vocab, weights, k=40)
            if i % 50 == 0:  # some identifiers for the aux index
                words.append("parse" + words[0].capitalize() + "Config")
            text = " ".join(words)
            size = len(text)
            chunks.append(
                NewChunk(
                    index=i,
                    byte_start=offset,
                    byte_end=offset + size,
                    content=text,
                    strategy="bench",
                    token_count=None,
                    line_start=i + 1,
                    line_end=i + 1,
                    has_overlap=False,
                    content_hash=f"{i:016x}",
                )
            )
            offset += size + 1
        with store.transaction():
            ids = store.insert_chunks(bid, chunks)
            store.store_vectors(
                VectorRow(
                    cid,
                    matrix[j].astype("<f4").tobytes(),
                    DIMS,
                    "bench",
                    StubEmbedder.fingerprint,
                    1,
                )
                for cid, j in zip(ids, range(start, start + len(ids)), strict=True)
            )
            if passages:
                rows = passage_rows(ids, matrix[start : start + len(ids)], passages, rng)
                store.store_passages(ids, rows)
    return store, [w for w in vocab[:3000]]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def time_matvec(matrix: npt.NDArray[np.float32], queries: npt.NDArray[np.float32]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        scores = matrix @ q
        scores.argmax()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _rss_mb() -> float:
    """This process's resident memory (Linux), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _recall(got: list[int], want: list[int]) -> float:
    return len(set(got) & set(want)) / max(len(want), 1)


def bench_store(n: int, args: argparse.Namespace, rng: np.random.Generator) -> None:
    from rlm.search import vector as vector_mod

    matrix = make_vectors(n, rng, args.uniform)
    queries = make_queries(matrix, args.queries, rng)
    default_min = vector_mod.APPROX_MIN_ROWS
    with tempfile.TemporaryDirectory(prefix="rlm-bench-") as tmp:
        t0 = time.perf_counter()
        store, vocab = make_store(Path(tmp) / "bench.db", n, matrix, args.passages)
        build = time.perf_counter() - t0
        del matrix
        time.sleep(1.1)  # sidecars are written once the newest row's second is over
        engine = SearchEngine(store, StubEmbedder())  # type: ignore[arg-type]
        rnd = random.Random(3)
        texts = [" ".join(rnd.choices(vocab, k=rnd.randint(2, 6))) for _ in queries]
        t0 = time.perf_counter()
        index = vector_index(store, StubEmbedder.fingerprint, DIMS, use_ann=False)
        load = time.perf_counter() - t0
        rows_total = index.size + (index.passages.size if index.passages is not None else 0)
        forced = rows_total < default_min
        modes = {"exact": 1 << 62, "approx": 0 if forced else default_min}
        engine.rank(texts[0], ["hybrid"], query_vector=queries[0])  # warm-up
        times: dict[str, list[float]] = {k: [] for k in ("hybrid exact", "hybrid approx",
            "lexical", "vector exact", "vector approx")}  # fmt: skip
        recall_h, recall_v = [], []
        for text, q in zip(texts, queries, strict=True):
            tops: dict[str, list[int]] = {}
            vtops: dict[str, list[int]] = {}
            for name, minimum in modes.items():  # interleaved: exact, approx, per query
                vector_mod.APPROX_MIN_ROWS = minimum
                t = time.perf_counter()
                ranked = engine.rank(text, ["hybrid"], query_vector=q)["hybrid"]
                times[f"hybrid {name}"].append((time.perf_counter() - t) * 1000)
                tops[name] = [r.chunk_id for r in ranked[:10]]
                idx = vector_index(store, StubEmbedder.fingerprint, DIMS, use_ann=False)
                t = time.perf_counter()
                hits = idx.search(q, 200, 0.3)
                times[f"vector {name}"].append((time.perf_counter() - t) * 1000)
                vtops[name] = [c for c, _ in hits[:10]]
            recall_h.append(_recall(tops["approx"], tops["exact"]))
            recall_v.append(_recall(vtops["approx"], vtops["exact"]))
            t = time.perf_counter()
            engine.lexical_leg(text, 200, None)
            times["lexical"].append((time.perf_counter() - t) * 1000)
        # Then each mode over all queries in a row (twice, alternating): an approximate
        # query right after an exact one finds its rows evicted by the 1.7 GB scan.
        for name, minimum in [*modes.items(), *modes.items()]:
            vector_mod.APPROX_MIN_ROWS = minimum
            key = f"hybrid {name}, in a row"
            for text, q in zip(texts, queries, strict=True):
                t = time.perf_counter()
                engine.rank(text, ["hybrid"], query_vector=q)
                times.setdefault(key, []).append((time.perf_counter() - t) * 1000)
        vector_mod.APPROX_MIN_ROWS = default_min
        bare = time_matvec(np.asarray(index.matrix), queries)
        rss = _rss_mb()
        files = sorted((Path(tmp) / "bench.db.vec").glob("*"))
        on_disk = sum(f.stat().st_blocks * 512 for f in files) / 1e6
        t0 = time.perf_counter()
        signatures = 20
        for _ in range(signatures):
            store.vector_signature(StubEmbedder.fingerprint, DIMS)
            store.passage_signature(StubEmbedder.fingerprint, DIMS)
        sig_ms = (time.perf_counter() - t0) * 1000 / signatures
        store.close()
        cold_rows: list[tuple[str, list[float]]] = []
        if args.cold:
            clear_cache()
            import shutil

            db = Path(tmp) / "bench.db"
            shutil.rmtree(Path(tmp) / "bench.db.vec", ignore_errors=True)
            first = [cold_search(db, texts[0])]
            nxt = [cold_search(db, texts[(i + 1) % len(texts)]) for i in range(args.cold)]
            after: list[float] = []
            for i in range(args.cold):  # a load of one small buffer, then a new process
                append_buffer(db, 100, args.passages, rng, f"more{i}")
                time.sleep(1.1)
                after.append(cold_search(db, texts[i % len(texts)]))
            phases = [cold_phases(db, t) for t in texts[: args.cold]]
            cold_rows = [
                ("cold, no sidecar", first),
                ("cold, after a load", after),
                ("cold, next", nxt),
            ]
            cold_rows += [(f"  cold: {name}", [p[name] for p in phases]) for name in phases[0]]
    passages = index.passages.size if index.passages is not None else 0
    rows = [
        ("hybrid exact", times["hybrid exact"]),
        ("hybrid approx" + (" (forced)" if forced else ""), times["hybrid approx"]),
        ("hybrid exact, in a row", times["hybrid exact, in a row"]),
        ("hybrid approx, in a row", times["hybrid approx, in a row"]),
        ("  lexical leg", times["lexical"]),
        ("  vector leg exact", times["vector exact"]),
        ("  vector leg approx", times["vector approx"]),
        *cold_rows,
    ]
    report(
        n,
        f"store build {build:.1f}s, {passages:,} passages, matrix load {load * 1000:.0f} ms,"
        f" vector arrays {index.nbytes / 1e6:.1f} MB (mapped), RSS {rss:.0f} MB,"
        f" sidecars on disk {on_disk:.0f} MB, both signatures {sig_ms:.1f} ms;"
        f" recall@10 approx vs exact: hybrid {statistics.mean(recall_h):.3f}"
        f" (min {min(recall_h):.1f}), vector leg {statistics.mean(recall_v):.3f}",
        rows,
        bare,
    )
    p50 = {k: pct(v, 50) for k, v in times.items()}
    print(
        "  hybrid p50 approx / exact: interleaved"
        f" {p50['hybrid approx'] / p50['hybrid exact']:.2f},"
        f" in a row {p50['hybrid approx, in a row'] / p50['hybrid exact, in a row']:.2f}"
    )


def append_buffer(db: Path, count: int, passages: int, rng: np.random.Generator, name: str) -> None:
    """A load of one small buffer (new chunks, vectors and passages): an append."""
    store = Store(db)
    matrix = make_vectors(count, rng, False)
    with store.transaction():
        bid = store.insert_buffer(NewBuffer(name=name, source=name, size=0))
        chunks = [
            NewChunk(index=i, byte_start=i, byte_end=i + 1, content=f"appended {name} {i}",
                     strategy="bench", token_count=None, line_start=i + 1, line_end=i + 1,
                     has_overlap=False, content_hash=f"{name}{i}")
            for i in range(count)
        ]  # fmt: skip
        ids = store.insert_chunks(bid, chunks)
        store.store_vectors(
            VectorRow(cid, matrix[j].astype("<f4").tobytes(), DIMS, "bench",
                      StubEmbedder.fingerprint, 1)
            for j, cid in enumerate(ids)
        )  # fmt: skip
        if passages:
            store.store_passages(ids, passage_rows(ids, matrix, passages, rng))
    store.close()


COLD_PHASES = """
import json, sys, time
t0 = time.perf_counter()
from rlm.store import Store
from rlm.search.engine import SearchEngine
from rlm.search.vector import vector_index
store = Store(sys.argv[1])
t1 = time.perf_counter()
from rlm.embedding import get_embedder
emb = get_embedder()
q = emb.embed_query(sys.argv[2])
t2 = time.perf_counter()
index = vector_index(store, emb.fingerprint, emb.dimensions)
t3 = time.perf_counter()
SearchEngine(store, emb).rank(sys.argv[2], ["hybrid"], query_vector=q)
t4 = time.perf_counter()
print(json.dumps({"open": t1 - t0, "model": t2 - t1, "vectors": t3 - t2, "first query": t4 - t3}))
"""


def cold_phases(db: Path, text: str) -> dict[str, float]:
    """Where a new process's time goes (ms): imports + open, model load + query
    embedding, vector matrices (mapped or decoded), the first hybrid query."""
    done = subprocess.run(
        [sys.executable, "-c", COLD_PHASES, str(db), text], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"cold phases failed: {done.stderr[-800:]}")
    import json

    return {k: v * 1000 for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def cold_search(
    db: Path, text: str, env: dict[str, str] | None = None, label: str = "cold"
) -> float:
    """Wall ms of one new ``rlm search`` process (hybrid, real model for the query;
    ``env``: the process environment, default this one's)."""
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rlm", "-d", str(db), "--format", "json", "search", text],
        capture_output=True,
        text=True,
        env=env,
    )
    ms = (time.perf_counter() - t) * 1000
    if done.returncode != 0 or '"semantic_available": true' not in done.stdout:
        raise SystemExit(f"{label} rlm search failed: {done.stderr[-800:] or done.stdout[:500]}")
    return ms


def bench_vectors(n: int, args: argparse.Namespace, rng: np.random.Generator) -> None:
    matrix = make_vectors(n, rng, args.uniform)
    queries = make_queries(matrix, args.queries, rng)
    ids = np.arange(1, n + 1, dtype=np.int64)
    index = VectorIndex(
        chunk_ids=ids, buffer_ids=np.ones(n, dtype=np.int64), matrix=matrix, signature=(n, n, 0)
    )
    exact, exact_hits = [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.search(q, 200, 0.3, exact=True)
        exact.append((time.perf_counter() - t) * 1000)
        exact_hits.append([c for c, _ in hits[:10]])
    rows = [("vector leg exact", exact)]
    note = "vectors only (no FTS)"
    if args.ann:
        from rlm.search.ann import available, build

        if not available():
            print("usearch not installed: pip install usearch", file=sys.stderr)
        else:
            t0 = time.perf_counter()
            index.ann = build(ids, matrix)
            note += f", HNSW build {time.perf_counter() - t0:.0f}s"
            ann_times, recalls = [], []
            for q, want in zip(queries, exact_hits, strict=True):
                t = time.perf_counter()
                hits = index.search(q, 200, 0.3)
                ann_times.append((time.perf_counter() - t) * 1000)
                got = {c for c, _ in hits[:10]}
                recalls.append(len(got & set(want)) / max(len(want), 1))
            rows.append(("vector leg HNSW", ann_times))
            note += f", HNSW recall@10 {statistics.mean(recalls):.3f}"
    report(n, note, rows, time_matvec(matrix, queries))


def report(n: int, note: str, rows: list[tuple[str, list[float]]], bare: list[float]) -> None:
    bare50 = pct(bare, 50)
    print(f"\nN = {n:,} ({note})")
    print(f"  {'':<20} {'p50 ms':>8} {'p95 ms':>8} {'p50 / matvec':>13}")
    for label, values in rows:
        p50 = pct(values, 50)
        print(f"  {label:<20} {p50:>8.2f} {pct(values, 95):>8.2f} {p50 / bare50:>13.1f}")
    print(f"  {'bare numpy M @ q':<20} {bare50:>8.2f} {pct(bare, 95):>8.2f} {1.0:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--fts-max",
        type=int,
        default=100_000,
        help="largest N built as a full store with FTS; above: vectors only",
    )
    parser.add_argument(
        "--ann", action="store_true", help="also time the HNSW index (vectors only)"
    )
    parser.add_argument("--uniform", action="store_true", help="i.i.d. random unit vectors")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--passages", type=int, default=10, help="passage vectors per chunk (0: none)"
    )
    parser.add_argument(
        "--cold", type=int, default=0, help="also time N new `rlm search` processes per size"
    )
    args = parser.parse_args()
    if args.cold:  # the CLI embeds the query with the installed model: match its fingerprint
        from rlm.embedding import get_embedder

        real = get_embedder()
        if not real.is_semantic or real.dimensions != DIMS:
            raise SystemExit("--cold needs the bundled 384-d model installed")
        StubEmbedder.fingerprint = real.fingerprint
    rng = np.random.default_rng(args.seed)
    print(
        f"search benchmark: {DIMS}-d, {args.queries} queries per size, "
        f"{'uniform' if args.uniform else 'clustered'} vectors, {os.cpu_count()} CPUs"
    )
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        clear_cache()
        if size <= args.fts_max:
            bench_store(size, args, rng)
        else:
            bench_vectors(size, args, rng)


if __name__ == "__main__":
    main()
