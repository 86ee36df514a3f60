"""``rlm search --collection X`` over a collection of N files: the lexical buffer filter.

Builds a tree (default 10,000 small files, one collection, hash embedder so
every chunk has a vector), then times in-process ``rlm.ops.search`` with and
without ``collection=`` in ``bm25`` and ``hybrid`` mode (median of
``--repeat``). The baseline is the same search without the filter, same run.

Before/after a change to the filter, run it with each checkout on one store:

    python bench/collection_bench.py --work /tmp/coll          # builds once, reuses
    PYTHONPATH=../main/src python bench/collection_bench.py --work /tmp/coll
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from refresh_bench import build_tree

QUERIES = ("lighthouse ship", "keeper wrote note about the ship 77")


def median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(work: Path, files: int, repeat: int) -> dict[str, Any]:
    import rlm
    from rlm import ops

    os.environ["RLM_EMBEDDER"] = "hash"
    os.chdir(work)
    db = work / ".rlm" / "rlm-state.db"
    if not db.exists():
        build_tree(work / "tree", files)
        with rlm.Store.init(db) as store:
            rlm.load(store, ["tree"], embed="now")
    out: dict[str, Any] = {"rlm": str(Path(rlm.__file__).parent), "rows": []}
    with rlm.Store.open(db) as store:
        buffers = store.list_buffers()
        collection = buffers[0].collection
        out["buffers"] = len(buffers)
        for mode in ("bm25", "hybrid"):
            for query in QUERIES:
                ops.search(store, query, mode=mode)  # warm caches

                def scoped(q: str = query, m: str = mode) -> None:
                    ops.search(store, q, mode=m, collection=collection)

                def whole(q: str = query, m: str = mode) -> None:
                    ops.search(store, q, mode=m)

                out["rows"].append(
                    {
                        "mode": mode,
                        "query": query,
                        "collection_ms": round(median_ms(scoped, repeat), 1),
                        "no_filter_ms": round(median_ms(whole, repeat), 1),
                    }
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, help="keep the tree and store here (reused)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        result = run(args.work.resolve(), args.files, args.repeat)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(Path(tmp), args.files, args.repeat)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['buffers']} buffers in one collection; rlm from {result['rlm']}")
    print(f"{'mode':<7} {'query':<38} {'--collection ms':>16} {'no filter ms':>13}")
    for row in result["rows"]:
        print(
            f"{row['mode']:<7} {row['query']:<38} {row['collection_ms']:>16.1f}"
            f" {row['no_filter_ms']:>13.1f}"
        )


if __name__ == "__main__":
    main()
