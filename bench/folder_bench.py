"""Folder-load scaling benchmark: many tiny files (prints figures; not a test).

The security review timed ``rlm load`` of N tiny files: 5k 5.1 s, 20k 71.6 s,
100k 1429 s, i.e. quadratic, because every file rewrote one JSON row holding
all buffer ids. This script loads N and 4N files (``--no-embed``, in a child
process) and prints the time per file at both sizes: the ratio is ~1 when a
load is linear in the number of files and ~4 when it is quadratic.

    python bench/folder_bench.py                  # 2,000 and 8,000 files
    python bench/folder_bench.py --files 5000     # 5,000 and 20,000
    python bench/folder_bench.py --src /other/checkout/src   # another rlm's code, same run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_tree(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / f"d{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.txt").write_text(f"tiny file {i}\n")


def load_seconds(root: Path, db: Path, src: str | None) -> float:
    env = dict(os.environ, RLM_EMBEDDER="hash")
    cmd = [sys.executable, "-c", "import sys; from rlm.cli.main import main; sys.exit(main())"]
    if src:
        env["PYTHONPATH"] = src
        cmd = [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {src!r}); "
            "from rlm.cli.main import main; sys.exit(main())",
        ]
    subprocess.run(
        [*cmd, "--db-path", str(db), "init"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    start = time.perf_counter()
    subprocess.run(
        [*cmd, "--db-path", str(db), "load", str(root), "--no-embed"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--src", help="load rlm from this source folder instead")
    args = parser.parse_args()
    probe = "import rlm; print(rlm.__file__)"
    if args.src:
        probe = f"import sys; sys.path.insert(0, {args.src!r}); " + probe
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    print(f"rlm from {where.stdout.strip()}")
    with tempfile.TemporaryDirectory(prefix="rlm-folder-bench-") as tmp:
        results = []
        for count in (args.files, 4 * args.files):
            root = Path(tmp) / f"tree{count}"
            make_tree(root, count)
            seconds = load_seconds(root, Path(tmp) / f"t{count}.db", args.src)
            results.append((count, seconds))
            print(f"{count:>7} files  {seconds:8.1f} s  {1000 * seconds / count:6.2f} ms/file")
        (n1, s1), (n2, s2) = results
        print(
            f"per-file time ratio {n2}/{n1} files: {(s2 / n2) / (s1 / n1):.2f}"
            "  (1 = linear, 4 = quadratic)"
        )


if __name__ == "__main__":
    main()
