"""A reader process for test_concurrency: runs rlm commands in a loop, checks every answer.

Usage: python _reader.py SPEC.json OUT.json SEED (runs until SPEC's stop file exists)

Each command runs through ``rlm.cli.main.run`` (the CLI entry point, opening
and closing the store per call like a real ``rlm`` process) so hundreds of
calls fit in a few seconds. Results are compared with the known text; every
failure is recorded in OUT.json, never raised.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any


def call(args: list[str]) -> tuple[int, bytes, str]:
    from rlm.cli.main import run

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = run(args)
        out.flush()
    finally:
        sys.stdout, sys.stderr = saved
    raw = out.buffer.getvalue()  # type: ignore[attr-defined]
    return code, raw, err.getvalue()


class Checker:
    def __init__(self, spec: dict[str, Any], seed: int) -> None:
        self.spec = spec
        self.db = spec["db"]
        self.text = Path(spec["text"]).read_bytes()
        self.rng = random.Random(seed)
        self.ops: dict[str, int] = {}
        self.errors: list[str] = []

    def rlm(self, op: str, *args: str) -> tuple[int, bytes, str]:
        self.ops[op] = self.ops.get(op, 0) + 1
        code, out, err = call(["--db-path", self.db, *args])
        if b"locked" in out or "locked" in err:
            self.errors.append(f"{op}: locked: {out[:200]!r} {err[:200]}")
        elif code != 0:
            self.errors.append(f"{op}: exit {code}: {out[:200]!r} {err[:200]}")
        return code, out, err

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.errors.append(what)

    def chunk_get(self) -> None:
        cid, start, end = self.rng.choice(self.spec["chunks"])
        want = self.text[start:end]
        if self.rng.random() < 0.5:
            code, out, _ = self.rlm("chunk get", "chunk", "get", str(cid))
            self.expect(code != 0 or out == want, f"chunk get {cid}: wrong bytes")
            return
        code, out, _ = self.rlm("chunk get", "chunk", "get", str(cid), "--format", "json")
        if code == 0:
            data = json.loads(out)
            self.expect(
                data["content"] == want.decode("utf-8")
                and data["byte_range"] == {"start": start, "end": end},
                f"chunk get {cid} json: wrong content or range",
            )

    def grep(self) -> None:
        marker, offset = self.rng.choice(self.spec["markers"])
        code, out, _ = self.rlm("grep", "grep", "known", marker, "--format", "json")
        if code == 0:
            data = json.loads(out)
            self.expect(
                [m["offset"] for m in data] == [offset] and data[0]["matched"] == marker,
                f"grep {marker}: {data!r:.200}",
            )

    def listing(self) -> None:
        code, out, _ = self.rlm("list", "list", "--format", "json")
        if code == 0:
            counts = {b["name"]: b["metadata"]["chunk_count"] for b in json.loads(out)}
            self.expect(counts.get("known") == self.spec["known_chunks"], f"list known: {counts}")
            if "writer" in counts:
                self.expect(
                    counts["writer"] == self.spec["writer_chunks"],
                    f"list: writer buffer visible half-written: {counts}",
                )

    def chunk_list(self) -> None:
        code, out, _ = self.rlm("chunk list", "chunk", "list", "known", "--format", "json")
        if code == 0:
            data = json.loads(out)
            spans = [
                [c["id"], c["byte_range"]["start"], c["byte_range"]["end"]] for c in data["chunks"]
            ]
            self.expect(spans == self.spec["chunks"], "chunk list known: spans differ")

    def status(self) -> None:
        code, out, _ = self.rlm("status", "status", "--format", "json")
        if code == 0:
            json.loads(out)
        code, out, _ = self.rlm("chunk status", "chunk", "status", "--format", "json")
        if code == 0:
            rows = {r["name"]: r for r in json.loads(out)["buffers"]}
            known = rows.get("known")
            self.expect(known is not None and known["fully_embedded"], f"chunk status: {known}")

    def search(self) -> None:
        marker, offset = self.rng.choice(self.spec["markers"])
        word = marker.strip("@")
        code, out, _ = self.rlm(
            "search", "search", word, "--mode", "bm25", "--buffer", "known", "--format", "json"
        )
        if code == 0:
            data = json.loads(out)
            hits = data.get("results", data) if isinstance(data, dict) else data
            ids = [h.get("chunk_id") for h in hits]
            owners = {cid for cid, s, e in self.spec["chunks"] if s <= offset < e}
            self.expect(bool(owners & set(ids)), f"search {word}: {ids[:5]} misses {owners}")


def main() -> None:
    spec_path, out_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spec = json.loads(Path(spec_path).read_text())
    checker = Checker(spec, seed)
    ops = [checker.chunk_get, checker.chunk_get, checker.grep, checker.listing]
    ops += [checker.chunk_list, checker.status]
    if spec.get("search"):
        ops += [checker.search, checker.search]
    # Readers yield the CPU to the writer (2 cores, 9 processes): the point is
    # overlap, and the writer must get through several transactions.
    os.nice(10)
    stop = Path(spec["stop"])
    deadline = time.monotonic() + float(spec["max_seconds"])
    while not stop.exists() and time.monotonic() < deadline:
        checker.rng.choice(ops)()
    Path(out_path).write_text(json.dumps({"ops": checker.ops, "errors": checker.errors[:50]}))


if __name__ == "__main__":
    main()
