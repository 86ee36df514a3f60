"""The first pass against another revision's, interleaved in one process (prints
figures; not a test).

Builds (once, cached under ``--cache``) the synthetic store of ``search_bench.py``
(``--size`` chunks, 10 passages each, the same seeds), then times hybrid queries
(query vector precomputed) with ``VectorIndex.approximate_scores`` taken in turn
from this tree and from ``--ref`` (its ``src/rlm/search/vector.py`` read with
``git show``, the rest of the engine shared; the lexical leg overlapped with the
vector leg for this tree only, ``engine.OVERLAP_LEGS``): A B A B per query, then reports
medians, the p50 ratio, the recall@10 of each against the exact ranking, and the
vector memory. The reference must work on this tree's index objects (it does as
long as the index only gained fields).

    python bench/approx_ab.py --size 100000 --ref main
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from search_bench import (
    DIMS,
    StubEmbedder,
    make_queries,
    make_store,
    make_vectors,
    pct,
    vocabulary,
)

from rlm.search import engine as engine_mod
from rlm.search import vector as vector_mod
from rlm.search.engine import SearchEngine
from rlm.store import Store


def reference(ref: str) -> Any:
    """``approximate_scores`` of revision ``ref``."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "-C", str(root), "show", f"{ref}:src/rlm/search/vector.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="rlm-ab-")) / "vector_ref.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("rlm_vector_ref", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.VectorIndex.approximate_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ref", default="main")
    parser.add_argument(
        "--ref-overlap", action="store_true", help="the reference overlaps the legs too"
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rlm-approx-ab"))
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    matrix = make_vectors(args.size, rng, False)
    queries = make_queries(matrix, args.queries, rng)
    db = args.cache / f"bench-{args.size}.db"
    if not db.exists():
        args.cache.mkdir(parents=True, exist_ok=True)
        tmp = db.with_suffix(".building")
        t0 = time.perf_counter()
        make_store(tmp, args.size, matrix, 10)[0].close()
        tmp.rename(db)
        print(f"store built in {time.perf_counter() - t0:.0f} s")
        time.sleep(1.1)
    del matrix
    store = Store(db)
    engine = SearchEngine(store, StubEmbedder())  # type: ignore[arg-type]
    rnd = random.Random(3)
    vocab = vocabulary()[:3000]
    texts = [" ".join(rnd.choices(vocab, k=rnd.randint(2, 6))) for _ in queries]
    this = vector_mod.VectorIndex.approximate_scores
    versions = {"ref": reference(args.ref), "this, legs in turn": this, "this": this}
    overlap = {
        "ref": args.ref_overlap,
        "this, legs in turn": False,
        "this": engine_mod.OVERLAP_LEGS,
    }
    t0 = time.perf_counter()
    index = vector_mod.vector_index(store, StubEmbedder.fingerprint, DIMS, use_ann=False)
    print(f"index mapped in {(time.perf_counter() - t0) * 1000:.0f} ms,"
          f" vector arrays {index.nbytes / 1e6:.1f} MB")  # fmt: skip
    saved = vector_mod.APPROX_MIN_ROWS
    vector_mod.APPROX_MIN_ROWS = 1 << 62
    exact = [
        [r.chunk_id for r in engine.rank(t, ["hybrid"], query_vector=q)["hybrid"][:10]]
        for t, q in zip(texts, queries, strict=True)
    ]
    vector_mod.APPROX_MIN_ROWS = saved
    times: dict[str, list[float]] = {k: [] for k in versions}
    recall: dict[str, list[float]] = {k: [] for k in versions}
    for fn in versions.values():  # warm-up: page in what each path reads
        vector_mod.VectorIndex.approximate_scores = fn  # type: ignore[method-assign]
        for t, q in zip(texts[:5], queries[:5], strict=True):
            engine.rank(t, ["hybrid"], query_vector=q)
    for _ in range(args.rounds):
        for i, (t, q) in enumerate(zip(texts, queries, strict=True)):
            order = list(versions.items())
            order = order[i % len(order) :] + order[: i % len(order)]
            for name, fn in order:
                vector_mod.VectorIndex.approximate_scores = fn  # type: ignore[method-assign]
                engine_mod.OVERLAP_LEGS = overlap[name]
                t1 = time.perf_counter()
                ranked = engine.rank(t, ["hybrid"], query_vector=q)["hybrid"]
                times[name].append((time.perf_counter() - t1) * 1000)
                got = {r.chunk_id for r in ranked[:10]}
                recall[name].append(len(got & set(exact[i])) / max(len(exact[i]), 1))
    vector_mod.VectorIndex.approximate_scores = this  # type: ignore[method-assign]
    for name in versions:
        v = times[name]
        print(
            f"hybrid {name:18s}: p50 {pct(v, 50):6.1f} ms  p95 {pct(v, 95):6.1f} ms"
            f"  recall@10 vs exact {statistics.mean(recall[name]):.3f}"
        )
    for name in list(versions)[1:]:
        print(f"p50 ratio {name} / ref: {pct(times[name], 50) / pct(times['ref'], 50):.2f}")
    store.close()


if __name__ == "__main__":
    main()
