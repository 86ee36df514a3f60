"""Background embedding on a real corpus: load time, first answer, time to fully embedded.

Builds ``--size-mb`` of real text (the NPL and ArguAna corpora of
``../shared/bench-data`` concatenated, repeated if needed), then, with the real
bundled model, in the same run:

1. ``rlm load --no-embed`` into a fresh store: the baseline;
2. ``rlm load`` (``--embed auto``: big, so background) into another fresh store;
   the ratio to (1) is the issue's "load returns within 3x" figure;
3. ``rlm search`` right after (2) returned: time from the start of (2) to the
   first answer, its result count and its ``semantic_coverage``;
4. polls ``rlm status`` until every chunk has a vector, with no other command:
   time until fully embedded and the worker's measured tokens/s.

    python bench/background_bench.py                  # 5 MB
    python bench/background_bench.py --size-mb 100 --no-wait   # 100 MB, skip (4)
    python bench/background_bench.py --size-mb 100 --no-wait --sample 180

``--sample SECONDS`` (with ``--no-wait``): let the worker embed that long, then
read ``rlm status``: the worker's measured tokens/s and its ETA for the rest,
so "fully embedded" is projected (sample end + ETA) instead of waited for.

The machine may be shared: the embedding figure depends on what else runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RLM = Path(sys.executable).parent / "rlm"
DATA = Path(__file__).resolve().parents[2] / "shared" / "bench-data"


def corpus(size: int) -> bytes:
    texts: list[str] = []
    for name in ("vaswani-npl", "arguana"):
        path = DATA / name / "corpus.jsonl"
        if not path.exists():
            path = Path("/work/shared/bench-data") / name / "corpus.jsonl"
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                texts.append(f"{row.get('title', '')}\n{row.get('text', '')}".strip())
    one = "\n\n".join(texts).encode("utf-8")
    return (one * (size // len(one) + 1))[:size].rsplit(b"\n", 1)[0] + b"\n"


def rlm(db: Path, *args: str, env: dict[str, str]) -> tuple[float, Any, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(RLM), "-d", str(db), *args, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rlm {' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - start, json.loads(done.stdout), done.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--sample", type=float, default=0.0, help="see the module doc")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            run(work, args, env, out)
        finally:  # never leave a worker embedding a deleted store
            job = out.get("background") or {}
            pid = job.get("pid") if isinstance(job, dict) else None
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
    report(out, args.json)


def run(work: Path, args: argparse.Namespace, env: dict[str, str], out: dict[str, Any]) -> None:
    src = work / "corpus.txt"
    src.write_bytes(corpus(int(args.size_mb * 1024 * 1024)))
    out["bytes"] = src.stat().st_size
    base_db, bg_db = work / "a" / "rlm.db", work / "b" / "rlm.db"
    for db in (base_db, bg_db):
        rlm(db, "init", env=env)
    out["load_no_embed_s"], _, _ = rlm(base_db, "load", "--no-embed", str(src), env=env)
    started = time.perf_counter()
    out["load_s"], loaded, _ = rlm(bg_db, "load", str(src), env=env)
    _, hits, err = rlm(bg_db, "search", "radio propagation in the ionosphere", env=env)
    out["first_answer_s"] = time.perf_counter() - started
    out["load_ratio"] = out["load_s"] / out["load_no_embed_s"]
    out["chunks"] = loaded["chunk_count"]
    out["background"] = loaded["background_embedding"]
    out["first_answer_results"] = hits["count"]
    out["first_answer_coverage"] = hits["semantic_coverage"]
    out["first_answer_notice"] = [line for line in err.splitlines() if "semantic leg" in line]
    if args.no_wait and args.sample > 0:
        time.sleep(args.sample)
        _, status, _ = rlm(bg_db, "status", env=env)
        emb = status["embedding"]
        elapsed = time.perf_counter() - started
        out["sample"] = {
            "seconds": round(elapsed, 1),
            "embedded_chunks": emb["embedded_chunks"],
            "missing_chunks": emb["missing_chunks"],
            "tokens_per_second": emb["tokens_per_second"],
            "eta_seconds": emb["eta_seconds"],
        }
        if emb["eta_seconds"] is not None:
            out["projected_fully_embedded_s"] = elapsed + emb["eta_seconds"]
    if not args.no_wait:
        while True:
            try:
                _, status, _ = rlm(bg_db, "status", env=env)
            except RuntimeError as exc:  # say it, keep polling (the worker is detached)
                print(exc, file=sys.stderr)
                time.sleep(2)
                continue
            emb = status["embedding"]
            if emb["missing_chunks"] == 0 and not emb["worker"]["running"]:
                break
            time.sleep(2)
        out["fully_embedded_s"] = time.perf_counter() - started
        state = json.loads((bg_db.parent / "rlm.db.embed.json").read_text())
        out["worker_tokens_per_second"] = state.get("tokens_per_second")
        out["kb_per_second"] = out["bytes"] / 1024 / (out["fully_embedded_s"] - out["load_s"])


def report(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(out))
        return
    print(f"corpus: {out['bytes'] / 1e6:.1f} MB, {out['chunks']} chunks")
    print(f"rlm load --no-embed          {out['load_no_embed_s']:8.2f} s")
    print(f"rlm load (auto: background)  {out['load_s']:8.2f} s  ({out['load_ratio']:.2f}x)")
    print(f"first search answer          {out['first_answer_s']:8.2f} s after the load started")
    print(f"  results {out['first_answer_results']}, coverage {out['first_answer_coverage']}")
    print(f"  notice: {out['first_answer_notice']}")
    if "sample" in out:
        sample = out["sample"]
        print(
            f"after {sample['seconds']:.0f} s: {sample['embedded_chunks']} chunks embedded,"
            f" {sample['missing_chunks']} to go at {sample['tokens_per_second']} est. tokens/s"
        )
    if "projected_fully_embedded_s" in out:
        hours = out["projected_fully_embedded_s"] / 3600
        print(f"projected fully embedded     {hours:8.2f} h after the start")
    if "fully_embedded_s" in out:
        print(f"fully embedded               {out['fully_embedded_s']:8.1f} s after the start")
        print(
            f"  worker: {out['worker_tokens_per_second']} est. tokens/s,"
            f" {out['kb_per_second']:.1f} KB/s"
        )


if __name__ == "__main__":
    sys.exit(main())
