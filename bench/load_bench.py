"""Load throughput benchmark (prints figures; not a test, not a CI gate).

Times ``rlm load --no-embed`` (read + UTF-8 scan + chunk + store + both FTS
indexes, one transaction) of a generated text in a subprocess, with its peak
RSS (``os.wait4``), next to a bare SQLite baseline measured in the same run:
the same chunk texts inserted into a plain table plus an FTS5 external-content
index with the same tokenizer (``porter unicode61``), one transaction, same
pragmas. Ratio = rlm MB/s / bare MB/s (target >= 0.8).

    python bench/load_bench.py                 # 20 MB
    python bench/load_bench.py --size-mb 100   # the 100 MB figure
    python bench/load_bench.py --huge          # 1 GB input, peak RSS (target < 300 MB)
    python bench/load_bench.py --profile       # where the time goes (cProfile, in-process)
    python bench/load_bench.py --json          # one JSON object instead of the table
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RLM = Path(sys.executable).parent / "rlm"
_WORD_TEXT = (
    "the of and to in is that for it as with was on be by this are from or an at which "
    "river stone lantern harbour signal quartz meadow copper falcon ledger orbit parser "
    "token buffer window search index chunk vector model query result naïve café données "
    "straße 東京 日本語 parseConfig HTTPServer snake_case 42 3.14 2024"
)
WORDS = _WORD_TEXT.split()


def generate(path: Path, size: int, seed: int = 1, *, one_line: bool = False) -> None:
    """``size`` bytes of prose (paragraphs of sentences), written in 4 MB pieces."""
    rng = random.Random(seed)
    pool = []
    for _ in range(2000):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25))).capitalize() + "."
            for _ in range(rng.randint(1, 8))
        ]
        pool.append(" ".join(sentences) + (" " if one_line else "\n\n"))
    written = 0
    with path.open("wb") as out:
        while written < size:
            piece = "".join(rng.choices(pool, k=2000)).encode("utf-8")[: size - written]
            # Never cut a multi-byte character at the end of the file.
            piece = piece.decode("utf-8", "ignore").encode("utf-8")
            out.write(piece)
            written += len(piece)


def run_rlm_load(src: Path, db: Path) -> dict[str, Any]:
    """``rlm load --no-embed`` in a child process: wall seconds, peak RSS, result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    subprocess.run([str(RLM), "--db-path", str(db), "init"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    cmd = [str(RLM), "--db-path", str(db), "load", str(src), "--no-embed", "--format", "json"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"rlm load failed ({proc.returncode}): {err}")
    result = json.loads(out)
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "result": result}


def bare_fts(texts: list[str], folder: Path) -> float:
    """Seconds to insert ``texts`` into a plain table + FTS5 external content, one transaction."""
    db = folder / "bare.db"
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, content TEXT NOT NULL)")
    conn.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(content, content='chunks',"
        " content_rowid='id', tokenize='porter unicode61')"
    )
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO chunks(id, content) VALUES (?, ?)", enumerate(texts, 1))
    conn.executemany("INSERT INTO chunks_fts(rowid, content) VALUES (?, ?)", enumerate(texts, 1))
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def chunk_texts(db: Path) -> list[str]:
    conn = sqlite3.connect(str(db))
    try:
        return [str(r[0]) for r in conn.execute("SELECT content FROM chunks ORDER BY id")]
    finally:
        conn.close()


def profile_load(src: Path, folder: Path, top: int = 25) -> None:
    import cProfile
    import pstats

    from rlm.cli.main import run

    db = folder / "profile.db"
    run(["--db-path", str(db), "init"])
    profiler = cProfile.Profile()
    profiler.enable()
    run(["--db-path", str(db), "load", str(src), "--no-embed", "--name", "profiled"])
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)


def bench(size_mb: float, folder: Path, *, baseline: bool = True) -> dict[str, Any]:
    size = int(size_mb * 1_000_000)
    src = folder / "input.txt"
    generate(src, size)
    load = run_rlm_load(src, folder / "rlm.db")
    mb = size / 1_000_000
    figures: dict[str, Any] = {
        "size_mb": mb,
        "chunks": load["result"]["chunk_count"],
        "rlm_seconds": load["seconds"],
        "rlm_mb_s": mb / load["seconds"],
        "peak_rss_mb": load["peak_rss_mb"],
    }
    if baseline:
        texts = chunk_texts(folder / "rlm.db")
        bare = bare_fts(texts, folder)
        figures |= {"bare_seconds": bare, "bare_mb_s": mb / bare}
        figures["ratio"] = figures["rlm_mb_s"] / figures["bare_mb_s"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--huge", action="store_true", help="1 GB input; RSS only, no baseline")
    parser.add_argument("--profile", action="store_true", help="cProfile an in-process load")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--tmp", help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    size_mb = 1000.0 if args.huge else args.size_mb
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="rlm-load-bench-") as tmp:
        folder = Path(tmp)
        if args.profile:
            src = folder / "input.txt"
            generate(src, int(size_mb * 1_000_000))
            profile_load(src, folder)
            return
        figures = bench(size_mb, folder, baseline=not args.huge)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"rlm load --no-embed of {figures['size_mb']:.0f} MB ({figures['chunks']} chunks)")
    print(f"  rlm        {figures['rlm_mb_s']:8.2f} MB/s  ({figures['rlm_seconds']:.1f} s)")
    if "bare_mb_s" in figures:
        print(f"  bare FTS5  {figures['bare_mb_s']:8.2f} MB/s  ({figures['bare_seconds']:.1f} s)")
        print(f"  ratio      {figures['ratio']:8.2f}     (target >= 0.8)")
    print(f"  peak RSS   {figures['peak_rss_mb']:8.1f} MB   (target < 300 MB at 1 GB)")


if __name__ == "__main__":
    main()
