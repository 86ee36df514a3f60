"""Freshness cost: ``rlm search --refresh`` on a tree of N files with nothing changed.

Builds a tree (default 10,000 small files in 100 folders), loads it once (hash
embedder, so every chunk has a vector), then times, in the same process and the same run:

* ``search`` (BM25, the collection) without refresh: the baseline;
* ``search --refresh`` with nothing changed: one ``stat`` per file, nothing read;
* ``search --refresh`` after touching 10 files (read, hashed, re-chunked);
* a bare ``os.stat`` of every file: the floor the refresh cannot beat;
* one ``rlm watch`` poll with nothing changed (the folder load's pass: a walk,
  a stat per file, the collection's rows), which also finds added files.

Each figure is the median of ``--repeat`` runs (in-process ``rlm.ops.search``,
so interpreter start-up is left out; it is the same for both). Also one CLI
run of each (subprocess), which is what an agent pays per call.

    python bench/refresh_bench.py              # 10k files
    python bench/refresh_bench.py --files 2000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RLM = Path(sys.executable).parent / "rlm"


def build_tree(root: Path, files: int) -> list[Path]:
    paths = []
    for i in range(files):
        folder = root / f"d{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"f{i:05d}.md"
        path.write_text(
            f"# File {i}\n\nThe lighthouse keeper wrote note {i} about ship {i * 7}.\n", "utf-8"
        )
        paths.append(path)
    return paths


def median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cli_ms(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(RLM), *args], cwd=cwd, env=env, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import rlm
    from rlm import ops

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)
        paths = build_tree(work / "tree", args.files)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
        env["RLM_EMBEDDER"] = "hash"
        os.environ["RLM_EMBEDDER"] = "hash"
        started = time.perf_counter()
        with rlm.Store.init(work / ".rlm" / "rlm-state.db") as store:
            rlm.load(store, ["tree"], embed="now")  # hash vectors: a fully embedded store
            load_s = time.perf_counter() - started

            def plain() -> None:
                ops.search(store, "lighthouse ship", mode="bm25")

            def refreshed() -> None:
                out = ops.search(store, "lighthouse ship", mode="bm25", refresh=True)
                assert out.refreshed is not None

            def stat_all() -> None:
                for p in paths:
                    os.stat(p)

            def poll() -> None:
                ops.watch(store, ["tree"], cycles=1, interval=0, embed="off")

            base = median_ms(plain, args.repeat)
            fresh = median_ms(refreshed, args.repeat)
            floor = median_ms(stat_all, args.repeat)
            watch_poll = median_ms(poll, args.repeat)
            for i, p in enumerate(paths[:10]):
                p.write_text(f"# File {i}\n\nchanged text {i}\n", "utf-8")
                os.utime(p, (2_000_000_000 + i, 2_000_000_000 + i))
            start = time.perf_counter()
            touched = ops.search(store, "changed", mode="bm25", refresh=True)
            changed_ms = (time.perf_counter() - start) * 1000
            assert touched.refreshed is not None and len(touched.refreshed.changed) == 10
        cli_plain = cli_ms(["search", "lighthouse", "--mode", "bm25"], work, env)
        cli_fresh = cli_ms(["search", "lighthouse", "--mode", "bm25", "--refresh"], work, env)
    result = {
        "files": args.files,
        "load_seconds": round(load_s, 2),
        "search_ms": round(base, 1),
        "search_refresh_unchanged_ms": round(fresh, 1),
        "refresh_overhead_ms": round(fresh - base, 1),
        "stat_floor_ms": round(floor, 1),
        "overhead_vs_stat_floor": round((fresh - base) / floor, 2) if floor else None,
        "search_refresh_10_changed_ms": round(changed_ms, 1),
        "watch_poll_unchanged_ms": round(watch_poll, 1),
        "cli_search_ms": round(cli_plain, 1),
        "cli_search_refresh_ms": round(cli_fresh, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"tree: {args.files} files (loaded in {load_s:.1f} s, hash embedder)")
    print(f"{'':<44} {'ms':>9}")
    print(f"{'search (bm25), no refresh':<44} {base:>9.1f}")
    print(f"{'search --refresh, nothing changed':<44} {fresh:>9.1f}")
    print(f"{'  refresh overhead':<44} {fresh - base:>9.1f}")
    print(f"{'  bare os.stat of every file (floor)':<44} {floor:>9.1f}")
    print(f"{'search --refresh, 10 files changed':<44} {changed_ms:>9.1f}")
    print(f"{'watch: one poll, nothing changed':<44} {watch_poll:>9.1f}")
    print(f"{'CLI: rlm search (process)':<44} {cli_plain:>9.1f}")
    print(f"{'CLI: rlm search --refresh (process)':<44} {cli_fresh:>9.1f}")
    if floor:
        print(f"overhead / stat floor: {(fresh - base) / floor:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
