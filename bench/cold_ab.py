"""Cold ``rlm search`` wall time of two source trees, interleaved A B A B (prints figures).

A cold search is a new process, as an agent calls it from a shell: imports, store
open, SQL, the vector sidecars, the model load and the query embedding. On a shared
machine the load moves under a benchmark, so the two trees take turns, one process
each per round, and the report gives each one's median and the ratio B / A.

Each tree runs with its ``src`` first on ``PYTHONPATH`` (the same interpreter and
packages), against its own copy of the store when a schema migration would make
the other tree refuse the file (``--db-b``). Bytecode is cached under a per-tree
``PYTHONPYCACHEPREFIX`` (an installed package has its ``.pyc`` files; compiling
every module in each process would add about 0.3 s to both).

    python bench/cold_ab.py --a /tmp/main/src --b src --db store.db --rounds 7
    python bench/cold_ab.py --a /tmp/main/src --b src --db a.db --db-b b.db
    python bench/cold_ab.py --a /tmp/main/src --b src --db a.db --db-b b.db --append

Build a store with ``bench/search_bench.py``'s ``make_store`` (see its ``--cold``);
run each tree once first so both sidecars exist (the first process writes them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from search_bench import cold_search

QUERIES = ["parse config value", "tide tables at night", "retry logic upload", "zqx vocab"]


def run(src: Path, db: Path, query: str, cache: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONPYCACHEPREFIX=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return cold_search(db, query, env, label=str(src))


APPEND = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import search_bench as sb
from rlm.embedding import get_embedder
sb.StubEmbedder.fingerprint = get_embedder().fingerprint
rng = np.random.default_rng(int(sys.argv[4]))
sb.append_buffer(sb.Path(sys.argv[2]), 100, 10, rng, sys.argv[3])
"""


def append(src: Path, db: Path, name: str, seed: int) -> None:
    """A load of one 100-chunk buffer (vectors and passages) by ``src``'s code."""
    env = dict(os.environ, PYTHONPATH=str(src))
    bench = str(Path(__file__).resolve().parent)
    subprocess.run(
        [sys.executable, "-c", APPEND, bench, str(db), name, str(seed)], check=True, env=env
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", type=Path, required=True, help="baseline src folder")
    parser.add_argument("--b", type=Path, required=True, help="changed src folder")
    parser.add_argument("--db", type=Path, required=True, help="store (A's; B's too by default)")
    parser.add_argument("--db-b", type=Path, default=None, help="B's copy of the store")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--append",
        action="store_true",
        help="before each round, load one 100-chunk buffer into each store (by its tree):"
        " times the first process after a load (the sidecars are appended to)",
    )
    args = parser.parse_args()
    db_b = args.db_b or args.db
    caches = Path(tempfile.gettempdir()) / "rlm-cold-ab"
    trees = [
        ("A", args.a.resolve(), args.db, caches / "a"),
        ("B", args.b.resolve(), db_b, caches / "b"),
    ]
    for _, src, db, cache in trees:  # warm-up: bytecode, sidecars, page cache
        run(src, db, QUERIES[0], cache)
    times: dict[str, list[float]] = {"A": [], "B": []}
    for i in range(args.rounds):
        query = QUERIES[i % len(QUERIES)]
        if args.append:
            for name, src, db, _ in trees[: 1 if db_b == args.db else 2]:
                append(src, db, f"more-{name}-{time.time_ns()}", i)
            time.sleep(1.1)  # sidecars are written once the newest row's second is over
        for name, src, db, cache in trees if i % 2 == 0 else trees[::-1]:
            times[name].append(run(src, db, query, cache))
    a, b = statistics.median(times["A"]), statistics.median(times["B"])
    for name in ("A", "B"):
        values = " ".join(f"{v:.0f}" for v in times[name])
        print(f"{name}: median {statistics.median(times[name]):7.0f} ms   ({values})")
    print(f"B / A = {b / a:.2f}  ({os.getloadavg()[0]:.1f} load average at the end)")


if __name__ == "__main__":
    main()
